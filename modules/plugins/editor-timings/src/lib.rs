//! The editor's Timings panel, a module of its own: a stacked bar per reload (its phases)
//! over time, drawn with egui_plot, and the table of every reload with its per-phase times
//! and outcome, newest first.
//!
//! `apps/editor` shows it in its Timings tab (`Host::show`), so a change here rebuilds and
//! reloads this panel alone, and egui_plot is compiled into this library, not the editor's.
//! How many reloads the chart shows is this module's saved state.

use egui_plot::{Bar, BarChart, Plot};
use std::rc::Rc;

use playground_api::egui::{self, Color32, RichText};
use playground_api::host::{PhaseTimings, ReloadOutcome, ReloadRecord};
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Context, Host, Module, codec};

/// The phases of a reload with the colours the chart uses for them (build is drawn apart:
/// it is seconds where the rest is milliseconds).
const PHASES: [(&str, Color32); 5] = [
    ("save", Color32::from_rgb(90, 160, 230)),
    ("unload", Color32::from_rgb(230, 140, 70)),
    ("load", Color32::from_rgb(120, 200, 120)),
    ("init", Color32::from_rgb(200, 120, 200)),
    ("restore", Color32::from_rgb(230, 210, 90)),
];

/// The colour of the build's bars.
const BUILD: Color32 = Color32::from_rgb(150, 150, 160);

fn phase_us(t: &PhaseTimings) -> [u64; 5] {
    [t.save_us, t.unload_us, t.load_us, t.init_us, t.restore_us]
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn outcome(record: &ReloadRecord) -> RichText {
    match &record.outcome {
        ReloadOutcome::Swapped => RichText::new("swapped").color(Color32::LIGHT_GREEN),
        ReloadOutcome::Refused(why) => RichText::new(format!("refused: {why}")).color(Color32::LIGHT_RED),
        ReloadOutcome::RolledBack(why) => RichText::new(format!("rolled back: {why}")).color(Color32::LIGHT_RED),
        ReloadOutcome::Broken(why) => RichText::new(format!("broken: {why}")).color(Color32::RED),
    }
}

/// A stacked bar per reload (x: its sequence number), one colour per phase, in ms.
fn chart(ui: &mut egui::Ui, history: &[ReloadRecord], last: usize) {
    let shown = &history[history.len().saturating_sub(last)..];
    if shown.is_empty() {
        ui.add_sized([ui.available_width(), 130.0], egui::Label::new(RichText::new("No reloads yet.").weak()));
        return;
    }
    let mut charts: Vec<BarChart> = Vec::new();
    for (i, (name, color)) in PHASES.iter().enumerate() {
        let bars: Vec<Bar> = shown
            .iter()
            .map(|r| Bar::new(r.seq as f64, phase_us(&r.timings)[i] as f64 / 1000.0).width(0.7).name(name))
            .collect();
        let below: Vec<&BarChart> = charts.iter().collect();
        let chart = BarChart::new(*name, bars).color(*color).stack_on(&below);
        charts.push(chart);
    }
    // A fixed view the user changes with the "last N reloads" control (this panel's saved
    // state), so no pan or zoom state lives in egui memory. The x range ends at the
    // newest reload and spans the reloads there are (at least 10, at most `last`), so a
    // handful of reloads fill the chart instead of huddling at its right edge.
    let newest = shown.last().map_or(0.0, |r| r.seq as f64);
    let span = shown.len().max(10).min(last) as f64;
    let left = (newest + 0.5 - span).max(0.5);
    // Both charts share the x axis: the same y-axis width keeps a reload's bars one above the
    // other (build times have wider labels than swap times).
    let fixed = |plot: Plot<'static>| {
        plot.y_axis_min_width(56.0)
            .include_x(left)
            .include_x(left + span)
            .include_y(0.0)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
    };
    let with_build = shown.iter().any(|r| r.timings.build_us > 0);
    // The legend is a row above the chart: inside it, it would cover the bars.
    ui.horizontal(|ui| {
        for (name, color) in PHASES {
            ui.label(RichText::new("■").color(color));
            ui.label(RichText::new(name).small());
        }
        if with_build {
            ui.label(RichText::new("■").color(BUILD));
            ui.label(RichText::new("build (below)").small());
        }
    });
    let mut phases = fixed(Plot::new("reload_timings_chart")).height(110.0);
    if !with_build {
        phases = phases.x_axis_label("reload #");
    }
    phases.y_axis_label("ms").show(ui, |plot| {
        for chart in charts {
            plot.bar_chart(chart);
        }
    });
    // The build is drawn apart: it takes hundreds of milliseconds where the swap takes one.
    if with_build {
        let bars: Vec<Bar> = shown
            .iter()
            .map(|r| Bar::new(r.seq as f64, r.timings.build_us as f64 / 1000.0).width(0.7).name("build"))
            .collect();
        fixed(Plot::new("reload_build_chart")).height(90.0).x_axis_label("reload #").y_axis_label("build ms").show(
            ui,
            |plot| {
                plot.bar_chart(BarChart::new("build", bars).color(BUILD));
            },
        );
    }
}

/// Draws the chart (over the `last` reloads, which the user can change) and the table.
fn show(ui: &mut egui::Ui, history: &[ReloadRecord], last: &mut usize) {
    ui.horizontal(|ui| {
        ui.label(format!("{} reload(s).", history.len()));
        ui.label("Chart shows the last");
        ui.add(egui::DragValue::new(last).range(5..=1000));
        ui.label("reloads:");
    });
    chart(ui, history, *last);
    ui.separator();
    egui::ScrollArea::both().id_salt("timings_scroll").auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("timings_table").num_columns(11).striped(true).min_col_width(44.0).show(ui, |ui| {
            for title in
                ["#", "requested", "modules", "build", "save", "unload", "load", "init", "restore", "total", "outcome"]
            {
                ui.strong(title);
            }
            ui.end_row();
            for record in history.iter().rev() {
                let t = &record.timings;
                ui.label(format!("#{}", record.seq));
                ui.label(record.requested.join(", "));
                ui.label(record.modules.len().to_string()).on_hover_text(record.modules.join("\n"));
                for us in [t.build_us, t.save_us, t.unload_us, t.load_us, t.init_us, t.restore_us, t.total_us] {
                    ui.monospace(ms(us));
                }
                ui.label(outcome(record));
                ui.end_row();
            }
        });
    });
}

/// What survives the panel's reload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Settings {
    /// How many of the latest reloads the chart shows.
    chart_last: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { chart_last: 50 }
    }
}

#[derive(Default)]
struct TimingsPanel {
    settings: Settings,
    host: Option<Rc<dyn Host>>,
    /// Whether this generation has not drawn yet (see `ui`).
    fresh: bool,
}

impl Module for TimingsPanel {
    fn create() -> Self {
        TimingsPanel { fresh: true, ..TimingsPanel::default() }
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        self.host = Some(ctx.host());
        Ok(())
    }

    fn call(&mut self, method: &str, _args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            // For tests and assistants: how many reloads the chart shows.
            "chart_last" => codec::encode(&self.settings.chart_last),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(settings);

    fn ui(&mut self, ui: &mut egui::Ui) {
        if self.fresh {
            // egui_plot keeps its plot memory in egui memory, keyed by a type compiled into
            // this library: a new generation starts without the old one's (ARCHITECTURE.md,
            // invariant 4). Nothing is lost: the chart's range is this panel's saved state.
            ui.ctx().data_mut(|d| d.remove_by_type::<egui_plot::PlotMemory>());
            self.fresh = false;
        }
        let history = self.host.as_ref().map(|host| host.reload_history()).unwrap_or_default();
        show(ui, &history, &mut self.settings.chart_last);
    }
}

playground_api::export_module!(TimingsPanel);

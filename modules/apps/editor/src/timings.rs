//! Reload timings: a stacked bar per reload (its phases) over time, and the table of every
//! reload with its per-phase times and outcome, newest first.

use playground_api::egui::{self, Align2, Color32, FontId, Rect, RichText, Sense, Stroke, Vec2};
use playground_api::host::{PhaseTimings, ReloadOutcome, ReloadRecord};

/// The phases of a reload with the colours the chart uses for them (build is drawn apart:
/// it is seconds where the rest is milliseconds).
const PHASES: [(&str, Color32); 5] = [
    ("save", Color32::from_rgb(90, 160, 230)),
    ("unload", Color32::from_rgb(230, 140, 70)),
    ("load", Color32::from_rgb(120, 200, 120)),
    ("init", Color32::from_rgb(200, 120, 200)),
    ("restore", Color32::from_rgb(230, 210, 90)),
];

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

fn chart(ui: &mut egui::Ui, history: &[ReloadRecord], last: usize) {
    let shown = &history[history.len().saturating_sub(last)..];
    let (response, painter) = ui.allocate_painter(Vec2::new(ui.available_width(), 110.0), Sense::hover());
    let area = response.rect.shrink2(Vec2::new(44.0, 12.0));
    painter.rect_stroke(area, 0.0, Stroke::new(1.0, ui.visuals().weak_text_color()), egui::StrokeKind::Inside);
    let max_us = shown.iter().map(|r| phase_us(&r.timings).iter().sum::<u64>()).max().unwrap_or(0).max(1);
    painter.text(
        area.left_top() - Vec2::new(4.0, 0.0),
        Align2::RIGHT_TOP,
        format!("{} ms", ms(max_us)),
        FontId::proportional(10.0),
        ui.visuals().text_color(),
    );
    painter.text(
        area.left_bottom() - Vec2::new(4.0, 0.0),
        Align2::RIGHT_BOTTOM,
        "0",
        FontId::proportional(10.0),
        ui.visuals().text_color(),
    );
    if shown.is_empty() {
        painter.text(
            area.center(),
            Align2::CENTER_CENTER,
            "No reloads yet",
            FontId::proportional(13.0),
            ui.visuals().weak_text_color(),
        );
        return;
    }
    let slot = area.width() / last.max(shown.len()) as f32;
    for (i, record) in shown.iter().enumerate() {
        let x = area.left() + i as f32 * slot;
        let mut bottom = area.bottom();
        for ((_, color), us) in PHASES.iter().zip(phase_us(&record.timings)) {
            let height = area.height() * us as f32 / max_us as f32;
            let bar =
                Rect::from_min_max(egui::pos2(x + slot * 0.15, bottom - height), egui::pos2(x + slot * 0.85, bottom));
            painter.rect_filled(bar, 0.0, *color);
            bottom -= height;
        }
        if record.outcome != ReloadOutcome::Swapped {
            painter.circle_filled(egui::pos2(x + slot / 2.0, area.top() + 5.0), 3.0, Color32::LIGHT_RED);
        }
    }
}

/// Draws the chart (over the `last` reloads, which the user can change) and the table.
pub(crate) fn show(ui: &mut egui::Ui, history: &[ReloadRecord], last: &mut usize) {
    ui.horizontal(|ui| {
        ui.label(format!("{} reload(s).", history.len()));
        ui.label("Chart shows the last");
        ui.add(egui::DragValue::new(last).range(5..=1000));
        ui.label("reloads:");
        for (name, color) in PHASES {
            ui.colored_label(color, format!("■ {name}"));
        }
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
                ui.label(&record.requested);
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

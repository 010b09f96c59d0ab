//! The editor's Log panel, a module of its own: the shell's and the modules' `tracing`
//! events, from the api's process-wide buffer, filtered by level and text.
//!
//! `apps/editor` shows it in its Log tab (`Host::show`), so a change here rebuilds and
//! reloads this panel alone; the editor, its layout and the other panels keep running. The
//! filter the user set is this module's saved state.

use playground_api::egui::{self, Color32, RichText};
use playground_api::log::{self, Level};
use playground_api::serde::{Deserialize, Serialize};
use playground_api::{Module, codec};

/// What survives the panel's reload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", default)]
struct Filter {
    /// The least severe level shown.
    level: Level,
    /// Only lines containing this text.
    text: String,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { level: Level::Info, text: String::new() }
    }
}

#[derive(Default)]
struct LogPanel {
    filter: Filter,
}

fn color(level: Level) -> Color32 {
    match level {
        Level::Error => Color32::LIGHT_RED,
        Level::Warn => Color32::from_rgb(240, 200, 80),
        Level::Info => Color32::LIGHT_GRAY,
        Level::Debug | Level::Trace => Color32::GRAY,
    }
}

impl Module for LogPanel {
    fn create() -> Self {
        LogPanel::default()
    }

    fn call(&mut self, method: &str, _args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            // For tests and assistants: the filter the panel applies.
            "filter" => codec::encode(&self.filter),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    playground_api::persist!(filter);

    fn ui(&mut self, ui: &mut egui::Ui) {
        let Filter { level, text } = &mut self.filter;
        ui.horizontal(|ui| {
            ui.label("Level:");
            for choice in [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace] {
                ui.selectable_value(level, choice, choice.name());
            }
            ui.separator();
            ui.label("Filter:");
            ui.add(egui::TextEdit::singleline(text).desired_width(200.0).hint_text("text in the line"));
        });
        let records: Vec<log::Record> = log::recent(0)
            .into_iter()
            .filter(|r| {
                r.level <= *level
                    && (text.is_empty() || r.message.contains(text.as_str()) || r.target.contains(text.as_str()))
            })
            .collect();
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        egui::ScrollArea::both().id_salt("log_scroll").auto_shrink([false, false]).stick_to_bottom(true).show_rows(
            ui,
            row_height,
            records.len(),
            |ui, range| {
                for record in &records[range] {
                    let line = format!("{:<5} {}: {}", record.level.name(), record.target, record.message);
                    ui.add(egui::Label::new(RichText::new(line).monospace().color(color(record.level))).extend());
                }
            },
        );
    }
}

playground_api::export_module!(LogPanel);

//! The log: the shell's and the modules' `tracing` events, from the api's process-wide
//! buffer, filtered by level and text.

use playground_api::egui::{self, Color32, RichText};
use playground_api::log::{self, Level};

fn color(level: Level) -> Color32 {
    match level {
        Level::Error => Color32::LIGHT_RED,
        Level::Warn => Color32::from_rgb(240, 200, 80),
        Level::Info => Color32::LIGHT_GRAY,
        Level::Debug | Level::Trace => Color32::GRAY,
    }
}

pub(crate) fn show(ui: &mut egui::Ui, level: &mut Level, filter: &mut String) {
    ui.horizontal(|ui| {
        ui.label("Level:");
        for choice in [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace] {
            ui.selectable_value(level, choice, choice.name());
        }
        ui.separator();
        ui.label("Filter:");
        ui.add(egui::TextEdit::singleline(filter).desired_width(200.0).hint_text("text in the line"));
    });
    let records: Vec<log::Record> = log::recent(0)
        .into_iter()
        .filter(|r| {
            r.level <= *level
                && (filter.is_empty() || r.message.contains(filter.as_str()) || r.target.contains(filter.as_str()))
        })
        .collect();
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::both().id_salt("log_scroll").auto_shrink([false, false]).stick_to_bottom(true).show_rows(
        ui,
        row_height,
        records.len(),
        |ui, range| {
            for record in &records[range] {
                let text = format!("{:<5} {}: {}", record.level.name(), record.target, record.message);
                ui.add(egui::Label::new(RichText::new(text).monospace().color(color(record.level))).extend());
            }
        },
    );
}

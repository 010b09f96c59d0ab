//! The one screen the shell draws itself: when the editor module is missing, did not build,
//! did not load or failed while drawing. It says why and offers Retry (build and load the
//! editor again) and Roll back (load the last editor build that drew a frame), so a broken
//! editor never leaves a blank or dead window.

use playground_api::egui::{self, Color32, RichText};

/// What the user asked for on the fallback screen.
pub(crate) enum Action {
    Retry,
    RollBack,
}

/// What the fallback screen shows.
pub(crate) struct Screen<'a> {
    /// Why the editor is not running.
    pub(crate) reason: &'a str,
    /// Whether a last good build is there to roll back to.
    pub(crate) can_roll_back: bool,
    /// A build or reload for Retry is running.
    pub(crate) busy: bool,
    /// The outcome of the last Retry or Roll back.
    pub(crate) notice: Option<&'a str>,
}

impl Screen<'_> {
    pub(crate) fn show(&self, ui: &mut egui::Ui) -> Option<Action> {
        let mut action = None;
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_space(12.0);
            ui.heading("The editor is not running");
            ui.label(
                "Playground keeps running; fix the editor module (modules/apps/editor) and press Retry, or roll back.",
            );
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                let retry = ui.add_enabled(!self.busy, egui::Button::new("Retry"));
                if retry.on_hover_text("Build modules/apps/editor and load it").clicked() {
                    action = Some(Action::Retry);
                }
                let roll_back = ui.add_enabled(
                    self.can_roll_back && !self.busy,
                    egui::Button::new("Roll back to the last good version"),
                );
                let why = if self.can_roll_back {
                    "Load the last editor build that drew a frame"
                } else {
                    "No editor build has drawn a frame yet on this machine"
                };
                if roll_back.on_hover_text(why).on_disabled_hover_text(why).clicked() {
                    action = Some(Action::RollBack);
                }
                if self.busy {
                    ui.spinner();
                    ui.label("building the editor...");
                }
            });
            if let Some(notice) = self.notice {
                ui.add_space(6.0);
                ui.label(notice);
            }
            ui.add_space(8.0);
            ui.separator();
            egui::ScrollArea::both().id_salt("fallback_reason").auto_shrink([false, false]).show(ui, |ui| {
                ui.label(RichText::new(self.reason).monospace().color(Color32::LIGHT_RED));
            });
        });
        action
    }
}

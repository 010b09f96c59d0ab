//! The window's first screen when the modules must be built: cargo runs on a thread while a
//! progress bar shows crates done out of total; the modules load when it ends. A restart's
//! build runs the same way, its bar in a small window over the running editor.
//!
//! On a fresh clone that build compiles egui and wgpu (minutes on two cores), and nothing
//! hot-reloadable exists yet to draw it, so the shell draws this screen itself, like the
//! fallback screen. A failed build does not end here: the modules built before load, the
//! editor's top bar reports the failure, and the fallback screen shows it if the editor
//! itself cannot run.

use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use module_loader::cargo::Progress;
use playground_api::egui::{self, RichText};
use playground_api::host::BuildOutcome;

use crate::inbox::Waker;
use crate::workspace::{BuildFailed, BuildPlan};

/// The start-up build, running on its thread.
pub(crate) struct Startup {
    progress: Receiver<Progress>,
    outcome: Receiver<Result<BuildOutcome, BuildFailed>>,
    latest: Option<Progress>,
    started: Instant,
}

impl Startup {
    /// Starts `plan` on a thread; `wake` repaints the window on every progress step.
    pub(crate) fn spawn(plan: BuildPlan, wake: Waker) -> Startup {
        let (progress_tx, progress) = channel();
        let (outcome_tx, outcome) = channel();
        std::thread::spawn(move || {
            let result = plan.run(|p| {
                if progress_tx.send(p).is_ok() {
                    wake();
                }
            });
            let _ = outcome_tx.send(result);
            wake();
        });
        Startup { progress, outcome, latest: None, started: Instant::now() }
    }

    /// The latest progress cargo reported.
    pub(crate) fn latest(&self) -> Option<Progress> {
        self.latest
    }

    /// The build's result once it has ended.
    pub(crate) fn poll(&mut self) -> Option<Result<BuildOutcome, BuildFailed>> {
        while let Ok(p) = self.progress.try_recv() {
            self.latest = Some(p);
        }
        match self.outcome.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                let message = "the build thread ended without a result".to_owned();
                let outcome = BuildOutcome { error: Some(message.clone()), ..BuildOutcome::default() };
                Some(Err(BuildFailed { message, outcome: Box::new(outcome), restart_needed: None }))
            }
        }
    }

    pub(crate) fn show(&self, ui: &mut egui::Ui) {
        show_progress(ui, self.latest, self.started.elapsed());
        // The elapsed time on screen ticks once a second; progress wakes the window itself.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }

    /// Just the progress bar, for a build that runs beside the editor (a restart's).
    pub(crate) fn show_bar(&self, ui: &mut egui::Ui) {
        ui.add(progress_bar(self.latest).desired_width(360.0));
        ui.label(RichText::new(format!("{} s", self.started.elapsed().as_secs())).weak());
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
}

/// Crates done out of total (unknown until cargo has planned the build).
fn progress_bar(latest: Option<Progress>) -> egui::ProgressBar {
    let (fraction, text) = match latest {
        Some(p) if p.total > 0 => {
            (p.done as f32 / p.total as f32, format!("{} of {} crates compiled", p.done, p.total))
        }
        _ => (0.0, "cargo is planning the build".to_owned()),
    };
    egui::ProgressBar::new(fraction).text(text)
}

/// The progress screen: crates done out of total (unknown until cargo has planned the build).
pub(crate) fn show_progress(ui: &mut egui::Ui, latest: Option<Progress>, elapsed: Duration) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() / 3.0);
            ui.heading("Building the modules");
            ui.add_space(8.0);
            ui.add(progress_bar(latest).desired_width(420.0));
            ui.add_space(6.0);
            ui.label(RichText::new(format!("{} s", elapsed.as_secs())).weak());
            ui.label(
                RichText::new("The first start compiles egui and wgpu: a few minutes; later starts reuse the build.")
                    .weak(),
            );
        });
    });
}

/// What the window shows when the modules cannot even be resolved: there is nothing to run.
/// Says why the modules could not start (they do not resolve: a broken `module.toml`, a
/// cycle...) and offers Retry, so fixing the file needs no new start. Returns whether Retry
/// was pressed.
pub(crate) fn show_fatal(ui: &mut egui::Ui, reason: &str) -> bool {
    egui::CentralPanel::default()
        .show(ui, |ui| {
            ui.add_space(12.0);
            ui.heading("Playground could not start");
            ui.label("Fix the problem below, then Retry.");
            ui.add_space(8.0);
            ui.label(RichText::new(reason).monospace().color(egui::Color32::LIGHT_RED));
            ui.add_space(8.0);
            ui.button("Retry").on_hover_text("Resolve and load the modules again").clicked()
        })
        .inner
}

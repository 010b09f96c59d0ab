//! The window's entry points: which modules draw, and drawing one of them for a frame. A
//! headless host never calls these; the reload transaction knows nothing of them.

use module_rules::manifest::Layer;
use playground_api::egui;

use super::{Runtime, Shared};
use crate::error::{Error, Result};
use crate::watchdog::Step;

impl Runtime {
    /// The running `apps` modules, in load order: the ones a windowed host draws.
    pub fn ui_modules(&self) -> Vec<String> {
        self.shared
            .running_in_order(true)
            .iter()
            .filter(|slot| slot.source.manifest.layer == Layer::Apps)
            .map(|slot| slot.id().to_owned())
            .collect()
    }

    /// Runs module `id`'s `ui` for one frame, with panics caught. A failure is recorded as
    /// the module's last error; the module keeps running. Call it from the frame, never
    /// from module code.
    pub fn ui(&self, id: &str, ui: &mut egui::Ui) -> Result<()> {
        self.shared.ui(id, ui).map(|_| ())
    }
}

impl Shared {
    /// Runs module `id`'s `ui` inside `ui`: for the window (an app, each frame) and for an
    /// app showing a panel module (`Host::show`, which refuses apps: the window draws them).
    /// `Ok(false)` when it did not run (its instance is busy on the stack, or stopped).
    pub(super) fn ui(&self, id: &str, ui: &mut egui::Ui) -> Result<bool> {
        let slot = self.slot(id)?;
        match slot.invoke(Step::Ui, |v, i| (v.ui)(i, ui)) {
            Some(Err(e)) => {
                let message = format!("`{id}` failed in ui: {e}");
                self.note_error(id, &message);
                Err(Error::new(message))
            }
            Some(Ok(())) => Ok(true),
            None => Ok(false),
        }
    }

    /// [`Shared::ui`] for a module showing `id` in its own `ui`: a panel, not an app.
    pub(super) fn show(&self, id: &str, ui: &mut egui::Ui) -> Result<()> {
        if self.slot(id)?.source.manifest.layer == Layer::Apps {
            return Err(Error::new(format!("`{id}` is an app: the window draws it, no other module can")));
        }
        if self.ui(id, ui)? { Ok(()) } else { Err(Error::new(format!("`{id}` is busy or stopped"))) }
    }
}

//! The window's entry points: which modules draw, and drawing one of them for a frame. A
//! headless host never calls these; the reload transaction knows nothing of them.

use module_rules::manifest::Layer;
use playground_api::egui;

use super::Runtime;
use crate::error::{Error, Result};

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
        let slot = self.shared.slot(id)?;
        match slot.invoke("ui", |v, i| (v.ui)(i, ui)) {
            Some(Err(e)) => {
                let message = format!("`{id}` failed in ui: {e}");
                self.shared.note_error(id, &message);
                Err(Error::new(message))
            }
            Some(Ok(())) | None => Ok(()),
        }
    }
}

//! "New module…": a native folder dialog (rfd, over the xdg-desktop-portal) picks where the
//! module goes, a one-line form names it, and the host writes it from the template; live
//! edit then builds and loads it like any other change.
//!
//! rfd's dialogs block the thread that opens them until the user answers, so the dialog
//! runs on a thread of its own and the frame loop picks the answer up on a later frame (the
//! thread wakes it with a repaint). rfd says "no folder" both when the user cancels and when
//! no dialog could be shown at all, so before opening one the editor checks that there is
//! something to show it (a D-Bus session bus for the portal, or zenity, rfd's fallback) and
//! otherwise says so, instead of waiting for an answer that will never come.

use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use playground_api::egui;
use playground_api::host::Host;

use crate::keys;

/// The form shown once a folder is picked.
struct Form {
    id: String,
    description: String,
}

/// The "New module…" flow, between frames.
#[derive(Default)]
pub(crate) struct NewModule {
    /// The open dialog's answer, when it comes.
    pending: Option<Receiver<Option<PathBuf>>>,
    form: Option<Form>,
}

/// Why no native folder dialog can be shown here, if none can: rfd tries the portal over
/// the D-Bus session bus, then zenity.
fn no_dialog_reason() -> Option<String> {
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| Path::new(&dir).join("bus").exists());
    let zenity = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("zenity").is_file()));
    (!bus && !zenity).then(|| {
        "no file dialog is available: it needs the xdg-desktop-portal on a D-Bus session bus \
         (or zenity), and this session has neither"
            .to_owned()
    })
}

/// The module id a picked folder stands for: `<layer>/` for a layer folder (the name is
/// still to type), `<layer>/<name>` for a (new, empty) folder inside one.
fn id_for(root: &Path, picked: &Path) -> Result<String, String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let picked = picked.canonicalize().unwrap_or_else(|_| picked.to_owned());
    let Ok(relative) = picked.strip_prefix(&root) else {
        return Err(format!("{} is not inside the modules folder {}", picked.display(), root.display()));
    };
    let parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    match parts.as_slice() {
        [layer] => Ok(format!("{layer}/")),
        [layer, name] => Ok(format!("{layer}/{name}")),
        _ => {
            Err(format!("pick a layer folder (such as {}) or a new folder inside one", root.join("plugins").display()))
        }
    }
}

impl NewModule {
    /// Opens the folder dialog on its own thread. `Err` says why it cannot.
    fn open(&mut self, ctx: &egui::Context, root: Option<PathBuf>) -> Result<(), String> {
        let Some(root) = root else { return Err("this host cannot create modules".to_owned()) };
        if let Some(reason) = no_dialog_reason() {
            return Err(reason);
        }
        let (send, receive) = channel();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("new-module-dialog".to_owned())
            .spawn(move || {
                let picked = rfd::FileDialog::new()
                    .set_title("Where should the new module go?")
                    .set_directory(&root)
                    .pick_folder();
                // The editor may have been reloaded meanwhile; then nobody is listening.
                let _ = send.send(picked);
                ctx.request_repaint();
            })
            .map_err(|e| format!("cannot open the folder dialog: {e}"))?;
        self.pending = Some(receive);
        Ok(())
    }

    /// The toolbar's part: the button, the form, and the dialog's answer; `open` is the
    /// button's shortcut, pressed. Returns a sentence for the top bar when something happened
    /// (`Err` for a failure).
    pub(crate) fn show(&mut self, ui: &mut egui::Ui, host: &dyn Host, open: bool) -> Option<Result<String, String>> {
        let mut notice = None;
        if let Some(pending) = &self.pending {
            match pending.try_recv() {
                Ok(Some(picked)) => {
                    self.pending = None;
                    match host
                        .modules_root()
                        .ok_or_else(|| "no modules folder".to_owned())
                        .and_then(|root| id_for(&root, &picked))
                    {
                        Ok(id) => self.form = Some(Form { id, description: String::new() }),
                        Err(e) => notice = Some(Err(e)),
                    }
                }
                Ok(None) => {
                    self.pending = None;
                    notice =
                        Some(Err("no folder chosen (the dialog was cancelled, or no portal or zenity could show one)"
                            .to_owned()));
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    self.pending = None;
                    notice = Some(Err("the folder dialog ended without an answer".to_owned()));
                }
            }
        }
        let button = ui.add_enabled(self.pending.is_none(), egui::Button::new("New module…"));
        let hint = keys::hint(ui.ctx(), "Create a module: pick its folder under the modules folder", &keys::NEW_MODULE);
        if button.on_hover_text(hint).clicked() || (open && self.pending.is_none()) {
            self.form = None;
            notice = Some(match self.open(ui.ctx(), host.modules_root()) {
                Ok(()) => Ok("choose a folder for the new module…".to_owned()),
                Err(e) => Err(format!("New module: {e}")),
            });
        }
        if let Some(form) = &mut self.form {
            ui.label("id");
            ui.add(egui::TextEdit::singleline(&mut form.id).desired_width(140.0));
            ui.add(egui::TextEdit::singleline(&mut form.description).hint_text("description").desired_width(160.0));
            if ui.button("Create").clicked() {
                notice = Some(match host.create_module(form.id.trim(), form.description.trim()) {
                    Ok(dir) => Ok(format!("created {} at {dir}; live edit builds and loads it", form.id.trim())),
                    Err(e) => Err(e),
                });
                if notice.as_ref().is_some_and(Result::is_ok) {
                    self.form = None;
                }
            } else if ui.button("Cancel").clicked() {
                self.form = None;
            }
        }
        notice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_folder_names_a_module_or_its_layer() {
        let root = Path::new("/nowhere/modules");
        assert_eq!(id_for(root, &root.join("plugins")), Ok("plugins/".to_owned()));
        assert_eq!(id_for(root, &root.join("plugins/combat")), Ok("plugins/combat".to_owned()));
        assert!(id_for(root, root).is_err());
        assert!(id_for(root, Path::new("/elsewhere")).is_err());
    }
}

//! The inspector: everything the host knows about the selected module, its state as a tree,
//! its last error, and a Reload button.

use std::hash::{DefaultHasher, Hash, Hasher};

use playground_api::codec;
use playground_api::egui::{self, Color32, RichText};
use playground_api::host::{Host, ModuleInfo, ModuleStatus, ReloadRecord};
use playground_api::serde_json::Value;

use crate::{Action, keys};

/// What the inspector draws from, for one frame.
pub(crate) struct View<'a> {
    pub(crate) host: &'a dyn Host,
    pub(crate) modules: &'a [ModuleInfo],
    pub(crate) history: &'a [ReloadRecord],
    /// The editor's own id and state: the host cannot read the state of a module whose
    /// code is running (it is busy drawing this).
    pub(crate) own_id: &'a str,
    pub(crate) own: Value,
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".to_owned() } else { items.join(", ") }
}

fn row(ui: &mut egui::Ui, name: &str, value: impl Into<egui::WidgetText>) -> egui::Response {
    ui.label(RichText::new(name).weak());
    let response = ui.add(egui::Label::new(value).wrap());
    ui.end_row();
    response
}

/// "rustc 1.95.0 · debug · api 32bd1a35" out of an ABI stamp's text ("playground-abi/1; rustc
/// 1.95.0 (…); `<target>`; debug; flags=…; api=32bd1a35…; lock=…"): what tells two builds apart
/// at a glance. A stamp of another shape is shown whole.
fn abi_gist(abi: &str) -> String {
    let parts: Vec<&str> = abi.split("; ").collect();
    let rustc = parts.iter().find_map(|p| p.strip_prefix("rustc ")).and_then(|v| v.split(' ').next());
    let profile = parts.iter().copied().find(|p| matches!(*p, "debug" | "release"));
    let api = parts.iter().find_map(|p| p.strip_prefix("api=")).map(|h| h.get(..8).unwrap_or(h));
    match (rustc, profile, api) {
        (Some(rustc), Some(profile), Some(api)) => format!("rustc {rustc} · {profile} · api {api}"),
        _ => abi.to_owned(),
    }
}

/// A fraction with six decimals at most ("27.765060" for 27.765059807803482), so that a
/// number that changes on every tick keeps its width; `None` for anything else.
fn short_number(value: &Value) -> Option<String> {
    let Value::Number(n) = value else { return None };
    if n.is_f64() { n.as_f64().map(|f| format!("{f:.6}")) } else { None }
}

/// A JSON value as a tree of collapsible objects and arrays.
fn tree(ui: &mut egui::Ui, key: &str, value: &Value, id: egui::Id, depth: usize) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (format!("[{i}]"), v)).collect(),
        scalar => {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("{key}:")).weak());
                let full = scalar.to_string();
                let shown = short_number(scalar).unwrap_or_else(|| full.clone());
                let label = ui.monospace(shown.as_str());
                if shown != full {
                    label.on_hover_text(full);
                }
            });
            return;
        }
    };
    let summary = match value {
        Value::Array(items) => format!("{key} [{}]", items.len()),
        _ => format!("{key} {{{}}}", children.len()),
    };
    egui::CollapsingHeader::new(summary).id_salt(id).default_open(depth < 2).show(ui, |ui| {
        for (child, v) in &children {
            tree(ui, child, v, id.with(child), depth + 1);
        }
    });
}

/// What the inspector did in one frame.
#[derive(Default)]
pub(crate) struct Shown {
    /// A button asked for this.
    pub(crate) action: Option<Action>,
    /// The bytes of the state it showed, hashed: the editor compares frames to see whether
    /// the state is changing (a module at work), and keeps drawing while it does.
    pub(crate) state: Option<u64>,
}

impl View<'_> {
    pub(crate) fn show(&self, ui: &mut egui::Ui, selected: Option<&str>) -> Shown {
        let Some(id) = selected else {
            ui.heading("Inspector");
            ui.label("Select a module in the graph.");
            return Shown::default();
        };
        let Some(module) = self.modules.iter().find(|m| m.id == id) else {
            ui.heading(id);
            ui.label("This module is no longer in the graph.");
            return Shown::default();
        };
        let mut action = None;
        let mut digest = None;
        egui::ScrollArea::vertical().id_salt("inspector_scroll").auto_shrink([false, false]).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading(&module.id);
                let hint =
                    keys::hint(ui.ctx(), "Reload this module and every module that depends on it", &keys::RELOAD);
                if ui.button("Reload").on_hover_text(hint).clicked() {
                    action = Some(Action::Reload(module.id.clone()));
                }
            });
            ui.label(&module.description);
            ui.add_space(4.0);
            let status = match &module.status {
                ModuleStatus::Loaded => RichText::new("loaded").color(Color32::LIGHT_GREEN),
                ModuleStatus::Paused(_) => {
                    RichText::new("loaded, ticks paused until it reloads").color(Color32::YELLOW)
                }
                ModuleStatus::Contract => RichText::new("contract (types only, compiled into dependents)"),
                ModuleStatus::Failed(why) => RichText::new(format!("failed: {why}")).color(Color32::LIGHT_RED),
            };
            let reloads = self.history.iter().filter(|r| r.modules.contains(&module.id)).count();
            egui::Grid::new("inspector_grid").num_columns(2).striped(true).show(ui, |ui| {
                row(ui, "Version", &module.version);
                row(ui, "Layer", &module.layer);
                row(ui, "Status", status);
                row(ui, "Generation", module.generation.to_string());
                row(ui, "Reloads", reloads.to_string());
                row(ui, "Features", list(&module.features));
                row(ui, "Enabled", list(&module.enabled_features));
                row(ui, "Implements", list(&module.implements));
                // The generation copy's file name and the ABI's gist fit the column; the whole
                // path and stamp are a hover away.
                let library = module.library.as_deref();
                let file = library.map(|path| path.rsplit('/').next().unwrap_or(path));
                row(ui, "Library", file.unwrap_or("none (no library)")).on_hover_text(library.unwrap_or("none"));
                let abi = module.abi.as_deref();
                row(ui, "ABI", abi.map_or_else(|| "none".to_owned(), abi_gist)).on_hover_text(abi.unwrap_or("none"));
            });
            ui.add_space(6.0);
            ui.strong("Dependencies");
            if module.dependencies.is_empty() {
                ui.label("none");
            } else {
                egui::Grid::new("inspector_dependencies").num_columns(3).striped(true).show(ui, |ui| {
                    for dep in &module.dependencies {
                        ui.label(&dep.id);
                        ui.monospace(&dep.requirement);
                        ui.label(list(&dep.features));
                        ui.end_row();
                    }
                });
            }
            let dependents: Vec<String> = self
                .modules
                .iter()
                .filter(|m| m.dependencies.iter().any(|d| d.id == module.id))
                .map(|m| m.id.clone())
                .collect();
            ui.label(format!("Used by: {}", list(&dependents)));
            ui.add_space(6.0);
            ui.strong("Last error");
            match &module.last_error {
                Some(error) => {
                    ui.colored_label(Color32::LIGHT_RED, error);
                }
                None => {
                    ui.label("none");
                }
            }
            ui.add_space(6.0);
            ui.strong("State");
            let state = if module.id == self.own_id {
                Ok(self.own.clone())
            } else if matches!(module.status, ModuleStatus::Loaded | ModuleStatus::Paused(_)) {
                self.host.state(&module.id).and_then(|bytes| {
                    let mut hasher = DefaultHasher::new();
                    bytes.hash(&mut hasher);
                    digest = Some(hasher.finish());
                    codec::to_json(&bytes)
                })
            } else {
                Ok(Value::Null)
            };
            match state {
                Ok(Value::Null) => {
                    ui.label("no state");
                }
                Ok(value) => tree(ui, "state", &value, egui::Id::new(("inspector_state", &module.id)), 0),
                Err(e) => {
                    ui.colored_label(Color32::LIGHT_RED, e);
                }
            }
        });
        Shown { action, state: digest }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_abi_gist_names_compiler_profile_and_api() {
        let stamp = "playground-abi/1; rustc 1.95.0 (59807616e 2026-04-14); x86_64-unknown-linux-gnu; debug; \
                     flags=f08e9f31d80d908d; api=32bd1a359c8170af; lock=7c4b81f2e7f4bda7";
        assert_eq!(super::abi_gist(stamp), "rustc 1.95.0 · debug · api 32bd1a35");
        assert_eq!(super::abi_gist("something else"), "something else");
    }

    #[test]
    fn fractions_show_six_decimals_and_integers_all_their_digits() {
        use playground_api::serde_json::json;
        assert_eq!(super::short_number(&json!(27.765_059_807_803_482)).as_deref(), Some("27.765060"));
        assert_eq!(super::short_number(&json!(1.5)).as_deref(), Some("1.500000"));
        assert_eq!(super::short_number(&json!(126)), None);
        assert_eq!(super::short_number(&json!("text")), None);
    }
}

//! The editor's Graph panel, a module of its own: every module as a node in its layer's
//! column, an edge per dependency, each node coloured by how the module stands (`graph.rs`).
//!
//! `apps/editor` shows it in its Graph tab (`Host::show`), so a change here rebuilds and
//! reloads this panel alone, and egui_graphs is compiled into this library, not the editor's.
//! The selection is the editor's (the inspector and the source panel follow it): before
//! drawing, the editor says what is selected (`select`), and after, it takes what the user
//! did here (`events`: a new selection, reloads asked for with a node's button or menu).

mod graph;

use std::rc::Rc;

use playground_api::egui;
use playground_api::host::{ModuleInfo, ReloadOutcome, ReloadRecord};
use playground_api::{Context, Host, Module, codec, serde_json};

/// What the user did in the panel since the editor last asked: whether the selection changed
/// and to what (`None` clears it), and the modules whose reload they asked for. (A flag, not
/// an `Option<Option<_>>`: the codec writes `Some(None)` as it writes `None`.)
type Events = (bool, Option<String>, Vec<String>);

#[derive(Default)]
struct GraphModule {
    panel: graph::GraphPanel,
    host: Option<Rc<dyn Host>>,
    id: String,
    /// The selection, as the editor last said it.
    selected: Option<String>,
    events: Events,
    /// Whether this generation has not drawn yet (see `ui`).
    fresh: bool,
}

/// The modules the latest reload covered, if it swapped: the graph marks them.
fn moved(history: &[ReloadRecord]) -> Vec<String> {
    match history.last() {
        Some(record) if record.outcome == ReloadOutcome::Swapped => record.modules.clone(),
        _ => Vec::new(),
    }
}

impl Module for GraphModule {
    fn create() -> Self {
        GraphModule { fresh: true, ..GraphModule::default() }
    }

    fn initialize(&mut self, ctx: &Context) -> Result<(), String> {
        self.host = Some(ctx.host());
        ctx.module_id().clone_into(&mut self.id);
        Ok(())
    }

    fn call(&mut self, method: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        match method {
            // Option<String>: what the editor has selected.
            "select" => {
                self.selected = codec::decode(args)?;
                Ok(Vec::new())
            }
            // -> (new selection, reloads asked for), since the last `events`.
            "events" => codec::encode(&std::mem::take(&mut self.events)),
            // For tests: how many frames drew the graph with egui_graphs (the others repainted
            // what it drew last; see graph.rs), and how many node clicks it reported.
            "graph_stats" => codec::encode(&serde_json::json!({
                "shows": self.panel.shows,
                "graph_clicks": self.panel.graph_clicks,
            })),
            other => Err(playground_api::module::unknown_method(other)),
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        if self.fresh {
            // egui_graphs keeps its view metadata in egui memory, keyed by a type compiled into
            // this library: a new generation starts without the old one's (ARCHITECTURE.md,
            // invariant 4). Its other entries are keyed by the graph's id, which names this
            // generation (see `graph_id` below), so no new code reads them.
            ui.ctx().data_mut(|d| d.remove_by_type::<egui_graphs::MetadataFrame>());
            self.fresh = false;
        }
        let Some(host) = self.host.clone() else {
            ui.label("The graph panel was not initialized.");
            return;
        };
        let modules: Vec<ModuleInfo> = host.modules();
        let build = host.build_status();
        // A module whose own last build failed runs older code, whatever built since.
        let stale: Vec<String> = build.by_module.iter().filter(|(_, b)| !b.success).map(|(m, _)| m.clone()).collect();
        let moved = moved(&host.reload_history());
        let generation = modules.iter().find(|m| m.id == self.id).map_or(0, |m| m.generation);
        let facts = graph::Facts { modules: &modules, moved: &moved, building: &build.building, stale: &stale };
        let mut selected = self.selected.clone();
        let graph_id = format!("editor_graph_g{generation}");
        for graph::Action::Reload(id) in self.panel.show(ui, &facts, &graph_id, &mut selected) {
            self.events.2.push(id);
        }
        if selected != self.selected {
            self.events.0 = true;
            self.events.1.clone_from(&selected);
            self.selected = selected;
        }
    }
}

playground_api::export_module!(GraphModule);

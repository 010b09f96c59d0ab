//! The editor's panels as tabs and splits the user arranges (egui_dock, re-exported by the
//! api): drag a tab to another place or split, close it with its ×, bring it back from the
//! top bar. The arrangement is part of the editor's saved state, so it survives the editor's
//! own reload and a restart.

use playground_api::egui;
use playground_api::egui_dock::{DockState, NodeIndex};
use playground_api::serde::{Deserialize, Serialize};

/// One of the editor's panels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde", rename_all = "snake_case")]
pub(crate) enum Pane {
    Graph,
    Inspector,
    Timings,
    Log,
    Source,
}

impl Pane {
    pub(crate) const ALL: [Pane; 5] = [Pane::Graph, Pane::Inspector, Pane::Timings, Pane::Log, Pane::Source];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Pane::Graph => "Graph",
            Pane::Inspector => "Inspector",
            Pane::Timings => "Timings",
            Pane::Log => "Log",
            Pane::Source => "Source",
        }
    }

    /// The panes that share the lower leaf when it is brought back as a group.
    pub(crate) const LOWER: [Pane; 3] = [Pane::Timings, Pane::Log, Pane::Source];
}

/// How a fresh editor starts: the graph, the inspector at its right, and the timings, the
/// log and the source below the graph, as tabs.
pub(crate) fn arrangement() -> DockState<Pane> {
    let mut dock = DockState::new(vec![Pane::Graph]);
    let surface = dock.main_surface_mut();
    let [graph, _inspector] = surface.split_right(NodeIndex::root(), 0.72, vec![Pane::Inspector]);
    surface.split_below(graph, 0.6, Pane::LOWER.to_vec());
    dock
}

/// Whether `pane` is open anywhere.
pub(crate) fn is_open(dock: &DockState<Pane>, pane: Pane) -> bool {
    dock.find_tab(&pane).is_some()
}

/// Shows `pane`: makes it the active tab of its leaf, or opens it where it belongs (the
/// inspector at the right, the others below, beside an open lower pane if there is one).
pub(crate) fn show(dock: &mut DockState<Pane>, pane: Pane) {
    if let Some(path) = dock.find_tab(&pane) {
        let _ = dock.set_active_tab(path);
        dock.set_focused_node_and_surface(path.node_path());
        return;
    }
    let surface = dock.main_surface_mut();
    match pane {
        Pane::Inspector => {
            surface.split_right(NodeIndex::root(), 0.72, vec![pane]);
        }
        Pane::Graph => {
            surface.split_left(NodeIndex::root(), 0.7, vec![pane]);
        }
        _ => match Pane::LOWER.iter().find_map(|other| surface.find_tab(other)) {
            Some((node, _)) => {
                surface.set_focused_node(node);
                surface.push_to_focused_leaf(pane);
            }
            None => {
                surface.split_below(NodeIndex::root(), 0.6, vec![pane]);
            }
        },
    }
}

/// Closes `pane` if it is open.
pub(crate) fn close(dock: &mut DockState<Pane>, pane: Pane) {
    if let Some(path) = dock.find_tab(&pane) {
        dock.remove_tab(path);
    }
}

/// The top bar's buttons, one per pane: a click shows it (opening it if it was closed).
pub(crate) fn buttons(ui: &mut egui::Ui, dock: &mut DockState<Pane>, hint: impl Fn(Pane) -> Option<String>) {
    for pane in Pane::ALL {
        let open = is_open(dock, pane);
        let button = ui.selectable_label(open, pane.title());
        let button = match hint(pane) {
            Some(text) => button.on_hover_text(text),
            None => button.on_hover_text(if open { "Show this panel" } else { "Open this panel again" }),
        };
        if button.clicked() {
            show(dock, pane);
        }
    }
}

//! The dependency graph: an `egui_graphs::GraphView` with a node per module and an edge per
//! dependency, laid out in four layer columns (core, systems, plugins, apps), each module's
//! row fixed by load order.
//!
//! `GraphView::show` requests a repaint on every frame it runs, and egui cannot take a
//! request back, so showing it every frame would keep the editor busy forever. The panel
//! therefore shows it only on frames where something it draws could change (pointer input
//! over it, new module data, a new size, the selection) and, on every other frame, puts the
//! shapes the last `show` painted back into the same layer and allocates the same canvas
//! response, so the screen and hit-testing are identical and the frame loop can go idle.
//!
//! The nodes are painted shapes, not widgets, so each also gets an invisible clickable rect
//! with an accessibility label (its module id), registered *below* the canvas: a mouse click
//! lands on the canvas and selects through egui_graphs, and a screen reader's (or a test's)
//! AccessKit click reaches the node's own widget.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use egui_graphs::{
    DisplayEdge, DisplayNode, DrawContext, Graph, GraphChange, GraphView, Layout, LayoutState, Node, NodeProps,
    SettingsInteraction, SettingsNavigation,
};
use petgraph::stable_graph::{DefaultIx, IndexType, NodeIndex};
use petgraph::{Directed, EdgeType};
use playground_api::egui::{
    self, Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Vec2, WidgetInfo,
    WidgetType, epaint::ClippedShape, epaint::CubicBezierShape,
};
use playground_api::host::{ModuleInfo, ModuleStatus};
use playground_api::serde::{Deserialize, Serialize};

/// What the panel asks of the editor after drawing.
pub(crate) enum Action {
    /// Reload this module (a node's button or its context menu).
    Reload(String),
}

const LAYERS: [&str; 4] = ["core", "systems", "plugins", "apps"];
/// A node's box, in canvas units (egui_graphs scales the canvas to fit the panel).
const NODE: Vec2 = Vec2::new(200.0, 50.0);
const COLUMN_GAP: f32 = 70.0;
const ROW_GAP: f32 = 24.0;
const MARGIN: f32 = 14.0;
/// Room on the left for the loops between two modules of one column.
const LEFT: f32 = 56.0;
/// Room above the first row for the layer names.
const HEADER: f32 = 34.0;

/// How a module stands, as its node shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Status {
    Loaded,
    Contract,
    /// Being rebuilt now: a reload follows if the build succeeds.
    Reloading,
    /// Its last build failed: the code running is older than its sources.
    Stale,
    Failed,
}

impl Status {
    fn fill(self) -> Color32 {
        match self {
            Status::Loaded => Color32::from_rgb(34, 92, 58),
            Status::Contract => Color32::from_rgb(42, 64, 104),
            Status::Reloading => Color32::from_rgb(30, 96, 120),
            Status::Stale => Color32::from_rgb(124, 84, 24),
            Status::Failed => Color32::from_rgb(128, 36, 36),
        }
    }
}

/// One module, as its node draws it: everything the drawing depends on, so that comparing
/// two of these says whether the graph must be drawn again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ModuleNode {
    id: String,
    status: Status,
    /// The second line: version, generation or what is wrong.
    detail: String,
    /// Optional features offered but not enabled, shown on the node.
    disabled: Vec<String>,
    /// Whether the last reload swapped this module.
    moved: bool,
    /// Shown when the pointer rests on the node.
    tooltip: String,
}

/// What a graph node stands for. The two corners are invisible nodes at the canvas' top-left
/// and bottom-right: egui_graphs fits its view to the nodes' centres plus their height, which
/// would cut the sides of wide boxes, so the corners pin the whole layered canvas instead.
/// The top-left one also draws the layer names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Item {
    Module(ModuleNode),
    Corner { headers: bool },
}

/// The node drawing: a rounded box with the module id, its status line and badges.
#[derive(Clone, Debug)]
pub(crate) struct NodeShape {
    item: Item,
    /// The box centre, in canvas units.
    pos: Pos2,
    selected: bool,
    hovered: bool,
    /// Where the box was last drawn, in screen points (for its accessibility rect).
    screen: Rect,
}

impl From<NodeProps<Item>> for NodeShape {
    fn from(props: NodeProps<Item>) -> Self {
        NodeShape {
            item: props.payload.clone(),
            pos: props.location(),
            selected: props.selected,
            hovered: props.hovered,
            screen: Rect::NOTHING,
        }
    }
}

/// One line of text anchored at `at`, as a shape (node drawing returns shapes, not paints).
fn text(ctx: &DrawContext<'_>, at: Pos2, align: Align2, text: &str, size: f32, color: Color32) -> Shape {
    let galley = ctx.ctx.fonts_mut(|f| f.layout_no_wrap(text.to_owned(), FontId::proportional(size), color));
    let rect = align.anchor_size(at, galley.size());
    Shape::galley(rect.min, galley, color)
}

impl NodeShape {
    fn module_shapes(&self, node: &ModuleNode, ctx: &DrawContext<'_>) -> Vec<Shape> {
        let zoom = ctx.meta.zoom;
        let rect = self.screen;
        let stroke = if self.selected {
            Stroke::new(2.5, Color32::WHITE)
        } else if node.moved {
            Stroke::new(2.0, Color32::from_rgb(240, 200, 60))
        } else if self.hovered {
            Stroke::new(1.5, Color32::LIGHT_GRAY)
        } else {
            Stroke::new(1.0, Color32::from_gray(90))
        };
        let mut shapes = vec![Shape::rect_filled(rect, CornerRadius::same(7), node.status.fill())];
        shapes.push(Shape::rect_stroke(rect, CornerRadius::same(7), stroke, StrokeKind::Inside));
        let pad = 9.0 * zoom;
        shapes.push(text(
            ctx,
            rect.left_top() + Vec2::new(pad, 7.0 * zoom),
            Align2::LEFT_TOP,
            &node.id,
            14.0 * zoom,
            Color32::WHITE,
        ));
        let mut detail = node.detail.clone();
        match node.disabled.as_slice() {
            [] => {}
            [one] => detail.push_str(&format!(" · {one} off")),
            many => detail.push_str(&format!(" · {} features off", many.len())),
        }
        shapes.push(text(
            ctx,
            rect.left_bottom() + Vec2::new(pad, -7.0 * zoom),
            Align2::LEFT_BOTTOM,
            &detail,
            11.0 * zoom,
            Color32::from_gray(215),
        ));
        if node.moved {
            // The badge of the modules the last reload swapped.
            let badge =
                Rect::from_center_size(rect.right_top() + Vec2::new(-32.0, 0.0) * zoom, Vec2::new(56.0, 16.0) * zoom);
            shapes.push(Shape::rect_filled(badge, CornerRadius::same(8), Color32::from_rgb(240, 200, 60)));
            shapes.push(text(ctx, badge.center(), Align2::CENTER_CENTER, "reloaded", 10.0 * zoom, Color32::BLACK));
        }
        shapes
    }
}

impl DisplayNode<Item, (), Directed, DefaultIx> for NodeShape {
    fn closest_boundary_point(&self, dir: Vec2) -> Pos2 {
        if !matches!(self.item, Item::Module(_)) {
            return self.pos;
        }
        // The point where a ray from the centre leaves the box.
        let half = NODE / 2.0;
        let scale = (half.x / dir.x.abs().max(f32::EPSILON)).min(half.y / dir.y.abs().max(f32::EPSILON));
        self.pos + dir * scale
    }

    fn shapes(&mut self, ctx: &DrawContext<'_>) -> Vec<Shape> {
        match &self.item {
            Item::Module(node) => {
                self.screen = Rect::from_center_size(ctx.meta.canvas_to_screen_pos(self.pos), NODE * ctx.meta.zoom);
                self.module_shapes(node, ctx)
            }
            Item::Corner { headers: true } => {
                let color = ctx.ctx.global_style().visuals.weak_text_color();
                LAYERS
                    .iter()
                    .enumerate()
                    .map(|(column, layer)| {
                        let at = ctx.meta.canvas_to_screen_pos(Pos2::new(column_x(column), MARGIN));
                        text(ctx, at, Align2::LEFT_TOP, layer, 13.0 * ctx.meta.zoom, color)
                    })
                    .collect()
            }
            Item::Corner { headers: false } => Vec::new(),
        }
    }

    fn update(&mut self, props: &NodeProps<Item>) {
        props.payload.clone_into(&mut self.item);
        self.pos = props.location();
        self.selected = props.selected;
        self.hovered = props.hovered;
    }

    fn is_inside(&self, pos: Pos2) -> bool {
        matches!(self.item, Item::Module(_)) && Rect::from_center_size(self.pos, NODE).contains(pos)
    }
}

/// The edge drawing: a curve from the dependency's right side to the dependent's left side,
/// or a loop on the left when both are in one column (a contract using another).
#[derive(Clone, Debug)]
pub(crate) struct EdgeShape;

impl From<egui_graphs::EdgeProps<()>> for EdgeShape {
    fn from(_: egui_graphs::EdgeProps<()>) -> Self {
        EdgeShape
    }
}

/// A cubic curve: start, two control points, end.
type Piece = [Pos2; 4];

/// The path of an edge from box `from` to box `to`, in screen points: curves and straight
/// segments, the last ending at `to`'s left side.
fn route(from: Rect, to: Rect, zoom: f32) -> Vec<Piece> {
    let gap = COLUMN_GAP * zoom;
    if (from.center().x - to.center().x).abs() < 1.0 {
        // One column (a contract using another): a loop on the left side.
        let (start, end) = (from.left_center(), to.left_center());
        let bend = Vec2::new(-0.35 * from.width(), 0.0);
        return vec![[start, start + bend, end + bend, end]];
    }
    let (start, end) = (from.right_center(), to.left_center());
    if to.left() - from.right() < gap * 1.5 {
        // Next column: one S-curve through the gap.
        let half = Vec2::new((end.x - start.x) / 2.0, 0.0);
        return vec![[start, start + half, end - half, end]];
    }
    // Past a column: down into the free lane below both rows, along it, and up into the
    // target, so the line never runs behind a box it does not belong to.
    let lane = from.bottom().max(to.bottom()) + ROW_GAP * zoom / 2.0;
    let (out, back) = (start.x + gap / 2.0, end.x - gap / 2.0);
    let (along, until) = (Pos2::new(out + gap / 2.0, lane), Pos2::new(back - gap / 2.0, lane));
    vec![
        [start, Pos2::new(out, start.y), Pos2::new(out, lane), along],
        [along, along, until, until],
        [until, Pos2::new(back, lane), Pos2::new(back, end.y), end],
    ]
}

type GraphNode = Node<Item, (), Directed, DefaultIx, NodeShape>;

impl DisplayEdge<Item, (), Directed, DefaultIx, NodeShape> for EdgeShape {
    fn shapes(&mut self, start: &GraphNode, end: &GraphNode, ctx: &DrawContext<'_>) -> Vec<Shape> {
        let box_of =
            |n: &GraphNode| Rect::from_center_size(ctx.meta.canvas_to_screen_pos(n.location()), NODE * ctx.meta.zoom);
        let lit = start.selected() || end.selected();
        let visuals = &ctx.ctx.global_style().visuals;
        let color = if lit { visuals.text_color() } else { visuals.weak_text_color() };
        let stroke = Stroke::new(if lit { 2.0 } else { 1.2 }, color);
        let mut pieces = route(box_of(start), box_of(end), ctx.meta.zoom);
        // The arrow head ends the last piece, pointing the way it arrives.
        let Some(last) = pieces.last_mut() else { return Vec::new() };
        let tip = last[3];
        let direction = (tip - last[2]).normalized();
        let size = 4.0 * ctx.meta.zoom.max(0.6);
        let base = tip - direction * size * 2.2;
        last[3] = base;
        let mut shapes: Vec<Shape> = pieces
            .into_iter()
            .map(|p| CubicBezierShape::from_points_stroke(p, false, Color32::TRANSPARENT, stroke).into())
            .collect();
        let side = direction.rot90() * size;
        shapes.push(Shape::convex_polygon(vec![tip, base + side, base - side], color, Stroke::NONE));
        shapes
    }

    fn update(&mut self, _: &egui_graphs::EdgeProps<()>) {}

    fn is_inside(&self, _: &GraphNode, _: &GraphNode, _: Pos2) -> bool {
        // Edges are not clickable: a click between nodes clears the selection.
        false
    }
}

/// The layout egui_graphs runs each frame: none. The panel places every node itself, in
/// layer columns, so the picture is the same on every run (random or force-directed
/// layouts are neither readable here nor testable by snapshot).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub(crate) struct FixedState;

impl LayoutState for FixedState {
    // Nothing to remember, so nothing goes into egui memory (ARCHITECTURE.md, invariant 4: no type of
    // this library is left there for the next generation to read).
    fn load(_: &egui::Ui, _: Option<String>) -> Self {
        FixedState
    }

    fn save(self, _: &mut egui::Ui, _: Option<String>) {}
}

/// The no-op layout: node locations are the ones [`build`] set.
#[derive(Debug, Default)]
pub(crate) struct FixedLayout;

impl Layout<FixedState> for FixedLayout {
    fn from_state(_: FixedState) -> impl Layout<FixedState> {
        FixedLayout
    }

    fn next<N, E, Ty, Ix, Dn, De>(&mut self, _: &mut Graph<N, E, Ty, Ix, Dn, De>, _: &egui::Ui)
    where
        N: Clone,
        E: Clone,
        Ty: EdgeType,
        Ix: IndexType,
        Dn: DisplayNode<N, E, Ty, Ix>,
        De: DisplayEdge<N, E, Ty, Ix, Dn>,
    {
    }

    fn state(&self) -> FixedState {
        FixedState
    }
}

type ModuleGraph = Graph<Item, (), Directed, DefaultIx, NodeShape, EdgeShape>;

/// The left edge of a layer column, in canvas units.
fn column_x(column: usize) -> f32 {
    column as f32 * (NODE.x + COLUMN_GAP)
}

/// The centre of a node in a column and row, in canvas units.
fn place(column: usize, row: usize) -> Pos2 {
    Pos2::new(column_x(column) + NODE.x / 2.0, HEADER + row as f32 * (NODE.y + ROW_GAP) + NODE.y / 2.0)
}

/// Each module's column (its layer) and row (the next free one in that column, in load
/// order).
fn layout(modules: &[ModuleInfo]) -> Vec<(usize, usize)> {
    let mut rows = [0usize; 4];
    modules
        .iter()
        .map(|m| {
            let column = LAYERS.iter().position(|l| *l == m.layer).unwrap_or(LAYERS.len() - 1);
            let row = rows[column];
            rows[column] += 1;
            (column, row)
        })
        .collect()
}

/// What the host says about the modules beyond `ModuleInfo`, for one frame.
pub(crate) struct Facts<'a> {
    pub(crate) modules: &'a [ModuleInfo],
    /// The modules the last reload swapped.
    pub(crate) moved: &'a [String],
    /// The modules being built now.
    pub(crate) building: &'a [String],
    /// The modules whose last build failed (their running code is older than their sources).
    pub(crate) stale: &'a [String],
}

fn node_of(module: &ModuleInfo, facts: &Facts<'_>) -> ModuleNode {
    let status = match &module.status {
        ModuleStatus::Failed(_) => Status::Failed,
        _ if facts.building.contains(&module.id) => Status::Reloading,
        _ if facts.stale.contains(&module.id) => Status::Stale,
        ModuleStatus::Contract => Status::Contract,
        // A paused module still runs and answers calls; its last error says why it is paused.
        ModuleStatus::Loaded | ModuleStatus::Paused(_) => Status::Loaded,
    };
    let detail = match status {
        // Running, but something it did failed (a panicked call or tick): the tooltip says what.
        // Short, so that a feature left off still fits on the node beside it.
        Status::Loaded if module.last_error.is_some() => format!("v{} · ⚠ error", module.version),
        Status::Loaded => format!("v{} · generation {}", module.version, module.generation),
        Status::Contract => format!("v{} · contract", module.version),
        Status::Reloading => format!("v{} · building…", module.version),
        Status::Stale => format!("v{} · stale: build failed", module.version),
        Status::Failed => format!("v{} · failed", module.version),
    };
    let disabled: Vec<String> = module
        .features
        .iter()
        .filter(|f| f.as_str() != "default" && !module.enabled_features.contains(f))
        .cloned()
        .collect();
    let mut tooltip = module.description.clone();
    match (&module.status, &module.last_error) {
        (ModuleStatus::Failed(why), _) => tooltip.push_str(&format!("\n\nFailed: {why}")),
        (_, Some(error)) => tooltip.push_str(&format!("\n\nLast error: {error}")),
        _ => {}
    }
    if !disabled.is_empty() {
        tooltip.push_str(&format!("\n\nOptional features not enabled: {}", disabled.join(", ")));
    }
    tooltip.push_str("\n\nRight-click to reload it.");
    ModuleNode { id: module.id.clone(), status, detail, disabled, moved: facts.moved.contains(&module.id), tooltip }
}

/// The graph built from one module list: its topology decides when to rebuild it.
struct Built {
    graph: ModuleGraph,
    /// The invisible bottom-right corner, and where the layout ends (see [`Built::frame`]).
    corner: NodeIndex<DefaultIx>,
    natural: Pos2,
    /// Each module's node.
    index: BTreeMap<String, NodeIndex<DefaultIx>>,
    /// The ids and dependency ids it was built from.
    topology: Vec<(String, Vec<String>)>,
}

fn topology(modules: &[ModuleInfo]) -> Vec<(String, Vec<String>)> {
    modules.iter().map(|m| (m.id.clone(), m.dependencies.iter().map(|d| d.id.clone()).collect())).collect()
}

fn build(modules: &[ModuleInfo], facts: &Facts<'_>) -> Built {
    let mut graph = ModuleGraph::new();
    let mut index = BTreeMap::new();
    let places = layout(modules);
    let rows = places.iter().map(|(_, r)| r + 1).max().unwrap_or(1);
    graph.add_node_with_location(Item::Corner { headers: true }, Pos2::new(-LEFT, 0.0));
    let natural = Pos2::new(column_x(LAYERS.len() - 1) + NODE.x + MARGIN, place(0, rows - 1).y + NODE.y / 2.0 + MARGIN);
    let corner = graph.add_node_with_location(Item::Corner { headers: false }, natural);
    for (module, (column, row)) in modules.iter().zip(places) {
        let idx = graph.add_node_with_location(Item::Module(node_of(module, facts)), place(column, row));
        index.insert(module.id.clone(), idx);
    }
    for module in modules {
        let Some(&to) = index.get(&module.id) else { continue };
        for dependency in &module.dependencies {
            if let Some(&from) = index.get(&dependency.id) {
                graph.add_edge(from, to, ());
            }
        }
    }
    Built { graph, corner, natural, index, topology: topology(modules) }
}

impl Built {
    /// Moves the bottom-right corner so that egui_graphs' fit-to-screen shows the layout at
    /// the top left of `canvas`, never magnified (text stays the size it was designed at),
    /// and shrunk only as much as it must be to fit.
    fn frame(&mut self, canvas: Vec2) {
        let natural = self.natural.to_vec2() + Vec2::new(LEFT, 0.0);
        let padded = 1.0 + PADDING;
        let zoom = (canvas.x / (natural.x * padded)).min(canvas.y / (natural.y * padded)).clamp(0.05, 1.0);
        let extent = canvas / (zoom * padded);
        if let Some(corner) = self.graph.node_mut(self.corner) {
            corner.set_location(Pos2::new(extent.x - LEFT, extent.y));
        }
    }
}

/// egui_graphs' fit-to-screen padding, as a fraction of the graph's size.
const PADDING: f32 = 0.02;

/// What the last `GraphView::show` drew, to paint again on quiet frames.
struct Drawn {
    /// The canvas rect, pixels per point and a hash of everything drawn (module data,
    /// selection, theme): when one differs, the graph is shown again.
    rect: Rect,
    pixels_per_point: f32,
    content: u64,
    /// The shapes `show` added to the panel's layer, in order.
    shapes: Vec<ClippedShape>,
    /// Each module node's id, box on screen and status text, for its accessibility node
    /// and reload button.
    nodes: Vec<(String, Rect, String)>,
    /// Whether the pointer was over the canvas then: leaving it must redraw (hover ends).
    pointer_inside: bool,
}

/// The graph panel. It lives in the editor's instance (not its saved state): a new
/// generation starts with an empty cache and shows the graph on its first frame.
#[derive(Default)]
pub(crate) struct GraphPanel {
    built: Option<Built>,
    drawn: Option<Drawn>,
    /// The module whose context menu is open.
    menu_for: Option<String>,
    /// How many frames called `GraphView::show`, and how many node clicks egui_graphs
    /// reported (for tests, through the editor's `call`).
    pub(crate) shows: u64,
    pub(crate) graph_clicks: u64,
}

/// Whether this frame's input could change what the graph draws: pointer movement, buttons
/// or scrolling over the canvas (or leaving it).
fn pointer_activity(ui: &egui::Ui, rect: Rect, was_inside: bool) -> (bool, bool) {
    ui.input(|i| {
        let inside = i.pointer.latest_pos().is_some_and(|p| rect.contains(p));
        let events = i.events.iter().any(|e| {
            matches!(
                e,
                egui::Event::PointerMoved(_)
                    | egui::Event::PointerButton { .. }
                    | egui::Event::PointerGone
                    | egui::Event::MouseWheel { .. }
                    | egui::Event::Zoom(_)
                    | egui::Event::Touch { .. }
            )
        });
        (events && (inside || was_inside), inside)
    })
}

impl GraphPanel {
    /// Draws the graph; a click selects a node (or, on empty space, clears the selection);
    /// a node's reload button or context menu asks for its reload.
    pub(crate) fn show(
        &mut self,
        ui: &mut egui::Ui,
        facts: &Facts<'_>,
        graph_id: &str,
        selected: &mut Option<String>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        if facts.modules.is_empty() {
            ui.centered_and_justified(|ui| ui.label("No modules"));
            return actions;
        }
        if self.built.as_ref().is_none_or(|b| b.topology != topology(facts.modules)) {
            self.built = Some(build(facts.modules, facts));
            self.drawn = None;
        }
        let Some(built) = self.built.as_mut() else { return actions };
        for module in facts.modules {
            if let Some(node) = built.index.get(&module.id).and_then(|&i| built.graph.node_mut(i)) {
                let item = Item::Module(node_of(module, facts));
                if *node.payload() != item {
                    *node.payload_mut() = item;
                }
            }
        }

        // The nodes' accessibility rects, from the last drawing, registered before the canvas
        // so that the canvas is on top for the pointer (see the file's comment).
        let nodes = self.drawn.as_ref().map(|d| d.nodes.clone()).unwrap_or_default();
        for (id, rect, value) in &nodes {
            let response = ui.interact(*rect, ui.id().with(("module-node", id)), Sense::click());
            let is_selected = selected.as_deref() == Some(id.as_str());
            response.widget_info(|| WidgetInfo {
                current_text_value: Some(value.clone()),
                ..WidgetInfo::selected(WidgetType::SelectableLabel, true, is_selected, id)
            });
            if response.clicked() {
                *selected = Some(id.clone());
            }
        }

        for (id, &idx) in &built.index {
            if let Some(node) = built.graph.node_mut(idx) {
                node.set_selected(selected.as_deref() == Some(id.as_str()));
            }
        }
        let mut hasher = DefaultHasher::new();
        for (_, node) in built.graph.nodes_iter() {
            (node.payload(), node.selected()).hash(&mut hasher);
        }
        ui.visuals().dark_mode.hash(&mut hasher);
        let content = hasher.finish();

        let rect = ui.available_rect_before_wrap();
        let pixels_per_point = ui.ctx().pixels_per_point();
        let was_inside = self.drawn.as_ref().is_some_and(|d| d.pointer_inside);
        let (activity, inside) = pointer_activity(ui, rect, was_inside);
        let reuse = self
            .drawn
            .as_ref()
            .filter(|d| !activity && d.rect == rect && d.pixels_per_point == pixels_per_point && d.content == content);

        let response = if let Some(drawn) = reuse {
            // A quiet frame: the same canvas response (same id, rect and sense as the one
            // egui_graphs allocates) and the same shapes, without asking for another frame.
            let (response, painter) = ui.allocate_painter(rect.size(), Sense::click_and_drag());
            let layer = painter.layer_id();
            ui.ctx().graphics_mut(|g| {
                let list = g.entry(layer);
                for clipped in &drawn.shapes {
                    list.add(clipped.clip_rect, clipped.shape.clone());
                }
            });
            response
        } else {
            built.frame(rect.size());
            let layer = ui.layer_id();
            let start = ui.ctx().graphics(|g| g.get(layer).map_or(0, |l| l.next_idx().0));
            let shown = GraphView::<FixedState, FixedLayout>::new()
                .with_interactions(
                    &SettingsInteraction::new()
                        .with_dragging_enabled(false)
                        .with_hover_enabled(true)
                        .with_node_clicking_enabled(true),
                )
                .with_navigations(
                    &SettingsNavigation::new()
                        .with_fit_to_screen_enabled(true)
                        .with_zoom_and_pan_enabled(false)
                        .with_fit_to_screen_padding(PADDING),
                )
                .with_id(Some(graph_id.to_owned()))
                .show(ui, &mut built.graph);
            self.shows += 1;
            let shapes = ui
                .ctx()
                .graphics(|g| g.get(layer).map(|l| l.all_entries().skip(start).cloned().collect()).unwrap_or_default());
            let mut clicked_node = false;
            for change in &shown.changes {
                if let GraphChange::NodeClicked { node } = change
                    && let Some(Item::Module(m)) = built.graph.node(*node).map(|n| n.payload())
                {
                    *selected = Some(m.id.clone());
                    clicked_node = true;
                    self.graph_clicks += 1;
                }
            }
            if shown.response.clicked() && !clicked_node {
                *selected = None;
            }
            let nodes = built
                .index
                .iter()
                .filter_map(|(id, &idx)| {
                    let node = built.graph.node(idx)?;
                    let Item::Module(m) = node.payload() else { return None };
                    let value = if m.moved { format!("{} · reloaded", m.detail) } else { m.detail.clone() };
                    Some((id.clone(), node.display().screen, value))
                })
                .collect();
            self.drawn = Some(Drawn { rect, pixels_per_point, content, shapes, nodes, pointer_inside: inside });
            shown.response
        };

        let hovered = built.graph.hovered_node().and_then(|idx| match built.graph.node(idx).map(|n| n.payload()) {
            Some(Item::Module(m)) => Some(m.clone()),
            _ => None,
        });
        if response.secondary_clicked() {
            self.menu_for = hovered.as_ref().map(|m| m.id.clone());
        }
        if let Some(id) = self.menu_for.clone() {
            response.context_menu(|ui| {
                ui.strong(&id);
                if ui.button("Reload with dependents").clicked() {
                    actions.push(Action::Reload(id.clone()));
                    ui.close();
                }
                if ui.button("Inspect").clicked() {
                    *selected = Some(id.clone());
                    ui.close();
                }
            });
        }
        if let Some(module) = hovered {
            response.on_hover_text(module.tooltip);
        }

        // A reload button on every node (contracts too: that reloads everything compiled
        // against them). Real widgets, drawn each frame above the canvas.
        let zoom = self.drawn.as_ref().map_or(1.0, |d| d.nodes.first().map_or(1.0, |(_, r, _)| r.height() / NODE.y));
        for (id, rect, _) in self.drawn.as_ref().map(|d| d.nodes.clone()).unwrap_or_default() {
            let button =
                Rect::from_min_size(rect.right_bottom() - Vec2::new(29.0, 25.0) * zoom, Vec2::new(22.0, 20.0) * zoom);
            let reload = ui.put(button, egui::Button::new(egui::RichText::new("⟳").size(13.0 * zoom)).small());
            if reload.on_hover_text(format!("Reload {id} and its dependents")).clicked() {
                actions.push(Action::Reload(id));
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use playground_api::host::{ModuleInfo, ModuleStatus};

    use super::{Facts, Status, node_of};

    fn running(last_error: Option<&str>) -> ModuleInfo {
        ModuleInfo {
            id: "plugins/counter".to_owned(),
            version: "1.0.0".to_owned(),
            layer: "plugins".to_owned(),
            description: "Counts.".to_owned(),
            status: ModuleStatus::Loaded,
            generation: 2,
            dependencies: Vec::new(),
            implements: Vec::new(),
            features: Vec::new(),
            enabled_features: Vec::new(),
            library: None,
            abi: None,
            last_error: last_error.map(str::to_owned),
            workers: Vec::new(),
        }
    }

    #[test]
    fn a_running_module_with_an_error_says_so_on_its_node() {
        let facts = Facts { modules: &[], moved: &[], building: &[], stale: &[] };
        let quiet = node_of(&running(None), &facts);
        assert_eq!((quiet.status, quiet.detail.as_str()), (Status::Loaded, "v1.0.0 · generation 2"));
        assert!(!quiet.tooltip.contains("Last error"));

        let failing = node_of(&running(Some("`plugins/counter` failed in tick: panicked")), &facts);
        assert_eq!(failing.status, Status::Loaded, "it still runs");
        assert_eq!(failing.detail, "v1.0.0 · ⚠ error");
        assert!(
            failing.tooltip.contains("Last error: `plugins/counter` failed in tick: panicked"),
            "{}",
            failing.tooltip
        );
    }
}

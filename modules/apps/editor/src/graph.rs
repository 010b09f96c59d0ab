//! The dependency graph: a node per module, an edge per dependency, laid out in four layer
//! columns (core, systems, plugins, apps), each module's row fixed by load order.
//!
//! It is painted here rather than with `egui_graphs::GraphView`, which requests a repaint
//! on every frame it shows (no setting turns that off), so the editor would never go idle.
//! Each node is an interactive widget with an accessibility label (the module id), so
//! users of screen readers and the UI tests find it by name.

use playground_api::egui::{
    self, Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2, WidgetInfo, WidgetType,
    epaint::CubicBezierShape,
};
use playground_api::host::{ModuleInfo, ModuleStatus};

use crate::Action;

const LAYERS: [&str; 4] = ["core", "systems", "plugins", "apps"];
const NODE: Vec2 = Vec2::new(190.0, 46.0);
const COLUMN_GAP: f32 = 70.0;
const ROW_GAP: f32 = 22.0;
const MARGIN: f32 = 16.0;
/// Room on the left for the loops between two modules of the core column.
const LEFT: f32 = 56.0;
const HEADER: f32 = 24.0;

/// Where each module's node goes, in unscaled canvas units: its layer's column, and the
/// next free row in that column (the modules arrive in load order).
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

fn fill(status: &ModuleStatus) -> Color32 {
    match status {
        ModuleStatus::Loaded => Color32::from_rgb(34, 92, 58),
        ModuleStatus::Contract => Color32::from_rgb(42, 64, 104),
        ModuleStatus::Failed(_) => Color32::from_rgb(128, 36, 36),
    }
}

fn status_text(module: &ModuleInfo) -> String {
    match &module.status {
        ModuleStatus::Loaded => format!("v{} · generation {}", module.version, module.generation),
        ModuleStatus::Contract => format!("v{} · contract", module.version),
        ModuleStatus::Failed(_) => format!("v{} · failed", module.version),
    }
}

/// An arrow from `from` to `to`, bending sideways when both ends are in one column.
fn edge(painter: &egui::Painter, from: Rect, to: Rect, stroke: Stroke) {
    let (start, end, c1, c2) = if (from.center().x - to.center().x).abs() < 1.0 {
        // Same layer (a contract using another): a loop on the left side.
        let (start, end) = (from.left_center(), to.left_center());
        let bend = Vec2::new(-0.35 * NODE.x.min(from.width()), 0.0);
        (start, end, start + bend, end + bend)
    } else {
        let (start, end) = (from.right_center(), to.left_center());
        let half = (end.x - start.x) / 2.0;
        (start, end, start + Vec2::new(half, 0.0), end - Vec2::new(half, 0.0))
    };
    painter.add(CubicBezierShape::from_points_stroke([start, c1, c2, end], false, Color32::TRANSPARENT, stroke));
    let direction = (end - c2).normalized();
    let side = direction.rot90() * 4.0;
    let tip = end;
    let base = end - direction * 9.0;
    painter.add(egui::Shape::convex_polygon(vec![tip, base + side, base - side], stroke.color, Stroke::NONE));
}

/// Draws the graph; a click selects a node (or, on empty space, clears the selection), a
/// node's reload button or context menu asks for its reload.
pub(crate) fn show(
    ui: &mut egui::Ui,
    modules: &[ModuleInfo],
    moved: &[String],
    selected: &mut Option<String>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let places = layout(modules);
    let rows = places.iter().map(|(_, r)| r + 1).max().unwrap_or(0);
    let natural = Vec2::new(
        4.0 * NODE.x + 3.0 * COLUMN_GAP + LEFT + MARGIN,
        HEADER + rows as f32 * (NODE.y + ROW_GAP) + 2.0 * MARGIN,
    );
    let (canvas, painter) = ui.allocate_painter(ui.available_size(), Sense::click());
    // Shrink to fit, never grow past the natural size: text stays readable.
    let scale = (canvas.rect.width() / natural.x).min(canvas.rect.height() / natural.y).clamp(0.45, 1.0);
    let origin = canvas.rect.min + Vec2::new(LEFT, MARGIN) * scale;
    let node_rect = |(column, row): (usize, usize)| {
        let min =
            origin + Vec2::new(column as f32 * (NODE.x + COLUMN_GAP), HEADER + row as f32 * (NODE.y + ROW_GAP)) * scale;
        Rect::from_min_size(min, NODE * scale)
    };
    let text = ui.visuals().text_color();
    for (column, layer) in LAYERS.iter().enumerate() {
        let at = origin + Vec2::new(column as f32 * (NODE.x + COLUMN_GAP), 0.0) * scale;
        painter.text(at, Align2::LEFT_TOP, *layer, FontId::proportional(13.0 * scale), ui.visuals().weak_text_color());
    }

    let rect_of = |id: &str| modules.iter().position(|m| m.id == id).map(|i| node_rect(places[i]));
    for module in modules {
        let Some(to) = rect_of(&module.id) else { continue };
        for dependency in &module.dependencies {
            let Some(from) = rect_of(&dependency.id) else { continue };
            let lit = selected.as_deref().is_some_and(|s| s == module.id || s == dependency.id);
            let color = if lit { text } else { ui.visuals().weak_text_color() };
            edge(&painter, from, to, Stroke::new(if lit { 2.0 } else { 1.2 }, color));
        }
    }

    let mut clicked_node = false;
    for (module, place) in modules.iter().zip(&places) {
        let rect = node_rect(*place);
        let id = ui.id().with(("module-node", &module.id));
        let response = ui.interact(rect, id, Sense::click());
        let is_selected = selected.as_deref() == Some(module.id.as_str());
        response.widget_info(|| WidgetInfo::selected(WidgetType::SelectableLabel, true, is_selected, &module.id));
        if response.clicked() {
            *selected = Some(module.id.clone());
            clicked_node = true;
        }
        let has_moved = moved.contains(&module.id);
        let stroke = if is_selected {
            Stroke::new(2.5, Color32::WHITE)
        } else if has_moved {
            Stroke::new(2.0, Color32::from_rgb(240, 200, 60))
        } else if response.hovered() {
            Stroke::new(1.5, Color32::LIGHT_GRAY)
        } else {
            Stroke::new(1.0, Color32::from_gray(90))
        };
        let radius = CornerRadius::same(6);
        painter.rect(rect, radius, fill(&module.status), stroke, StrokeKind::Inside);
        let pad = 8.0 * scale;
        painter.text(
            rect.left_top() + Vec2::new(pad, pad * 0.7),
            Align2::LEFT_TOP,
            &module.id,
            FontId::proportional(14.0 * scale),
            Color32::WHITE,
        );
        painter.text(
            rect.left_bottom() + Vec2::new(pad, -pad * 0.6),
            Align2::LEFT_BOTTOM,
            status_text(module),
            FontId::proportional(11.0 * scale),
            Color32::from_gray(210),
        );
        if has_moved {
            // The badge of the modules the last reload swapped.
            let badge =
                Rect::from_center_size(rect.right_top() + Vec2::new(-30.0, 0.0) * scale, Vec2::new(52.0, 16.0) * scale);
            painter.rect_filled(badge, CornerRadius::same(8), Color32::from_rgb(240, 200, 60));
            painter.text(
                badge.center(),
                Align2::CENTER_CENTER,
                "reloaded",
                FontId::proportional(10.0 * scale),
                Color32::BLACK,
            );
        }
        let hover = match &module.status {
            ModuleStatus::Failed(why) => format!("{}\n\nFailed: {why}", module.description),
            _ => module.description.clone(),
        };
        let response = response.on_hover_text(hover);
        // Every node reloads, contracts too: that reloads everything compiled against them.
        let button = Rect::from_min_size(
            Pos2::new(rect.right() - 28.0 * scale, rect.bottom() - 24.0 * scale),
            Vec2::new(22.0, 20.0) * scale,
        );
        let reload = ui.put(button, egui::Button::new(egui::RichText::new("⟳").size(13.0 * scale)).small());
        if reload.on_hover_text(format!("Reload {} and its dependents", module.id)).clicked() {
            actions.push(Action::Reload(module.id.clone()));
        }
        response.context_menu(|ui| {
            if ui.button("Reload with dependents").clicked() {
                actions.push(Action::Reload(module.id.clone()));
            }
        });
    }
    if canvas.clicked() && !clicked_node {
        *selected = None;
    }
    if modules.is_empty() {
        painter.text(canvas.rect.center(), Align2::CENTER_CENTER, "No modules", FontId::proportional(16.0), text);
    }
    actions
}

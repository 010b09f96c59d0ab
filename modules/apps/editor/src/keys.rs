//! The editor's keyboard: a shortcut for each thing the mouse does most, named in the
//! tooltip of the button or toggle it stands for.
//!
//! Shortcuts with Ctrl (⌘ on a Mac) work everywhere and are consumed, so a focused text field
//! never sees them. The bare keys (arrows to walk the modules in load order, Escape to clear
//! the selection) only act when no widget has the keyboard focus: then they belong to a text
//! field, or to egui's own focus navigation.

use playground_api::egui::{self, Key, KeyboardShortcut, Modifiers};
use playground_api::host::ModuleInfo;

/// Reload the selected module and everything that depends on it.
pub(crate) const RELOAD: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// "New module…".
pub(crate) const NEW_MODULE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
/// Show or hide the inspector.
pub(crate) const INSPECTOR: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::I);
/// Show or hide the timings and the log.
pub(crate) const BOTTOM: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::J);

/// What the keyboard asked for this frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pressed {
    pub(crate) reload: bool,
    pub(crate) new_module: bool,
    pub(crate) toggle_inspector: bool,
    pub(crate) toggle_bottom: bool,
}

/// A tooltip naming its shortcut: "Reload this module (Ctrl+R)".
pub(crate) fn hint(ctx: &egui::Context, text: &str, shortcut: &KeyboardShortcut) -> String {
    format!("{text} ({})", ctx.format_shortcut(shortcut))
}

/// Takes this frame's shortcuts; moves or clears `selected` for the bare keys.
pub(crate) fn read(ctx: &egui::Context, modules: &[ModuleInfo], selected: &mut Option<String>) -> Pressed {
    let pressed = ctx.input_mut(|i| Pressed {
        reload: i.consume_shortcut(&RELOAD),
        new_module: i.consume_shortcut(&NEW_MODULE),
        toggle_inspector: i.consume_shortcut(&INSPECTOR),
        toggle_bottom: i.consume_shortcut(&BOTTOM),
    });
    if ctx.memory(|m| m.focused().is_some()) {
        return pressed;
    }
    let (down, up, escape) = ctx.input_mut(|i| {
        (
            i.consume_key(Modifiers::NONE, Key::ArrowDown),
            i.consume_key(Modifiers::NONE, Key::ArrowUp),
            i.consume_key(Modifiers::NONE, Key::Escape),
        )
    });
    if escape {
        *selected = None;
    }
    if down || up {
        *selected = step(modules, selected.as_deref(), down);
    }
    pressed
}

/// The module after (or before) `from` in load order; the first (or last) when nothing is
/// selected or the selection is gone; it stays at either end.
fn step(modules: &[ModuleInfo], from: Option<&str>, forward: bool) -> Option<String> {
    let at = from.and_then(|id| modules.iter().position(|m| m.id == id));
    let index = match (at, forward) {
        (None, true) => 0,
        (None, false) => modules.len().checked_sub(1)?,
        (Some(i), true) => (i + 1).min(modules.len() - 1),
        (Some(i), false) => i.saturating_sub(1),
    };
    modules.get(index).map(|m| m.id.clone())
}

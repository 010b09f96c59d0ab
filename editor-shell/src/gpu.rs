//! The shell's GPU: the window's wgpu device handed to modules, or without a window a device
//! opened on first use (Mesa's software Vulkan where there is no GPU), so rendering, capture
//! and tests work headless.

use std::sync::Arc;

use playground_api::gpu::{Device, GpuSource};
use playground_api::{egui_wgpu, wgpu};

/// Headless: no device until a module asks for one (a game that only ticks needs none).
pub(crate) fn headless() -> Arc<GpuSource> {
    GpuSource::later(open)
}

/// Opens a device of its own. `WGPU_BACKEND` and the other wgpu variables choose the
/// adapter, as they do for the window.
fn open() -> Result<Device, String> {
    // Vulkan (and Metal, DX12) unless `WGPU_BACKEND` says otherwise: the GL backend needs a
    // display, and without one it only logs that it failed.
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    descriptor.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    let instance = wgpu::Instance::new(descriptor);
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::from_env().unwrap_or_default(),
        force_fallback_adapter: false,
        compatible_surface: None,
        ..Default::default()
    };
    let adapter = pollster::block_on(instance.request_adapter(&options))
        .map_err(|e| format!("no GPU adapter was found ({e}); the game view needs one, the rest runs without"))?;
    let descriptor = wgpu::DeviceDescriptor { label: Some("playground (headless)"), ..Default::default() };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
        .map_err(|e| format!("the GPU adapter {} refused a device: {e}", adapter.get_info().name))?;
    Ok(Device { device, queue, adapter: adapter.get_info(), egui: None })
}

/// The window's device, queue and egui renderer, for modules.
pub(crate) fn from_window(state: Option<&egui_wgpu::RenderState>) -> Result<Device, String> {
    state.map(Device::from_render_state).ok_or_else(|| "the window has no wgpu renderer".to_owned())
}

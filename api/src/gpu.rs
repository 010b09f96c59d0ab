//! The shell's GPU as a module sees it, and the GPU resources the host keeps for a module
//! across its reloads.
//!
//! The shell owns one wgpu device (the window's, or one it opens headless) and hands it out
//! through [`GpuSource`]. A module gets a [`Gpu`] from `ctx.gpu()`: the device, the queue, a
//! way to show a texture in egui, and [`Gpu::keep`], which asks the host to keep a resource
//! under a name. The next generation asks for the same name with the same key and gets the
//! same resource back, with nothing made or uploaded again.
//!
//! Why this is sound (ARCHITECTURE.md, invariant 13): what the host keeps is one of a closed
//! set of wgpu handle types ([`Resource`]), whose layout and code live in the api dylib, never
//! a module's own type; [`Keepable`] is sealed, so a module cannot add one. Whether a kept
//! resource still fits is decided by the module, through the key it passes (a hash of what
//! it was made from: size, format, shader text): a different key makes a new one. After a
//! reload, whatever the new generation did not take back is released by the host
//! ([`Keep::sweep`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::egui;
use crate::egui_wgpu;
use crate::kept::ByModule;
use crate::wgpu;

/// What the shell hands over: a device, its queue, and in a window egui's renderer.
#[derive(Clone)]
pub struct Device {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The adapter's name and backend, for the user.
    pub adapter: wgpu::AdapterInfo,
    /// egui's renderer, to show a module's texture in the UI; `None` without a window.
    pub egui: Option<Arc<egui::mutex::RwLock<egui_wgpu::Renderer>>>,
}

impl Device {
    /// The device, queue and egui renderer of an egui wgpu render state: the window's, or
    /// a test harness's, so that modules draw on the device the UI is painted with.
    pub fn from_render_state(state: &egui_wgpu::RenderState) -> Device {
        Device {
            device: state.device.clone(),
            queue: state.queue.clone(),
            adapter: state.adapter.get_info(),
            egui: Some(Arc::clone(&state.renderer)),
        }
    }
}

/// How the shell's GPU comes to be: ready (a window opened it), opened on first use
/// (headless: no device unless a module asks), or unavailable, and why.
enum Opening {
    Ready(Box<Device>),
    Later(Box<dyn FnOnce() -> Result<Device, String> + Send>),
    Unavailable(String),
    /// A window will hand its device over when it opens.
    Pending,
}

/// The shell's side: where modules' [`Gpu`]s come from, and the store of kept resources.
pub struct GpuSource {
    opening: Mutex<Opening>,
    keep: Keep,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GpuSource {
    /// A source whose device `open` makes on the first request. `open` runs on a thread of
    /// its own, so the driver's threads are not taken for the asking module's.
    pub fn later(open: impl FnOnce() -> Result<Device, String> + Send + 'static) -> Arc<GpuSource> {
        Arc::new(GpuSource { opening: Mutex::new(Opening::Later(Box::new(open))), keep: Keep::default() })
    }

    /// A source for a window that has not opened yet (see [`GpuSource::set`]).
    pub fn pending() -> Arc<GpuSource> {
        Arc::new(GpuSource { opening: Mutex::new(Opening::Pending), keep: Keep::default() })
    }

    /// Hands over the window's device.
    pub fn set(&self, device: Device) {
        *lock(&self.opening) = Opening::Ready(Box::new(device));
    }

    /// Says there is no GPU, and why (no adapter, turned off).
    pub fn set_unavailable(&self, why: String) {
        *lock(&self.opening) = Opening::Unavailable(why);
    }

    /// The device, opened now if it was to be opened on first use.
    pub fn device(&self) -> Result<Device, String> {
        let mut opening = lock(&self.opening);
        if let Opening::Later(_) = &*opening {
            let Opening::Later(open) = std::mem::replace(&mut *opening, Opening::Pending) else {
                unreachable!("matched above")
            };
            let opened = std::thread::Builder::new()
                .name("gpu-open".to_owned())
                .spawn(open)
                .map_err(|e| format!("cannot start the thread that opens the GPU: {e}"))
                .and_then(|t| t.join().map_err(|_| "opening the GPU panicked".to_owned())?);
            *opening = match opened {
                Ok(device) => Opening::Ready(Box::new(device)),
                Err(why) => Opening::Unavailable(why),
            };
        }
        match &*opening {
            Opening::Ready(device) => Ok(Device::clone(device)),
            Opening::Unavailable(why) => Err(why.clone()),
            Opening::Pending => Err("the window has not opened its GPU device yet".to_owned()),
            Opening::Later(_) => Err("the GPU is being opened".to_owned()),
        }
    }

    /// The [`Gpu`] of module `module`.
    pub fn for_module(&self, module: &str) -> Result<Gpu, String> {
        Ok(Gpu { device: self.device()?, module: module.to_owned(), keep: self.keep.clone() })
    }

    /// The store of kept resources, for the loader's reload transaction.
    pub fn keep(&self) -> &Keep {
        &self.keep
    }
}

/// A GPU resource the host can keep: one of wgpu's handle types, never a module's own.
#[derive(Clone, Debug)]
pub enum Resource {
    Buffer(wgpu::Buffer),
    Texture(wgpu::Texture),
    TextureView(wgpu::TextureView),
    Sampler(wgpu::Sampler),
    BindGroupLayout(wgpu::BindGroupLayout),
    BindGroup(wgpu::BindGroup),
    PipelineLayout(wgpu::PipelineLayout),
    RenderPipeline(wgpu::RenderPipeline),
    ShaderModule(wgpu::ShaderModule),
}

mod sealed {
    pub trait Sealed {}
}

/// The wgpu types [`Gpu::keep`] accepts. Sealed: only the api implements it.
pub trait Keepable: sealed::Sealed + Clone {
    /// What the host stores.
    fn into_resource(self) -> Resource;
    /// The resource as this type, if it is one.
    fn from_resource(resource: &Resource) -> Option<Self>;
}

macro_rules! keepable {
    ($($kind:ident),* $(,)?) => {$(
        impl sealed::Sealed for wgpu::$kind {}
        impl Keepable for wgpu::$kind {
            fn into_resource(self) -> Resource {
                Resource::$kind(self)
            }
            fn from_resource(resource: &Resource) -> Option<Self> {
                match resource {
                    Resource::$kind(r) => Some(r.clone()),
                    _ => None,
                }
            }
        }
    )*};
}

keepable!(
    Buffer,
    Texture,
    TextureView,
    Sampler,
    BindGroupLayout,
    BindGroup,
    PipelineLayout,
    RenderPipeline,
    ShaderModule
);

/// One kept resource: what it is, and the key it was made for.
struct GpuKept {
    resource: Resource,
    key: u64,
}

#[derive(Default)]
struct Store {
    /// By module id, then by the name the module gave.
    kept: ByModule<GpuKept>,
    /// egui textures shown by a module, by module and name: the id and the view behind it.
    shown: BTreeMap<(String, String), (egui::TextureId, wgpu::TextureView)>,
    /// Bytes each module wrote to the GPU through [`Gpu::write_buffer`] and
    /// [`Gpu::write_texture`], since the process started.
    uploaded: BTreeMap<String, u64>,
    /// How many resources each module made anew through [`Gpu::keep`].
    made: BTreeMap<String, u64>,
}

/// The host's store of kept resources, shared by every [`Gpu`] of a source.
#[derive(Clone, Default)]
pub struct Keep(Arc<Mutex<Store>>);

/// What the store holds for one module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeptCounts {
    /// Resources kept now.
    pub kept: usize,
    /// Resources made anew by [`Gpu::keep`] since the process started (a reload that takes
    /// everything back adds none).
    pub made: u64,
    /// Bytes written to the GPU since the process started.
    pub uploaded: u64,
}

impl Keep {
    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.0)
    }

    /// Marks every resource of `module` as not taken: called before a generation of it
    /// starts, so that [`Keep::sweep`] can tell what the new one took back.
    pub fn begin(&self, module: &str) {
        self.store().kept.begin(module);
    }

    /// Releases the resources of `module` its running generation did not take back, and
    /// returns how many. Called when a reload ends, committed or rolled back.
    pub fn sweep(&self, module: &str) -> usize {
        self.store().kept.sweep(module)
    }

    /// Releases every resource of `module`: it was removed.
    pub fn forget(&self, module: &str) {
        let mut store = self.store();
        store.kept.forget(module);
        store.shown.retain(|(m, _), _| m != module);
    }

    /// What the store holds for `module`.
    pub fn counts(&self, module: &str) -> KeptCounts {
        let store = self.store();
        KeptCounts {
            kept: store.kept.count(module),
            made: store.made.get(module).copied().unwrap_or(0),
            uploaded: store.uploaded.get(module).copied().unwrap_or(0),
        }
    }
}

/// A hash of what a resource was made from, for [`Gpu::keep`]'s key. The same in every
/// generation: std's hasher with fixed keys, and std is one in the process.
pub fn key_of(parts: &impl Hash) -> u64 {
    #[allow(deprecated, reason = "SipHasher's fixed keys are the point: the key must match across generations")]
    let mut hasher = std::hash::SipHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

/// The shell's GPU, as one module sees it. Cheap to clone; keep it for the module's life.
#[derive(Clone)]
pub struct Gpu {
    device: Device,
    module: String,
    keep: Keep,
}

impl Gpu {
    pub fn device(&self) -> &wgpu::Device {
        &self.device.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.device.queue
    }

    /// The adapter, e.g. `llvmpipe (LLVM 19.1.7, 256 bits) on Vulkan`.
    pub fn adapter(&self) -> String {
        format!("{} on {:?}", self.device.adapter.name, self.device.adapter.backend)
    }

    /// The resource this module keeps as `name`, if one is kept with the same `key` and
    /// type; otherwise `make` makes it and the host keeps it from now on, across this
    /// module's reloads, as long as every generation asks for it (see [`key_of`]).
    pub fn keep<R: Keepable>(&self, name: &str, key: u64, make: impl FnOnce(&Gpu) -> R) -> R {
        {
            let mut store = self.keep.store();
            if let Some(kept) = store.kept.get_mut(&self.module, name)
                && kept.value.key == key
                && let Some(resource) = R::from_resource(&kept.value.resource)
            {
                kept.taken = true;
                return resource;
            }
        }
        // Made without the lock: `make` may keep other resources it needs.
        let made = make(self);
        self.put(name, key, made.clone());
        made
    }

    /// Keeps `resource` as `name` with `key`, in place of whatever was kept under that name:
    /// how a module replaces a resource it remade (a pipeline from a changed shader).
    pub fn put<R: Keepable>(&self, name: &str, key: u64, resource: R) {
        let mut store = self.keep.store();
        *store.made.entry(self.module.clone()).or_default() += 1;
        store.kept.insert(&self.module, name, GpuKept { resource: resource.into_resource(), key });
    }

    /// Takes back what is kept as `name` whatever its key, if it is an `R`: for a resource
    /// whose fitness the module judges from [`Gpu::kept_key`] (a buffer big enough).
    pub fn take<R: Keepable>(&self, name: &str) -> Option<R> {
        let mut store = self.keep.store();
        let kept = store.kept.get_mut(&self.module, name)?;
        let resource = R::from_resource(&kept.value.resource)?;
        kept.taken = true;
        Some(resource)
    }

    /// The key of what is kept as `name`, if anything is: what a new generation compares
    /// with before it takes it back.
    pub fn kept_key(&self, name: &str) -> Option<u64> {
        self.keep.store().kept.get(&self.module, name).map(|k| k.value.key)
    }

    /// Runs `make` on the device and returns the validation error wgpu reports for what it
    /// made (a pipeline whose shader does not fit its layout), instead of wgpu's default,
    /// which is to panic.
    pub fn checked<T>(&self, make: impl FnOnce(&wgpu::Device) -> T) -> Result<T, String> {
        let scope = self.device.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let made = make(&self.device.device);
        let mut popped = std::pin::pin!(scope.pop());
        // Native backends answer at once; only the web's would be pending.
        match popped.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(Some(error)) => Err(error.to_string()),
            std::task::Poll::Ready(None) | std::task::Poll::Pending => Ok(made),
        }
    }

    /// Writes `data` into `buffer` at `offset` (the queue's `write_buffer`), counted as
    /// this module's upload.
    pub fn write_buffer(&self, buffer: &wgpu::Buffer, offset: u64, data: &[u8]) {
        self.device.queue.write_buffer(buffer, offset, data);
        self.count_upload(data.len());
    }

    /// Writes `data` into `texture` (the queue's `write_texture`), counted as this module's
    /// upload.
    pub fn write_texture(
        &self,
        texture: wgpu::TexelCopyTextureInfo<'_>,
        data: &[u8],
        layout: wgpu::TexelCopyBufferLayout,
        size: wgpu::Extent3d,
    ) {
        self.device.queue.write_texture(texture, data, layout, size);
        self.count_upload(data.len());
    }

    fn count_upload(&self, bytes: usize) {
        *self.keep.store().uploaded.entry(self.module.clone()).or_default() += bytes as u64;
    }

    /// What the host keeps for this module, and what it made and uploaded.
    pub fn counts(&self) -> KeptCounts {
        self.keep.counts(&self.module)
    }

    /// Shows `view` (an `Rgba8Unorm` texture) in egui under `name`: the id to draw with
    /// `egui::Image`. The same view shown again keeps its id; another view under the same
    /// name takes the name's id over, so a reload's new texture needs no new id. Fails
    /// without a window.
    pub fn show_texture(&self, name: &str, view: &wgpu::TextureView) -> Result<egui::TextureId, String> {
        let egui = self.device.egui.as_ref().ok_or("there is no window to show a texture in")?;
        let key = (self.module.clone(), name.to_owned());
        let mut store = self.keep.store();
        if let Some((id, shown)) = store.shown.get(&key) {
            if shown == view {
                return Ok(*id);
            }
            let id = *id;
            egui.write().update_egui_texture_from_wgpu_texture(
                &self.device.device,
                view,
                wgpu::FilterMode::Nearest,
                id,
            );
            store.shown.insert(key, (id, view.clone()));
            return Ok(id);
        }
        let id = egui.write().register_native_texture(&self.device.device, view, wgpu::FilterMode::Nearest);
        store.shown.insert(key, (id, view.clone()));
        Ok(id)
    }
}

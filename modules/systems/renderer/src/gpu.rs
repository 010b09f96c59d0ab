//! The renderer's GPU side: every resource is asked of the host by name with a key
//! (`Gpu::keep`), so a reload of this module takes back what it made before, with nothing
//! made or uploaded again, and remakes only what its new code describes differently.

use core_rendering::{Camera, Image, Line, Shape, Sprite};
use playground_api::gpu::{Gpu, key_of};
use playground_api::wgpu;

use crate::shader::{Checked, ENTRY_POINTS};

/// The view's format: what egui shows and what a capture reads back.
pub(crate) const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Bump when the bind group layout or the vertex layouts change: the kept layout and
/// pipelines are then remade.
const LAYOUT_VERSION: u32 = 1;
const _: () = assert!(LAYOUT_VERSION == 1, "rename PIPELINE and LINE_PIPELINE with the new version");
/// The atlas: two cells (a square, a disc), big enough to show that a reload does not
/// upload it again.
const ATLAS_SIZE: u32 = 1024;
const ATLAS_VERSION: u32 = 1;
/// The clear colour of the view.
pub(crate) const BACKGROUND: wgpu::Color = wgpu::Color { r: 0.06, g: 0.07, b: 0.10, a: 1.0 };
/// Bytes of one sprite instance and one line point.
const SPRITE_BYTES: u64 = 48;
const POINT_BYTES: u64 = 24;

/// The two pipelines made from one shader text.
#[derive(Clone)]
pub(crate) struct Pipelines {
    sprite: wgpu::RenderPipeline,
    line: wgpu::RenderPipeline,
}

/// What does not depend on the shader or the view's size.
pub(crate) struct Fixed {
    layout: wgpu::PipelineLayout,
    camera: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// The texture the view is drawn into.
pub(crate) struct Target {
    pub(crate) texture: wgpu::Texture,
    pub(crate) view: wgpu::TextureView,
    pub(crate) size: (u32, u32),
}

fn atlas_pixels() -> Vec<u8> {
    let mut rgba = vec![0u8; (ATLAS_SIZE * ATLAS_SIZE * 4) as usize];
    let half = ATLAS_SIZE / 2;
    let radius = f64::from(half) / 2.0 - 2.0;
    for y in 0..ATLAS_SIZE {
        for x in 0..ATLAS_SIZE {
            let at = ((y * ATLAS_SIZE + x) * 4) as usize;
            // Left half: a square (opaque); right half, top: a disc with a soft edge.
            let alpha = if x < half {
                1.0
            } else if y < half {
                let dx = f64::from(x - half) + 0.5 - f64::from(half) / 2.0;
                let dy = f64::from(y) + 0.5 - f64::from(half) / 2.0;
                (radius - dx.hypot(dy) + 0.5).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let a = (alpha * 255.0).round() as u8;
            rgba[at..at + 4].copy_from_slice(&[255, 255, 255, a]);
        }
    }
    rgba
}

/// The atlas cell of a shape: u0, v0, u1, v1.
fn cell(shape: Shape) -> [f32; 4] {
    match shape {
        // Inset by a texel so the sampler does not bleed into the neighbouring cell.
        Shape::Square => [0.01, 0.01, 0.49, 0.99],
        Shape::Disc => [0.5, 0.0, 1.0, 0.5],
    }
}

/// Makes (or takes back) the layout, the atlas, the camera buffer and the bind group.
pub(crate) fn fixed(gpu: &Gpu) -> Fixed {
    let layout_key = key_of(&LAYOUT_VERSION);
    let group_layout = gpu.keep("bind group layout", layout_key, |gpu| {
        let entry = |binding, visibility, ty| wgpu::BindGroupLayoutEntry { binding, visibility, ty, count: None };
        gpu.device().create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("renderer: group 0"),
            entries: &[
                entry(
                    0,
                    wgpu::ShaderStages::VERTEX,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
                entry(
                    1,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                ),
                entry(2, wgpu::ShaderStages::FRAGMENT, wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering)),
            ],
        })
    });
    let layout = gpu.keep("pipeline layout", layout_key, |gpu| {
        gpu.device().create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("renderer"),
            bind_group_layouts: &[Some(&group_layout)],
            immediate_size: 0,
        })
    });
    let atlas_key = key_of(&(ATLAS_VERSION, ATLAS_SIZE));
    let atlas = gpu.keep("atlas", atlas_key, |gpu| {
        let size = wgpu::Extent3d { width: ATLAS_SIZE, height: ATLAS_SIZE, depth_or_array_layers: 1 };
        let texture = gpu.device().create_texture(&wgpu::TextureDescriptor {
            label: Some("renderer: atlas"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        gpu.write_texture(
            texture.as_image_copy(),
            &atlas_pixels(),
            wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(ATLAS_SIZE * 4), rows_per_image: None },
            size,
        );
        texture
    });
    let atlas_view = gpu.keep("atlas view", atlas_key, |_| atlas.create_view(&wgpu::TextureViewDescriptor::default()));
    let sampler = gpu.keep("sampler", layout_key, |gpu| {
        gpu.device().create_sampler(&wgpu::SamplerDescriptor {
            label: Some("renderer: atlas"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        })
    });
    let camera = gpu.keep("camera", layout_key, |gpu| {
        gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("renderer: camera"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    });
    // The bind group points at the three above: its key is theirs.
    let bind_group = gpu.keep("bind group", key_of(&(layout_key, atlas_key)), |gpu| {
        gpu.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("renderer: group 0"),
            layout: &group_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: camera.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&atlas_view) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::Sampler(&sampler) },
            ],
        })
    });
    Fixed { layout, camera, bind_group }
}

/// The name the pipelines are kept under, and the key of a shader text's pipelines.
/// The layout version is in the names: pipelines made for another layout are never taken.
pub(crate) const PIPELINE: &str = "sprite pipeline, layout 1";
const LINE_PIPELINE: &str = "line pipeline, layout 1";

pub(crate) fn pipeline_key(shader: u64) -> u64 {
    key_of(&(shader, LAYOUT_VERSION, format!("{FORMAT:?}")))
}

/// The pipelines kept from an earlier generation, whatever shader they were made from: a
/// reload draws with them until the shader on disk is checked.
pub(crate) fn kept_pipelines(gpu: &Gpu) -> Option<(Pipelines, u64)> {
    let key = gpu.kept_key(PIPELINE)?;
    let line_key = gpu.kept_key(LINE_PIPELINE)?;
    if key != line_key {
        return None;
    }
    Some((Pipelines { sprite: gpu.take(PIPELINE)?, line: gpu.take(LINE_PIPELINE)? }, key))
}

/// Makes the pipelines from a checked shader; wgpu's own refusal comes back as the error.
pub(crate) fn make_pipelines(gpu: &Gpu, fixed: &Fixed, shader: &Checked) -> Result<Pipelines, String> {
    let made = gpu.checked(|device| {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("renderer: sprite.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shader.source.as_str().into()),
        });
        let blend = Some(wgpu::BlendState::ALPHA_BLENDING);
        let target = [Some(wgpu::ColorTargetState { format: FORMAT, blend, write_mask: wgpu::ColorWrites::ALL })];
        let sprite_attributes =
            wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x2, 2 => Float32x4, 3 => Float32x4];
        let line_attributes = wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x4];
        let pipeline = |label, vs: &str, fs: &str, layout: wgpu::VertexBufferLayout<'_>, topology| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(label),
                layout: Some(&fixed.layout),
                vertex: wgpu::VertexState {
                    module: &module,
                    entry_point: Some(vs),
                    compilation_options: wgpu::PipelineCompilationOptions::default(),
                    buffers: &[Some(layout)],
                },
                primitive: wgpu::PrimitiveState { topology, ..Default::default() },
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module: &module,
                    entry_point: Some(fs),
                    compilation_options: wgpu::PipelineCompilationOptions::default(),
                    targets: &target,
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        let sprite = pipeline(
            "renderer: sprites",
            ENTRY_POINTS[0],
            ENTRY_POINTS[1],
            wgpu::VertexBufferLayout {
                array_stride: SPRITE_BYTES,
                step_mode: wgpu::VertexStepMode::Instance,
                attributes: &sprite_attributes,
            },
            wgpu::PrimitiveTopology::TriangleList,
        );
        let line = pipeline(
            "renderer: lines",
            ENTRY_POINTS[2],
            ENTRY_POINTS[3],
            wgpu::VertexBufferLayout {
                array_stride: POINT_BYTES,
                step_mode: wgpu::VertexStepMode::Vertex,
                attributes: &line_attributes,
            },
            wgpu::PrimitiveTopology::LineList,
        );
        Pipelines { sprite, line }
    })?;
    let key = pipeline_key(shader.key);
    gpu.put(PIPELINE, key, made.sprite.clone());
    gpu.put(LINE_PIPELINE, key, made.line.clone());
    Ok(made)
}

/// The view texture of `size`, kept across reloads while the size stays.
pub(crate) fn target(gpu: &Gpu, size: (u32, u32)) -> Target {
    let size = (size.0.clamp(1, 8192), size.1.clamp(1, 8192));
    let key = key_of(&(size, format!("{FORMAT:?}")));
    let texture = gpu.keep("view", key, |gpu| {
        gpu.device().create_texture(&wgpu::TextureDescriptor {
            label: Some("renderer: view"),
            size: wgpu::Extent3d { width: size.0, height: size.1, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        })
    });
    let view = gpu.keep("view's view", key, |_| texture.create_view(&wgpu::TextureViewDescriptor::default()));
    Target { texture, view, size }
}

/// The vertex buffers are made on the first draw; a new generation takes the old ones back
/// when it starts, so that the host does not release them before that draw.
pub(crate) fn take_vertices(gpu: &Gpu) {
    for name in [SPRITES, LINES] {
        let _: Option<wgpu::Buffer> = gpu.take(name);
    }
}

const SPRITES: &str = "sprites";
const LINES: &str = "lines";

/// A vertex buffer of at least `bytes`, kept by `name`; it grows in powers of two.
fn vertices(gpu: &Gpu, name: &str, bytes: u64) -> wgpu::Buffer {
    let capacity = bytes.max(4096).next_power_of_two();
    if gpu.kept_key(name).is_some_and(|kept| kept >= capacity)
        && let Some(buffer) = gpu.take(name)
    {
        return buffer;
    }
    gpu.keep(name, capacity, |gpu| {
        gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some(name),
            size: capacity,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })
}

fn floats(out: &mut Vec<u8>, values: &[f32]) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Draws `sprites` and `lines` into `target` as `camera` sees them.
pub(crate) fn draw(
    gpu: &Gpu,
    fixed: &Fixed,
    pipelines: Option<&Pipelines>,
    target: &Target,
    camera: Camera,
    (sprites, lines): (&[Sprite], &[Line]),
) {
    let aspect = target.size.0 as f32 / target.size.1.max(1) as f32;
    let half = [camera.height * aspect / 2.0, camera.height / 2.0];
    let mut uniform = Vec::with_capacity(16);
    floats(&mut uniform, &[camera.center.x, camera.center.y, half[0], half[1]]);
    gpu.write_buffer(&fixed.camera, 0, &uniform);

    let mut instances = Vec::with_capacity(sprites.len() * SPRITE_BYTES as usize);
    for s in sprites {
        let c = s.color;
        floats(&mut instances, &[s.position.x, s.position.y, s.size.x, s.size.y, c.r, c.g, c.b, c.a]);
        floats(&mut instances, &cell(s.shape));
    }
    let mut points = Vec::with_capacity(lines.len() * 2 * POINT_BYTES as usize);
    for l in lines {
        let c = l.color;
        floats(&mut points, &[l.from.x, l.from.y, c.r, c.g, c.b, c.a, l.to.x, l.to.y, c.r, c.g, c.b, c.a]);
    }
    let sprite_buffer = vertices(gpu, SPRITES, instances.len() as u64);
    let line_buffer = vertices(gpu, LINES, points.len() as u64);
    if !instances.is_empty() {
        gpu.write_buffer(&sprite_buffer, 0, &instances);
    }
    if !points.is_empty() {
        gpu.write_buffer(&line_buffer, 0, &points);
    }

    let mut encoder = gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("renderer") });
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("renderer: view"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &target.view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations { load: wgpu::LoadOp::Clear(BACKGROUND), store: wgpu::StoreOp::Store },
            })],
            ..Default::default()
        });
        if let Some(pipelines) = pipelines {
            pass.set_bind_group(0, &fixed.bind_group, &[]);
            if !sprites.is_empty() {
                pass.set_pipeline(&pipelines.sprite);
                pass.set_vertex_buffer(0, sprite_buffer.slice(..instances.len() as u64));
                pass.draw(0..6, 0..sprites.len() as u32);
            }
            if !lines.is_empty() {
                pass.set_pipeline(&pipelines.line);
                pass.set_vertex_buffer(0, line_buffer.slice(..points.len() as u64));
                pass.draw(0..(lines.len() * 2) as u32, 0..1);
            }
        }
    }
    gpu.queue().submit([encoder.finish()]);
}

/// Reads the view back: waits for the GPU, then copies the rows out without their padding.
pub(crate) fn read(gpu: &Gpu, target: &Target) -> Result<Image, String> {
    let (width, height) = target.size;
    let row = width * 4;
    let padded = row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let buffer = gpu.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("renderer: capture"),
        size: u64::from(padded) * u64::from(height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("capture") });
    encoder.copy_texture_to_buffer(
        target.texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(padded), rows_per_image: None },
        },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
    let submission = gpu.queue().submit([encoder.finish()]);
    let (sent, mapped) = std::sync::mpsc::channel();
    buffer.slice(..).map_async(wgpu::MapMode::Read, move |result| {
        let _ = sent.send(result);
    });
    gpu.device()
        .poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(std::time::Duration::from_secs(10)),
        })
        .map_err(|e| format!("the GPU did not finish the capture: {e}"))?;
    mapped
        .recv()
        .map_err(|_| "the capture's buffer was never mapped".to_owned())?
        .map_err(|e| format!("cannot read the capture back: {e}"))?;
    let data = buffer.slice(..).get_mapped_range().map_err(|e| format!("cannot read the capture back: {e}"))?;
    let mut rgba = Vec::with_capacity((row * height) as usize);
    for y in 0..height as usize {
        let start = y * padded as usize;
        rgba.extend_from_slice(&data[start..start + row as usize]);
    }
    drop(data);
    buffer.unmap();
    Ok(Image { width, height, rgba })
}

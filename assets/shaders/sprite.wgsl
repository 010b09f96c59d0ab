// The shader of systems/renderer: sprites cut from the atlas, then debug lines. Save a change
// and the running renderer validates it (naga) and swaps its pipeline, no Rust build; an
// error keeps the last good pipeline drawing and shows where it is.

struct Camera {
    center: vec2<f32>,
    half_extent: vec2<f32>,
};

@group(0) @binding(0) var<uniform> camera: Camera;
@group(0) @binding(1) var atlas: texture_2d<f32>;
@group(0) @binding(2) var atlas_sampler: sampler;

struct Sprite {
    @location(0) position: vec2<f32>,
    @location(1) size: vec2<f32>,
    @location(2) color: vec4<f32>,
    @location(3) cell: vec4<f32>,
};

struct Varyings {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) color: vec4<f32>,
};

fn to_clip(world: vec2<f32>) -> vec4<f32> {
    return vec4<f32>((world - camera.center) / camera.half_extent, 0.0, 1.0);
}

@vertex
fn vs_sprite(@builtin(vertex_index) index: u32, sprite: Sprite) -> Varyings {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 1.0),
    );
    let corner = corners[index];
    var out: Varyings;
    out.clip = to_clip(sprite.position + (corner - vec2<f32>(0.5, 0.5)) * sprite.size);
    out.uv = mix(sprite.cell.xy, sprite.cell.zw, vec2<f32>(corner.x, 1.0 - corner.y));
    out.color = sprite.color;
    return out;
}

@fragment
fn fs_sprite(in: Varyings) -> @location(0) vec4<f32> {
    return in.color * textureSample(atlas, atlas_sampler, in.uv);
}

struct LinePoint {
    @location(0) position: vec2<f32>,
    @location(1) color: vec4<f32>,
};

@vertex
fn vs_line(point: LinePoint) -> Varyings {
    var out: Varyings;
    out.clip = to_clip(point.position);
    out.uv = vec2<f32>(0.0, 0.0);
    out.color = point.color;
    return out;
}

@fragment
fn fs_line(in: Varyings) -> @location(0) vec4<f32> {
    return in.color;
}

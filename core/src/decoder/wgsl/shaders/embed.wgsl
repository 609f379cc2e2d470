// Embedding rows of the tokens, dequantized as PackedMatrix::dequantize_row does. One
// dispatch per stored chunk of rows; invocations whose token lies elsewhere do nothing.
// Gemma scales each row afterwards (`scaled`), one product per value as the CPU's
// `*v *= scale`.
struct Params {
    rows: u32,
    cols: u32,
    group: u32,
    scale_stride: u32,
    scale_f16: u32,
    asym: u32,
    // 0: int4, 1: int8, 2: dense f32.
    kind: u32,
    row0: u32,
    scaled: u32,
    scale: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
@group(0) @binding(3) var<storage, read> q: array<u32>;
@group(0) @binding(4) var<storage, read> scales: array<u32>;
@group(0) @binding(5) var<storage, read> mins: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

fn group_value(i: u32, minimum: bool) -> f32 {
    var w: u32;
    if (minimum) {
        w = mins[select(i, i >> 1u, p.scale_f16 != 0u)];
    } else {
        w = scales[select(i, i >> 1u, p.scale_f16 != 0u)];
    }
    if (p.scale_f16 != 0u) {
        return unpack2x16float(w)[i & 1u];
    }
    return bitcast<f32>(w);
}

fn finish(v: f32) -> f32 {
    if (p.scaled != 0u) {
        return keep(v) * p.scale;
    }
    return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let id = linear_group(wid, nwg) * 64u + lid;
    if (id >= call.seq * p.cols) {
        return;
    }
    let t = id / p.cols;
    let c = id % p.cols;
    let token = tokens[t];
    if (token < p.row0 || token >= p.row0 + p.rows) {
        return;
    }
    let r = token - p.row0;
    if (p.kind == 2u) {
        out[id] = finish(bitcast<f32>(q[r * p.cols + c]));
        return;
    }
    let si = r * p.scale_stride + c / p.group;
    let s = group_value(si, false);
    if (p.kind == 0u) {
        let v = f32((q[r * (p.cols / 8u) + c / 8u] >> (4u * (c % 8u))) & 15u);
        if (p.asym != 0u) {
            out[id] = finish(keep(v * s) + group_value(si, true));
        } else {
            out[id] = finish((v - 8.0) * s);
        }
    } else {
        let word = q[r * (p.cols / 4u) + c / 4u];
        let v = f32(bitcast<i32>(word << (24u - 8u * (c % 4u))) >> 24u);
        out[id] = finish(v * s);
    }
}

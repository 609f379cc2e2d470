// Per-head RMSNorm of q and k (Gemma 3's q/k norms), in place in the q|k|v rows before
// rope_kv rotates them, in the steps of cpu::ops::rms_norm_in_place over rows of head_dim
// (Σx² in shared_math::sum_strided's order). The biases, when the model has them, are
// added here first (the CPU adds them before the norm), so rope_kv then adds none; v heads
// get only their bias. One workgroup per (head of q|k|v, token).
struct Params {
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    // Where this layer's q norm starts in the weights; its k norm follows head_dim later.
    weight_offset: u32,
    bias_offset: u32,
    has_bias: u32,
    eps: f32,
    inv_cols: f32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> qkv: array<f32>;

var<workgroup> red: array<f32, 64>;

fn biased(at: u32, e: u32) -> f32 {
    if (p.has_bias != 0u) {
        return qkv[at] + bias[p.bias_offset + e];
    }
    return qkv[at];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let hd = p.head_dim;
    let all_heads = p.heads + 2u * p.kv_heads;
    let hh = wid.x;
    let t = wid.y;
    if (t >= call.seq) {
        return;
    }
    let row = t * all_heads * hd + hh * hd;
    if (hh >= p.heads + p.kv_heads) {
        // A v head: its bias only.
        if (p.has_bias != 0u) {
            for (var d = lid; d < hd; d += 64u) {
                qkv[row + d] = biased(row + d, hh * hd + d);
            }
        }
        return;
    }
    var sum = 0.0;
    for (var d = lid; d < hd; d += 64u) {
        let v = biased(row + d, hh * hd + d);
        sum = keep(sum + keep(v * v));
    }
    red[lid] = sum;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            red[lid] = keep(red[lid] + red[lid + stride]);
        }
        workgroupBarrier();
    }
    let inv = shared_rsqrt(keep(red[0] * p.inv_cols) + p.eps);
    let w0 = p.weight_offset + select(0u, hd, hh >= p.heads);
    // Each invocation rewrites only the elements it read itself.
    for (var d = lid; d < hd; d += 64u) {
        qkv[row + d] = keep(keep(biased(row + d, hh * hd + d) * inv) * weight[w0 + d]);
    }
}

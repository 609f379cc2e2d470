// Causal grouped-query attention of one (token, head) per workgroup over the cached keys
// and values up to the token's position (and no further back than the sliding window, when
// the layer has one), in the steps of cpu::ops::attention: scores scaled by the model's
// attention scale, e^(score − max) through shared_exp, their total in
// shared_math::sum_strided's order (counted from the first key seen), then
// Σ_j (p_j·recip(total))·v_j summed in j order.
// Scores are recomputed in each pass rather than stored, so no buffer grows with context.
struct Params {
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    // Positions a token sees, itself included (0: all).
    window: u32,
    scale: f32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> keys: array<f32>;
@group(0) @binding(4) var<storage, read> values: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// head_dim is at most MAX_HD (the host checks).
const MAX_HD: u32 = 256u;

var<workgroup> qs: array<f32, 256>;
var<workgroup> red: array<f32, 64>;
var<workgroup> weights: array<f32, 64>;

// quant::kernels::dense::dot: eight partial sums over chunks of eight, then the tail.
fn score(key_base: u32) -> f32 {
    let hd = p.head_dim;
    var acc: array<f32, 8>;
    let whole = hd / 8u * 8u;
    for (var c = 0u; c < whole; c += 8u) {
        for (var i = 0u; i < 8u; i++) {
            acc[i] = keep(acc[i] + keep(qs[c + i] * keys[key_base + c + i]));
        }
    }
    var tail = 0.0;
    for (var c = whole; c < hd; c++) {
        tail = keep(tail + keep(qs[c] * keys[key_base + c]));
    }
    var total = 0.0;
    for (var i = 0u; i < 8u; i++) {
        total = keep(total + acc[i]);
    }
    return keep(keep(total + tail) * p.scale);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let hd = p.head_dim;
    let h = wid.x;
    let t = wid.y;
    let n = call.start + t + 1u;
    // The first key seen: (pos + 1).saturating_sub(window), as the CPU.
    let first = select(0u, n - min(n, p.window), p.window != 0u);
    let kv = h / (p.heads / p.kv_heads);
    let base = kv * call.capacity * hd;
    let q_base = (t * p.heads + h) * hd;
    for (var d = lid; d < hd; d += 64u) {
        qs[d] = q[q_base + d];
    }
    workgroupBarrier();

    var local_max = bitcast<f32>(0xff7fffffu);
    for (var j = first + lid; j < n; j += 64u) {
        local_max = max(local_max, score(base + j * hd));
    }
    red[lid] = local_max;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            red[lid] = max(red[lid], red[lid + stride]);
        }
        workgroupBarrier();
    }
    let m = red[0];
    workgroupBarrier();

    var local_total = 0.0;
    for (var j = first + lid; j < n; j += 64u) {
        local_total = keep(local_total + shared_exp(score(base + j * hd) - m));
    }
    red[lid] = local_total;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            red[lid] = keep(red[lid] + red[lid + stride]);
        }
        workgroupBarrier();
    }
    let inv_total = shared_recip(red[0]);

    var acc: array<f32, 4>;
    for (var j0 = first; j0 < n; j0 += 64u) {
        let j = j0 + lid;
        if (j < n) {
            weights[lid] = keep(shared_exp(score(base + j * hd) - m) * inv_total);
        }
        workgroupBarrier();
        let count = min(64u, n - j0);
        for (var k = 0u; k < 4u; k++) {
            let d = lid + k * 64u;
            if (d < hd) {
                var a = acc[k];
                for (var jj = 0u; jj < count; jj++) {
                    a = keep(a + keep(weights[jj] * values[base + (j0 + jj) * hd + d]));
                }
                acc[k] = a;
            }
        }
        workgroupBarrier();
    }
    for (var k = 0u; k < 4u; k++) {
        let d = lid + k * 64u;
        if (d < hd) {
            out[q_base + d] = acc[k];
        }
    }
}

// After the q|k|v product: adds the biases, rotates q and k (Hugging Face's half-split
// rotary with the host's cos/sin tables, as cpu_model::ops::rope) and writes q to its own
// buffer and k, v into this layer's cache at the tokens' positions. One invocation per
// (token, head of q|k|v, i < head_dim/2).
struct Params {
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    // Which rotary table (frequency set) this layer uses.
    table: u32,
    bias_offset: u32,
    has_bias: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// Per frequency set: cos for every token, then sin for every token (call.seq × head_dim/2
// each).
@group(0) @binding(4) var<storage, read> rope: array<f32>;
@group(0) @binding(5) var<storage, read_write> q_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> keys: array<f32>;
@group(0) @binding(7) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let hd = p.head_dim;
    let half = hd / 2u;
    let all_heads = p.heads + 2u * p.kv_heads;
    let id = linear_group(wid, nwg) * 64u + lid;
    if (id >= call.seq * all_heads * half) {
        return;
    }
    let t = id / (all_heads * half);
    let hh = (id / half) % all_heads;
    let i = id % half;
    let width = all_heads * hd;
    let e = hh * hd + i;
    var x1 = qkv[t * width + e];
    var x2 = qkv[t * width + e + half];
    if (p.has_bias != 0u) {
        x1 += bias[p.bias_offset + e];
        x2 += bias[p.bias_offset + e + half];
    }
    let table = p.table * 2u * call.seq * half;
    let c = rope[table + t * half + i];
    let s = rope[table + call.seq * half + t * half + i];
    let pos = call.start + t;
    if (hh < p.heads) {
        let o = t * p.heads * hd + hh * hd + i;
        q_out[o] = keep(x1 * c) - keep(x2 * s);
        q_out[o + half] = keep(x2 * c) + keep(x1 * s);
    } else if (hh < p.heads + p.kv_heads) {
        let o = ((hh - p.heads) * call.capacity + pos) * hd + i;
        keys[o] = keep(x1 * c) - keep(x2 * s);
        keys[o + half] = keep(x2 * c) + keep(x1 * s);
    } else {
        let o = ((hh - p.heads - p.kv_heads) * call.capacity + pos) * hd + i;
        values[o] = x1;
        values[o + half] = x2;
    }
}

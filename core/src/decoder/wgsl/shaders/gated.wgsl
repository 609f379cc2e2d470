// act(gate)·up from gate|up rows of width 2·inner, in the steps of cpu::ops::gated:
// act is SiLU (g·recip(1 + exp(−g))) or GELU's tanh form (Gemma), both from common.wgsl.
struct Params {
    inner: u32,
    // 0: SiLU, 1: GELU (tanh approximation).
    activation: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> gate_up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let id = linear_group(wid, nwg) * 64u + lid;
    if (id >= call.seq * p.inner) {
        return;
    }
    let t = id / p.inner;
    let i = id % p.inner;
    let g = gate_up[t * 2u * p.inner + i];
    let u = gate_up[t * 2u * p.inner + p.inner + i];
    var a: f32;
    if (p.activation == 1u) {
        a = shared_gelu_tanh(g);
    } else {
        a = shared_silu(g);
    }
    out[id] = keep(a * u);
}

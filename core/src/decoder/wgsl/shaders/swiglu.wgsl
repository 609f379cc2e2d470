// silu(gate)·up = g·recip(1 + exp(−g))·u from gate|up rows of width 2·inner, in the steps
// of cpu_model::ops::swiglu.
struct Params {
    inner: u32,
    pad0: u32,
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
    out[id] = keep(keep(g * shared_recip(1.0 + shared_exp(-g))) * u);
}

// Activations to int8 per block of 32, as ActivationQ8::requantize does: d = amax·(1/127),
// codes x·recip(d) rounded half away from zero, and the block's sum d·Σq. One invocation
// per block.
struct Params {
    cols: u32,
    use_head: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> codes: array<u32>;
@group(0) @binding(4) var<storage, read_write> dsum: array<vec2<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let tokens = select(call.seq, call.head_rows, p.use_head != 0u);
    let block = linear_group(wid, nwg) * 64u + lid;
    if (block >= tokens * (p.cols / 32u)) {
        return;
    }
    let base = block * 32u;
    var amax = 0.0;
    for (var i = 0u; i < 32u; i++) {
        amax = max(amax, abs(x[base + i]));
    }
    let d = keep(amax * bitcast<f32>(0x3c010204u));
    var inv = 0.0;
    if (d > 0.0) {
        inv = shared_recip(d);
    }
    var sum = 0i;
    for (var w = 0u; w < 8u; w++) {
        var word = 0u;
        for (var n = 0u; n < 4u; n++) {
            let scaled = keep(x[base + w * 4u + n] * inv);
            // trunc(scaled ± 0.5) is Rust's `(scaled + 0.5.copysign(scaled)) as i8`.
            let q = i32(trunc(scaled + select(-0.5, 0.5, scaled >= 0.0)));
            sum += q;
            word |= (u32(q) & 0xFFu) << (8u * n);
        }
        codes[block * 8u + w] = word;
    }
    dsum[block] = vec2<f32>(d, d * f32(sum));
}

// Prepended to every kernel: the per-call values written once per forward pass.
struct Call {
    // Tokens of this pass (rows of x).
    seq: u32,
    // Cache position of the first token.
    start: u32,
    // Rows the head (final norm, head product, argmax) works on.
    head_rows: u32,
    // First row of x the final norm reads.
    head_row0: u32,
    // Positions the key/value cache holds (the stride between kv heads).
    capacity: u32,
    // Always 0; `keep` hides that from the compiler.
    zero: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> call: Call;

// Workgroups can exceed 65535 along x; the host then spreads them over y.
fn linear_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// The value of x, through an operation no compiler can see through: a product passed
// through `keep` cannot be fused with the addition that consumes it into a multiply-add
// (which rounds once instead of twice), and a sum cannot be re-associated. The decoder
// repeats the CPU's floating-point steps exactly (see shared_math.rs), so every product
// that feeds a sum goes through here.
fn keep(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ call.zero);
}

fn keep4(x: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(x) ^ vec4<u32>(call.zero));
}

// quant::kernels::portable::lane_sum of the matrix kernels' lanes 0..3 (lo) and 4..7 (hi).
fn lane_sum(lo: vec4<f32>, hi: vec4<f32>) -> f32 {
    let h = keep4(lo + hi);
    return keep(keep(h.x + h.z) + keep(h.y + h.w));
}

// shared_math::exp, step for step.
fn shared_exp(x_in: f32) -> f32 {
    // x != x: NaN, as in Rust (drivers may assume there is none).
    if (x_in != x_in || x_in < -87.0) {
        return 0.0;
    }
    let x = min(x_in, 88.0);
    let n = floor(keep(x * bitcast<f32>(0x3fb8aa3bu)) + 0.5);
    let r = keep(x - keep(n * bitcast<f32>(0x3f317200u))) - keep(n * bitcast<f32>(0x35bfbe8eu));
    var p = bitcast<f32>(0x39500d01u);
    p = keep(p * r) + bitcast<f32>(0x3ab60b61u);
    p = keep(p * r) + bitcast<f32>(0x3c088889u);
    p = keep(p * r) + bitcast<f32>(0x3d2aaaabu);
    p = keep(p * r) + bitcast<f32>(0x3e2aaaabu);
    p = keep(p * r) + bitcast<f32>(0x3f000000u);
    p = keep(p * r) + 1.0;
    p = keep(p * r) + 1.0;
    let two_n = bitcast<f32>(u32(i32(n) + 127) << 23u);
    return keep(p * two_n);
}

// shared_math::recip, step for step.
fn shared_recip(x: f32) -> f32 {
    if (x >= bitcast<f32>(0x7e800000u)) {
        return 0.0;
    }
    var y = bitcast<f32>(0x7ef311c3u - bitcast<u32>(x));
    for (var i = 0u; i < 4u; i++) {
        y = y + keep(y * keep(1.0 - keep(x * y)));
    }
    return y;
}

// shared_math::rsqrt, step for step.
fn shared_rsqrt(x: f32) -> f32 {
    let half = keep(0.5 * x);
    var y = bitcast<f32>(0x5f375a86u - (bitcast<u32>(x) >> 1u));
    for (var i = 0u; i < 3u; i++) {
        y = y + keep(y * keep(0.5 - keep(keep(half * y) * y)));
    }
    return y;
}

// shared_math::silu, step for step.
fn shared_silu(x: f32) -> f32 {
    return keep(x * shared_recip(1.0 + shared_exp(-x)));
}

// shared_math::gelu_tanh, step for step: x · recip(1 + e^(−2u)), u = √(2/π)·(x + 0.044715·x³).
fn shared_gelu_tanh(x: f32) -> f32 {
    let cube = keep(keep(x * x) * x);
    let u = keep(bitcast<f32>(0x3f4c422au) * keep(x + keep(bitcast<f32>(0x3d372713u) * cube)));
    return keep(x * shared_recip(1.0 + shared_exp(keep(-2.0 * u))));
}

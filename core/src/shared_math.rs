//! The arithmetic the CPU decoder and the WGSL decoder share operation for operation, so
//! that both compute bit-identical logits and the browser's WebGPU path greedy-decodes the
//! same tokens as native lmfast and the wasm CPU path.
//!
//! WGSL promises correctly rounded f32 `+`, `−` and `×`, but not division (2.5 ulp),
//! square roots or `exp` (each driver has its own). So `exp`, reciprocals and reciprocal
//! square roots are built here from `+`, `−`, `×`, `floor` and bit operations only, and
//! `shaders/common.wgsl` repeats each function step for step, with the same constants
//! given as bit patterns. Rust never fuses a multiply with an add; the WGSL side stops
//! drivers from doing so with `keep`. Every result is within a few ulp of the exact value.

/// Partial sums a long sum is split into: the GPU's workgroup size (see [`sum_strided`]).
pub(crate) const PARTIALS: usize = 64;

/// 1/127 (the int8 activation scale step), as f32.
pub(crate) const INV_127: f32 = f32::from_bits(0x3c01_0204);
const LOG2_E: f32 = f32::from_bits(0x3fb8_aa3b);
/// ln 2 split in two so that `n · LN2_HI` is exact for the |n| ≤ 127 used.
const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
/// 1/k! for k = 7 down to 2: Taylor's series of e^r, |r| ≤ ln2/2 (error < 1e-8).
const EXP_TAYLOR: [u32; 6] = [
    0x3950_0d01,
    0x3ab6_0b61,
    0x3c08_8889,
    0x3d2a_aaab,
    0x3e2a_aaab,
    0x3f00_0000,
];

/// e^x within 2 ulp for x in [−87, 88]; 0 below −87 (where e^x leaves the normal range,
/// which GPUs may flush), and e^88 above 88.
pub(crate) fn exp(x: f32) -> f32 {
    // NaN goes to 0 as well.
    if x.is_nan() || x < -87.0 {
        return 0.0;
    }
    let x = x.min(88.0);
    let n = (x * LOG2_E + 0.5).floor();
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = f32::from_bits(EXP_TAYLOR[0]);
    for c in &EXP_TAYLOR[1..] {
        p = p * r + f32::from_bits(*c);
    }
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^n for n in [−126, 127], straight into the exponent field.
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * two_n
}

/// 1/x within 2 ulp for positive normal x below 2^126 (0 at and above it, where 1/x would
/// be subnormal): a bit-level first guess refined by four Newton steps.
pub(crate) fn recip(x: f32) -> f32 {
    if x >= f32::from_bits(0x7e80_0000) {
        return 0.0;
    }
    let mut y = f32::from_bits(0x7ef3_11c3u32.wrapping_sub(x.to_bits()));
    // y + y·(1 − x·y) rather than y·(2 − x·y): the same step, but its last rounding lands
    // on the nearest value far more often.
    for _ in 0..4 {
        y = y + y * (1.0 - x * y);
    }
    y
}

/// √(2/π), as f32.
const SQRT_2_OVER_PI: f32 = f32::from_bits(0x3f4c_422a);
/// The cubic coefficient of GELU's tanh approximation, 0.044715, as f32.
const GELU_CUBIC: f32 = f32::from_bits(0x3d37_2713);

/// GELU with the tanh approximation, `0.5·x·(1 + tanh(u))` with `u = √(2/π)·(x + 0.044715·x³)`,
/// computed as the equal `x / (1 + e^(−2u))` so it needs only [`exp`] and [`recip`].
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + GELU_CUBIC * (x * x * x));
    x * recip(1.0 + exp(-2.0 * u))
}

/// SiLU, `x / (1 + e^(−x))`.
pub(crate) fn silu(x: f32) -> f32 {
    x * recip(1.0 + exp(-x))
}

/// 1/√x within 2 ulp for positive normal x: the classic bit-level first guess refined by
/// three Newton steps.
pub(crate) fn rsqrt(x: f32) -> f32 {
    let half = 0.5 * x;
    let mut y = f32::from_bits(0x5f37_5a86 - (x.to_bits() >> 1));
    for _ in 0..3 {
        y = y + y * (0.5 - half * y * y);
    }
    y
}

/// Σ term(i) for i < n in the GPU's order: [`PARTIALS`] partial sums, partial l adding the
/// terms l, l + 64, l + 128, … in turn, then folded in halves (l += l + 32, then l + 16, …).
pub(crate) fn sum_strided(n: usize, term: impl Fn(usize) -> f32) -> f32 {
    let mut partial = [0f32; PARTIALS];
    for (l, p) in partial.iter_mut().enumerate() {
        let mut i = l;
        while i < n {
            *p += term(i);
            i += PARTIALS;
        }
    }
    let mut stride = PARTIALS / 2;
    while stride > 0 {
        for l in 0..stride {
            partial[l] += partial[l + stride];
        }
        stride /= 2;
    }
    partial[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm_over_its_range() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x <= 88.0 {
            worst = worst.max(ulps(exp(x), libm::expf(x)));
            x += 0.0137;
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-90.0), 0.0);
        assert_eq!(exp(f32::NAN), 0.0);
        assert_eq!(exp(1000.0), exp(88.0));
        assert!(exp(88.0).is_finite());
    }

    #[test]
    fn recip_and_rsqrt_are_within_two_ulp() {
        let mut worst = (0, 0);
        let mut x = 1e-30f32;
        while x < 1e30 {
            worst.0 = worst.0.max(ulps(recip(x), 1.0 / x));
            worst.1 = worst.1.max(ulps(rsqrt(x), 1.0 / x.sqrt()));
            x *= 1.000_731;
        }
        assert!(worst.0 <= 2 && worst.1 <= 2, "worst errors {worst:?} ulp");
        assert_eq!(recip(f32::from_bits(0x7e80_0000)), 0.0);
        assert_eq!(recip(1.0), 1.0);
        assert_eq!(rsqrt(4.0), 0.5);
    }

    #[test]
    fn strided_sum_adds_every_term_once() {
        for n in [0usize, 1, 63, 64, 65, 576, 1000] {
            let got = sum_strided(n, |i| i as f32);
            assert_eq!(got, (n * n.saturating_sub(1) / 2) as f32, "n = {n}");
        }
    }
}

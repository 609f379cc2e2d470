//! aarch64 kernels: NEON widening multiplies (`smull`/`smull2`) and pairwise adds, baseline
//! ARMv8 (no dot-product extension needed). Activations use the int4 nibble order, so the low
//! and high nibbles of a block meet their activations without shuffles.

use super::{ActivationQ8, RowKernel};
use std::arch::aarch64::*;

/// One int4 row against one activation.
pub(crate) fn dot_q4(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let blocks = k.words.len() / 4;
    let (codes, ad, asum) = (a.codes(), a.scales(), a.sums());
    assert!(codes.len() >= blocks * 32 && ad.len() >= blocks && asum.len() >= blocks);
    let wp = k.words.as_ptr().cast::<u8>();
    let mut total = 0f32;
    for b in 0..blocks {
        let g = b * 32 / k.group;
        // SAFETY: block b < blocks: bytes b*16..b*16+16 of `words` and codes b*32..b*32+32
        // are in bounds (asserted above); NEON is part of every aarch64 target.
        let isum = unsafe {
            let bytes = vld1q_u8(wp.add(b * 16));
            let lo = vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0x0F)));
            let hi = vreinterpretq_s8_u8(vshrq_n_u8::<4>(bytes));
            let x_even = vld1q_s8(codes.as_ptr().add(b * 32));
            let x_odd = vld1q_s8(codes.as_ptr().add(b * 32 + 16));
            let p0 = vmull_s8(vget_low_s8(lo), vget_low_s8(x_even));
            let p1 = vmull_high_s8(lo, x_even);
            let p2 = vmull_s8(vget_low_s8(hi), vget_low_s8(x_odd));
            let p3 = vmull_high_s8(hi, x_odd);
            let s = vaddq_s32(
                vaddq_s32(vpaddlq_s16(p0), vpaddlq_s16(p1)),
                vaddq_s32(vpaddlq_s16(p2), vpaddlq_s16(p3)),
            );
            vaddvq_s32(s)
        };
        total += k.scales[g] * ad[b] * isum as f32;
        total += match k.mins {
            Some(m) => m[g] * asum[b],
            None => -8.0 * k.scales[g] * asum[b],
        };
    }
    total
}

/// One int8 row against one activation.
pub(crate) fn dot_q8(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let blocks = k.words.len() / 8;
    let (codes, ad) = (a.natural_codes(), a.scales());
    assert!(codes.len() >= blocks * 32 && ad.len() >= blocks);
    let wp = k.words.as_ptr().cast::<i8>();
    let mut total = 0f32;
    for b in 0..blocks {
        let g = b * 32 / k.group;
        // SAFETY: 32 weight bytes and 32 codes of block b are in bounds (asserted above).
        let isum = unsafe {
            let w0 = vld1q_s8(wp.add(b * 32));
            let w1 = vld1q_s8(wp.add(b * 32 + 16));
            let x0 = vld1q_s8(codes.as_ptr().add(b * 32));
            let x1 = vld1q_s8(codes.as_ptr().add(b * 32 + 16));
            let s = vaddq_s32(
                vaddq_s32(
                    vpaddlq_s16(vmull_s8(vget_low_s8(w0), vget_low_s8(x0))),
                    vpaddlq_s16(vmull_high_s8(w0, x0)),
                ),
                vaddq_s32(
                    vpaddlq_s16(vmull_s8(vget_low_s8(w1), vget_low_s8(x1))),
                    vpaddlq_s16(vmull_high_s8(w1, x1)),
                ),
            );
            vaddvq_s32(s)
        };
        total += k.scales[g] * ad[b] * isum as f32;
    }
    total
}

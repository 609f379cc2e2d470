//! wasm32 SIMD kernels (the browser's CPU path), used when the crate is built with
//! `target-feature=+simd128` (every current browser runs it; see .cargo/config.toml).
//!
//! Bit-identical to the portable and AVX2 kernels: the same eight lane sums of four
//! products per block, the same multiply-then-add per block and the same horizontal sum.

use super::portable::lane_sum;
use super::{ActivationQ8, RowKernel};
use core::arch::wasm32::*;

/// Sums of four adjacent products of `w` (16 bytes, unsigned or signed per `SIGNED`) and
/// `x` (16 signed bytes): lane j covers bytes 4j..4j+3.
#[inline(always)]
fn quad_sums<const SIGNED: bool>(w: v128, x: v128) -> v128 {
    let (w0, w1) = if SIGNED {
        (i16x8_extend_low_i8x16(w), i16x8_extend_high_i8x16(w))
    } else {
        (u16x8_extend_low_u8x16(w), u16x8_extend_high_u8x16(w))
    };
    let d0 = i32x4_dot_i16x8(w0, i16x8_extend_low_i8x16(x));
    let d1 = i32x4_dot_i16x8(w1, i16x8_extend_high_i8x16(x));
    i32x4_add(
        i32x4_shuffle::<0, 2, 4, 6>(d0, d1),
        i32x4_shuffle::<1, 3, 5, 7>(d0, d1),
    )
}

fn lanes(lo: v128, hi: v128) -> [f32; 8] {
    [
        f32x4_extract_lane::<0>(lo),
        f32x4_extract_lane::<1>(lo),
        f32x4_extract_lane::<2>(lo),
        f32x4_extract_lane::<3>(lo),
        f32x4_extract_lane::<0>(hi),
        f32x4_extract_lane::<1>(hi),
        f32x4_extract_lane::<2>(hi),
        f32x4_extract_lane::<3>(hi),
    ]
}

/// One int4 row against one activation.
// `b` addresses three arrays and two raw loads; an iterator would hide the bounds argument.
#[allow(clippy::needless_range_loop)]
pub(crate) fn dot_q4(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let (codes, ad, asum) = (a.codes(), a.scales(), a.sums());
    let blocks = k.words.len() / 4;
    assert!(codes.len() >= blocks * 32 && ad.len() >= blocks && asum.len() >= blocks);
    let mask = u8x16_splat(0x0F);
    let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let mut offset = 0f32;
    for b in 0..blocks {
        let g = b * 32 / k.group;
        // SAFETY: block b is words[4b..4b+4] (16 bytes) and codes[32b..32b+32], in bounds
        // by the assert above; v128_load has no alignment requirement.
        let (bytes, x_lo, x_hi) = unsafe {
            (
                v128_load(k.words.as_ptr().add(b * 4).cast()),
                v128_load(codes.as_ptr().add(b * 32).cast()),
                v128_load(codes.as_ptr().add(b * 32 + 16).cast()),
            )
        };
        let scale = f32x4_splat(k.scales[g] * ad[b]);
        let low = quad_sums::<false>(v128_and(bytes, mask), x_lo);
        let high = quad_sums::<false>(u8x16_shr(bytes, 4), x_hi);
        lo = f32x4_add(lo, f32x4_mul(f32x4_convert_i32x4(low), scale));
        hi = f32x4_add(hi, f32x4_mul(f32x4_convert_i32x4(high), scale));
        let min = match k.mins {
            Some(m) => m[g],
            None => -8.0 * k.scales[g],
        };
        offset += min * asum[b];
    }
    lane_sum(lanes(lo, hi)) + offset
}

/// One int8 row against one activation.
#[allow(clippy::needless_range_loop)]
pub(crate) fn dot_q8(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let (codes, ad) = (a.natural_codes(), a.scales());
    let blocks = k.words.len() / 8;
    assert!(codes.len() >= blocks * 32 && ad.len() >= blocks);
    let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
    for b in 0..blocks {
        let g = b * 32 / k.group;
        // SAFETY: block b is words[8b..8b+8] (32 bytes) and codes[32b..32b+32] (asserted).
        let (w0, w1, x0, x1) = unsafe {
            (
                v128_load(k.words.as_ptr().add(b * 8).cast()),
                v128_load(k.words.as_ptr().add(b * 8 + 4).cast()),
                v128_load(codes.as_ptr().add(b * 32).cast()),
                v128_load(codes.as_ptr().add(b * 32 + 16).cast()),
            )
        };
        let scale = f32x4_splat(k.scales[g] * ad[b]);
        let l0 = quad_sums::<true>(w0, x0);
        let l1 = quad_sums::<true>(w1, x1);
        lo = f32x4_add(lo, f32x4_mul(f32x4_convert_i32x4(l0), scale));
        hi = f32x4_add(hi, f32x4_mul(f32x4_convert_i32x4(l1), scale));
    }
    lane_sum(lanes(lo, hi))
}

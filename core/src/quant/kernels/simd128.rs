//! wasm32 SIMD kernels (the browser's CPU path), used when the crate is built with
//! `target-feature=+simd128` (every current browser runs it; see .cargo/config.toml).
//!
//! Bit-identical to the portable and AVX2 kernels: the same eight lane sums of four
//! products per block, the same multiply-then-add per block and the same horizontal sum.
//!
//! Built with `relaxed-simd` as well (the threaded browser build), the sums of four byte
//! products are one `i32x4.relaxed_dot_i8x16_i7x16_add` instead of nine instructions. That
//! instruction is exact when every byte of its second operand is in 0..=127: int4 codes
//! (0..=15) are, and int8 rows go in as |w| with w's sign moved onto the activation (int8
//! codes are checked to lie in -127..=127 when a matrix is built, activations are made so).

use super::portable::lane_sum;
use super::{ActivationQ8, RowKernel};
use core::arch::wasm32::*;

/// Sums of four adjacent products of `w` (16 bytes, unsigned or signed per `SIGNED`) and
/// `x` (16 signed bytes in -127..=127): lane j covers bytes 4j..4j+3.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
fn quad_sums<const SIGNED: bool>(w: v128, x: v128) -> v128 {
    if SIGNED {
        // |w| is in 0..=127 (codes are -127..=127) and -x cannot overflow (x is too).
        let x = v128_bitselect(i8x16_neg(x), x, i8x16_lt(w, i8x16_splat(0)));
        i32x4_relaxed_dot_i8x16_i7x16_add(x, i8x16_abs(w), i32x4_splat(0))
    } else {
        i32x4_relaxed_dot_i8x16_i7x16_add(x, w, i32x4_splat(0))
    }
}

/// Sums of four adjacent products of `w` (16 bytes, unsigned or signed per `SIGNED`) and
/// `x` (16 signed bytes): lane j covers bytes 4j..4j+3.
#[cfg(not(target_feature = "relaxed-simd"))]
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
pub(crate) fn dot_q4(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    dot_q4_many::<1>(k, [a])[0]
}

/// One int4 row against `T` activations at once (prompt processing): each block of the row
/// is loaded and unpacked once for all of them. Every activation's sums are the same
/// operations in the same order as [`dot_q4`]'s.
pub(crate) fn dot_q4_many<const T: usize>(k: &RowKernel<'_>, acts: [&ActivationQ8; T]) -> [f32; T] {
    let blocks = k.words.len() / 4;
    // The last group may be partial (e.g. 128-wide groups over 576 columns).
    let per_group = k.group / 32;
    assert!(per_group > 0);
    let groups = blocks.div_ceil(per_group);
    assert!(k.scales.len() >= groups);
    if let Some(m) = k.mins {
        assert!(m.len() >= groups);
    }
    for a in acts {
        assert!(a.codes().len() >= blocks * 32 && a.scales().len() >= blocks);
        assert!(a.sums().len() >= blocks);
    }
    let mask = u8x16_splat(0x0F);
    let mut lo = [f32x4_splat(0.0); T];
    let mut hi = [f32x4_splat(0.0); T];
    let mut offset = [0f32; T];
    for g in 0..groups {
        let w_scale = k.scales[g];
        let min = match k.mins {
            Some(m) => m[g],
            None => -8.0 * w_scale,
        };
        for b in g * per_group..((g + 1) * per_group).min(blocks) {
            // SAFETY: block b is words[4b..4b+4] (16 bytes), in bounds as b < blocks;
            // v128_load has no alignment requirement.
            let bytes = unsafe { v128_load(k.words.as_ptr().add(b * 4).cast()) };
            let (w_lo, w_hi) = (v128_and(bytes, mask), u8x16_shr(bytes, 4));
            for t in 0..T {
                let a = acts[t];
                // SAFETY: codes[32b..32b+32] is in bounds (asserted for every activation).
                let (x_lo, x_hi) = unsafe {
                    let codes = a.codes().as_ptr().add(b * 32);
                    (v128_load(codes.cast()), v128_load(codes.add(16).cast()))
                };
                let scale = f32x4_splat(w_scale * a.scales()[b]);
                let low = quad_sums::<false>(w_lo, x_lo);
                let high = quad_sums::<false>(w_hi, x_hi);
                lo[t] = f32x4_add(lo[t], f32x4_mul(f32x4_convert_i32x4(low), scale));
                hi[t] = f32x4_add(hi[t], f32x4_mul(f32x4_convert_i32x4(high), scale));
                offset[t] += min * a.sums()[b];
            }
        }
    }
    std::array::from_fn(|t| lane_sum(lanes(lo[t], hi[t])) + offset[t])
}

/// One int8 row against one activation.
pub(crate) fn dot_q8(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    dot_q8_many::<1>(k, [a])[0]
}

/// One int8 row against `T` activations at once; per activation the same operations in the
/// same order as [`dot_q8`]'s.
pub(crate) fn dot_q8_many<const T: usize>(k: &RowKernel<'_>, acts: [&ActivationQ8; T]) -> [f32; T] {
    let blocks = k.words.len() / 8;
    let per_group = k.group / 32;
    assert!(per_group > 0);
    let groups = blocks.div_ceil(per_group);
    assert!(k.scales.len() >= groups);
    for a in acts {
        assert!(a.natural_codes().len() >= blocks * 32 && a.scales().len() >= blocks);
    }
    let mut lo = [f32x4_splat(0.0); T];
    let mut hi = [f32x4_splat(0.0); T];
    for g in 0..groups {
        let w_scale = k.scales[g];
        for b in g * per_group..((g + 1) * per_group).min(blocks) {
            // SAFETY: block b is words[8b..8b+8] (32 bytes), in bounds as b < blocks.
            let (w0, w1) = unsafe {
                let words = k.words.as_ptr().add(b * 8);
                (v128_load(words.cast()), v128_load(words.add(4).cast()))
            };
            for t in 0..T {
                let a = acts[t];
                // SAFETY: codes[32b..32b+32] is in bounds (asserted for every activation).
                let (x0, x1) = unsafe {
                    let codes = a.natural_codes().as_ptr().add(b * 32);
                    (v128_load(codes.cast()), v128_load(codes.add(16).cast()))
                };
                let scale = f32x4_splat(w_scale * a.scales()[b]);
                let l0 = quad_sums::<true>(w0, x0);
                let l1 = quad_sums::<true>(w1, x1);
                lo[t] = f32x4_add(lo[t], f32x4_mul(f32x4_convert_i32x4(l0), scale));
                hi[t] = f32x4_add(hi[t], f32x4_mul(f32x4_convert_i32x4(l1), scale));
            }
        }
    }
    std::array::from_fn(|t| lane_sum(lanes(lo[t], hi[t])))
}

/// Widens f16 values (their bits) to f32, exactly, eight at a time: the browser's CPU path
/// widens every matrix's group scales once at load (`PackedMatrix::with_f32_scales`), several
/// million values, where `half`'s scalar fallback (wasm has no f16 instructions) is slow.
pub(crate) fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    let whole = src.len() / 8 * 8;
    for (s, d) in src[..whole]
        .chunks_exact(8)
        .zip(dst[..whole].chunks_exact_mut(8))
    {
        // SAFETY: s is 8 u16 (16 bytes) and d 8 f32 (32 bytes); no alignment is required.
        unsafe {
            let h = v128_load(s.as_ptr().cast());
            v128_store(d.as_mut_ptr().cast(), widen_f16(u32x4_extend_low_u16x8(h)));
            v128_store(
                d.as_mut_ptr().add(4).cast(),
                widen_f16(u32x4_extend_high_u16x8(h)),
            );
        }
    }
    for (s, d) in src[whole..].iter().zip(&mut dst[whole..]) {
        *d = half::f16::from_bits(*s).to_f32();
    }
}

/// Four f16 bit patterns (one per u32 lane) as f32. The magnitude's bits moved up to f32's
/// places and multiplied by 2^112 give normal and subnormal values exactly (a power-of-two
/// product); infinities and NaNs keep their payload with an all-ones exponent.
#[inline(always)]
fn widen_f16(h: v128) -> v128 {
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    let magnitude = v128_and(h, u32x4_splat(0x7fff));
    let moved = i32x4_shl(magnitude, 13);
    let finite = f32x4_mul(moved, f32x4_splat(f32::from_bits(0x7780_0000)));
    let special = v128_or(moved, u32x4_splat(0x7f80_0000));
    let is_special = u32x4_ge(magnitude, u32x4_splat(0x7c00));
    v128_or(v128_bitselect(special, finite, is_special), sign)
}

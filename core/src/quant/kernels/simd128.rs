//! wasm32 SIMD kernels (the browser's CPU path), used when the crate is built with
//! `target-feature=+simd128` (every current browser runs it; see .cargo/config.toml).
//!
//! Bit-identical to the portable and AVX2 kernels: the same eight lane sums of four
//! products per block, the same multiply-then-add per block and the same horizontal sum.
//!
//! Built with `relaxed-simd` as well (the threaded browser build), the sums of four byte
//! products are `i16x8.relaxed_dot_i8x16_i7x16_s` then `i32x4.extadd_pairwise_i16x8_s` (two
//! x86 instructions, pmaddubsw and pmaddwd) instead of nine. The dot product is exact when
//! every byte of its second operand is in 0..=127 and no pair sum leaves i16: int4 codes
//! (0..=15) are, and int8 rows go in as |w| with w's sign moved onto the activation (int8
//! codes are checked to lie in -127..=127 when a matrix is built, activations are made so),
//! so a pair sum is at most 2·127·127 = 32258.

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
        i32x4_extadd_pairwise_i16x8(i16x8_relaxed_dot_i8x16_i7x16(x, i8x16_abs(w)))
    } else {
        i32x4_extadd_pairwise_i16x8(i16x8_relaxed_dot_i8x16_i7x16(x, w))
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

/// The eight f32 lanes of two vectors, `lo`'s first.
fn lanes_of(lo: v128, hi: v128) -> [f32; 8] {
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

/// Four activations' per-block scales and sums side by side, lane `t` for activation `t`, so
/// that a kernel scales and offsets all four in a block with one vector multiply each
/// instead of a scalar load, multiply and splat per activation. Built once per matrix
/// product (prompts only) and shared by every row.
pub(crate) struct TokenQuad {
    /// The first of the four activations' index in the product's activations.
    pub(crate) first: usize,
    scales: Vec<v128>,
    sums: Vec<v128>,
}

impl TokenQuad {
    /// One quad per four consecutive activations; the last `acts.len() % 4` are left to
    /// the one-activation kernels.
    pub(crate) fn split(acts: &[ActivationQ8]) -> Vec<TokenQuad> {
        acts.chunks_exact(4)
            .enumerate()
            .map(|(i, quad)| {
                let lanes = |values: fn(&ActivationQ8) -> &[f32]| -> Vec<v128> {
                    let [a, b, c, d] = [0, 1, 2, 3].map(|t| values(&quad[t]));
                    (0..a.len())
                        .map(|i| f32x4(a[i], b[i], c[i], d[i]))
                        .collect()
                };
                TokenQuad {
                    first: 4 * i,
                    scales: lanes(ActivationQ8::scales),
                    sums: lanes(ActivationQ8::sums),
                }
            })
            .collect()
    }
}

/// Where a kernel gets its activations' block scales and sums: lane `t` for activation `t`.
trait BlockLanes {
    /// Block `b`'s activation scales.
    fn scales(&self, b: usize) -> v128;
    /// Block `b`'s activation sums.
    fn sums(&self, b: usize) -> v128;
}

impl BlockLanes for TokenQuad {
    #[inline(always)]
    fn scales(&self, b: usize) -> v128 {
        self.scales[b]
    }
    #[inline(always)]
    fn sums(&self, b: usize) -> v128 {
        self.sums[b]
    }
}

/// One activation's scales and sums, splat per block.
impl BlockLanes for ActivationQ8 {
    #[inline(always)]
    fn scales(&self, b: usize) -> v128 {
        f32x4_splat(ActivationQ8::scales(self)[b])
    }
    #[inline(always)]
    fn sums(&self, b: usize) -> v128 {
        f32x4_splat(ActivationQ8::sums(self)[b])
    }
}

/// Lane `T` of `v` in every lane.
#[inline(always)]
fn splat_lane<const T: usize>(v: v128) -> v128 {
    match T {
        0 => i32x4_shuffle::<0, 0, 0, 0>(v, v),
        1 => i32x4_shuffle::<1, 1, 1, 1>(v, v),
        2 => i32x4_shuffle::<2, 2, 2, 2>(v, v),
        _ => i32x4_shuffle::<3, 3, 3, 3>(v, v),
    }
}

/// Adds one block's eight lane sums of one activation, scaled by `scale`, to its
/// accumulators: convert, multiply, then add, as the portable kernel does.
#[inline(always)]
fn accumulate(lo: &mut v128, hi: &mut v128, low: v128, high: v128, scale: v128) {
    *lo = f32x4_add(*lo, f32x4_mul(f32x4_convert_i32x4(low), scale));
    *hi = f32x4_add(*hi, f32x4_mul(f32x4_convert_i32x4(high), scale));
}

/// One int4 row against one activation (decode).
pub(crate) fn dot_q4(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    dot_q4_lanes::<1>(k, [a], a)[0]
}

/// One int4 row against the four activations of `quad` (prompts).
pub(crate) fn dot_q4_quad(k: &RowKernel<'_>, acts: &[ActivationQ8], quad: &TokenQuad) -> [f32; 4] {
    let a = &acts[quad.first..quad.first + 4];
    dot_q4_lanes::<4>(k, [&a[0], &a[1], &a[2], &a[3]], quad)
}

/// One int8 row against one activation (decode).
pub(crate) fn dot_q8(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    dot_q8_lanes::<1>(k, [a], a)[0]
}

/// One int8 row against the four activations of `quad` (prompts).
pub(crate) fn dot_q8_quad(k: &RowKernel<'_>, acts: &[ActivationQ8], quad: &TokenQuad) -> [f32; 4] {
    let a = &acts[quad.first..quad.first + 4];
    dot_q8_lanes::<4>(k, [&a[0], &a[1], &a[2], &a[3]], quad)
}

/// One int4 row against `T` activations (1 or 4): each block of the row is loaded and
/// unpacked once for all of them. Per activation these are the portable kernel's float
/// operations in its order: eight lane sums of four products per block, multiplied by the
/// block's scale then added, plus the minimum's offset, then the pairwise horizontal sum.
#[inline(always)]
fn dot_q4_lanes<const T: usize>(
    k: &RowKernel<'_>,
    acts: [&ActivationQ8; T],
    lanes: &impl BlockLanes,
) -> [f32; T] {
    let blocks = k.words.len() / 4;
    // The last group may be partial (e.g. 128-wide groups over 576 columns).
    let per_group = k.group / 32;
    assert!(per_group > 0 && T <= 4);
    let groups = blocks.div_ceil(per_group);
    assert!(k.scales.len() >= groups);
    if let Some(m) = k.mins {
        assert!(m.len() >= groups);
    }
    for a in acts {
        assert!(a.codes().len() >= blocks * 32);
    }
    let mask = u8x16_splat(0x0F);
    let mut lo = [f32x4_splat(0.0); T];
    let mut hi = [f32x4_splat(0.0); T];
    let mut offset = f32x4_splat(0.0);
    for g in 0..groups {
        let w_scale = f32x4_splat(k.scales[g]);
        let min = f32x4_splat(match k.mins {
            Some(m) => m[g],
            None => -8.0 * k.scales[g],
        });
        for b in g * per_group..((g + 1) * per_group).min(blocks) {
            // SAFETY: block b is words[4b..4b+4] (16 bytes), in bounds as b < blocks;
            // v128_load has no alignment requirement.
            let bytes = unsafe { v128_load(k.words.as_ptr().add(b * 4).cast()) };
            let (w_lo, w_hi) = (v128_and(bytes, mask), v128_and(u16x8_shr(bytes, 4), mask));
            let scales = f32x4_mul(w_scale, lanes.scales(b));
            offset = f32x4_add(offset, f32x4_mul(min, lanes.sums(b)));
            macro_rules! token {
                ($t:literal) => {
                    if $t < T {
                        // SAFETY: codes[32b..32b+32] is in bounds (asserted per activation).
                        let (x_lo, x_hi) = unsafe {
                            let codes = acts[$t].codes().as_ptr().add(b * 32);
                            (v128_load(codes.cast()), v128_load(codes.add(16).cast()))
                        };
                        accumulate(
                            &mut lo[$t],
                            &mut hi[$t],
                            quad_sums::<false>(w_lo, x_lo),
                            quad_sums::<false>(w_hi, x_hi),
                            splat_lane::<$t>(scales),
                        );
                    }
                };
            }
            token!(0);
            token!(1);
            token!(2);
            token!(3);
        }
    }
    let offsets = lanes_of(offset, offset);
    std::array::from_fn(|t| lane_sum(lanes_of(lo[t], hi[t])) + offsets[t])
}

/// One int8 row against `T` activations (1 or 4); per activation the portable kernel's
/// float operations in its order.
#[inline(always)]
fn dot_q8_lanes<const T: usize>(
    k: &RowKernel<'_>,
    acts: [&ActivationQ8; T],
    lanes: &impl BlockLanes,
) -> [f32; T] {
    let blocks = k.words.len() / 8;
    let per_group = k.group / 32;
    assert!(per_group > 0 && T <= 4);
    let groups = blocks.div_ceil(per_group);
    assert!(k.scales.len() >= groups);
    for a in acts {
        assert!(a.natural_codes().len() >= blocks * 32);
    }
    let mut lo = [f32x4_splat(0.0); T];
    let mut hi = [f32x4_splat(0.0); T];
    for g in 0..groups {
        let w_scale = f32x4_splat(k.scales[g]);
        for b in g * per_group..((g + 1) * per_group).min(blocks) {
            // SAFETY: block b is words[8b..8b+8] (32 bytes), in bounds as b < blocks.
            let (w0, w1) = unsafe {
                let words = k.words.as_ptr().add(b * 8);
                (v128_load(words.cast()), v128_load(words.add(4).cast()))
            };
            let scales = f32x4_mul(w_scale, lanes.scales(b));
            macro_rules! token {
                ($t:literal) => {
                    if $t < T {
                        // SAFETY: codes[32b..32b+32] is in bounds (asserted per activation).
                        let (x0, x1) = unsafe {
                            let codes = acts[$t].natural_codes().as_ptr().add(b * 32);
                            (v128_load(codes.cast()), v128_load(codes.add(16).cast()))
                        };
                        accumulate(
                            &mut lo[$t],
                            &mut hi[$t],
                            quad_sums::<true>(w0, x0),
                            quad_sums::<true>(w1, x1),
                            splat_lane::<$t>(scales),
                        );
                    }
                };
            }
            token!(0);
            token!(1);
            token!(2);
            token!(3);
        }
    }
    std::array::from_fn(|t| lane_sum(lanes_of(lo[t], hi[t])))
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

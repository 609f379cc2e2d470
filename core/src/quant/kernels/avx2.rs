//! x86-64 kernels: AVX2 integer dot products (`vpmaddubsw` + `vpmaddwd`) with FMA
//! accumulation; nibbles are widened to bytes in registers and f16 scales converted with
//! F16C, a row at a time.
//!
//! A whole chunk of rows runs inside one `#[target_feature]` function so that nothing
//! per row (feature checks, scale conversion calls) escapes the vectorized code: the rows
//! of a 135M model are only 18 blocks long, so per-row overhead is what limits decoding.

use super::{ActivationQ8, MatrixView, ScaleView};
use std::arch::x86_64::*;
use std::sync::OnceLock;

/// Whether this CPU has AVX2, FMA and F16C (checked once).
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        // LMFAST_KERNELS=portable runs the plain-Rust kernels the browser's CPU path uses,
        // to compare the two on one machine.
        std::env::var("LMFAST_KERNELS").as_deref() != Ok("portable")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    })
}

/// How far ahead of the current block the decode kernel prefetches weights.
const PREFETCH: usize = 4096;

/// Tokens handled together against one weight row (its blocks are unpacked once).
const TOKEN_TILE: usize = 4;

/// Computes rows `first..first + dst.len() / acts.len()` of an int4 or int8 matrix against
/// every activation; `dst` is row-major `[row][token]`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C (see [`available`]); `acts` must all be
/// `w.cols` wide.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn rows(
    w: &MatrixView<'_>,
    first: usize,
    acts: &[ActivationQ8],
    dst: &mut [f32],
) {
    let tokens = acts.len();
    let blocks = w.cols / 32;
    for a in acts {
        assert!(a.codes().len() == w.cols && a.scales().len() == blocks);
    }
    let shift = (w.group / 32).trailing_zeros();
    let n_rows = dst.len() / tokens.max(1);
    // Few tokens (decoding): four rows at a time give four independent accumulator chains
    // and share each activation load. Many tokens (prefill): one row against four tokens.
    let quad = if tokens < TOKEN_TILE && w.int4 { 4 } else { 1 };
    let mut scales = vec![0f32; w.gpr * quad];
    let mut mins = vec![0f32; w.gpr * quad];
    let mut i = 0;
    while i < n_rows {
        let take = if i + quad <= n_rows { quad } else { 1 };
        let row = first + i;
        read_scales(w.scales, row * w.gpr, &mut scales[..take * w.gpr]);
        if let Some(m) = w.mins {
            read_scales(m, row * w.gpr, &mut mins[..take * w.gpr]);
        }
        if take == 4 {
            let words = |k: usize| &w.q[(row + k) * w.wpr..(row + k + 1) * w.wpr];
            let g = |k: usize| Groups {
                scales: &scales[k * w.gpr..(k + 1) * w.gpr],
                mins: &mins[k * w.gpr..(k + 1) * w.gpr],
                shift,
            };
            let groups = [g(0), g(1), g(2), g(3)];
            let rows4 = [words(0), words(1), words(2), words(3)];
            for (t, a) in acts.iter().enumerate() {
                let sums = if w.mins.is_some() {
                    dot_q4_rows4::<1>(rows4, &groups, a)
                } else {
                    dot_q4_rows4::<0>(rows4, &groups, a)
                };
                for (k, v) in sums.into_iter().enumerate() {
                    dst[(i + k) * tokens + t] = v;
                }
            }
        } else {
            let words = &w.q[row * w.wpr..(row + 1) * w.wpr];
            let groups = Groups {
                scales: &scales[..w.gpr],
                mins: &mins[..w.gpr],
                shift,
            };
            let out = &mut dst[i * tokens..(i + 1) * tokens];
            match (w.int4, w.mins.is_some()) {
                (true, true) => row_tiles::<1>(words, &groups, acts, out),
                (true, false) => row_tiles::<0>(words, &groups, acts, out),
                (false, _) => row_tiles::<2>(words, &groups, acts, out),
            }
        }
        i += take;
    }
}

/// Four int4 rows against one activation (`KIND` 1: asymmetric, else symmetric).
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_rows4<const KIND: u8>(
    words: [&[u32]; 4],
    g: &[Groups<'_>; 4],
    a: &ActivationQ8,
) -> [f32; 4] {
    let blocks = words[0].len() / 4;
    for k in 0..4 {
        assert!(words[k].len() == blocks * 4);
        assert!(g[k].scales.len() > (blocks.max(1) - 1) >> g[k].shift);
        assert!(KIND != 1 || g[k].mins.len() > (blocks.max(1) - 1) >> g[k].shift);
    }
    assert!(
        a.codes().len() >= blocks * 32 && a.scales().len() >= blocks && a.sums().len() >= blocks
    );
    let shift = g[0].shift;
    let low_nibbles = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut offset = [0f32; 4];
    for b in 0..blocks {
        // SAFETY: codes, scales and sums hold `blocks` blocks (asserted above).
        let (x, ad, asum) = unsafe {
            (
                _mm256_loadu_si256(a.codes().as_ptr().add(b * 32).cast()),
                *a.scales().get_unchecked(b),
                *a.sums().get_unchecked(b),
            )
        };
        let group = b >> shift;
        // The four rows lie back to back in memory and one block of each (4 × 16 bytes,
        // one cache line) is consumed per step: fetch the line PREFETCH bytes ahead.
        _mm_prefetch::<_MM_HINT_T0>(
            words[0]
                .as_ptr()
                .cast::<i8>()
                .wrapping_add(b * 64 + PREFETCH),
        );
        for k in 0..4 {
            // SAFETY: block b of row k is bytes b*16..b*16+16 of `words[k]` (asserted
            // length), and `group` indexes its scales/mins (asserted above).
            let (bytes, ws, wm) = unsafe {
                let ws = *g[k].scales.get_unchecked(group);
                let wm = if KIND == 1 {
                    *g[k].mins.get_unchecked(group)
                } else {
                    -8.0 * ws
                };
                (
                    _mm_loadu_si128(words[k].as_ptr().cast::<u8>().add(b * 16).cast()),
                    ws,
                    wm,
                )
            };
            let w = _mm256_and_si256(
                _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes),
                low_nibbles,
            );
            let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), ones);
            // A multiply then an add, not an FMA: the portable (wasm) kernel and the GPU
            // repeat these exact roundings.
            acc[k] = _mm256_add_ps(
                acc[k],
                _mm256_mul_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(ws * ad)),
            );
            offset[k] += wm * asum;
        }
    }
    let mut out = [0f32; 4];
    for k in 0..4 {
        out[k] = horizontal_sum(acc[k]) + offset[k];
    }
    out
}

/// A row's group scales and minimums as f32, and log2(group / 32).
struct Groups<'a> {
    scales: &'a [f32],
    mins: &'a [f32],
    shift: u32,
}

/// One row against every activation, `TOKEN_TILE` tokens at a time. `KIND`: 0 symmetric
/// int4, 1 asymmetric int4, 2 int8.
#[target_feature(enable = "avx2,fma,f16c")]
fn row_tiles<const KIND: u8>(
    words: &[u32],
    g: &Groups<'_>,
    acts: &[ActivationQ8],
    out: &mut [f32],
) {
    let mut t = 0;
    while t + TOKEN_TILE <= acts.len() {
        let tile = [&acts[t], &acts[t + 1], &acts[t + 2], &acts[t + 3]];
        let sums = if KIND == 2 {
            dot_q8_tile(words, g, tile)
        } else {
            dot_q4_tile::<TOKEN_TILE, KIND>(words, g, tile)
        };
        out[t..t + TOKEN_TILE].copy_from_slice(&sums);
        t += TOKEN_TILE;
    }
    for (o, a) in out[t..].iter_mut().zip(&acts[t..]) {
        *o = if KIND == 2 {
            dot_q8_tile(words, g, [a])[0]
        } else {
            dot_q4_tile::<1, KIND>(words, g, [a])[0]
        };
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn read_scales(s: ScaleView<'_>, start: usize, out: &mut [f32]) {
    match s {
        ScaleView::F32(v) => out.copy_from_slice(&v[start..start + out.len()]),
        ScaleView::F16(v) => {
            let src = &v[start..start + out.len()];
            let mut chunks = src.chunks_exact(8);
            let mut i = 0;
            for c in &mut chunks {
                // SAFETY: `c` is 8 u16 (16 bytes) and out[i..i+8] is in bounds.
                unsafe {
                    let h = _mm_loadu_si128(c.as_ptr().cast());
                    _mm256_storeu_ps(out.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
                }
                i += 8;
            }
            for &h in chunks.remainder() {
                out[i] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(h))));
                i += 1;
            }
        }
    }
}

/// One int4 row against `N` activations (`KIND` 1: asymmetric, else symmetric).
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_tile<const N: usize, const KIND: u8>(
    words: &[u32],
    g: &Groups<'_>,
    acts: [&ActivationQ8; N],
) -> [f32; N] {
    let blocks = words.len() / 4;
    assert!(g.scales.len() > (blocks.max(1) - 1) >> g.shift);
    assert!(KIND != 1 || g.mins.len() > (blocks.max(1) - 1) >> g.shift);
    let low_nibbles = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); N];
    let mut offset = [0f32; N];
    let wp = words.as_ptr().cast::<u8>();
    for b in 0..blocks {
        if b % 4 == 0 {
            _mm_prefetch::<_MM_HINT_T0>(wp.cast::<i8>().wrapping_add(b * 16 + PREFETCH));
        }
        // SAFETY: block b < blocks covers bytes b*16..b*16+16 of `words`.
        let bytes = unsafe { _mm_loadu_si128(wp.add(b * 16).cast()) };
        // Low nibbles hold elements 0,2,..,30 and high nibbles 1,3,..,31; the activations
        // were stored in that order, so no shuffle is needed here.
        let both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
        let w = _mm256_and_si256(both, low_nibbles);
        let group = b >> g.shift;
        // SAFETY: group < scales.len() (and mins.len() when used) by the asserts above.
        let ws = unsafe { *g.scales.get_unchecked(group) };
        // Symmetric codes are stored as q + 8: the −8 becomes an offset like a minimum.
        let wm = if KIND == 1 {
            // SAFETY: as above.
            unsafe { *g.mins.get_unchecked(group) }
        } else {
            -8.0 * ws
        };
        for n in 0..N {
            let a = acts[n];
            // SAFETY: every activation is `blocks * 32` codes wide (asserted by `rows`).
            let (x, ad, asum) = unsafe {
                (
                    _mm256_loadu_si256(a.codes().as_ptr().add(b * 32).cast()),
                    *a.scales().get_unchecked(b),
                    *a.sums().get_unchecked(b),
                )
            };
            let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), ones);
            acc[n] = _mm256_add_ps(
                acc[n],
                _mm256_mul_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(ws * ad)),
            );
            offset[n] += wm * asum;
        }
    }
    let mut out = [0f32; N];
    for n in 0..N {
        out[n] = horizontal_sum(acc[n]) + offset[n];
    }
    out
}

/// One int8 row against `N` activations.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q8_tile<const N: usize>(
    words: &[u32],
    g: &Groups<'_>,
    acts: [&ActivationQ8; N],
) -> [f32; N] {
    let blocks = words.len() / 8;
    assert!(g.scales.len() > (blocks.max(1) - 1) >> g.shift);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); N];
    let wp = words.as_ptr().cast::<u8>();
    for b in 0..blocks {
        if b % 2 == 0 {
            _mm_prefetch::<_MM_HINT_T0>(wp.cast::<i8>().wrapping_add(b * 32 + PREFETCH));
        }
        // SAFETY: block b < blocks covers bytes b*32..b*32+32 of `words`.
        let w = unsafe { _mm256_loadu_si256(wp.add(b * 32).cast()) };
        let w_abs = _mm256_sign_epi8(w, w);
        for n in 0..N {
            let a = acts[n];
            // SAFETY: as in `dot_q4_tile`. int8 rows use the activations' natural order,
            // kept in `natural_codes`.
            let x = unsafe { _mm256_loadu_si256(a.natural_codes().as_ptr().add(b * 32).cast()) };
            // vpmaddubsw needs one unsigned operand: |w| times x with w's sign.
            let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(x, w)), ones);
            let scale = _mm256_set1_ps(g.scales[b >> g.shift] * a.scales()[b]);
            acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(_mm256_cvtepi32_ps(sums), scale));
        }
    }
    let mut out = [0f32; N];
    for n in 0..N {
        out[n] = horizontal_sum(acc[n]);
    }
    out
}

#[target_feature(enable = "avx2,fma")]
fn horizontal_sum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

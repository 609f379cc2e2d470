//! CPU matrix products over packed weights: dequantize in registers, never in memory.
//!
//! Activations are quantized to int8 in blocks of 32 (one f32 scale and the block's sum
//! each), so a weight block and an activation block meet in one integer dot product, as
//! llama.cpp does. For int4 weights with group scale `dw` (and minimum `mw`):
//! `Σ w·x = dw·dx·Σ q·qx − 8·dw·(dx·Σ qx)` (symmetric) or `dw·dx·Σ q·qx + mw·(dx·Σ qx)`.
//! The x86-64 path (AVX2 + FMA + F16C) is chosen at run time; the portable path is plain
//! Rust that the compiler vectorizes (and the one wasm32 uses).

mod activation;
#[cfg(target_arch = "x86_64")]
mod avx2;
pub(crate) mod dense;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
mod self_check;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod simd128;

pub use activation::ActivationQ8;
pub use dense::{dense_matmul, DenseMatrix};
pub use self_check::{check_against_portable, KernelCheck};

use super::packed::{GroupValues, PackedMatrix};
use super::scheme::QuantScheme;
use crate::parallel;

/// The instruction set the packed kernels use on this machine.
pub fn kernel_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return "avx2+fma+f16c";
    }
    #[cfg(target_arch = "aarch64")]
    return "neon";
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    return "wasm32 simd128+relaxed-simd";
    #[cfg(all(
        target_arch = "wasm32",
        target_feature = "simd128",
        not(target_feature = "relaxed-simd")
    ))]
    return "wasm32 simd128";
    #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
    return "wasm32 portable";
    #[allow(unreachable_code)]
    "portable"
}

/// One row's dot products against every activation; the per-row loop both ISAs implement.
pub(crate) struct RowKernel<'a> {
    pub(crate) words: &'a [u32],
    pub(crate) scales: &'a [f32],
    pub(crate) mins: Option<&'a [f32]>,
    pub(crate) group: usize,
}

/// Group scales (or minimums) as stored.
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum ScaleView<'a> {
    F16(&'a [u16]),
    F32(&'a [f32]),
}

impl<'a> ScaleView<'a> {
    fn of(v: &'a GroupValues) -> Self {
        match v {
            GroupValues::F16(h) => {
                ScaleView::F16(half::slice::HalfFloatSliceExt::reinterpret_cast(&h[..]))
            }
            GroupValues::F32(f) => ScaleView::F32(f),
        }
    }
}

/// A packed matrix as the SIMD kernels read it.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct MatrixView<'a> {
    pub(crate) q: &'a [u32],
    pub(crate) scales: ScaleView<'a>,
    pub(crate) mins: Option<ScaleView<'a>>,
    pub(crate) int4: bool,
    pub(crate) cols: usize,
    pub(crate) group: usize,
    pub(crate) gpr: usize,
    pub(crate) wpr: usize,
}

/// `out[t][r] = Σ_c w[r][c] · x_t[c]` for every activation row `t` (`out` is
/// `acts.len() × w.rows()`, row-major). Rows of `w` are split across threads.
pub fn packed_matmul(w: &PackedMatrix, acts: &[ActivationQ8], out: &mut [f32]) {
    let rows = w.rows();
    assert_eq!(out.len(), rows * acts.len(), "output size");
    for a in acts {
        assert_eq!(a.cols(), w.cols(), "activation width");
    }
    let view = MatrixView {
        q: w.q(),
        scales: ScaleView::of(w.scales()),
        mins: w.mins().map(ScaleView::of),
        int4: matches!(w.scheme(), QuantScheme::Q4 { .. }),
        cols: w.cols(),
        group: w.group(),
        gpr: w.groups_per_row(),
        wpr: w.words_per_row(),
    };
    let tokens = acts.len();
    let chunk_rows = chunk_rows(rows, tokens);
    let lanes = activation_lanes(acts);
    let lanes = &lanes;
    if tokens == 1 {
        // One token: results are already in output order.
        parallel::for_each_chunk(out, chunk_rows, |chunk, dst| {
            row_chunk(w, &view, lanes, chunk * chunk_rows, acts, dst)
        });
        return;
    }
    // Many tokens: each task computes a block of rows into a small `[row][token]` buffer
    // and scatters it into the token-major output (rows are disjoint between tasks).
    let shared = parallel::SharedOut::new(out);
    parallel::for_each_task(rows.div_ceil(chunk_rows), |chunk| {
        let first = chunk * chunk_rows;
        let n = chunk_rows.min(rows - first);
        let mut local = vec![0f32; n * tokens];
        row_chunk(w, &view, lanes, first, acts, &mut local);
        for (i, values) in local.chunks_exact(tokens).enumerate() {
            for (t, &v) in values.iter().enumerate() {
                // SAFETY: row first + i belongs to this task only.
                unsafe { shared.write(t * rows + first + i, v) };
            }
        }
    });
}

fn chunk_rows(rows: usize, tokens: usize) -> usize {
    // Enough chunks to balance the threads, few enough that scheduling stays cheap.
    let threads = parallel::threads().max(1);
    let target = if tokens > 1 { threads * 8 } else { threads * 2 };
    rows.div_ceil(target).max(8)
}

/// What every row of one product shares besides the activations: in the browser, the
/// per-block scales and sums of each four prompt tokens side by side (built once per
/// product, not once per row block).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type ActivationLanes = Vec<simd128::TokenQuad>;
/// Elsewhere the kernels read the activations directly.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
struct ActivationLanes;

fn activation_lanes(acts: &[ActivationQ8]) -> ActivationLanes {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::TokenQuad::split(acts);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let _ = acts;
        ActivationLanes
    }
}

/// Buffers for one row's group scales and minimums when they are stored as f16.
struct RowBuffers {
    scales: Vec<f32>,
    mins: Vec<f32>,
}

impl RowBuffers {
    fn new(w: &PackedMatrix) -> Self {
        let gpr = w.groups_per_row();
        Self {
            scales: vec![0f32; gpr],
            mins: vec![0f32; if w.mins().is_some() { gpr } else { 0 }],
        }
    }

    /// Row `row` of `w` as the kernels read it: f32 scales in place, f16 ones widened into
    /// the buffers.
    fn kernel<'a>(&'a mut self, w: &'a PackedMatrix, row: usize) -> RowKernel<'a> {
        let gpr = w.groups_per_row();
        let groups = row * gpr..(row + 1) * gpr;
        let scales = match w.scales() {
            GroupValues::F32(v) => &v[groups.clone()],
            f16 => {
                f16.read_into(groups.start, &mut self.scales);
                &self.scales[..]
            }
        };
        let mins = match w.mins() {
            None => None,
            Some(GroupValues::F32(v)) => Some(&v[groups]),
            Some(f16) => {
                f16.read_into(groups.start, &mut self.mins);
                Some(&self.mins[..])
            }
        };
        RowKernel {
            words: &w.q()[row * w.words_per_row()..(row + 1) * w.words_per_row()],
            scales,
            mins,
            group: w.group(),
        }
    }
}

fn row_chunk(
    w: &PackedMatrix,
    view: &MatrixView<'_>,
    lanes: &ActivationLanes,
    first: usize,
    acts: &[ActivationQ8],
    dst: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: `available()` checked AVX2, FMA and F16C; activation widths were asserted.
        unsafe { avx2::rows(view, first, acts, dst) };
        return;
    }
    let _ = (view, lanes);
    let mut buffers = RowBuffers::new(w);
    let int4 = matches!(w.scheme(), QuantScheme::Q4 { .. });
    let tokens = acts.len();
    // In the browser a prompt's tokens go four at a time (one unpacking of each block serves
    // all four), and sixteen at a time across the rows, so that their activations stay in
    // L1 while every row of the chunk passes over them.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        const QUADS_PER_TILE: usize = 4;
        for tile in lanes.chunks(QUADS_PER_TILE) {
            for (i, row_out) in dst.chunks_mut(tokens).enumerate() {
                let kernel = buffers.kernel(w, first + i);
                for quad in tile {
                    row_out[quad.first..quad.first + 4].copy_from_slice(&if int4 {
                        simd128::dot_q4_quad(&kernel, acts, quad)
                    } else {
                        simd128::dot_q8_quad(&kernel, acts, quad)
                    });
                }
            }
        }
        let whole = lanes.len() * 4;
        if whole < tokens {
            for (i, row_out) in dst.chunks_mut(tokens).enumerate() {
                let kernel = buffers.kernel(w, first + i);
                for (o, a) in row_out[whole..].iter_mut().zip(&acts[whole..]) {
                    *o = if int4 {
                        simd128::dot_q4(&kernel, a)
                    } else {
                        simd128::dot_q8(&kernel, a)
                    };
                }
            }
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for (i, row_out) in dst.chunks_mut(tokens).enumerate() {
        let kernel = buffers.kernel(w, first + i);
        for (o, a) in row_out.iter_mut().zip(acts) {
            #[cfg(target_arch = "aarch64")]
            {
                *o = if int4 {
                    neon::dot_q4(&kernel, a)
                } else {
                    neon::dot_q8(&kernel, a)
                };
            }
            #[cfg(not(target_arch = "aarch64"))]
            {
                *o = if int4 {
                    portable::dot_q4(&kernel, a)
                } else {
                    portable::dot_q8(&kernel, a)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! Dense f32 matrix products for weights kept unquantized (f32/f16 exports, GGUF reference).

use crate::parallel;

/// A `[rows, cols]` f32 matrix, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseMatrix {
    /// Output features.
    pub rows: usize,
    /// Input features.
    pub cols: usize,
    /// `rows × cols` values.
    pub data: Vec<f32>,
}

/// `out[t][r] = Σ_c w[r][c] · x[t][c]` for `tokens` rows of `x` (`out` is `tokens × rows`).
pub fn dense_matmul(w: &DenseMatrix, x: &[f32], tokens: usize, out: &mut [f32]) {
    let (rows, cols) = (w.rows, w.cols);
    assert_eq!(x.len(), tokens * cols, "input size");
    assert_eq!(out.len(), tokens * rows, "output size");
    if tokens > 1 {
        // Many tokens: a cache-blocked GEMM (the `gemm` crate) beats row-by-row dots by far.
        let parallelism = match crate::parallel::threads() {
            0 | 1 => gemm::Parallelism::None,
            #[cfg(not(target_arch = "wasm32"))]
            n => gemm::Parallelism::Rayon(n),
            #[cfg(target_arch = "wasm32")]
            _ => gemm::Parallelism::None,
        };
        // SAFETY: out is tokens × rows (dst, row stride `rows`), x is tokens × cols (lhs,
        // row stride `cols`), w is rows × cols read as its cols × rows transpose (rhs, column
        // stride `cols`); the lengths were asserted above, so every index is in bounds.
        unsafe {
            gemm::gemm(
                tokens,
                rows,
                cols,
                out.as_mut_ptr(),
                1,
                rows as isize,
                false,
                x.as_ptr(),
                1,
                cols as isize,
                w.data.as_ptr(),
                cols as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        return;
    }
    let chunk = rows.div_ceil(parallel::threads().max(1) * 4).max(16);
    let mut by_row = vec![0f32; rows * tokens];
    parallel::for_each_chunk(&mut by_row, chunk * tokens, |c, dst| {
        for (i, row_out) in dst.chunks_mut(tokens).enumerate() {
            let r = c * chunk + i;
            let wr = &w.data[r * cols..(r + 1) * cols];
            for (t, o) in row_out.iter_mut().enumerate() {
                *o = dot(wr, &x[t * cols..(t + 1) * cols]);
            }
        }
    });
    for (r, values) in by_row.chunks_exact(tokens).enumerate() {
        for (t, &v) in values.iter().enumerate() {
            out[t * rows + r] = v;
        }
    }
}

/// A dot product written so the compiler vectorizes it (eight independent partial sums).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

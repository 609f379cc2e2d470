//! A weight matrix as the fused CPU path multiplies it: packed int4/int8 or dense f32.

use crate::error::{Error, Result};
use crate::quant::kernels::{dense_matmul, packed_matmul, ActivationQ8, DenseMatrix};
use crate::quant::{GroupValues, PackedMatrix, PackedParts};
use crate::weights::WeightMatrix;

/// One projection's weights (possibly several projections' rows stacked, e.g. q|k|v).
#[derive(Debug, Clone)]
pub enum Matrix {
    /// Dense f32.
    Dense(DenseMatrix),
    /// Packed integers, multiplied by our kernels.
    Packed(PackedMatrix),
}

impl Matrix {
    /// Wraps a stored matrix.
    pub fn from_weights(w: WeightMatrix) -> Self {
        match w {
            WeightMatrix::Dense(t) => Matrix::Dense(DenseMatrix {
                rows: t.shape[0],
                cols: t.shape[1],
                data: t.data,
            }),
            // In the browser the kernels read f32 scales directly (wasm has no f16
            // instructions); natively they widen f16 in registers (F16C).
            #[cfg(target_arch = "wasm32")]
            WeightMatrix::Packed(p) => Matrix::Packed(p.with_f32_scales()),
            #[cfg(not(target_arch = "wasm32"))]
            WeightMatrix::Packed(p) => Matrix::Packed(p),
        }
    }

    /// Stacks the rows of `parts` (same width and storage) into one matrix, so one pass
    /// over the input computes them all (q|k|v, gate|up).
    pub fn stack(name: &str, parts: Vec<Matrix>) -> Result<Self> {
        let mismatch = || Error::tensor(name, "the stacked projections differ in width or storage");
        let mut parts = parts.into_iter();
        let first = parts.next().ok_or_else(mismatch)?;
        parts.try_fold(first, |acc, next| match (acc, next) {
            (Matrix::Dense(mut a), Matrix::Dense(b)) if a.cols == b.cols => {
                a.data.extend_from_slice(&b.data);
                a.rows += b.rows;
                Ok(Matrix::Dense(a))
            }
            (Matrix::Packed(a), Matrix::Packed(b))
                if a.cols() == b.cols() && a.scheme() == b.scheme() =>
            {
                let mut q = a.q().to_vec();
                q.extend_from_slice(b.q());
                let join = |x: &GroupValues, y: &GroupValues| match (x, y) {
                    (GroupValues::F16(x), GroupValues::F16(y)) => {
                        Some(GroupValues::F16([&x[..], &y[..]].concat()))
                    }
                    (GroupValues::F32(x), GroupValues::F32(y)) => {
                        Some(GroupValues::F32([&x[..], &y[..]].concat()))
                    }
                    _ => None,
                };
                let scales = join(a.scales(), b.scales()).ok_or_else(mismatch)?;
                let mins = match (a.mins(), b.mins()) {
                    (Some(x), Some(y)) => Some(join(x, y).ok_or_else(mismatch)?),
                    (None, None) => None,
                    _ => return Err(mismatch()),
                };
                Ok(Matrix::Packed(PackedMatrix::from_parts(
                    name,
                    PackedParts {
                        scheme: a.scheme(),
                        rows: a.rows() + b.rows(),
                        cols: a.cols(),
                        q,
                        scales,
                        mins,
                    },
                )?))
            }
            _ => Err(mismatch()),
        })
    }

    /// Output features.
    pub fn rows(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.rows,
            Matrix::Packed(p) => p.rows(),
        }
    }

    /// Input features.
    pub fn cols(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.cols,
            Matrix::Packed(p) => p.cols(),
        }
    }

    /// Bytes of weights read per full pass.
    pub fn storage_bytes(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.data.len() * 4,
            Matrix::Packed(p) => p.storage_bytes(),
        }
    }

    /// `out = x · Wᵀ` for `tokens` rows of `x`; `acts` is scratch for quantized activations.
    pub fn matmul(&self, x: &[f32], tokens: usize, acts: &mut Vec<ActivationQ8>, out: &mut [f32]) {
        match self {
            Matrix::Dense(d) => dense_matmul(d, x, tokens, out),
            Matrix::Packed(p) => {
                acts.resize_with(tokens, ActivationQ8::default);
                let cols = p.cols();
                crate::parallel::for_each_chunk(&mut acts[..tokens], 8, |c, chunk| {
                    for (i, a) in chunk.iter_mut().enumerate() {
                        let t = c * 8 + i;
                        a.requantize(&x[t * cols..(t + 1) * cols]);
                    }
                });
                packed_matmul(p, &acts[..tokens], out);
            }
        }
    }

    /// Row `row` as f32 (the embedding lookup).
    pub fn row(&self, row: usize, out: &mut [f32]) {
        match self {
            Matrix::Dense(d) => out.copy_from_slice(&d.data[row * d.cols..(row + 1) * d.cols]),
            Matrix::Packed(p) => p.dequantize_row(row, out),
        }
    }
}

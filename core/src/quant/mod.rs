//! Quantized weight formats: ggml's block formats (read from GGUF), lmfast's own grouped
//! int4/int8 format ([`PackedMatrix`]) and the CPU kernels that multiply by it.

pub mod ggml;
pub mod kernels;
pub mod packed;
mod rules;
pub mod scheme;

pub use packed::{GroupValues, PackedMatrix, PackedParts};
pub use scheme::{QuantScheme, ScaleRule, ScaleType};

#[cfg(test)]
mod tests;

use crate::error::Result;
use crate::weights::{names, HostTensor, ModelWeights};

/// Packs a model's matrices in place: block matrices with `quant`, the embedding (and an
/// untied head) with `embedding` (or [`QuantScheme::default_embedding`] of `quant`). Norms and biases stay f32, as do matrices
/// when the scheme is `f16`/`f32`. `progress(name, done, total)` follows each matrix.
pub fn quantize_model_weights(
    weights: &mut ModelWeights,
    quant: QuantScheme,
    embedding: Option<QuantScheme>,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<()> {
    let scheme_of = |name: &str| -> QuantScheme {
        if name == names::TOKEN_EMBD || name == names::OUTPUT {
            embedding.unwrap_or(quant.default_embedding())
        } else {
            quant
        }
    };
    let is_matrix = |name: &str, t: &HostTensor| t.shape.len() == 2 && !name.contains("norm");
    let total = weights
        .names()
        .iter()
        .filter(|n| weights.get(n).is_some_and(|t| is_matrix(n, t)))
        .count();
    let mut done = 0;
    weights.quantize_with(
        |name, tensor| {
            let scheme = scheme_of(name);
            let packed = matches!(scheme, QuantScheme::Q4 { .. } | QuantScheme::Q8 { .. });
            (is_matrix(name, tensor) && packed).then_some(scheme)
        },
        |name| {
            done += 1;
            progress(name, done, total);
        },
    )
}

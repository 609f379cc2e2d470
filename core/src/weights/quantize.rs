//! Packing a model's matrices for export: which scheme each tensor gets.

use super::{HostTensor, ModelWeights};
use crate::arch::{self, Role};
use crate::error::Result;
use crate::quant::QuantScheme;

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
        let role = arch::parse_name(name).map(|(_, role)| role);
        if matches!(role, Some(Role::TokenEmbedding | Role::Output)) {
            embedding.unwrap_or(quant.default_embedding())
        } else {
            quant
        }
    };
    let is_matrix = |name: &str, t: &HostTensor| {
        t.shape.len() == 2 && arch::parse_name(name).is_some_and(|(_, role)| role.is_matrix())
    };
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

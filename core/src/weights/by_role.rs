//! A model's weights sorted by the family's tensor table: what every decoder builds from.

use super::{HostTensor, ModelWeights, WeightMatrix};
use crate::arch::{self, Role};
use crate::config::ModelConfig;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// One block's tensors by role: matrices as stored (packed stays packed), vectors dense.
#[derive(Debug, Default)]
pub struct LayerWeights {
    layer: usize,
    matrices: HashMap<Role, WeightMatrix>,
    vectors: HashMap<Role, Vec<f32>>,
}

impl LayerWeights {
    /// Moves matrix `role` out.
    pub fn matrix(&mut self, role: Role) -> Result<WeightMatrix> {
        self.matrices
            .remove(&role)
            .ok_or_else(|| Error::tensor(arch::block_name(self.layer, role), "missing"))
    }

    /// Moves vector `role` out.
    pub fn vector(&mut self, role: Role) -> Result<Vec<f32>> {
        self.vectors
            .remove(&role)
            .ok_or_else(|| Error::tensor(arch::block_name(self.layer, role), "missing"))
    }

    /// Moves vector `role` out when the model has it (the table decides which it has).
    pub fn optional_vector(&mut self, role: Role) -> Option<Vec<f32>> {
        self.vectors.remove(&role)
    }

    /// The block this is.
    pub fn layer(&self) -> usize {
        self.layer
    }
}

/// Every tensor of a model, taken out of [`ModelWeights`] in the table's order and checked.
#[derive(Debug)]
pub struct ModelParts {
    /// The token embedding, `[vocab, hidden]`.
    pub embedding: WeightMatrix,
    /// The final norm.
    pub output_norm: Vec<f32>,
    /// The output head; `None` when tied to the embedding.
    pub head: Option<WeightMatrix>,
    /// Each block's tensors.
    pub layers: Vec<LayerWeights>,
}

impl ModelParts {
    /// Takes every tensor `config`'s table lists from `weights`, checking presence and shape.
    pub fn take(config: &ModelConfig, mut weights: ModelWeights) -> Result<Self> {
        let mut layers: Vec<LayerWeights> = (0..config.num_layers)
            .map(|layer| LayerWeights {
                layer,
                ..LayerWeights::default()
            })
            .collect();
        let (mut embedding, mut head, mut output_norm) = (None, None, None);
        for spec in arch::tensors(config) {
            if spec.role.is_matrix() {
                let [rows, cols] = spec.shape[..] else {
                    return Err(Error::tensor(&spec.name, "a matrix needs two dimensions"));
                };
                let m = weights.take_matrix(&spec.name, [rows, cols])?;
                match (spec.layer, spec.role) {
                    (Some(l), role) => {
                        layers[l].matrices.insert(role, m);
                    }
                    (None, Role::TokenEmbedding) => embedding = Some(m),
                    (None, _) => head = Some(m),
                }
            } else {
                let HostTensor { data, .. } = weights.take(&spec.name, &spec.shape)?;
                match spec.layer {
                    Some(l) => {
                        layers[l].vectors.insert(spec.role, data);
                    }
                    None => output_norm = Some(data),
                }
            }
        }
        let missing = |role: Role| Error::tensor(role.global_name(), "missing from the checkpoint");
        Ok(Self {
            embedding: embedding.ok_or_else(|| missing(Role::TokenEmbedding))?,
            output_norm: output_norm.ok_or_else(|| missing(Role::OutputNorm))?,
            head,
            layers,
        })
    }
}

//! Rotary position embeddings in Hugging Face's convention: the pairs rotated together are
//! `(i, i + head_dim/2)`, and `cos`/`sin` tables are precomputed once for every position.

use crate::config::ModelConfig;
use crate::rope_frequencies::inverse_frequencies;
use burn::tensor::{Device, Tensor, TensorData};

/// The rotation frequencies of a model; [`Rope::tables`] turns them into per-position tables.
#[derive(Debug, Clone)]
pub struct Rope {
    inverse_frequencies: Vec<f32>,
    head_dim: usize,
}

/// `cos` and `sin` of the rotation angles for a run of positions, `[1, seq, head_dim]`.
#[derive(Debug, Clone)]
pub struct RopeTables {
    cos: Tensor<3>,
    sin: Tensor<3>,
    half: usize,
}

impl Rope {
    /// The frequencies of `config` (theta, head width and scaling).
    pub fn new(config: &ModelConfig) -> Self {
        Self {
            inverse_frequencies: inverse_frequencies(config),
            head_dim: config.head_dim,
        }
    }

    /// Tables for positions `start..start + seq`, computed on the host in f32 as Hugging Face
    /// does (angle = position · frequency), so no table for the whole context is kept.
    pub fn tables(&self, start: usize, seq: usize, device: &Device) -> RopeTables {
        let dim = self.head_dim;
        let half = dim / 2;
        let mut cos = vec![0.0f32; seq * dim];
        let mut sin = vec![0.0f32; seq * dim];
        for row in 0..seq {
            let pos = (start + row) as f32;
            for (i, &f) in self.inverse_frequencies.iter().enumerate() {
                let (s, c) = (pos * f).sin_cos();
                for j in [i, i + half] {
                    cos[row * dim + j] = c;
                    sin[row * dim + j] = s;
                }
            }
        }
        RopeTables {
            cos: Tensor::from_data(TensorData::new(cos, [1, seq, dim]), device),
            sin: Tensor::from_data(TensorData::new(sin, [1, seq, dim]), device),
            half,
        }
    }
}

impl RopeTables {
    /// Rotates `x` (`[heads, seq, head_dim]`): `x·cos + rotate_half(x)·sin`.
    pub fn apply(&self, x: Tensor<3>) -> Tensor<3> {
        let first = x.clone().narrow(2, 0, self.half);
        let second = x.clone().narrow(2, self.half, self.half);
        let rotated = Tensor::cat(vec![second.neg(), first], 2);
        x * self.cos.clone() + rotated * self.sin.clone()
    }
}

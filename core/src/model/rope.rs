//! Rotary position embeddings in Hugging Face's convention: the pairs rotated together are
//! `(i, i + head_dim/2)`, and `cos`/`sin` tables are precomputed once for every position.

use crate::config::{ModelConfig, RopeScaling};
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

/// The rotation frequency of each pair, with the config's scaling applied.
pub fn inverse_frequencies(config: &ModelConfig) -> Vec<f32> {
    let dim = config.head_dim;
    let base = config.rope_theta;
    let mut inv: Vec<f32> = (0..dim / 2)
        .map(|i| 1.0 / libm::powf(base, (2 * i) as f32 / dim as f32))
        .collect();
    match config.rope_scaling {
        None => {}
        // Dividing positions by the factor is the same as dividing every frequency.
        Some(RopeScaling::Linear { factor }) => inv.iter_mut().for_each(|f| *f /= factor),
        Some(RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        }) => {
            let old = original_max_position_embeddings as f32;
            let low_wavelen = old / low_freq_factor;
            let high_wavelen = old / high_freq_factor;
            for f in &mut inv {
                let wavelen = 2.0 * std::f32::consts::PI / *f;
                if wavelen > low_wavelen {
                    *f /= factor;
                } else if wavelen >= high_wavelen {
                    let smooth =
                        (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                    *f = (1.0 - smooth) * *f / factor + smooth * *f;
                }
            }
        }
    }
    inv
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

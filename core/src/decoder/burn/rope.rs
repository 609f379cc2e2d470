//! Rotary position embeddings in Hugging Face's convention: the pairs rotated together are
//! `(i, i + head_dim/2)`, and `cos`/`sin` tables are precomputed once for every position.

use crate::decoder::rotary::Rotary;
use burn::tensor::{Device, Tensor, TensorData};

/// cos and sin for a run of positions, `[1, seq, head_dim]` (each pair's value twice, once
/// per half), ready to multiply query or key heads.
#[derive(Debug, Clone)]
pub struct RopeTables {
    cos: Tensor<3>,
    sin: Tensor<3>,
    half: usize,
}

impl RopeTables {
    /// The tables of `rotary`'s set `set` for positions `start..start + seq`.
    pub fn new(rotary: &Rotary, set: usize, start: usize, seq: usize, device: &Device) -> Self {
        let half = rotary.frequencies(set).len();
        let dim = 2 * half;
        let (c, s) = rotary.tables(set, start, seq);
        let mut cos = vec![0.0f32; seq * dim];
        let mut sin = vec![0.0f32; seq * dim];
        for row in 0..seq {
            for i in 0..half {
                for j in [i, i + half] {
                    cos[row * dim + j] = c[row * half + i];
                    sin[row * dim + j] = s[row * half + i];
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

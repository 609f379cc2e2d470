//! One decoder block: pre-norm attention and pre-norm MLP, each added to the residual stream
//! (normalised once more first where the family has sandwich norms).

use super::attention::Attention;
use super::mlp::Mlp;
use super::norm::RmsNorm;
use super::rope::RopeTables;
use crate::arch::Role;
use crate::config::ModelConfig;
use crate::decoder::burn::cache::LayerCache;
use crate::error::Result;
use crate::weights::LayerWeights;
use burn::tensor::{Device, Tensor};

/// One block's layers.
#[derive(Debug, Clone)]
pub struct DecoderBlock {
    attn_norm: RmsNorm,
    attention: Attention,
    post_attn_norm: Option<RmsNorm>,
    ffn_norm: RmsNorm,
    mlp: Mlp,
    post_ffn_norm: Option<RmsNorm>,
    rope_set: usize,
}

impl DecoderBlock {
    /// Takes block `p`'s tensors.
    pub fn take(
        config: &ModelConfig,
        mut p: LayerWeights,
        rope_set: usize,
        device: &Device,
    ) -> Result<Self> {
        let eps = config.rms_norm_eps;
        let norm = |w: Vec<f32>| RmsNorm::new(w, eps, device);
        Ok(Self {
            attn_norm: norm(p.vector(Role::AttnNorm)?),
            attention: Attention::take(config, &mut p, device)?,
            post_attn_norm: p.optional_vector(Role::PostAttnNorm).map(norm),
            ffn_norm: norm(p.vector(Role::FfnNorm)?),
            mlp: Mlp::take(config, &mut p, device)?,
            post_ffn_norm: p.optional_vector(Role::PostFfnNorm).map(norm),
            rope_set,
        })
    }

    /// The rotary set this block uses.
    pub fn rope_set(&self) -> usize {
        self.rope_set
    }

    /// Runs the block on `x` (`[seq, hidden]`) at positions `start..`.
    pub fn forward(
        &self,
        x: Tensor<2>,
        start: usize,
        rope: &RopeTables,
        cache: &mut LayerCache,
    ) -> Tensor<2> {
        let mut a = self
            .attention
            .forward(self.attn_norm.forward(x.clone()), start, rope, cache);
        if let Some(n) = &self.post_attn_norm {
            a = n.forward(a);
        }
        let h = x + a;
        let mut m = self.mlp.forward(self.ffn_norm.forward(h.clone()));
        if let Some(n) = &self.post_ffn_norm {
            m = n.forward(m);
        }
        h + m
    }
}

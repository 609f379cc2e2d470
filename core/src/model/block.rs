//! One decoder block: pre-norm attention and pre-norm MLP, each added to the residual stream.

use super::attention::Attention;
use super::mlp::Mlp;
use super::norm::RmsNorm;
use super::rope::RopeTables;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::kv_cache::LayerCache;
use crate::weights::{names, ModelWeights};
use burn::tensor::{Device, Tensor};

/// A llama decoder block.
#[derive(Debug, Clone)]
pub struct DecoderBlock {
    attn_norm: RmsNorm,
    attention: Attention,
    ffn_norm: RmsNorm,
    mlp: Mlp,
}

impl DecoderBlock {
    /// Takes block `layer`'s weights.
    pub fn take(
        config: &ModelConfig,
        layer: usize,
        weights: &mut ModelWeights,
        device: &Device,
    ) -> Result<Self> {
        let (h, eps) = (config.hidden_size, config.rms_norm_eps);
        Ok(Self {
            attn_norm: RmsNorm::take(
                weights,
                &names::block(layer, "attn_norm.weight"),
                h,
                eps,
                device,
            )?,
            attention: Attention::take(config, layer, weights, device)?,
            ffn_norm: RmsNorm::take(
                weights,
                &names::block(layer, "ffn_norm.weight"),
                h,
                eps,
                device,
            )?,
            mlp: Mlp::take(config, layer, weights, device)?,
        })
    }

    /// Runs the block on `x` (`[seq, hidden]` at positions `start..`).
    pub fn forward(
        &self,
        x: Tensor<2>,
        start: usize,
        rope: &RopeTables,
        cache: &mut LayerCache,
    ) -> Tensor<2> {
        let h = x.clone()
            + self
                .attention
                .forward(self.attn_norm.forward(x), start, rope, cache);
        h.clone() + self.mlp.forward(self.ffn_norm.forward(h))
    }
}

//! The SwiGLU feed-forward block: `down(silu(gate(x)) · up(x))`.

use super::linear::Linear;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::weights::{names, ModelWeights};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

/// One layer's gated MLP.
#[derive(Debug, Clone)]
pub struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    /// Takes layer `layer`'s MLP weights.
    pub fn take(
        config: &ModelConfig,
        layer: usize,
        weights: &mut ModelWeights,
        device: &Device,
    ) -> Result<Self> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let name = |part: &str| names::block(layer, part);
        Ok(Self {
            gate: Linear::take(weights, &name("ffn_gate"), i, h, false, device)?,
            up: Linear::take(weights, &name("ffn_up"), i, h, false, device)?,
            down: Linear::take(weights, &name("ffn_down"), h, i, false, device)?,
        })
    }

    /// Applies the MLP to `x` (`[rows, hidden]`).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let gated = silu(self.gate.forward(x.clone())) * self.up.forward(x);
        self.down.forward(gated)
    }
}

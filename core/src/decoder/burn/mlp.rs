//! The gated feed-forward block: `down(act(gate(x)) · up(x))`, SiLU (SwiGLU) or GELU-tanh
//! (GeGLU) as the config says.

use super::linear::Linear;
use crate::arch::Role;
use crate::config::{Activation, ModelConfig};
use crate::error::Result;
use crate::weights::LayerWeights;
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

/// The MLP of one block.
#[derive(Debug, Clone)]
pub struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
    activation: Activation,
}

impl Mlp {
    /// Takes the block's gate, up and down projections.
    pub fn take(config: &ModelConfig, p: &mut LayerWeights, device: &Device) -> Result<Self> {
        Ok(Self {
            gate: Linear::from_matrix(p.matrix(Role::FfnGate)?, None, device),
            up: Linear::from_matrix(p.matrix(Role::FfnUp)?, None, device),
            down: Linear::from_matrix(p.matrix(Role::FfnDown)?, None, device),
            activation: config.variant.activation,
        })
    }

    /// Applies the block to `x` (`[seq, hidden]`).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let gate = self.gate.forward(x.clone());
        let gate = match self.activation {
            Activation::Silu => silu(gate),
            Activation::GeluTanh => gelu_tanh(gate),
        };
        self.down.forward(gate * self.up.forward(x))
    }
}

/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, as PyTorch's `gelu(approximate="tanh")`.
fn gelu_tanh(x: Tensor<2>) -> Tensor<2> {
    let inner = (x.clone() + x.clone().powi_scalar(3).mul_scalar(0.044715))
        .mul_scalar((2.0 / std::f64::consts::PI).sqrt());
    x.mul_scalar(0.5) * inner.tanh().add_scalar(1.0)
}

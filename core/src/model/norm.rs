//! RMSNorm, computed as Hugging Face's `LlamaRMSNorm` does: `x / sqrt(mean(x²) + eps) · w`.

use crate::error::Result;
use crate::weights::ModelWeights;
use burn::tensor::{Device, Tensor, TensorData};

/// Root-mean-square normalisation over the last dimension, with a learned scale.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor<2>,
    eps: f64,
}

impl RmsNorm {
    /// Takes the `[hidden]` scale `name` from `weights`.
    pub fn take(
        weights: &mut ModelWeights,
        name: &str,
        hidden: usize,
        eps: f32,
        device: &Device,
    ) -> Result<Self> {
        let w = weights.take(name, &[hidden])?;
        Ok(Self {
            weight: Tensor::from_data(TensorData::new(w.data, [1, hidden]), device),
            eps: f64::from(eps),
        })
    }

    /// Normalises each row of `x` (`[rows, hidden]`).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mean_square = x.clone().powi_scalar(2).mean_dim(1);
        let inv_rms = mean_square.add_scalar(self.eps).sqrt().recip();
        x * inv_rms * self.weight.clone()
    }
}

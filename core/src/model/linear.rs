//! The one linear (fully connected) layer type every projection of the model goes through.
//!
//! Keeping every matrix behind this type is what lets packed int4 weights and our own kernels
//! replace the dense f32 matmul later without a second model definition.

use crate::error::Result;
use crate::weights::{HostTensor, ModelWeights};
use burn::tensor::{Device, Tensor, TensorData};

/// `y = x · Wᵀ (+ b)` with the weight stored transposed (`[in, out]`) for a row-major matmul.
#[derive(Debug, Clone)]
pub struct Linear {
    weight_t: Tensor<2>,
    bias: Option<Tensor<2>>,
    in_features: usize,
    out_features: usize,
}

impl Linear {
    /// Builds the layer from an `[out, in]` weight (and optional `[out]` bias) on `device`.
    pub fn from_host(weight: HostTensor, bias: Option<HostTensor>, device: &Device) -> Self {
        let (out_features, in_features) = (weight.shape[0], weight.shape[1]);
        let mut transposed = vec![0.0f32; weight.data.len()];
        for (row, values) in weight.data.chunks_exact(in_features).enumerate() {
            for (col, &v) in values.iter().enumerate() {
                transposed[col * out_features + row] = v;
            }
        }
        let weight_t = Tensor::from_data(
            TensorData::new(transposed, [in_features, out_features]),
            device,
        );
        let bias =
            bias.map(|b| Tensor::from_data(TensorData::new(b.data, [1, out_features]), device));
        Self {
            weight_t,
            bias,
            in_features,
            out_features,
        }
    }

    /// Takes `{name}.weight` (`[out, in]`) and, when `with_bias`, `{name}.bias` from `weights`.
    pub fn take(
        weights: &mut ModelWeights,
        name: &str,
        out_features: usize,
        in_features: usize,
        with_bias: bool,
        device: &Device,
    ) -> Result<Self> {
        let weight = weights.take(&format!("{name}.weight"), &[out_features, in_features])?;
        let bias = if with_bias {
            Some(weights.take(&format!("{name}.bias"), &[out_features])?)
        } else {
            None
        };
        Ok(Self::from_host(weight, bias, device))
    }

    /// Applies the layer to `x` of shape `[rows, in]`, giving `[rows, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = x.matmul(self.weight_t.clone());
        match &self.bias {
            Some(bias) => y + bias.clone(),
            None => y,
        }
    }

    /// Input width.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

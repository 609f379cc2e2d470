//! RMSNorm, computed as Hugging Face's `LlamaRMSNorm` does: `x / sqrt(mean(x²) + eps) · w`
//! (Gemma's `1 + w` is already in the stored weight).

use burn::tensor::{Device, Tensor, TensorData};

/// RMSNorm over the last dimension.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor<1>,
    eps: f64,
}

impl RmsNorm {
    /// A norm with weight `w` (its length is the normalised width).
    pub fn new(w: Vec<f32>, eps: f32, device: &Device) -> Self {
        let width = w.len();
        Self {
            weight: Tensor::from_data(TensorData::new(w, [width]), device),
            eps: f64::from(eps),
        }
    }

    /// Normalises each row of `x` (`[.., width]`).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mean_square = x.clone().powi_scalar(2).mean_dim(D - 1);
        let inv_rms = mean_square.add_scalar(self.eps).sqrt().recip();
        x * inv_rms * self.weight.clone().unsqueeze::<D>()
    }
}

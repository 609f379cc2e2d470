//! The one linear (fully connected) layer type every projection of the burn model goes
//! through: dense weights as a burn tensor, or packed int4/int8 weights multiplied by our own
//! kernel for the device.
//!
//! Dispatch on the device: on the CPU (burn's flex device) packed weights stay packed and our
//! CPU kernel does the product; on other devices they are dequantized to a dense tensor until
//! the WebGPU int4 kernel (the browser engine) takes that branch over.

use crate::quant::kernels::{packed_matmul, ActivationQ8};
use crate::quant::PackedMatrix;
use crate::weights::{HostTensor, WeightMatrix};
use burn::tensor::{Device, Tensor, TensorData};
use std::sync::Arc;

/// How the layer's weight is held.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per layer; boxing the tensor buys nothing
enum Weight {
    /// Dense, stored transposed (`[in, out]`) for a row-major matmul.
    Dense(Tensor<2>),
    /// Packed, multiplied on the host by our CPU kernel.
    Packed(Arc<PackedMatrix>),
}

/// `y = x · Wᵀ (+ b)`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Weight,
    bias: Option<Tensor<2>>,
    in_features: usize,
    out_features: usize,
    device: Device,
}

impl Linear {
    /// Builds the layer from an `[out, in]` weight (and optional `[out]` bias) on `device`.
    pub fn from_host(weight: HostTensor, bias: Option<HostTensor>, device: &Device) -> Self {
        Self::from_matrix(WeightMatrix::Dense(weight), bias, device)
    }

    /// Builds the layer from a dense or packed `[out, in]` weight on `device`.
    pub fn from_matrix(weight: WeightMatrix, bias: Option<HostTensor>, device: &Device) -> Self {
        let [out_features, in_features] = weight.shape();
        let weight = match weight {
            WeightMatrix::Packed(p) if *device == Device::flex() => Weight::Packed(Arc::new(p)),
            WeightMatrix::Packed(p) => Weight::Dense(transposed(
                &p.dequantize(),
                out_features,
                in_features,
                device,
            )),
            WeightMatrix::Dense(t) => {
                Weight::Dense(transposed(&t.data, out_features, in_features, device))
            }
        };
        let bias =
            bias.map(|b| Tensor::from_data(TensorData::new(b.data, [1, out_features]), device));
        Self {
            weight,
            bias,
            in_features,
            out_features,
            device: device.clone(),
        }
    }

    /// Applies the layer to `x` of shape `[rows, in]`, giving `[rows, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = match &self.weight {
            Weight::Dense(w) => x.matmul(w.clone()),
            Weight::Packed(p) => self.packed_forward(p, x),
        };
        match &self.bias {
            Some(bias) => y + bias.clone(),
            None => y,
        }
    }

    fn packed_forward(&self, p: &PackedMatrix, x: Tensor<2>) -> Tensor<2> {
        let rows = x.dims()[0];
        // On the CPU device reading back is a copy of `rows × in` floats, small next to the
        // weights the kernel streams.
        let input: Vec<f32> = x
            .try_to_vec_as::<f32>()
            .expect("a flex (CPU) tensor can always be read back");
        let acts: Vec<ActivationQ8> = input
            .chunks_exact(self.in_features)
            .map(ActivationQ8::quantize)
            .collect();
        let mut out = vec![0f32; rows * self.out_features];
        packed_matmul(p, &acts, &mut out);
        Tensor::from_data(
            TensorData::new(out, [rows, self.out_features]),
            &self.device,
        )
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

fn transposed(data: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    let mut t = vec![0.0f32; data.len()];
    for (row, values) in data.chunks_exact(cols).enumerate() {
        for (col, &v) in values.iter().enumerate() {
            t[col * rows + row] = v;
        }
    }
    Tensor::from_data(TensorData::new(t, [cols, rows]), device)
}

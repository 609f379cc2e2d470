//! The key/value cache: every layer's keys and values for the positions seen so far,
//! preallocated for the whole context and written in place as tokens arrive.

use crate::config::ModelConfig;
use crate::decoder::{DecoderCache, Positions};
use burn::tensor::{Device, Tensor};

/// One layer's keys and values, `[num_kv_heads, capacity, head_dim]` each.
#[derive(Debug, Clone)]
pub struct LayerCache {
    // Options only so the tensors can be moved out for an in-place `slice_assign` (burn
    // writes in place when it holds the only reference).
    keys: Option<Tensor<3>>,
    values: Option<Tensor<3>>,
    shape: [usize; 3],
    device: Device,
}

impl LayerCache {
    fn new(shape: [usize; 3], device: &Device) -> Self {
        Self {
            keys: Some(Tensor::zeros(shape, device)),
            values: Some(Tensor::zeros(shape, device)),
            shape,
            device: device.clone(),
        }
    }

    /// Writes `k` and `v` (`[num_kv_heads, seq, head_dim]`) at positions `start..start + seq`
    /// and returns all keys and values up to the end of them.
    pub(crate) fn append(
        &mut self,
        k: Tensor<3>,
        v: Tensor<3>,
        start: usize,
    ) -> (Tensor<3>, Tensor<3>) {
        let [heads, _, dim] = self.shape;
        let end = start + k.dims()[1];
        let zeros = || Tensor::zeros(self.shape, &self.device);
        let keys = self.keys.take().unwrap_or_else(zeros);
        let values = self.values.take().unwrap_or_else(zeros);
        let keys = keys.slice_assign([0..heads, start..end, 0..dim], k);
        let values = values.slice_assign([0..heads, start..end, 0..dim], v);
        let seen = (
            keys.clone().narrow(1, 0, end),
            values.clone().narrow(1, 0, end),
        );
        self.keys = Some(keys);
        self.values = Some(values);
        seen
    }
}

/// The key/value cache of every layer.
#[derive(Debug, Clone)]
pub struct BurnKvCache {
    layers: Vec<LayerCache>,
    pub(crate) positions: Positions,
}

impl BurnKvCache {
    /// An empty cache of `capacity` positions for `config`'s model, preallocated on `device`.
    pub fn new(config: &ModelConfig, capacity: usize, device: &Device) -> Self {
        let shape = [config.num_kv_heads, capacity, config.head_dim];
        Self {
            layers: (0..config.num_layers)
                .map(|_| LayerCache::new(shape, device))
                .collect(),
            positions: Positions::new(capacity),
        }
    }

    pub(crate) fn layers_mut(&mut self) -> &mut [LayerCache] {
        &mut self.layers
    }
}

impl DecoderCache for BurnKvCache {
    fn len(&self) -> usize {
        self.positions.len()
    }

    fn capacity(&self) -> usize {
        self.positions.capacity()
    }

    fn truncate(&mut self, len: usize) {
        self.positions.truncate(len);
    }
}

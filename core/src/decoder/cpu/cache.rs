//! The fused CPU path's key/value cache: plain f32 arrays, one pair per layer.

use crate::config::ModelConfig;
use crate::decoder::{DecoderCache, Positions};

/// Keys and values of every layer, `[num_kv_heads, stride, head_dim]` each.
///
/// The buffers grow with the conversation (doubling, from 256 positions) up to `capacity`
/// instead of being allocated whole: a 4,096-position cache of a 135M model is 189 MB, which
/// a short chat never touches (and wasm memory never gives back).
#[derive(Debug, Clone)]
pub struct CpuKvCache {
    pub(super) keys: Vec<Vec<f32>>,
    pub(super) values: Vec<Vec<f32>>,
    pub(super) positions: Positions,
    /// Positions the buffers hold per kv head: the stride between heads.
    pub(super) stride: usize,
    kv_heads: usize,
    head_dim: usize,
}

/// The first allocation, in positions.
const FIRST_STRIDE: usize = 256;

impl CpuKvCache {
    /// An empty cache of `capacity` positions for `config`'s model (allocated as it fills).
    pub fn new(config: &ModelConfig, capacity: usize) -> Self {
        Self::with_shape(
            config.num_layers,
            config.num_kv_heads,
            config.head_dim,
            capacity,
        )
    }

    fn with_shape(layers: usize, kv_heads: usize, head_dim: usize, capacity: usize) -> Self {
        Self {
            keys: vec![Vec::new(); layers],
            values: vec![Vec::new(); layers],
            positions: Positions::new(capacity),
            stride: 0,
            kv_heads,
            head_dim,
        }
    }

    /// Makes room for `positions` positions (at most `capacity`), keeping the filled ones.
    pub(super) fn reserve(&mut self, positions: usize) {
        if positions <= self.stride {
            return;
        }
        let stride = positions
            .max(FIRST_STRIDE)
            .max(self.stride * 2)
            .min(self.positions.capacity())
            .max(positions);
        let (old, hd, len) = (self.stride, self.head_dim, self.positions.len());
        let regrow = |buffers: &mut Vec<Vec<f32>>| {
            for buffer in buffers.iter_mut() {
                let mut grown = vec![0f32; self.kv_heads * stride * hd];
                for g in 0..self.kv_heads {
                    grown[g * stride * hd..(g * stride + len) * hd]
                        .copy_from_slice(&buffer[g * old * hd..(g * old + len) * hd]);
                }
                *buffer = grown;
            }
        };
        regrow(&mut self.keys);
        regrow(&mut self.values);
        self.stride = stride;
    }
}

impl DecoderCache for CpuKvCache {
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

#[cfg(test)]
mod tests {
    use super::{CpuKvCache, Positions};

    #[test]
    fn growing_keeps_every_filled_position_where_attention_reads_it() {
        let (layers, heads, hd) = (2, 3, 4);
        let mut cache = CpuKvCache::with_shape(layers, heads, hd, 1000);
        assert_eq!(cache.keys[0].len(), 0, "nothing is allocated up front");
        cache.reserve(3);
        assert_eq!(cache.stride, 256);
        let value =
            |l: usize, g: usize, p: usize, i: usize| (l * 1000 + g * 100 + p * 10 + i) as f32;
        let fill = |cache: &mut CpuKvCache, positions: std::ops::Range<usize>| {
            let stride = cache.stride;
            for l in 0..layers {
                for g in 0..heads {
                    for p in positions.clone() {
                        for i in 0..hd {
                            cache.keys[l][(g * stride + p) * hd + i] = value(l, g, p, i);
                            cache.values[l][(g * stride + p) * hd + i] = -value(l, g, p, i);
                        }
                    }
                }
            }
            cache.positions = Positions::new(1000);
            cache.positions.advance(positions.end);
        };
        fill(&mut cache, 0..200);
        cache.reserve(300);
        assert_eq!(cache.stride, 512, "doubles");
        fill(&mut cache, 200..300);
        cache.reserve(900);
        assert_eq!(cache.stride, 1000, "capped at the capacity");
        for l in 0..layers {
            for g in 0..heads {
                for p in 0..300 {
                    for i in 0..hd {
                        let at = (g * cache.stride + p) * hd + i;
                        assert_eq!(cache.keys[l][at], value(l, g, p, i));
                        assert_eq!(cache.values[l][at], -value(l, g, p, i));
                    }
                }
            }
        }
        cache.reserve(10);
        assert_eq!(cache.stride, 1000, "never shrinks");
    }
}

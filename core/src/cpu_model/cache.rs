//! The fused CPU path's key/value cache: plain f32 arrays, one pair per layer.

use crate::config::ModelConfig;

/// Keys and values of every layer, `[num_kv_heads, capacity, head_dim]` each.
#[derive(Debug, Clone)]
pub struct CpuKvCache {
    pub(super) keys: Vec<Vec<f32>>,
    pub(super) values: Vec<Vec<f32>>,
    pub(super) len: usize,
    pub(super) capacity: usize,
}

impl CpuKvCache {
    /// An empty cache of `capacity` positions for `config`'s model.
    pub fn new(config: &ModelConfig, capacity: usize) -> Self {
        let size = config.num_kv_heads * capacity * config.head_dim;
        Self {
            keys: (0..config.num_layers).map(|_| vec![0.0; size]).collect(),
            values: (0..config.num_layers).map(|_| vec![0.0; size]).collect(),
            len: 0,
            capacity,
        }
    }

    /// Positions filled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position is filled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions the cache can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every position (the memory is kept for reuse).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Keeps only the first `len` positions (to rewind a conversation).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

//! How many positions a cache holds: the bookkeeping every decoder's cache shares.

use crate::config::ModelConfig;
use crate::error::Result;

/// Filled and available positions of a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positions {
    len: usize,
    capacity: usize,
}

impl Positions {
    /// No position filled, room for `capacity`.
    pub fn new(capacity: usize) -> Self {
        Self { len: 0, capacity }
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

    /// Keeps only the first `len` positions.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Checks that `tokens` can run next (see [`super::check_forward`]) and returns the
    /// position of the first one.
    pub fn check(&self, config: &ModelConfig, tokens: &[u32]) -> Result<usize> {
        super::check_forward(config, tokens, self.len, self.capacity)?;
        Ok(self.len)
    }

    /// Marks `count` more positions filled (after a forward pass wrote them).
    pub fn advance(&mut self, count: usize) {
        self.len = (self.len + count).min(self.capacity);
    }
}

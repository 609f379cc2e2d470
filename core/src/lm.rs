//! What the generation loop needs from a model, whichever path runs it.

use crate::config::ModelConfig;
use crate::cpu_model::{CpuKvCache, CpuModel};
use crate::error::{Error, Result};
#[cfg(feature = "burn")]
use crate::kv_cache::KvCache;
#[cfg(feature = "burn")]
use crate::model::LlamaModel;

/// A cache of past positions.
pub trait ContextCache {
    /// Positions filled.
    fn len(&self) -> usize;
    /// Positions it can hold.
    fn capacity(&self) -> usize;
    /// Whether no position is filled.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A causal language model: tokens in, next-token logits out, with a cache of the past.
pub trait CausalLm {
    /// The model's cache type.
    type Cache: ContextCache;
    /// The model's hyper-parameters.
    fn config(&self) -> &ModelConfig;
    /// An empty cache for up to `max_seq_len` positions.
    fn new_cache(&self, max_seq_len: usize) -> Result<Self::Cache>;
    /// Runs `tokens` and returns the last position's logits.
    fn forward_last(&self, tokens: &[u32], cache: &mut Self::Cache) -> Result<Vec<f32>>;
    /// Runs `tokens` and returns every position's logits, row by row.
    fn forward_all(&self, tokens: &[u32], cache: &mut Self::Cache) -> Result<Vec<f32>>;
}

#[cfg(feature = "burn")]
impl ContextCache for KvCache {
    fn len(&self) -> usize {
        KvCache::len(self)
    }
    fn capacity(&self) -> usize {
        KvCache::capacity(self)
    }
}

impl ContextCache for CpuKvCache {
    fn len(&self) -> usize {
        CpuKvCache::len(self)
    }
    fn capacity(&self) -> usize {
        CpuKvCache::capacity(self)
    }
}

#[cfg(feature = "burn")]
impl CausalLm for LlamaModel {
    type Cache = KvCache;
    fn config(&self) -> &ModelConfig {
        LlamaModel::config(self)
    }
    fn new_cache(&self, max_seq_len: usize) -> Result<KvCache> {
        LlamaModel::new_cache(self, max_seq_len)
    }
    fn forward_last(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        LlamaModel::forward_last(self, tokens, cache)
    }
    fn forward_all(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        LlamaModel::forward_all(self, tokens, cache)
    }
}

impl CausalLm for CpuModel {
    type Cache = CpuKvCache;
    fn config(&self) -> &ModelConfig {
        CpuModel::config(self)
    }
    fn new_cache(&self, max_seq_len: usize) -> Result<CpuKvCache> {
        CpuModel::new_cache(self, max_seq_len)
    }
    fn forward_last(&self, tokens: &[u32], cache: &mut CpuKvCache) -> Result<Vec<f32>> {
        CpuModel::forward_last(self, tokens, cache)
    }
    fn forward_all(&self, tokens: &[u32], cache: &mut CpuKvCache) -> Result<Vec<f32>> {
        CpuModel::forward_all(self, tokens, cache)
    }
}

/// Checks a forward call every model path accepts alike: at least one token, every id inside
/// the vocabulary, and room in a cache holding `len` of `capacity` positions.
pub(crate) fn check_forward(
    config: &ModelConfig,
    tokens: &[u32],
    len: usize,
    capacity: usize,
) -> Result<()> {
    if tokens.is_empty() {
        return Err(Error::Generation("no tokens to run".into()));
    }
    if let Some(bad) = tokens.iter().find(|&&t| t as usize >= config.vocab_size) {
        return Err(Error::Generation(format!(
            "token id {bad} is outside the vocabulary of {}",
            config.vocab_size
        )));
    }
    let seq = tokens.len();
    if len + seq > capacity {
        return Err(Error::Generation(format!(
            "the context is full: {len} positions used, {seq} more asked, room for {capacity}"
        )));
    }
    Ok(())
}

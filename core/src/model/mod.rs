//! The llama-family decoder, written once with burn tensors on a device chosen at run time.
//!
//! Reads top to bottom: embedding → blocks (attention, MLP) → final norm → output head.
//! Activations are `[seq, hidden]` (one sequence at a time, as a local LLM runs).

mod attention;
mod block;
mod linear;
mod mlp;
mod norm;
mod rope;

pub use crate::rope_frequencies::inverse_frequencies;
pub use linear::Linear;
pub use rope::{Rope, RopeTables};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::kv_cache::KvCache;
use crate::weights::{names, ModelWeights};
use block::DecoderBlock;
use burn::tensor::{Device, Int, Tensor, TensorData};
use norm::RmsNorm;

/// A llama / qwen2 decoder on one device.
#[derive(Debug, Clone)]
pub struct LlamaModel {
    config: ModelConfig,
    embedding: Tensor<2>,
    blocks: Vec<DecoderBlock>,
    final_norm: RmsNorm,
    head: Linear,
    rope: Rope,
    device: Device,
}

impl LlamaModel {
    /// Places `weights` on `device`, checking every tensor's presence and shape.
    pub fn new(config: &ModelConfig, mut weights: ModelWeights, device: &Device) -> Result<Self> {
        config.validate()?;
        let (vocab, hidden) = (config.vocab_size, config.hidden_size);
        let embedding = weights.take_matrix(names::TOKEN_EMBD, [vocab, hidden])?;
        let embedding_values = match &embedding {
            crate::weights::WeightMatrix::Dense(t) => t.data.clone(),
            crate::weights::WeightMatrix::Packed(p) => p.dequantize(),
        };
        let head = if config.tie_word_embeddings {
            Linear::from_matrix(embedding, None, device)
        } else {
            Linear::take(&mut weights, "output", vocab, hidden, false, device)?
        };
        let embedding =
            Tensor::from_data(TensorData::new(embedding_values, [vocab, hidden]), device);
        let blocks = (0..config.num_layers)
            .map(|layer| DecoderBlock::take(config, layer, &mut weights, device))
            .collect::<Result<Vec<_>>>()?;
        let final_norm = RmsNorm::take(
            &mut weights,
            names::OUTPUT_NORM,
            hidden,
            config.rms_norm_eps,
            device,
        )?;
        Ok(Self {
            config: config.clone(),
            embedding,
            blocks,
            final_norm,
            head,
            rope: Rope::new(config),
            device: device.clone(),
        })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// An empty cache for up to `max_seq_len` positions (at most the model's context).
    pub fn new_cache(&self, max_seq_len: usize) -> Result<KvCache> {
        if max_seq_len == 0 || max_seq_len > self.config.max_position_embeddings {
            return Err(Error::Generation(format!(
                "a cache of {max_seq_len} positions is outside 1..={}",
                self.config.max_position_embeddings
            )));
        }
        Ok(KvCache::new(&self.config, max_seq_len, &self.device))
    }

    /// Runs `tokens` at the cache's next positions and returns the last position's logits.
    pub fn forward_last(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(tokens, cache)?;
        let last = hidden.narrow(0, tokens.len() - 1, 1);
        self.logits(last)
    }

    /// Runs `tokens` and returns the logits of every position, `tokens.len() × vocab` values
    /// row by row (for perplexity and tests).
    pub fn forward_all(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(tokens, cache)?;
        self.logits(hidden)
    }

    fn hidden_states(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor<2>> {
        if tokens.is_empty() {
            return Err(Error::Generation("no tokens to run".into()));
        }
        let vocab = self.config.vocab_size;
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(Error::Generation(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        let start = cache.len();
        let seq = tokens.len();
        if start + seq > cache.capacity() {
            return Err(Error::Generation(format!(
                "the context is full: {start} positions used, {seq} more asked, room for {}",
                cache.capacity()
            )));
        }
        let ids: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [seq]), &self.device);
        let mut x = self.embedding.clone().select(0, ids);
        let rope = self.rope.tables(start, seq, &self.device);
        for (block, layer_cache) in self.blocks.iter().zip(cache.layers_mut()) {
            x = block.forward(x, start, &rope, layer_cache);
        }
        cache.advance(seq);
        Ok(x)
    }

    fn logits(&self, hidden: Tensor<2>) -> Result<Vec<f32>> {
        let logits = self.head.forward(self.final_norm.forward(hidden));
        logits
            .try_to_vec_as::<f32>()
            .map_err(|e| Error::Backend(format!("reading logits back: {e:?}")))
    }
}

//! The burn decoder: the model the family's table ([`crate::arch`]) describes, written once
//! with burn tensors on a device chosen at run time.
//!
//! This is the decoder training runs on (burn's autodiff wraps the same code) and the path to
//! CUDA where a GPU exists; inference on the CPU and in the browser goes through the fused CPU
//! and WGSL decoders, which it checks (the same logits within float tolerance).
//!
//! Reads top to bottom: embedding → blocks (attention, MLP) → final norm → output head.
//! Activations are `[seq, hidden]` (one sequence at a time, as a local LLM runs).

mod attention;
mod block;
pub mod cache;
mod linear;
mod mlp;
mod norm;
mod rope;

pub use cache::BurnKvCache;
pub use linear::Linear;
pub use rope::RopeTables;

use crate::config::ModelConfig;
use crate::decoder::rotary::Rotary;
use crate::decoder::{Decoder, Forward, Want};
use crate::error::{Error, Result};
use crate::weights::{ModelParts, ModelWeights, WeightMatrix};
use block::DecoderBlock;
use burn::tensor::{Device, Int, Tensor, TensorData};
use norm::RmsNorm;

/// A decoder of any [`crate::arch`] family on a burn device.
#[derive(Debug, Clone)]
pub struct BurnDecoder {
    config: ModelConfig,
    embedding: Tensor<2>,
    blocks: Vec<DecoderBlock>,
    final_norm: RmsNorm,
    head: Linear,
    rotary: Rotary,
    device: Device,
}

impl BurnDecoder {
    /// Places `weights` on `device`, checking every tensor the table lists.
    pub fn new(config: &ModelConfig, weights: ModelWeights, device: &Device) -> Result<Self> {
        config.validate()?;
        let (vocab, hidden) = (config.vocab_size, config.hidden_size);
        let parts = ModelParts::take(config, weights)?;
        let embedding_values = match &parts.embedding {
            WeightMatrix::Dense(t) => t.data.clone(),
            WeightMatrix::Packed(p) => p.dequantize(),
        };
        let head = Linear::from_matrix(parts.head.unwrap_or(parts.embedding), None, device);
        let embedding =
            Tensor::from_data(TensorData::new(embedding_values, [vocab, hidden]), device);
        let rotary = Rotary::new(config);
        let blocks = parts
            .layers
            .into_iter()
            .enumerate()
            .map(|(layer, p)| DecoderBlock::take(config, p, rotary.set_of(layer), device))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            embedding,
            blocks,
            final_norm: RmsNorm::new(parts.output_norm, config.rms_norm_eps, device),
            head,
            rotary,
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
    pub fn new_cache(&self, max_seq_len: usize) -> Result<BurnKvCache> {
        crate::decoder::check_capacity(&self.config, max_seq_len)?;
        Ok(BurnKvCache::new(&self.config, max_seq_len, &self.device))
    }

    /// Runs `tokens` at the cache's next positions and returns the last position's logits.
    pub fn forward_last(&self, tokens: &[u32], cache: &mut BurnKvCache) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(tokens, cache)?;
        let last = hidden.narrow(0, tokens.len() - 1, 1);
        self.logits(last)
    }

    /// Runs `tokens` and returns every position's logits, `tokens.len() × vocab` row by row.
    pub fn forward_all(&self, tokens: &[u32], cache: &mut BurnKvCache) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(tokens, cache)?;
        self.logits(hidden)
    }

    /// Runs `tokens` and returns what `want` asks for.
    pub fn forward_want(
        &self,
        tokens: &[u32],
        cache: &mut BurnKvCache,
        want: Want,
    ) -> Result<Forward> {
        let read = |t: Tensor<2>| {
            t.try_to_vec_as::<f32>()
                .map_err(|e| Error::Backend(format!("reading hidden states back: {e:?}")))
        };
        Ok(match want {
            Want::LastLogits => Forward::Logits(self.forward_last(tokens, cache)?),
            Want::AllLogits => Forward::Logits(self.forward_all(tokens, cache)?),
            Want::Argmax => {
                Forward::Token(crate::sampling::argmax(&self.forward_last(tokens, cache)?))
            }
            Want::LastHidden => {
                let hidden = self.hidden_states(tokens, cache)?;
                let last = hidden.narrow(0, tokens.len() - 1, 1);
                Forward::Hidden(read(self.final_norm.forward(last))?)
            }
            Want::AllHidden => {
                let hidden = self.hidden_states(tokens, cache)?;
                Forward::Hidden(read(self.final_norm.forward(hidden))?)
            }
        })
    }

    fn hidden_states(&self, tokens: &[u32], cache: &mut BurnKvCache) -> Result<Tensor<2>> {
        let start = cache.positions.check(&self.config, tokens)?;
        let seq = tokens.len();
        let ids: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [seq]), &self.device);
        let mut x = self.embedding.clone().select(0, ids);
        if let Some(scale) = self.config.variant.embedding_scale {
            x = x.mul_scalar(scale);
        }
        let tables: Vec<RopeTables> = (0..self.rotary.set_count())
            .map(|set| RopeTables::new(&self.rotary, set, start, seq, &self.device))
            .collect();
        for (block, layer_cache) in self.blocks.iter().zip(cache.layers_mut()) {
            x = block.forward(x, start, &tables[block.rope_set()], layer_cache);
        }
        cache.positions.advance(seq);
        Ok(x)
    }

    fn logits(&self, hidden: Tensor<2>) -> Result<Vec<f32>> {
        let logits = self.head.forward(self.final_norm.forward(hidden));
        logits
            .try_to_vec_as::<f32>()
            .map_err(|e| Error::Backend(format!("reading logits back: {e:?}")))
    }
}

impl Decoder for BurnDecoder {
    type Cache = BurnKvCache;

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn describe(&self) -> String {
        format!("burn ({:?})", self.device)
    }

    fn new_cache(&self, capacity: usize) -> Result<BurnKvCache> {
        BurnDecoder::new_cache(self, capacity)
    }

    async fn forward(
        &self,
        tokens: &[u32],
        cache: &mut BurnKvCache,
        want: Want,
    ) -> Result<Forward> {
        self.forward_want(tokens, cache, want)
    }
}

//! A few milliseconds of the CPU path on a tiny random model, run before the shards are read.
//!
//! V8 first compiles wasm with its baseline compiler and optimizes a function in the
//! background once it has run a while. Without this, that happens during the first prompt,
//! which then runs partly on baseline code while the optimizing compiles compete for the
//! cores; with it, the kernels are hot before the (I/O-bound) shard reads, and their
//! optimized code is ready by the time the model is.

use lmfast_core::config::{Architecture, ModelConfig};
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::decoder::DecoderCache;
use lmfast_core::quant::QuantScheme;
use lmfast_core::weights::quantize_model_weights;
use lmfast_core::weights::ModelWeights;

/// Prompt-and-decode rounds: enough to exhaust V8's tier-up budget for every kernel.
const ROUNDS: usize = 6;

/// Runs the tiny model with the export's matrix schemes (`quant`, `embedding_quant`), so
/// that the very functions the real model calls get hot. Errors only mean no warm-up.
pub(crate) fn warm_up_cpu(quant: &str, embedding_quant: Option<&str>) -> lmfast_core::Result<()> {
    let config = ModelConfig {
        architecture: Architecture::Llama,
        vocab_size: 256,
        hidden_size: 128,
        intermediate_size: 256,
        num_layers: 1,
        num_heads: 2,
        num_kv_heads: 1,
        head_dim: 64,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        rope_scaling: None,
        max_position_embeddings: 64,
        tie_word_embeddings: true,
        attention_bias: false,
        variant: Default::default(),
    };
    let mut weights = ModelWeights::random(&config, 1);
    let embedding = embedding_quant.map(QuantScheme::parse).transpose()?;
    quantize_model_weights(
        &mut weights,
        QuantScheme::parse(quant)?,
        embedding,
        |_, _, _| {},
    )?;
    let model = CpuDecoder::new(&config, weights)?;
    let mut cache = model.new_cache(config.max_position_embeddings)?;
    let prompt: Vec<u32> = (0..12).collect();
    for _ in 0..ROUNDS {
        cache.clear();
        model.forward_last(&prompt, &mut cache)?;
        for token in 0..4 {
            model.forward_last(&[token], &mut cache)?;
        }
    }
    Ok(())
}

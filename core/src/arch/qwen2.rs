//! Qwen2 / Qwen2.5: llama with biases on the q, k and v projections; GGUF keeps Hugging
//! Face's rotary row order.

use super::llama::{plain_gguf, plain_hf};
use super::{ArchSpec, LLAMA_HF_BLOCK_NAMES};
use crate::config::Architecture;

/// The qwen2 family (the biases are found by the loaders: `attention_bias`).
pub(super) const SPEC: ArchSpec = ArchSpec {
    architecture: Architecture::Qwen2,
    gguf_name: "qwen2",
    hf_model_types: &["qwen2"],
    hf_block_names: &LLAMA_HF_BLOCK_NAMES,
    gguf_rotary_interleaved: false,
    hf_norm_offset: 0.0,
    variant_from_gguf: plain_gguf,
    variant_from_hf: plain_hf,
};

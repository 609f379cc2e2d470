//! Llama (SmolLM, TinyLlama, Llama 2/3.x): RMSNorm, SwiGLU, no biases, one rotary base.
//!
//! llama.cpp's converter interleaves the rotary rows of q and k; they are put back in Hugging
//! Face's half-split order on load. Llama 3.1+ per-pair rotary factors come as the
//! `rope_freqs.weight` tensor (GGUF) or `rope_scaling.rope_type = llama3` (Hugging Face).

use super::{ArchSpec, LLAMA_HF_BLOCK_NAMES};
use crate::config::{Architecture, ModelConfig};
use crate::error::Result;
use crate::format::gguf::GgufFile;
use serde_json::Value;

/// The llama family.
pub(super) const SPEC: ArchSpec = ArchSpec {
    architecture: Architecture::Llama,
    gguf_name: "llama",
    hf_model_types: &["llama"],
    hf_block_names: &LLAMA_HF_BLOCK_NAMES,
    gguf_rotary_interleaved: true,
    hf_norm_offset: 0.0,
    variant_from_gguf: plain_gguf,
    variant_from_hf: plain_hf,
};

/// Llama-style families have no variant rules beyond the defaults.
pub(super) fn plain_gguf(_: &GgufFile, _: &mut ModelConfig) -> Result<()> {
    Ok(())
}

/// Llama-style families have no variant rules beyond the defaults.
pub(super) fn plain_hf(_: &Value, _: &mut ModelConfig) -> Result<()> {
    Ok(())
}

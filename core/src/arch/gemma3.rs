//! Gemma 3 (text): what it changes against llama.
//!
//! - norms multiply by `1 + w` (Hugging Face stores `w`; GGUF stores `1 + w` already);
//! - embeddings are scaled by `√hidden` (rounded to f32, as transformers does);
//! - the MLP gate is GELU with the tanh approximation;
//! - each q and k head is RMS-normalised before the rotation;
//! - attention and MLP outputs are normalised again before the residual add (sandwich norms);
//! - attention scores are scaled by `query_pre_attn_scalar^-½`;
//! - five of every six layers attend over a sliding window with their own rotary base
//!   (10 000), every sixth layer globally (base `rope_theta`, with `rope_scaling`).
//!
//! Soft-capping of attention or final logits (Gemma 2) is refused rather than ignored.

use super::ArchSpec;
use crate::config::{Activation, Architecture, LayerKind, ModelConfig};
use crate::error::{Error, Result};
use crate::format::gguf::GgufFile;
use serde_json::Value;

/// The gemma3 family.
pub(super) const SPEC: ArchSpec = ArchSpec {
    architecture: Architecture::Gemma3,
    gguf_name: "gemma3",
    hf_model_types: &["gemma3_text"],
    hf_block_names: &[
        (Role::AttnNorm, "input_layernorm.weight"),
        (Role::AttnQ, "self_attn.q_proj.weight"),
        (Role::AttnK, "self_attn.k_proj.weight"),
        (Role::AttnV, "self_attn.v_proj.weight"),
        (Role::AttnQNorm, "self_attn.q_norm.weight"),
        (Role::AttnKNorm, "self_attn.k_norm.weight"),
        (Role::AttnOutput, "self_attn.o_proj.weight"),
        (Role::PostAttnNorm, "post_attention_layernorm.weight"),
        (Role::FfnNorm, "pre_feedforward_layernorm.weight"),
        (Role::FfnGate, "mlp.gate_proj.weight"),
        (Role::FfnUp, "mlp.up_proj.weight"),
        (Role::FfnDown, "mlp.down_proj.weight"),
        (Role::PostFfnNorm, "post_feedforward_layernorm.weight"),
    ],
    gguf_rotary_interleaved: false,
    hf_norm_offset: 1.0,
    variant_from_gguf,
    variant_from_hf,
};

use super::Role;

/// Every sixth layer is global in every Gemma 3 size (llama.cpp fixes the same pattern).
const GLOBAL_EVERY: usize = 6;
/// The rotary base of sliding layers in every Gemma 3 size.
const LOCAL_ROPE_THETA: f32 = 10_000.0;

fn common(config: &mut ModelConfig, window: usize, scalar: f32, kinds: Vec<LayerKind>) {
    let v = &mut config.variant;
    v.activation = Activation::GeluTanh;
    v.embedding_scale = Some((config.hidden_size as f32).sqrt());
    v.qk_norm = true;
    v.sandwich_norms = true;
    v.attention_scale = Some(1.0 / scalar.sqrt());
    v.sliding_window = Some(window);
    v.layer_kinds = kinds;
    v.rope_local_theta = Some(LOCAL_ROPE_THETA);
}

fn pattern(layers: usize, every: usize) -> Vec<LayerKind> {
    (0..layers)
        .map(|l| {
            if (l + 1) % every == 0 {
                LayerKind::Global
            } else {
                LayerKind::Sliding
            }
        })
        .collect()
}

fn variant_from_gguf(file: &GgufFile, config: &mut ModelConfig) -> Result<()> {
    for key in [
        "gemma3.attn_logit_softcapping",
        "gemma3.final_logit_softcapping",
    ] {
        if file.get(key).is_some() {
            return Err(Error::format(
                file.name(),
                format!("{key} is set: logit soft-capping is not supported"),
            ));
        }
    }
    let window = file.get_u64("gemma3.attention.sliding_window")? as usize;
    let every = match file.get("gemma3.attention.sliding_window_pattern") {
        Some(_) => file.get_u64("gemma3.attention.sliding_window_pattern")? as usize,
        None => GLOBAL_EVERY,
    }
    .max(1);
    // llama.cpp scales by 1/√head_dim for every size but 27B, which is what
    // query_pre_attn_scalar is in those configs.
    let scalar = config.head_dim as f32;
    common(config, window, scalar, pattern(config.num_layers, every));
    if file.get("gemma3.rope.freq_base_swa").is_some() {
        config.variant.rope_local_theta = Some(file.get_f32("gemma3.rope.freq_base_swa")?);
    }
    Ok(())
}

fn variant_from_hf(c: &Value, config: &mut ModelConfig) -> Result<()> {
    for key in ["attn_logit_softcapping", "final_logit_softcapping"] {
        if !c[key].is_null() {
            return Err(Error::config(key, "logit soft-capping is not supported"));
        }
    }
    if c["use_bidirectional_attention"].as_bool() == Some(true) {
        return Err(Error::config(
            "use_bidirectional_attention",
            "bidirectional (encoder) Gemma models are not supported",
        ));
    }
    let window = c["sliding_window"]
        .as_u64()
        .ok_or_else(|| Error::config("sliding_window", "missing or not an integer"))?
        as usize;
    let scalar = c["query_pre_attn_scalar"]
        .as_f64()
        .ok_or_else(|| Error::config("query_pre_attn_scalar", "missing or not a number"))?
        as f32;
    let kinds = match &c["layer_types"] {
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, t)| match t.as_str() {
                Some("sliding_attention") => Ok(LayerKind::Sliding),
                Some("full_attention") => Ok(LayerKind::Global),
                _ => Err(Error::config(
                    "layer_types",
                    format!("entry {i} is {t}, not sliding_attention or full_attention"),
                )),
            })
            .collect::<Result<Vec<_>>>()?,
        _ => pattern(
            config.num_layers,
            c["sliding_window_pattern"]
                .as_u64()
                .map_or(GLOBAL_EVERY, |v| v as usize)
                .max(1),
        ),
    };
    common(config, window, scalar, kinds);
    if let Some(theta) = c["rope_local_base_freq"].as_f64() {
        config.variant.rope_local_theta = Some(theta as f32);
    }
    Ok(())
}

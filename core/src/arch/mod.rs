//! One description per model family: its config keys, its tensor table and its variant rules.
//!
//! Every loader (GGUF, Hugging Face, export, random test weights) and every decoder (fused CPU,
//! WGSL, burn) walks [`tensors`] for the list of tensors a model has, their canonical names,
//! shapes, roles and how the fused paths stack them. No tensor name is spelled anywhere else.
//! A family file (`llama.rs`, `qwen2.rs`, `gemma3.rs`) says what differs: the Hugging Face
//! names, how GGUF stores q/k rows, and how its metadata turns into a [`Variant`].
//!
//! Adding a family: write its file with an [`ArchSpec`], add it to [`ALL`] and to
//! [`Architecture`]; if it needs an operation no decoder has, that kernel is the only other
//! change.

mod gemma3;
mod llama;
mod qwen2;
mod tensors;

pub use tensors::{
    block_name, block_roles, parse_name, tensors, Role, Stack, TensorSpec, ROPE_FACTORS,
};

#[cfg(doc)]
use crate::config::Variant;
use crate::config::{Architecture, ModelConfig};
use crate::error::Result;
use crate::format::gguf::GgufFile;
use serde_json::Value;

/// What one model family is, for the loaders.
pub struct ArchSpec {
    /// The family.
    pub architecture: Architecture,
    /// GGUF's `general.architecture` value, also the prefix of its metadata keys.
    pub gguf_name: &'static str,
    /// Hugging Face `config.json` `model_type` values of this family.
    pub hf_model_types: &'static [&'static str],
    /// Hugging Face names of each block tensor, after `model.layers.{i}.`.
    pub hf_block_names: &'static [(Role, &'static str)],
    /// Whether llama.cpp's converter interleaved the rotary rows of q and k (llama does,
    /// other families keep Hugging Face's half-split order).
    pub gguf_rotary_interleaved: bool,
    /// Added to every norm weight read from Hugging Face files: Gemma stores `w` and
    /// multiplies by `1 + w`; lmfast (like GGUF) keeps the multiplier itself.
    pub hf_norm_offset: f32,
    /// Fills the variant rules (and checks what is refused) from GGUF metadata.
    pub variant_from_gguf: fn(&GgufFile, &mut ModelConfig) -> Result<()>,
    /// Fills the variant rules (and checks what is refused) from `config.json`.
    pub variant_from_hf: fn(&Value, &mut ModelConfig) -> Result<()>,
}

/// Every family lmfast runs.
pub const ALL: [&ArchSpec; 3] = [&llama::SPEC, &qwen2::SPEC, &gemma3::SPEC];

/// The description of `architecture`.
pub fn spec(architecture: Architecture) -> &'static ArchSpec {
    match architecture {
        Architecture::Llama => &llama::SPEC,
        Architecture::Qwen2 => &qwen2::SPEC,
        Architecture::Gemma3 => &gemma3::SPEC,
    }
}

/// The family whose Hugging Face `model_type` is `model_type`.
pub fn from_hf_model_type(model_type: &str) -> Option<&'static ArchSpec> {
    ALL.into_iter()
        .find(|s| s.hf_model_types.contains(&model_type))
}

/// The names of every family, for error messages.
pub fn known_names() -> String {
    ALL.iter()
        .map(|s| s.gguf_name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ArchSpec {
    /// The canonical name of Hugging Face tensor `hf`, or `None` when the model does not use it
    /// (rotary caches and the like).
    pub fn canonical_from_hf(&self, hf: &str) -> Option<String> {
        match hf {
            "model.embed_tokens.weight" => return Some(Role::TokenEmbedding.global_name().into()),
            "model.norm.weight" => return Some(Role::OutputNorm.global_name().into()),
            "lm_head.weight" => return Some(Role::Output.global_name().into()),
            _ => {}
        }
        let rest = hf.strip_prefix("model.layers.")?;
        let (layer, part) = rest.split_once('.')?;
        let layer: usize = layer.parse().ok()?;
        let (role, _) = self.hf_block_names.iter().find(|(_, n)| *n == part)?;
        Some(block_name(layer, *role))
    }
}

/// Hugging Face names shared by llama-style families (llama, qwen2).
const LLAMA_HF_BLOCK_NAMES: [(Role, &str); 12] = [
    (Role::AttnNorm, "input_layernorm.weight"),
    (Role::FfnNorm, "post_attention_layernorm.weight"),
    (Role::AttnQ, "self_attn.q_proj.weight"),
    (Role::AttnK, "self_attn.k_proj.weight"),
    (Role::AttnV, "self_attn.v_proj.weight"),
    (Role::AttnOutput, "self_attn.o_proj.weight"),
    (Role::AttnQBias, "self_attn.q_proj.bias"),
    (Role::AttnKBias, "self_attn.k_proj.bias"),
    (Role::AttnVBias, "self_attn.v_proj.bias"),
    (Role::FfnGate, "mlp.gate_proj.weight"),
    (Role::FfnUp, "mlp.up_proj.weight"),
    (Role::FfnDown, "mlp.down_proj.weight"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_names_every_block_role_it_can_have_once() {
        for family in ALL {
            let mut seen = std::collections::HashSet::new();
            for (role, name) in family.hf_block_names {
                assert!(role.is_block(), "{name} is not a block tensor");
                assert!(
                    seen.insert(*role),
                    "{} names {role:?} twice",
                    family.gguf_name
                );
                let canonical = family
                    .canonical_from_hf(&format!("model.layers.7.{name}"))
                    .expect("maps");
                assert_eq!(parse_name(&canonical), Some((Some(7), *role)));
            }
            assert_eq!(
                Architecture::from_name(family.gguf_name),
                Some(family.architecture)
            );
            assert!(std::ptr::eq(spec(family.architecture), family));
        }
    }
}

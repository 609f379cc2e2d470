//! The model's hyper-parameters, validated once so the model code can trust them.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which model family a checkpoint is. Everything that differs between families is in its
/// description under [`crate::arch`]; decoders read the resulting [`Variant`], never this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Llama, SmolLM, TinyLlama, Llama-3.x: no attention biases.
    Llama,
    /// Qwen2 / Qwen2.5: biases on the q, k and v projections.
    Qwen2,
    /// Gemma 3 (text): GELU-tanh MLP, q/k norms, sandwich norms, sliding-window layers.
    Gemma3,
}

impl Architecture {
    /// The name used in GGUF's `general.architecture` and as the metadata key prefix.
    pub fn name(self) -> &'static str {
        crate::arch::spec(self).gguf_name
    }

    /// Parses a GGUF `general.architecture` value.
    pub fn from_name(name: &str) -> Option<Self> {
        crate::arch::ALL
            .iter()
            .find(|s| s.gguf_name == name)
            .map(|s| s.architecture)
    }
}

/// The MLP's gate activation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `silu(gate) · up` (SwiGLU: llama, qwen2).
    #[default]
    Silu,
    /// `gelu_tanh(gate) · up` (GeGLU with the tanh approximation: Gemma).
    GeluTanh,
}

/// How far back one layer's attention looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// Every earlier position.
    #[default]
    Global,
    /// Only the last `sliding_window` positions (the token itself included).
    Sliding,
}

/// The rules in which families differ, resolved once from the checkpoint (see [`crate::arch`]).
/// Every field's default is plain llama, so older export manifests read unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variant {
    /// The MLP's gate activation.
    pub activation: Activation,
    /// Token embeddings are multiplied by this before the first block (Gemma: √hidden).
    pub embedding_scale: Option<f32>,
    /// Each query and key head is RMS-normalised (with its own `[head_dim]` weight) before
    /// the rotation.
    pub qk_norm: bool,
    /// The attention and MLP outputs are RMS-normalised again before the residual add.
    pub sandwich_norms: bool,
    /// Attention scores are scaled by this instead of `1/√head_dim`.
    pub attention_scale: Option<f32>,
    /// Positions a [`LayerKind::Sliding`] layer sees.
    pub sliding_window: Option<usize>,
    /// One entry per layer; empty means every layer is global.
    pub layer_kinds: Vec<LayerKind>,
    /// Rotary base of sliding layers (global layers use `rope_theta` and `rope_scaling`).
    pub rope_local_theta: Option<f32>,
    /// Per-dimension-pair divisors of the rotary frequencies (`rope_freqs.weight`, Llama 3.1+).
    pub rope_factors: Option<Vec<f32>>,
}

/// How rotary position frequencies are rescaled for long contexts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RopeScaling {
    /// Positions divided by `factor` (GGUF `rope.scaling.type = linear`).
    Linear {
        /// The divisor applied to positions.
        factor: f32,
    },
    /// Llama-3 style frequency-dependent scaling.
    Llama3 {
        /// Overall scale factor.
        factor: f32,
        /// Low-frequency factor.
        low_freq_factor: f32,
        /// High-frequency factor.
        high_freq_factor: f32,
        /// The context length the model was trained on before scaling.
        original_max_position_embeddings: usize,
    },
}

/// The hyper-parameters of a llama-family decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Which llama-family variant this is.
    pub architecture: Architecture,
    /// Number of token ids (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP's inner layer.
    pub intermediate_size: usize,
    /// Number of decoder blocks.
    pub num_layers: usize,
    /// Number of query heads.
    pub num_heads: usize,
    /// Number of key/value heads (grouped-query attention when fewer than `num_heads`).
    pub num_kv_heads: usize,
    /// Width of one attention head.
    pub head_dim: usize,
    /// Epsilon inside RMSNorm.
    pub rms_norm_eps: f32,
    /// Base of the rotary embedding frequencies.
    pub rope_theta: f32,
    /// Optional rescaling of rotary frequencies.
    pub rope_scaling: Option<RopeScaling>,
    /// Longest context the model supports.
    pub max_position_embeddings: usize,
    /// Whether the output head reuses the token embedding matrix.
    pub tie_word_embeddings: bool,
    /// Whether q, k and v projections carry biases (Qwen2).
    pub attention_bias: bool,
    /// The family's variant rules (plain llama when absent).
    #[serde(default)]
    pub variant: Variant,
}

impl ModelConfig {
    /// Checks that the values are consistent, naming the first field that is not.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_layers", self.num_layers),
            ("num_heads", self.num_heads),
            ("num_kv_heads", self.num_kv_heads),
            ("head_dim", self.head_dim),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(Error::config(field, "must be greater than zero"));
            }
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return Err(Error::config(
                "num_kv_heads",
                format!(
                    "{} query heads cannot be grouped over {} key/value heads",
                    self.num_heads, self.num_kv_heads
                ),
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(Error::config(
                "head_dim",
                format!("{} is odd; rotary embeddings need pairs", self.head_dim),
            ));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            return Err(Error::config(
                "rms_norm_eps",
                format!("{} is not a positive number", self.rms_norm_eps),
            ));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            return Err(Error::config(
                "rope_theta",
                format!("{} is not a positive number", self.rope_theta),
            ));
        }
        self.validate_variant()
    }

    fn validate_variant(&self) -> Result<()> {
        let v = &self.variant;
        if !v.layer_kinds.is_empty() && v.layer_kinds.len() != self.num_layers {
            return Err(Error::config(
                "layer_kinds",
                format!(
                    "{} entries for {} layers",
                    v.layer_kinds.len(),
                    self.num_layers
                ),
            ));
        }
        if v.layer_kinds.contains(&LayerKind::Sliding) && v.sliding_window.unwrap_or(0) == 0 {
            return Err(Error::config(
                "sliding_window",
                "sliding layers need a window of at least one position",
            ));
        }
        for (field, value) in [
            ("embedding_scale", v.embedding_scale),
            ("attention_scale", v.attention_scale),
            ("rope_local_theta", v.rope_local_theta),
        ] {
            if let Some(x) = value {
                if !(x.is_finite() && x > 0.0) {
                    return Err(Error::config(
                        field,
                        format!("{x} is not a positive number"),
                    ));
                }
            }
        }
        if let Some(factors) = &v.rope_factors {
            if factors.len() != self.head_dim / 2 {
                return Err(Error::config(
                    "rope_factors",
                    format!(
                        "{} factors for {} rotary pairs",
                        factors.len(),
                        self.head_dim / 2
                    ),
                ));
            }
            if let Some(bad) = factors.iter().find(|f| !(f.is_finite() && **f > 0.0)) {
                return Err(Error::config(
                    "rope_factors",
                    format!("{bad} is not a positive number"),
                ));
            }
        }
        Ok(())
    }

    /// Whether layer `layer` attends globally or over the sliding window.
    pub fn layer_kind(&self, layer: usize) -> LayerKind {
        self.variant
            .layer_kinds
            .get(layer)
            .copied()
            .unwrap_or_default()
    }

    /// How many positions back layer `layer` may look (`None`: all of them).
    pub fn attention_window(&self, layer: usize) -> Option<usize> {
        match self.layer_kind(layer) {
            LayerKind::Global => None,
            LayerKind::Sliding => self.variant.sliding_window,
        }
    }

    /// The factor attention scores are multiplied by.
    pub fn attention_scale(&self) -> f32 {
        self.variant
            .attention_scale
            .unwrap_or_else(|| 1.0 / (self.head_dim as f32).sqrt())
    }

    /// Number of weights in the model (the embedding counted once when tied).
    pub fn parameter_count(&self) -> u64 {
        crate::arch::tensors(self)
            .iter()
            .map(|t| t.shape.iter().product::<usize>() as u64)
            .sum()
    }
}

//! The tensor table: every tensor a decoder of a given config has, by role.
//!
//! Canonical names follow GGUF's (`blk.{i}.attn_q.weight`). Matrices are `[out, in]`
//! row-major, q/k rows in Hugging Face's half-split rotary order, norms hold the multiplier
//! itself (Gemma's `1 + w` already added).

use crate::config::ModelConfig;

/// What a tensor is for. Decoders place weights by role, never by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Token embedding, `[vocab, hidden]`.
    TokenEmbedding,
    /// Final norm, `[hidden]`.
    OutputNorm,
    /// Output head, `[vocab, hidden]`; absent when tied to the embedding.
    Output,
    /// Norm before attention, `[hidden]`.
    AttnNorm,
    /// Query projection, `[heads·head_dim, hidden]`.
    AttnQ,
    /// Key projection, `[kv_heads·head_dim, hidden]`.
    AttnK,
    /// Value projection, `[kv_heads·head_dim, hidden]`.
    AttnV,
    /// Query bias, `[heads·head_dim]` (qwen2).
    AttnQBias,
    /// Key bias, `[kv_heads·head_dim]` (qwen2).
    AttnKBias,
    /// Value bias, `[kv_heads·head_dim]` (qwen2).
    AttnVBias,
    /// Per-head query norm, `[head_dim]` (Gemma 3).
    AttnQNorm,
    /// Per-head key norm, `[head_dim]` (Gemma 3).
    AttnKNorm,
    /// Attention output projection, `[hidden, heads·head_dim]`.
    AttnOutput,
    /// Norm of the attention output before the residual add, `[hidden]` (Gemma).
    PostAttnNorm,
    /// Norm before the MLP, `[hidden]`.
    FfnNorm,
    /// MLP gate, `[intermediate, hidden]`.
    FfnGate,
    /// MLP up projection, `[intermediate, hidden]`.
    FfnUp,
    /// MLP down projection, `[hidden, intermediate]`.
    FfnDown,
    /// Norm of the MLP output before the residual add, `[hidden]` (Gemma).
    PostFfnNorm,
}

/// Name of the rotary frequency factors tensor (Llama 3.1+); read into
/// [`crate::config::Variant::rope_factors`], not kept as a weight.
pub const ROPE_FACTORS: &str = "rope_freqs.weight";

/// Matrices the fused paths multiply as one, because they read the same input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stack {
    /// q | k | v rows (and their biases).
    Qkv,
    /// The attention output projection alone.
    Output,
    /// gate | up rows.
    GateUp,
    /// The down projection alone.
    Down,
}

impl Stack {
    /// The name a fused path gives `layer`'s stacked matrix in its errors.
    pub fn name(self, layer: usize) -> String {
        let suffix = match self {
            Stack::Qkv => "attn_qkv",
            Stack::Output => Role::AttnOutput.gguf_suffix(),
            Stack::GateUp => "ffn_gate_up",
            Stack::Down => Role::FfnDown.gguf_suffix(),
        };
        format!("blk.{layer}.{suffix}")
    }
}

/// Block roles in table order.
const BLOCK_ROLES: [Role; 16] = [
    Role::AttnNorm,
    Role::AttnQ,
    Role::AttnK,
    Role::AttnV,
    Role::AttnQBias,
    Role::AttnKBias,
    Role::AttnVBias,
    Role::AttnQNorm,
    Role::AttnKNorm,
    Role::AttnOutput,
    Role::PostAttnNorm,
    Role::FfnNorm,
    Role::FfnGate,
    Role::FfnUp,
    Role::FfnDown,
    Role::PostFfnNorm,
];

impl Role {
    /// GGUF's name for the role (after `blk.{i}.` for block tensors).
    pub fn gguf_suffix(self) -> &'static str {
        match self {
            Role::TokenEmbedding => "token_embd.weight",
            Role::OutputNorm => "output_norm.weight",
            Role::Output => "output.weight",
            Role::AttnNorm => "attn_norm.weight",
            Role::AttnQ => "attn_q.weight",
            Role::AttnK => "attn_k.weight",
            Role::AttnV => "attn_v.weight",
            Role::AttnQBias => "attn_q.bias",
            Role::AttnKBias => "attn_k.bias",
            Role::AttnVBias => "attn_v.bias",
            Role::AttnQNorm => "attn_q_norm.weight",
            Role::AttnKNorm => "attn_k_norm.weight",
            Role::AttnOutput => "attn_output.weight",
            Role::PostAttnNorm => "post_attention_norm.weight",
            Role::FfnNorm => "ffn_norm.weight",
            Role::FfnGate => "ffn_gate.weight",
            Role::FfnUp => "ffn_up.weight",
            Role::FfnDown => "ffn_down.weight",
            Role::PostFfnNorm => "post_ffw_norm.weight",
        }
    }

    /// Whether the role belongs to a block (rather than to the whole model).
    pub fn is_block(self) -> bool {
        !matches!(self, Role::TokenEmbedding | Role::OutputNorm | Role::Output)
    }

    /// The canonical name of a model-level tensor (`token_embd.weight`).
    pub fn global_name(self) -> &'static str {
        debug_assert!(!self.is_block());
        self.gguf_suffix()
    }

    /// Whether the role is a matrix that the kernels multiply by (and quantization packs).
    pub fn is_matrix(self) -> bool {
        matches!(
            self,
            Role::TokenEmbedding
                | Role::Output
                | Role::AttnQ
                | Role::AttnK
                | Role::AttnV
                | Role::AttnOutput
                | Role::FfnGate
                | Role::FfnUp
                | Role::FfnDown
        )
    }

    /// Whether the role is a norm's weight vector.
    pub fn is_norm(self) -> bool {
        matches!(
            self,
            Role::OutputNorm
                | Role::AttnNorm
                | Role::AttnQNorm
                | Role::AttnKNorm
                | Role::PostAttnNorm
                | Role::FfnNorm
                | Role::PostFfnNorm
        )
    }

    /// Whether llama.cpp's converter permutes this tensor's rows for rotary pairs.
    pub fn is_rotary_projection(self) -> bool {
        matches!(self, Role::AttnQ | Role::AttnK)
    }

    /// The matrix stack this role is part of, and its index in the stack (q=0, k=1, v=2).
    pub fn stack(self) -> Option<(Stack, usize)> {
        Some(match self {
            Role::AttnQ | Role::AttnQBias => (Stack::Qkv, 0),
            Role::AttnK | Role::AttnKBias => (Stack::Qkv, 1),
            Role::AttnV | Role::AttnVBias => (Stack::Qkv, 2),
            Role::AttnOutput => (Stack::Output, 0),
            Role::FfnGate => (Stack::GateUp, 0),
            Role::FfnUp => (Stack::GateUp, 1),
            Role::FfnDown => (Stack::Down, 0),
            _ => return None,
        })
    }

    /// Whether `config`'s model has this tensor.
    pub fn present(self, config: &ModelConfig) -> bool {
        let v = &config.variant;
        match self {
            Role::Output => !config.tie_word_embeddings,
            Role::AttnQBias | Role::AttnKBias | Role::AttnVBias => config.attention_bias,
            Role::AttnQNorm | Role::AttnKNorm => v.qk_norm,
            Role::PostAttnNorm | Role::PostFfnNorm => v.sandwich_norms,
            _ => true,
        }
    }

    /// The tensor's shape in `config`'s model.
    pub fn shape(self, config: &ModelConfig) -> Vec<usize> {
        let (h, i, v, hd) = (
            config.hidden_size,
            config.intermediate_size,
            config.vocab_size,
            config.head_dim,
        );
        let q = config.num_heads * hd;
        let kv = config.num_kv_heads * hd;
        match self {
            Role::TokenEmbedding | Role::Output => vec![v, h],
            Role::OutputNorm
            | Role::AttnNorm
            | Role::PostAttnNorm
            | Role::FfnNorm
            | Role::PostFfnNorm => vec![h],
            Role::AttnQ => vec![q, h],
            Role::AttnK | Role::AttnV => vec![kv, h],
            Role::AttnQBias => vec![q],
            Role::AttnKBias | Role::AttnVBias => vec![kv],
            Role::AttnQNorm | Role::AttnKNorm => vec![hd],
            Role::AttnOutput => vec![h, q],
            Role::FfnGate | Role::FfnUp => vec![i, h],
            Role::FfnDown => vec![h, i],
        }
    }
}

/// One tensor of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Canonical (GGUF) name.
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// Its block, for block tensors.
    pub layer: Option<usize>,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// The canonical name of block `layer`'s `role` tensor.
pub fn block_name(layer: usize, role: Role) -> String {
    format!("blk.{layer}.{}", role.gguf_suffix())
}

/// The block and role a canonical name stands for (`None`: not a model tensor).
pub fn parse_name(name: &str) -> Option<(Option<usize>, Role)> {
    if let Some(rest) = name.strip_prefix("blk.") {
        let (layer, part) = rest.split_once('.')?;
        let layer = layer.parse().ok()?;
        let role = BLOCK_ROLES.into_iter().find(|r| r.gguf_suffix() == part)?;
        return Some((Some(layer), role));
    }
    [Role::TokenEmbedding, Role::OutputNorm, Role::Output]
        .into_iter()
        .find(|r| r.gguf_suffix() == name)
        .map(|r| (None, r))
}

/// Every tensor of `config`'s model: the embedding, each block in order, the final norm and
/// the head (when not tied).
pub fn tensors(config: &ModelConfig) -> Vec<TensorSpec> {
    let global = |role: Role| TensorSpec {
        name: role.global_name().to_owned(),
        role,
        layer: None,
        shape: role.shape(config),
    };
    let mut all = vec![global(Role::TokenEmbedding)];
    for layer in 0..config.num_layers {
        for role in BLOCK_ROLES {
            if role.present(config) {
                all.push(TensorSpec {
                    name: block_name(layer, role),
                    role,
                    layer: Some(layer),
                    shape: role.shape(config),
                });
            }
        }
    }
    all.push(global(Role::OutputNorm));
    if Role::Output.present(config) {
        all.push(global(Role::Output));
    }
    all
}

/// The block roles in table order (for decoders that lay out per-layer buffers).
pub fn block_roles() -> impl Iterator<Item = Role> {
    BLOCK_ROLES.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_to_their_role_and_block() {
        for role in BLOCK_ROLES {
            assert_eq!(parse_name(&block_name(12, role)), Some((Some(12), role)));
        }
        assert_eq!(
            parse_name("token_embd.weight"),
            Some((None, Role::TokenEmbedding))
        );
        assert_eq!(parse_name("blk.x.attn_q.weight"), None);
        assert_eq!(parse_name("rope_freqs.weight"), None);
    }
}

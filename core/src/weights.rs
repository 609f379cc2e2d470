//! Model weights on the host, by canonical name, before they are moved to a compute device.
//!
//! Canonical names follow GGUF's llama naming (`blk.{i}.attn_q.weight`, …). Matrices are stored
//! row-major as `[out_features, in_features]`, and q/k projection rows are in Hugging Face's
//! order (rotary pairs are `(i, i + head_dim/2)`), whatever the checkpoint's format was.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// One dense f32 tensor in host memory, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first (`[rows, cols]` for a matrix).
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// A tensor of `shape` holding `data`; fails when the lengths disagree.
    pub fn new(name: &str, shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let want: usize = shape.iter().product();
        if want != data.len() {
            return Err(Error::tensor(
                name,
                format!("shape {shape:?} needs {want} values, got {}", data.len()),
            ));
        }
        Ok(Self { shape, data })
    }
}

/// Canonical tensor names of a llama-family decoder.
pub mod names {
    /// Token embedding, `[vocab, hidden]`.
    pub const TOKEN_EMBD: &str = "token_embd.weight";
    /// Final RMSNorm weight, `[hidden]`.
    pub const OUTPUT_NORM: &str = "output_norm.weight";
    /// Output head, `[vocab, hidden]`; absent when tied to the embedding.
    pub const OUTPUT: &str = "output.weight";

    /// The name of tensor `part` (e.g. `attn_q.weight`) in block `layer`.
    pub fn block(layer: usize, part: &str) -> String {
        format!("blk.{layer}.{part}")
    }
}

/// All weights of a model by canonical name; the model takes (moves out) what it needs.
#[derive(Debug, Default, Clone)]
pub struct ModelWeights {
    tensors: HashMap<String, HostTensor>,
}

impl ModelWeights {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces tensor `name`.
    pub fn insert(&mut self, name: impl Into<String>, tensor: HostTensor) {
        self.tensors.insert(name.into(), tensor);
    }

    /// Whether tensor `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Borrows tensor `name`.
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.get(name)
    }

    /// Moves tensor `name` out, checking its shape; a missing tensor or wrong shape names it.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<HostTensor> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::tensor(name, "missing from the checkpoint"))?;
        if tensor.shape != shape {
            return Err(Error::tensor(
                name,
                format!("expected shape {shape:?}, found {:?}", tensor.shape),
            ));
        }
        Ok(tensor)
    }

    /// Names of the tensors still held, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Number of tensors held.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether no tensor is held.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
}

impl ModelWeights {
    /// Deterministic random weights for `config`'s model, for tests and benchmarks.
    ///
    /// Matrices are uniform in ±1/√in (so activations keep their scale through the layers),
    /// norm scales are near 1; the same seed gives the same weights on every platform.
    pub fn random(config: &crate::config::ModelConfig, seed: u64) -> Self {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut weights = ModelWeights::new();
        let mut add = |name: String, shape: Vec<usize>, rng: &mut rand_chacha::ChaCha8Rng| {
            let count: usize = shape.iter().product();
            let data: Vec<f32> = if shape.len() == 1 && name.contains("norm") {
                (0..count)
                    .map(|_| 1.0 + rng.random_range(-0.1f32..0.1))
                    .collect()
            } else {
                let fan_in = *shape.last().unwrap_or(&1) as f32;
                let bound = if name.ends_with(".bias") {
                    0.1
                } else {
                    1.0 / fan_in.sqrt()
                };
                (0..count)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect()
            };
            weights.insert(name, HostTensor { shape, data });
        };
        let (h, i, v) = (
            config.hidden_size,
            config.intermediate_size,
            config.vocab_size,
        );
        let q = config.num_heads * config.head_dim;
        let kv = config.num_kv_heads * config.head_dim;
        // Embedding rows of unit-ish scale, as trained embeddings are.
        add(names::TOKEN_EMBD.into(), vec![v, h], &mut rng);
        for layer in 0..config.num_layers {
            let b = |part: &str| names::block(layer, part);
            add(b("attn_norm.weight"), vec![h], &mut rng);
            add(b("attn_q.weight"), vec![q, h], &mut rng);
            add(b("attn_k.weight"), vec![kv, h], &mut rng);
            add(b("attn_v.weight"), vec![kv, h], &mut rng);
            if config.attention_bias {
                add(b("attn_q.bias"), vec![q], &mut rng);
                add(b("attn_k.bias"), vec![kv], &mut rng);
                add(b("attn_v.bias"), vec![kv], &mut rng);
            }
            add(b("attn_output.weight"), vec![h, q], &mut rng);
            add(b("ffn_norm.weight"), vec![h], &mut rng);
            add(b("ffn_gate.weight"), vec![i, h], &mut rng);
            add(b("ffn_up.weight"), vec![i, h], &mut rng);
            add(b("ffn_down.weight"), vec![h, i], &mut rng);
        }
        add(names::OUTPUT_NORM.into(), vec![h], &mut rng);
        if !config.tie_word_embeddings {
            add(names::OUTPUT.into(), vec![v, h], &mut rng);
        }
        weights
    }
}

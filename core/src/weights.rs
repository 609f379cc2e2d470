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

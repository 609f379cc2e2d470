//! Opening a checkpoint: everything a model needs to run, whatever file it came from.
//!
//! A [`Checkpoint`] bundles the validated [`ModelConfig`], the weights by canonical name, the
//! tokenizer and the chat template. Each source format has a file of its own here.

mod export;
mod gguf;
mod hf;

pub use export::{export_source, load_export};
pub use gguf::{config_from_gguf, load_gguf, weights_from_gguf};
pub use hf::{config_from_hf, is_hf_folder, load_hf};

use crate::error::{Error, Result};
use std::path::Path;

/// Opens any supported checkpoint: an lmfast export folder (with `manifest.json`), a
/// Hugging Face folder (with `config.json`) or a GGUF file.
pub fn load(path: &Path) -> Result<Checkpoint> {
    if path.is_dir() {
        if path.join(crate::format::export::MANIFEST_FILE).is_file() {
            return load_export(path);
        }
        if is_hf_folder(path) {
            return load_hf(path);
        }
        return Err(Error::format(
            path.display().to_string(),
            "a folder needs manifest.json (lmfast export) or config.json (Hugging Face)",
        ));
    }
    load_gguf(path)
}

use crate::chat_template::ChatTemplate;
use crate::config::ModelConfig;
use crate::tokenizer::Tokenizer;
use crate::weights::ModelWeights;

/// A model ready to be placed on a device: configuration, weights, tokenizer and chat template.
#[derive(Debug)]
pub struct Checkpoint {
    /// Validated hyper-parameters.
    pub config: ModelConfig,
    /// Weights by canonical name, f32 on the host.
    pub weights: ModelWeights,
    /// The tokenizer that the model was trained with.
    pub tokenizer: Tokenizer,
    /// The chat template, when the checkpoint carries one.
    pub chat_template: Option<ChatTemplate>,
    /// Metadata about where the checkpoint came from, for `lmfast info`.
    pub source: CheckpointSource,
}

/// Where a checkpoint came from and how its weights were stored there.
#[derive(Debug, Clone, Default)]
pub struct CheckpointSource {
    /// The file or folder it was read from.
    pub path: String,
    /// The container format, e.g. `GGUF v3`.
    pub format: String,
    /// The model's own name from its metadata, when it has one.
    pub name: Option<String>,
    /// How many tensors had each storage type, e.g. `("Q4_1", 210)`, sorted by type.
    pub tensor_types: Vec<(String, usize)>,
    /// Size of the checkpoint's files in bytes.
    pub file_bytes: u64,
}

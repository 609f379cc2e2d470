//! `manifest.json`: the index of an export folder (documented in `docs/export-format.md`).

use crate::config::ModelConfig;
use crate::quant::QuantScheme;
use crate::tokenizer::TokenizerSpecials;
use serde::{Deserialize, Serialize};

/// The `format` value every manifest carries.
pub const FORMAT: &str = "lmfast-export";
/// The manifest version this build writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's file name inside an export folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for this build.
    pub version: u32,
    /// The model's name, when known.
    pub name: Option<String>,
    /// The scheme the matrices were quantized with (e.g. `q4g32`).
    pub quant: String,
    /// The scheme of the token embedding (and an untied head), e.g. `q8g32`.
    #[serde(default)]
    pub embedding_quant: Option<String>,
    /// The model's hyper-parameters.
    pub config: ModelConfig,
    /// The tokenizer file and its special-token facts.
    pub tokenizer: TokenizerEntry,
    /// The chat template file, when the model has one.
    pub chat_template: Option<ChatTemplateEntry>,
    /// Every tensor, in storage order.
    pub tensors: Vec<TensorEntry>,
    /// Every shard file, in order.
    pub shards: Vec<ShardEntry>,
    /// Where the export came from.
    pub source: SourceEntry,
}

/// The tokenizer (`tokenizer.json`, Hugging Face's format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerEntry {
    /// File name inside the folder.
    pub file: String,
    /// BOS/EOS facts the JSON alone does not carry.
    pub specials: TokenizerSpecials,
}

/// The chat template (Jinja source in a file of its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatTemplateEntry {
    /// File name inside the folder.
    pub file: String,
    /// Text the template's `bos_token` variable holds.
    pub bos_token: String,
    /// Text the template's `eos_token` variable holds.
    pub eos_token: String,
}

/// How a tensor is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dtype", rename_all = "lowercase")]
pub enum TensorStorage {
    /// Dense f32: one array `data` of f32.
    F32,
    /// Dense f16: one array `data` of f16.
    F16,
    /// Packed integers: arrays `q` (u32), `scales` and, when asymmetric, `mins`.
    Packed {
        /// The packing scheme.
        scheme: QuantScheme,
    },
}

/// One tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    /// Canonical name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Storage kind.
    pub storage: TensorStorage,
    /// The tensor's arrays by role (`data`, or `q`/`scales`/`mins`).
    pub arrays: Vec<ArrayEntry>,
}

/// One array of a tensor: its element type, count and where its bytes lie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayEntry {
    /// `data`, `q`, `scales` or `mins`.
    pub role: String,
    /// `u32`, `f16` or `f32`, little-endian.
    pub element: String,
    /// Number of elements.
    pub count: usize,
    /// Consecutive byte ranges that concatenated give the array (more than one only when
    /// the array is larger than a shard).
    pub pieces: Vec<Piece>,
}

/// A byte range inside one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Index into `shards`.
    pub shard: usize,
    /// Byte offset inside the shard.
    pub offset: u64,
    /// Bytes.
    pub length: u64,
}

/// One shard file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// File name inside the folder.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// Provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// The file or folder exported.
    pub path: String,
    /// Its format (`GGUF v3`, `safetensors`).
    pub format: String,
    /// lmfast version that wrote the export.
    pub writer: String,
}

/// Bytes per element of an array element type.
pub fn element_bytes(element: &str) -> Option<usize> {
    match element {
        "u32" | "f32" => Some(4),
        "f16" => Some(2),
        _ => None,
    }
}

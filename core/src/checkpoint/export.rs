//! Opening an lmfast export folder as a [`Checkpoint`]. The folder's format (manifest,
//! shards, their checks) is `format::export`'s; this file only turns a folder into the
//! bundle every other loader here returns.

use super::{Checkpoint, CheckpointSource};
use crate::error::{Error, Result};
use crate::format::export::manifest::TensorStorage;
use crate::format::export::{read_manifest, read_text_files, ExportAssembler, Manifest};
use crate::weights::{ModelWeights, WeightEntry};
use std::collections::BTreeMap;
use std::path::Path;

/// Loads an export folder: packed matrices stay packed, dense tensors become f32.
///
/// Shards are read one at a time and their bytes routed to the arrays they hold, so the
/// peak memory is the model's packed size plus one shard.
pub fn load_export(dir: &Path) -> Result<Checkpoint> {
    let manifest = read_manifest(dir)?;
    let (tokenizer, chat_template) = read_text_files(dir, &manifest)?;
    let mut assembler = ExportAssembler::new(manifest.clone());
    let mut weights = ModelWeights::new();
    for (index, shard) in manifest.shards.iter().enumerate() {
        let path = dir.join(&shard.file);
        let data = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        for (name, entry) in assembler.add_shard(index, &data)? {
            match entry {
                WeightEntry::Dense(t) => weights.insert(name, t),
                WeightEntry::Packed(p) => weights.insert_packed(name, p),
            }
        }
    }
    assembler.finish()?;
    Ok(Checkpoint {
        config: manifest.config.clone(),
        weights,
        tokenizer,
        chat_template,
        source: export_source(&manifest, &dir.display().to_string()),
    })
}

/// What `lmfast info` shows about an export read from `path`.
pub fn export_source(manifest: &Manifest, path: &str) -> CheckpointSource {
    let file_bytes = manifest.shards.iter().map(|s| s.bytes).sum();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in &manifest.tensors {
        let kind = match &t.storage {
            TensorStorage::F32 => "f32".to_owned(),
            TensorStorage::F16 => "f16".to_owned(),
            TensorStorage::Packed { scheme } => scheme.to_string(),
        };
        *counts.entry(kind).or_default() += 1;
    }
    CheckpointSource {
        path: path.to_owned(),
        format: format!("lmfast export v{} ({})", manifest.version, manifest.quant),
        name: manifest.name.clone(),
        tensor_types: counts.into_iter().collect(),
        file_bytes,
    }
}

//! Reading and checking an export folder.

use super::manifest::*;
use super::shard_writer::hex;
use crate::chat_template::ChatTemplate;
use crate::checkpoint::{Checkpoint, CheckpointSource};
use crate::error::{Error, Result};
use crate::quant::{GroupValues, PackedMatrix, PackedParts, ScaleType};
use crate::tokenizer::Tokenizer;
use crate::weights::{HostTensor, ModelWeights};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads `dir/manifest.json` and checks that it is internally consistent and that every
/// file it names exists with the recorded size (hashes are checked by [`verify_export`]).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let file = path.display().to_string();
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| Error::format(&file, e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(Error::format(
            &file,
            format!("format is '{}', expected '{FORMAT}'", manifest.format),
        ));
    }
    if manifest.version != VERSION {
        return Err(Error::format(
            &file,
            format!(
                "version {} is not supported by this build (it reads version {VERSION})",
                manifest.version
            ),
        ));
    }
    manifest.config.validate()?;
    for shard in &manifest.shards {
        check_file_name(&file, &shard.file)?;
        let shard_path = dir.join(&shard.file);
        let len = std::fs::metadata(&shard_path)
            .map_err(|source| Error::Io {
                path: shard_path.clone(),
                source,
            })?
            .len();
        if len != shard.bytes {
            return Err(Error::format(
                shard_path.display().to_string(),
                format!("{len} bytes, the manifest says {}", shard.bytes),
            ));
        }
    }
    for t in &manifest.tensors {
        for a in &t.arrays {
            let width = element_bytes(&a.element).ok_or_else(|| {
                Error::tensor(&t.name, format!("unknown element type '{}'", a.element))
            })?;
            let mut total = 0u64;
            for p in &a.pieces {
                let shard = manifest.shards.get(p.shard).ok_or_else(|| {
                    Error::tensor(
                        &t.name,
                        format!(
                            "array {} names shard {} of {}",
                            a.role,
                            p.shard,
                            manifest.shards.len()
                        ),
                    )
                })?;
                let end = p.offset.checked_add(p.length);
                if end.is_none_or(|end| end > shard.bytes) {
                    return Err(Error::tensor(
                        &t.name,
                        format!(
                            "array {} reaches past the end of {} ({} + {} > {})",
                            a.role, shard.file, p.offset, p.length, shard.bytes
                        ),
                    ));
                }
                total += p.length;
            }
            if Some(total) != (a.count as u64).checked_mul(width as u64) {
                return Err(Error::tensor(
                    &t.name,
                    format!(
                        "array {} has {total} bytes for {} {} values",
                        a.role, a.count, a.element
                    ),
                ));
            }
        }
    }
    check_file_name(&file, &manifest.tokenizer.file)?;
    if let Some(t) = &manifest.chat_template {
        check_file_name(&file, &t.file)?;
    }
    Ok(manifest)
}

/// A manifest may only name files inside its own folder.
fn check_file_name(manifest: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return Err(Error::format(
            manifest,
            format!("file name '{name}' is not a plain file name inside the export folder"),
        ));
    }
    Ok(())
}

/// What [`verify_export`] checked.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Shards whose size and hash matched.
    pub shards: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Tensors whose arrays are in bounds and of the right size.
    pub tensors: usize,
}

/// Checks the manifest, every bound, every shard's SHA-256, and that the tokenizer and chat
/// template parse; the first problem is returned as an error naming the file.
pub fn verify_export(dir: &Path) -> Result<VerifyReport> {
    let manifest = read_manifest(dir)?;
    let mut bytes = 0;
    for shard in &manifest.shards {
        let path = dir.join(&shard.file);
        let data = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let actual = hex(&Sha256::digest(&data));
        if actual != shard.sha256 {
            return Err(Error::format(
                path.display().to_string(),
                format!(
                    "sha256 {actual} does not match the manifest's {}",
                    shard.sha256
                ),
            ));
        }
        bytes += data.len() as u64;
    }
    let (tokenizer, template) = read_text_files(dir, &manifest)?;
    drop((tokenizer, template));
    Ok(VerifyReport {
        shards: manifest.shards.len(),
        bytes,
        tensors: manifest.tensors.len(),
    })
}

fn read_text_files(dir: &Path, m: &Manifest) -> Result<(Tokenizer, Option<ChatTemplate>)> {
    let tokenizer =
        Tokenizer::from_file(&dir.join(&m.tokenizer.file), m.tokenizer.specials.clone())?;
    let template = match &m.chat_template {
        Some(t) => {
            let path = dir.join(&t.file);
            let source = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            Some(ChatTemplate::new(
                source,
                Some(t.bos_token.clone()),
                Some(t.eos_token.clone()),
            )?)
        }
        None => None,
    };
    Ok((tokenizer, template))
}

/// Loads an export folder: packed matrices stay packed, dense tensors become f32.
///
/// Shards are read one at a time and their bytes routed to the arrays they hold, so the
/// peak memory is the model's packed size plus one shard.
pub fn load_export(dir: &Path) -> Result<Checkpoint> {
    let manifest = read_manifest(dir)?;
    let (tokenizer, chat_template) = read_text_files(dir, &manifest)?;

    // Destination buffers, one per (tensor, array), filled shard by shard.
    let mut buffers: Vec<Vec<Vec<u8>>> = manifest
        .tensors
        .iter()
        .map(|t| {
            t.arrays
                .iter()
                .map(|a| Vec::with_capacity(a.count * element_bytes(&a.element).unwrap_or(4)))
                .collect()
        })
        .collect();
    let mut by_shard: BTreeMap<usize, Vec<(usize, usize, usize)>> = BTreeMap::new();
    for (ti, t) in manifest.tensors.iter().enumerate() {
        for (ai, a) in t.arrays.iter().enumerate() {
            for (pi, p) in a.pieces.iter().enumerate() {
                by_shard.entry(p.shard).or_default().push((ti, ai, pi));
            }
        }
    }
    // Pieces of one array must be appended in order; shards are visited in order and an
    // array's pieces lie in increasing shards, so this holds.
    for (shard_index, pieces) in by_shard {
        let shard = &manifest.shards[shard_index];
        let path = dir.join(&shard.file);
        let data = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut sorted = pieces;
        sorted.sort_by_key(|&(ti, ai, pi)| (ti, ai, pi));
        for (ti, ai, pi) in sorted {
            let p = manifest.tensors[ti].arrays[ai].pieces[pi];
            let (start, end) = (p.offset as usize, (p.offset + p.length) as usize);
            buffers[ti][ai].extend_from_slice(&data[start..end]);
        }
    }

    let mut weights = ModelWeights::new();
    for (t, arrays) in manifest.tensors.iter().zip(buffers) {
        let mut by_role: BTreeMap<&str, (Vec<u8>, &str, usize)> = BTreeMap::new();
        for (a, bytes) in t.arrays.iter().zip(arrays) {
            by_role.insert(a.role.as_str(), (bytes, a.element.as_str(), a.count));
        }
        let mut take = |role: &str| {
            by_role
                .remove(role)
                .ok_or_else(|| Error::tensor(&t.name, format!("array '{role}' is missing")))
        };
        match &t.storage {
            TensorStorage::F32 | TensorStorage::F16 => {
                let (bytes, element, _) = take("data")?;
                let data = to_f32(&t.name, &bytes, element)?;
                weights.insert(
                    t.name.clone(),
                    HostTensor::new(&t.name, t.shape.clone(), data)?,
                );
            }
            TensorStorage::Packed { scheme } => {
                let [rows, cols] = t.shape[..] else {
                    return Err(Error::tensor(
                        &t.name,
                        format!("a packed tensor must be a matrix, not {:?}", t.shape),
                    ));
                };
                let (q, _, _) = take("q")?;
                let q = q
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let values = |(bytes, element, count): (Vec<u8>, &str, usize)| {
                    let ty = match element {
                        "f16" => ScaleType::F16,
                        _ => ScaleType::F32,
                    };
                    GroupValues::from_le_bytes(&bytes, ty, count)
                        .ok_or_else(|| Error::tensor(&t.name, "scale array has the wrong size"))
                };
                let scales = values(take("scales")?)?;
                let mins = match by_role.remove("mins") {
                    Some(m) => Some(values(m)?),
                    None => None,
                };
                let packed = PackedMatrix::from_parts(
                    &t.name,
                    PackedParts {
                        scheme: *scheme,
                        rows,
                        cols,
                        q,
                        scales,
                        mins,
                    },
                )?;
                weights.insert_packed(t.name.clone(), packed);
            }
        }
    }
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
    Ok(Checkpoint {
        config: manifest.config.clone(),
        weights,
        tokenizer,
        chat_template,
        source: CheckpointSource {
            path: dir.display().to_string(),
            format: format!("lmfast export v{} ({})", manifest.version, manifest.quant),
            name: manifest.name.clone(),
            tensor_types: counts.into_iter().collect(),
            file_bytes,
        },
    })
}

fn to_f32(name: &str, bytes: &[u8], element: &str) -> Result<Vec<f32>> {
    match element {
        "f32" => Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        "f16" => Ok(bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()),
        other => Err(Error::tensor(
            name,
            format!("dense data cannot be '{other}'"),
        )),
    }
}

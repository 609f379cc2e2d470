//! Reading and checking an export folder.

use super::manifest::*;
use super::shard_writer::hex;
use crate::chat_template::ChatTemplate;
use crate::error::{Error, Result};
use crate::tokenizer::Tokenizer;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Reads `dir/manifest.json` and checks that it is internally consistent and that every
/// file it names exists with the recorded size (hashes are checked by [`verify_export`]).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let manifest = parse_manifest(&bytes, &path.display().to_string())?;
    for shard in &manifest.shards {
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
    Ok(manifest)
}

/// Parses `manifest.json`'s bytes (`file` names it in errors) and checks that the manifest is
/// internally consistent: format and version, the config, plain file names, and every array
/// piece inside its shard with the byte count its element type and count imply. No file is
/// touched, so the browser loader uses it as it is.
pub fn parse_manifest(bytes: &[u8], file: &str) -> Result<Manifest> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| Error::format(file, e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(Error::format(
            file,
            format!("format is '{}', expected '{FORMAT}'", manifest.format),
        ));
    }
    if manifest.version != VERSION {
        return Err(Error::format(
            file,
            format!(
                "version {} is not supported by this build (it reads version {VERSION})",
                manifest.version
            ),
        ));
    }
    manifest.config.validate()?;
    for shard in &manifest.shards {
        check_file_name(file, &shard.file)?;
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
    check_file_name(file, &manifest.tokenizer.file)?;
    if let Some(t) = &manifest.chat_template {
        check_file_name(file, &t.file)?;
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

/// The tokenizer and chat template of the export in `dir`, read from the files its manifest
/// names.
pub fn read_text_files(dir: &Path, m: &Manifest) -> Result<(Tokenizer, Option<ChatTemplate>)> {
    let tokenizer =
        Tokenizer::from_file(&dir.join(&m.tokenizer.file), m.tokenizer.specials.clone())?;
    let source = match &m.chat_template {
        Some(t) => {
            let path = dir.join(&t.file);
            Some(std::fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?)
        }
        None => None,
    };
    Ok((tokenizer, chat_template_from(m, source)?))
}

/// The tokenizer and chat template of an export, from the contents of the files the
/// manifest names (the browser fetches them; [`read_text_files`] reads them from disk).
pub fn text_files_from(
    manifest: &Manifest,
    tokenizer_json: &[u8],
    chat_template: Option<String>,
) -> Result<(Tokenizer, Option<ChatTemplate>)> {
    let tokenizer =
        Tokenizer::from_json_bytes(tokenizer_json, manifest.tokenizer.specials.clone())?;
    Ok((tokenizer, chat_template_from(manifest, chat_template)?))
}

/// The export's chat template from the text of the file its manifest names (`None` when it
/// names none; an error when it names one and no text was given).
fn chat_template_from(manifest: &Manifest, source: Option<String>) -> Result<Option<ChatTemplate>> {
    match (&manifest.chat_template, source) {
        (Some(t), Some(source)) => Ok(Some(ChatTemplate::new(
            source,
            Some(t.bos_token.clone()),
            Some(t.eos_token.clone()),
        )?)),
        (Some(t), None) => Err(Error::format(
            &t.file,
            "the manifest names a chat template but none was given",
        )),
        (None, _) => Ok(None),
    }
}

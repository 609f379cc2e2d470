//! Writing an export folder: quantize, shard, hash, then move into place atomically.

use super::manifest::*;
use super::shard_writer::ShardWriter;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::quant::{PackedMatrix, QuantScheme};
use crate::weights::{HostTensor, WeightEntry};
use std::path::{Path, PathBuf};

/// What to write.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Scheme of the block matrices.
    pub quant: QuantScheme,
    /// Scheme of the embedding (and untied head); `None` uses `quant.default_embedding()`.
    pub embedding: Option<QuantScheme>,
    /// Largest shard in bytes.
    pub shard_size: u64,
    /// Replace an existing folder at the destination.
    pub force: bool,
}

/// Progress reports while exporting.
#[derive(Debug, Clone, Copy)]
pub enum ExportProgress<'a> {
    /// Tensor `name` was quantized (`done` of `total` matrices).
    Quantized {
        /// The tensor.
        name: &'a str,
        /// Matrices done.
        done: usize,
        /// Matrices in all.
        total: usize,
    },
    /// Bytes of tensor data written so far.
    Written {
        /// Bytes written.
        bytes: u64,
        /// Bytes to write.
        total: u64,
    },
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// The export folder.
    pub dir: PathBuf,
    /// Shard files.
    pub shards: usize,
    /// Bytes of all shards.
    pub shard_bytes: u64,
    /// Tensors stored.
    pub tensors: usize,
    /// Storage bits per weight over every weight (norms and biases included).
    pub bits_per_weight: f64,
}

/// Exports `checkpoint` to the folder `out`.
///
/// Everything is written into a hidden temporary folder beside `out` and renamed into place
/// at the end, so a failed export never leaves a half-written folder under the final name.
pub fn write_export(
    checkpoint: Checkpoint,
    out: &Path,
    options: &ExportOptions,
    progress: &mut dyn FnMut(ExportProgress<'_>),
) -> Result<ExportSummary> {
    if options.shard_size < 4096 {
        return Err(Error::config(
            "shard_size",
            format!("{} bytes is too small (at least 4096)", options.shard_size),
        ));
    }
    if out.exists() && !options.force {
        return Err(Error::Io {
            path: out.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists (pass --force to replace it)",
            ),
        });
    }
    let Checkpoint {
        config,
        mut weights,
        tokenizer,
        chat_template,
        source,
    } = checkpoint;

    crate::weights::quantize_model_weights(
        &mut weights,
        options.quant,
        options.embedding,
        |name, done, total| progress(ExportProgress::Quantized { name, done, total }),
    )?;

    let staging = staging_dir(out)?;
    let guard = RemoveOnDrop(Some(staging.clone()));
    std::fs::create_dir_all(&staging).map_err(|source| Error::Io {
        path: staging.clone(),
        source,
    })?;

    let tokenizer_file = "tokenizer.json";
    write_file(
        &staging.join(tokenizer_file),
        tokenizer.to_json(false)?.as_bytes(),
    )?;
    let chat_template = match &chat_template {
        Some(t) => {
            let file = "chat_template.jinja";
            write_file(&staging.join(file), t.source().as_bytes())?;
            Some(ChatTemplateEntry {
                file: file.into(),
                bos_token: t.bos_token().into(),
                eos_token: t.eos_token().into(),
            })
        }
        None => None,
    };

    let entries = weights.into_entries();
    let total_bytes: u64 = entries
        .iter()
        .map(|(name, e)| match e {
            WeightEntry::Packed(p) => p.storage_bytes() as u64,
            WeightEntry::Dense(t) => (t.data.len() * dense_bytes(name, t, options.quant)) as u64,
        })
        .sum();
    let mut shards = ShardWriter::new(&staging, options.shard_size);
    let mut tensors = Vec::with_capacity(entries.len());
    let (mut written, mut elements) = (0u64, 0u64);
    for (name, entry) in entries {
        let (storage, shape, arrays) = match entry {
            WeightEntry::Packed(p) => {
                elements += (p.rows() * p.cols()) as u64;
                packed_arrays(&p, &mut shards)?
            }
            WeightEntry::Dense(t) => {
                elements += t.data.len() as u64;
                dense_arrays(&name, &t, options.quant, &mut shards)?
            }
        };
        written += arrays
            .iter()
            .flat_map(|a| a.pieces.iter())
            .map(|p| p.length)
            .sum::<u64>();
        progress(ExportProgress::Written {
            bytes: written,
            total: total_bytes,
        });
        tensors.push(TensorEntry {
            name,
            shape,
            storage,
            arrays,
        });
    }
    let shards = shards.finish()?;
    let shard_bytes: u64 = shards.iter().map(|s| s.bytes).sum();
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        name: source.name.clone(),
        quant: options.quant.to_string(),
        embedding_quant: Some(
            options
                .embedding
                .unwrap_or(options.quant.default_embedding())
                .to_string(),
        ),
        config,
        tokenizer: TokenizerEntry {
            file: tokenizer_file.into(),
            specials: tokenizer.specials().clone(),
        },
        chat_template,
        tensors,
        shards,
        source: SourceEntry {
            path: source.path.clone(),
            format: source.format.clone(),
            writer: format!("lmfast {}", env!("CARGO_PKG_VERSION")),
        },
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::format(MANIFEST_FILE, e.to_string()))?;
    write_file(&staging.join(MANIFEST_FILE), &json)?;

    move_into_place(&staging, out, options.force)?;
    std::mem::forget(guard);
    Ok(ExportSummary {
        dir: out.to_path_buf(),
        shards: manifest.shards.len(),
        shard_bytes,
        tensors: manifest.tensors.len(),
        bits_per_weight: (written * 8) as f64 / elements.max(1) as f64,
    })
}

/// Bytes per element a dense tensor is stored with: f16 for matrices of an f16 export,
/// f32 otherwise (norms and biases always stay f32).
fn dense_bytes(name: &str, t: &HostTensor, quant: QuantScheme) -> usize {
    if quant == QuantScheme::F16 && t.shape.len() == 2 && !name.contains("norm") {
        2
    } else {
        4
    }
}

fn packed_arrays(
    p: &PackedMatrix,
    shards: &mut ShardWriter,
) -> Result<(TensorStorage, Vec<usize>, Vec<ArrayEntry>)> {
    let element = match p.scale_type() {
        crate::quant::ScaleType::F16 => "f16",
        crate::quant::ScaleType::F32 => "f32",
    };
    let q: Vec<u8> = p.q().iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut arrays = vec![ArrayEntry {
        role: "q".into(),
        element: "u32".into(),
        count: p.q().len(),
        pieces: shards.write_array(&q)?,
    }];
    arrays.push(ArrayEntry {
        role: "scales".into(),
        element: element.into(),
        count: p.scales().len(),
        pieces: shards.write_array(&p.scales().to_le_bytes())?,
    });
    if let Some(m) = p.mins() {
        arrays.push(ArrayEntry {
            role: "mins".into(),
            element: element.into(),
            count: m.len(),
            pieces: shards.write_array(&m.to_le_bytes())?,
        });
    }
    Ok((
        TensorStorage::Packed { scheme: p.scheme() },
        vec![p.rows(), p.cols()],
        arrays,
    ))
}

fn dense_arrays(
    name: &str,
    t: &HostTensor,
    quant: QuantScheme,
    shards: &mut ShardWriter,
) -> Result<(TensorStorage, Vec<usize>, Vec<ArrayEntry>)> {
    let (storage, element, bytes): (_, _, Vec<u8>) = if dense_bytes(name, t, quant) == 2 {
        let b = t
            .data
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        (TensorStorage::F16, "f16", b)
    } else {
        let b = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        (TensorStorage::F32, "f32", b)
    };
    let array = ArrayEntry {
        role: "data".into(),
        element: element.into(),
        count: t.data.len(),
        pieces: shards.write_array(&bytes)?,
    };
    Ok((storage, t.shape.clone(), vec![array]))
}

fn staging_dir(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .ok_or_else(|| Error::config("out", format!("{} has no folder name", out.display())))?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| Error::Io {
        path: parent.to_path_buf(),
        source,
    })?;
    Ok(parent.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

fn move_into_place(staging: &Path, out: &Path, force: bool) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    if out.exists() && force {
        // Swap the old folder out first so that a crash leaves either the old or the new one.
        let old = staging.with_extension("old");
        std::fs::rename(out, &old).map_err(io(out))?;
        std::fs::rename(staging, out).map_err(io(out))?;
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
        return Ok(());
    }
    std::fs::rename(staging, out).map_err(io(out))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Removes the staging folder unless the export completed.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

//! `lmfast tokenizer`: look at a model's tokenizer, or write it out as `tokenizer.json`.

use crate::model_path;
use anyhow::Context;
use clap::Args;
use lmfast_core::format::gguf::GgufFile;
use lmfast_core::tokenizer::Tokenizer;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `lmfast tokenizer`.
#[derive(Args)]
pub struct TokenizerArgs {
    /// The model file (GGUF); defaults to the default model.
    model: Option<PathBuf>,
    /// Print the token ids and pieces of this text.
    #[arg(long)]
    encode: Option<String>,
    /// Write the tokenizer as a Hugging Face `tokenizer.json` to this path.
    #[arg(long)]
    write_json: Option<PathBuf>,
}

/// Encodes text and/or writes `tokenizer.json`.
pub fn run(args: TokenizerArgs) -> anyhow::Result<()> {
    let path = model_path::resolve(args.model)?;
    let file = GgufFile::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let tokenizer = Tokenizer::from_gguf(&file)?;
    if args.encode.is_none() && args.write_json.is_none() {
        anyhow::bail!("nothing to do: give --encode TEXT and/or --write-json FILE");
    }
    if let Some(text) = &args.encode {
        let ids = tokenizer.encode(text, false)?;
        let pieces: Vec<String> = ids
            .iter()
            .map(|&id| tokenizer.id_to_piece(id).unwrap_or_default())
            .collect();
        println!("{}", serde_json::json!({ "ids": ids, "pieces": pieces }));
    }
    if let Some(out) = &args.write_json {
        write_atomically(out, tokenizer.to_json(true)?.as_bytes())?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// Writes through a temporary file in the same folder, then renames, so a failure never
/// leaves a half-written file under the final name.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

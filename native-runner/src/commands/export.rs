//! `lmfast export`: quantize a model and write the sharded folder browsers and `lmfast` load.

use super::load_checkpoint;
use crate::model_path;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lmfast_core::format::export::{write_export, ExportOptions, ExportProgress};
use lmfast_core::quant::QuantScheme;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `lmfast export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The model to export: a GGUF file (weights are dequantized, then re-quantized) or an
    /// export folder; defaults to the default model.
    model: Option<PathBuf>,
    /// The folder to write (must not exist unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Scheme of the block matrices: q4g32 (default; int4 with a scale and a minimum per 32),
    /// q4g64, q4g128, q4g32-sym (scale only), q4g32-f32 (f32 scales),
    /// q4_0, q8g32, q8g64, f16 or f32.
    #[arg(long, default_value = "q4g32")]
    quant: String,
    /// Scheme of the token embedding (and untied head); defaults to q8g32 when --quant is
    /// int4 (the embedding is where 4 bits cost most quality), else to --quant.
    #[arg(long)]
    embedding_quant: Option<String>,
    /// Largest shard, e.g. 32MiB, 500KB, 1048576.
    #[arg(long, default_value = "32MiB")]
    shard_size: String,
    /// Replace the output folder if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs the export with progress bars.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let path = model_path::resolve(args.model)?;
    let quant = QuantScheme::parse(&args.quant)?;
    let embedding = args
        .embedding_quant
        .as_deref()
        .map(QuantScheme::parse)
        .transpose()?;
    let shard_size = parse_size(&args.shard_size)?;
    let started = Instant::now();
    let spinner = ProgressBar::new_spinner().with_message(format!("reading {}", path.display()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let checkpoint = load_checkpoint(&path)?;
    spinner.finish_with_message(format!(
        "read {} in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    ));

    let style = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let quant_bar = ProgressBar::new(0)
        .with_style(style.clone())
        .with_message("quantize");
    let bytes_style =
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    let write_bar = ProgressBar::hidden();
    let options = ExportOptions {
        quant,
        embedding,
        shard_size,
        force: args.force,
    };
    let summary = write_export(checkpoint, &args.out, &options, &mut |event| match event {
        ExportProgress::Quantized { done, total, .. } => {
            quant_bar.set_length(total as u64);
            quant_bar.set_position(done as u64);
        }
        ExportProgress::Written { bytes, total } => {
            if write_bar.is_hidden() {
                quant_bar.finish();
                write_bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                write_bar.set_style(bytes_style.clone());
                write_bar.set_message("write");
            }
            write_bar.set_length(total);
            write_bar.set_position(bytes);
        }
    })
    .with_context(|| format!("exporting to {}", args.out.display()))?;
    write_bar.finish();
    eprintln!(
        "wrote {}: {} tensors in {} shards, {:.1} MiB, {:.3} bits per weight, in {:.1} s",
        summary.dir.display(),
        summary.tensors,
        summary.shards,
        summary.shard_bytes as f64 / (1024.0 * 1024.0),
        summary.bits_per_weight,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Parses `32MiB`, `500KB`, `2GiB` or a plain byte count.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .with_context(|| format!("'{text}' is not a size like 32MiB"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1024,
        "mb" => 1000 * 1000,
        "mib" | "m" => 1024 * 1024,
        "gb" => 1000 * 1000 * 1000,
        "gib" | "g" => 1024 * 1024 * 1024,
        other => anyhow::bail!("unknown size unit '{other}' in '{text}'"),
    };
    n.checked_mul(factor)
        .with_context(|| format!("'{text}' is too large"))
}

//! `lmfast eval perplexity`: how well a model (or a quantization of it) predicts real text.
//!
//! The text is tokenized once and cut into windows of `--ctx` tokens; each window runs from
//! an empty cache and only its second half is scored, so every scored token sees at least
//! `ctx/2` tokens of context (the method of llama.cpp's `perplexity` tool).

use super::{engine_for, load_checkpoint, RunArgs};
use crate::model_path;
use anyhow::Context;
use clap::{Args, Subcommand};
use lmfast_core::decoder::{block_on, Decoder, Want};
use lmfast_core::quant::QuantScheme;
use lmfast_core::weights::quantize_model_weights;
use std::path::PathBuf;
use std::time::Instant;

/// `lmfast eval` subcommands.
#[derive(Subcommand)]
pub enum EvalCommand {
    /// Perplexity on a text file.
    Perplexity(PerplexityArgs),
}

/// Arguments of `lmfast eval perplexity`.
#[derive(Args)]
pub struct PerplexityArgs {
    /// The model: a GGUF file or an export folder; defaults to the default model.
    model: Option<PathBuf>,
    /// The text to score (UTF-8).
    #[arg(long)]
    text: PathBuf,
    /// Window length in tokens.
    #[arg(long, default_value_t = 512)]
    ctx: usize,
    /// Score at most this many windows (from the start of the text).
    #[arg(long)]
    max_chunks: Option<usize>,
    /// Quantize the model's matrices in memory first (e.g. q4g32, q4_0), to compare schemes
    /// without writing exports.
    #[arg(long)]
    quant: Option<String>,
    /// Scheme of the embedding when --quant is given (defaults as in `lmfast export`).
    #[arg(long)]
    embedding_quant: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs an eval subcommand.
pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Perplexity(args) => perplexity(args),
    }
}

fn perplexity(args: PerplexityArgs) -> anyhow::Result<()> {
    args.run.init_threads()?;
    anyhow::ensure!(args.ctx >= 16, "--ctx must be at least 16");
    let path = model_path::resolve(args.model)?;
    // Files from old corpora often have CRLF line ends; score the text, not the line ends.
    let text = std::fs::read_to_string(&args.text)
        .with_context(|| format!("reading {}", args.text.display()))?
        .replace("\r\n", "\n");
    let mut checkpoint = load_checkpoint(&path)?;
    let mut bits = None;
    if let Some(q) = &args.quant {
        let scheme = QuantScheme::parse(q)?;
        let embedding = args
            .embedding_quant
            .as_deref()
            .map(QuantScheme::parse)
            .transpose()?;
        quantize_model_weights(&mut checkpoint.weights, scheme, embedding, |_, _, _| {})?;
        bits = Some(scheme.bits_per_weight());
    }
    let engine = engine_for(checkpoint, Some(args.ctx), &args.run)?;
    let ids = engine.tokenizer().encode(&text, false)?;
    let windows = ids.len() / args.ctx;
    anyhow::ensure!(
        windows > 0,
        "{} has {} tokens, fewer than one window of {}",
        args.text.display(),
        ids.len(),
        args.ctx
    );
    let windows = args.max_chunks.map_or(windows, |m| m.min(windows));
    let started = Instant::now();
    let (nll, scored) = score(engine.runner(), &ids, args.ctx, windows)?;
    let ppl = (nll / scored as f64).exp();
    if args.json {
        let value = serde_json::json!({
            "model": path.display().to_string(),
            "quant": args.quant,
            "embedding_quant": args.embedding_quant,
            "bits_per_weight": bits,
            "text": args.text.display().to_string(),
            "text_tokens": ids.len(),
            "ctx": args.ctx,
            "windows": windows,
            "scored_tokens": scored,
            "perplexity": ppl,
            "seconds": started.elapsed().as_secs_f64(),
        });
        println!("{value}");
    } else {
        println!(
            "perplexity {ppl:.4} over {scored} tokens ({windows} windows of {}; text has {} tokens) in {:.1} s",
            args.ctx,
            ids.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Sum of negative log-likelihoods of the second half of each window, and how many tokens.
fn score<D: Decoder>(
    model: &D,
    ids: &[u32],
    ctx: usize,
    windows: usize,
) -> anyhow::Result<(f64, usize)> {
    let vocab = model.config().vocab_size;
    let (mut nll, mut scored) = (0f64, 0usize);
    for w in 0..windows {
        let window = &ids[w * ctx..(w + 1) * ctx];
        let mut cache = model.new_cache(ctx)?;
        let logits = block_on(model.forward(window, &mut cache, Want::AllLogits))?.into_values()?;
        for pos in ctx / 2..ctx - 1 {
            let row = &logits[pos * vocab..(pos + 1) * vocab];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row
                .iter()
                .map(|&v| f64::from(v - max).exp())
                .sum::<f64>()
                .ln();
            let target = window[pos + 1] as usize;
            nll += log_sum - f64::from(row[target] - max);
            scored += 1;
        }
    }
    Ok((nll, scored))
}

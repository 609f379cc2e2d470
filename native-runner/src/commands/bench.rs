//! `lmfast bench`: prefill and decode speed, time to first token, load time and peak memory,
//! as medians over several runs (each run loads the model afresh).

use super::{engine_for, load_checkpoint, RunArgs};
use crate::model_path;
use anyhow::Context;
use clap::Args;
use lmfast_core::decoder::{block_on, Decoder, Want};
use lmfast_core::engine::Runner;
use std::path::PathBuf;
use std::time::Instant;

/// A public-domain passage (the opening of the US Declaration of Independence) that the
/// default prompt is cut from, repeated when more tokens are asked for.
const PASSAGE: &str = "When in the Course of human events, it becomes necessary for one people to dissolve the political bands which have connected them with another, and to assume among the powers of the earth, the separate and equal station to which the Laws of Nature and of Nature's God entitle them, a decent respect to the opinions of mankind requires that they should declare the causes which impel them to the separation. We hold these truths to be self-evident, that all men are created equal, that they are endowed by their Creator with certain unalienable Rights, that among these are Life, Liberty and the pursuit of Happiness. ";

/// Arguments of `lmfast bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// The model: a GGUF file or an export folder; defaults to the default model.
    model: Option<PathBuf>,
    /// Prompt length in tokens (cut from a fixed English passage).
    #[arg(long, default_value_t = 128)]
    prompt_tokens: usize,
    /// Prompt ids from a JSON array file instead (as the peer benchmarks use).
    #[arg(long)]
    prompt_ids: Option<PathBuf>,
    /// Tokens to generate greedily (never stopped early).
    #[arg(long, default_value_t = 128)]
    gen_tokens: usize,
    /// Runs; medians are reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[command(flatten)]
    run: RunArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// One run's figures.
struct RunFigures {
    load_s: f64,
    prefill_s: f64,
    ttft_s: f64,
    decode_s: f64,
    tokens: Vec<u32>,
}

/// Runs the benchmark and prints medians.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    args.run.init_threads()?;
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(args.gen_tokens > 1, "--gen-tokens must be at least 2");
    let path = model_path::resolve(args.model)?;
    let mut runs = Vec::with_capacity(args.runs);
    let mut prompt: Vec<u32> = Vec::new();
    let mut backend = String::new();
    let mut bytes_per_token = None;
    for _ in 0..args.runs {
        let started = Instant::now();
        let checkpoint = load_checkpoint(&path)?;
        let engine = engine_for(checkpoint, None, &args.run)?;
        let load_s = started.elapsed().as_secs_f64();
        if prompt.is_empty() {
            prompt = match &args.prompt_ids {
                Some(file) => read_ids(file)?,
                None => passage_ids(&engine, args.prompt_tokens)?,
            };
            anyhow::ensure!(!prompt.is_empty(), "the prompt is empty");
        }
        backend = engine.runner().describe();
        let capacity = prompt.len() + args.gen_tokens;
        if let Runner::Cpu(m) = engine.runner() {
            bytes_per_token = Some(m.weight_bytes_per_token());
        }
        let figures = run_once(engine.runner(), &prompt, args.gen_tokens, capacity)?;
        runs.push(RunFigures { load_s, ..figures });
    }
    let median = |f: &dyn Fn(&RunFigures) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let p = prompt.len() as f64;
    let g = (args.gen_tokens - 1) as f64;
    let load_s = median(&|r| r.load_s);
    let ttft_s = median(&|r| r.ttft_s);
    let prefill = median(&|r| p / r.prefill_s);
    let decode = median(&|r| g / r.decode_s);
    let rss = peak_rss_mib();
    if args.json {
        let value = serde_json::json!({
            "engine": "lmfast",
            "version": env!("CARGO_PKG_VERSION"),
            "model": path.display().to_string(),
            "backend": backend,
            "threads": lmfast_core::parallel::threads(),
            "prompt_tokens": prompt.len(),
            "gen_tokens": args.gen_tokens,
            "runs": args.runs,
            "load_s": load_s,
            "ttft_s": ttft_s,
            "prefill_tok_s": prefill,
            "decode_tok_s": decode,
            "peak_rss_mib": rss,
            "weight_bytes_per_token": bytes_per_token,
            "tokens": runs[0].tokens,
        });
        println!("{value}");
    } else {
        println!("model         {}", path.display());
        println!("backend       {backend}");
        println!(
            "prompt        {} tokens, {} generated, {} runs (medians below)",
            prompt.len(),
            args.gen_tokens,
            args.runs
        );
        println!("load          {load_s:.3} s");
        println!("first token   {:.1} ms", ttft_s * 1000.0);
        println!("prefill       {prefill:.1} tok/s");
        println!("decode        {decode:.1} tok/s");
        if let Some(rss) = rss {
            println!("peak RSS      {rss:.1} MiB");
        }
    }
    Ok(())
}

/// Greedy decoding straight on the decoder (the argmax on the device where it has one), so
/// the figures are the model's, not the sampler's.
fn run_once<D: Decoder>(
    model: &D,
    prompt: &[u32],
    gen: usize,
    capacity: usize,
) -> anyhow::Result<RunFigures> {
    let vocab = model.config().vocab_size;
    let mut cache = model.new_cache(capacity)?;
    let started = Instant::now();
    let first = block_on(model.forward(prompt, &mut cache, Want::Argmax))?;
    let prefill_s = started.elapsed().as_secs_f64();
    let mut token = first.greedy_token(vocab)?;
    let ttft_s = started.elapsed().as_secs_f64();
    let mut tokens = vec![token];
    let decode_started = Instant::now();
    for _ in 1..gen {
        token = block_on(model.forward(&[token], &mut cache, Want::Argmax))?.greedy_token(vocab)?;
        tokens.push(token);
    }
    Ok(RunFigures {
        load_s: 0.0,
        prefill_s,
        ttft_s,
        decode_s: decode_started.elapsed().as_secs_f64(),
        tokens,
    })
}

fn read_ids(file: &PathBuf) -> anyhow::Result<Vec<u32>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: expected a JSON array of token ids", file.display()))
}

fn passage_ids(engine: &lmfast_core::engine::Engine, n: usize) -> anyhow::Result<Vec<u32>> {
    let mut text = String::new();
    loop {
        text.push_str(PASSAGE);
        let ids = engine.encode_prompt(&text)?;
        if ids.len() >= n {
            return Ok(ids[..n].to_vec());
        }
    }
}

/// The process's peak resident memory (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

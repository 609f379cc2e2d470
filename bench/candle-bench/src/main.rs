//! candle peer for lmfast's native CPU benchmark.
//!
//! Loads a GGUF with `candle_transformers::models::quantized_llama::ModelWeights::from_gguf`,
//! prefills the given prompt ids, then decodes greedily one token at a time. Prints one JSON
//! object (medians over the runs) with the same keys as `bench/peers/llama_cpp_bench.py`.
//!
//! Usage: candle-bench --model GGUF --prompt-ids FILE --gen-tokens N --threads N --runs N [--json]
//!
//! Threads: candle reads `CANDLE_NUM_THREADS` / `RAYON_NUM_THREADS` once, when its thread pools
//! are first used; `main` sets both to `--threads` before any candle call.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;

const CANDLE_VERSION: &str = "0.11.1";

struct Args {
    model: String,
    prompt_ids: String,
    gen_tokens: usize,
    threads: usize,
    runs: usize,
    json: bool,
}

fn usage() -> String {
    "usage: candle-bench --model GGUF --prompt-ids FILE --gen-tokens N --threads N --runs N [--json]"
        .to_string()
}

fn parse_args() -> Result<Args, String> {
    let mut model = None;
    let mut prompt_ids = None;
    let mut gen_tokens = 128usize;
    let mut threads = 2usize;
    let mut runs = 1usize;
    let mut json = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value\n{}", usage()));
        let num = |s: String, name: &str| s.parse::<usize>().map_err(|e| format!("{name}: {e}"));
        match a.as_str() {
            "--model" => model = Some(val("--model")?),
            "--prompt-ids" => prompt_ids = Some(val("--prompt-ids")?),
            "--gen-tokens" => gen_tokens = num(val("--gen-tokens")?, "--gen-tokens")?,
            "--threads" => threads = num(val("--threads")?, "--threads")?,
            "--runs" => runs = num(val("--runs")?, "--runs")?,
            "--json" => json = true,
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    let model = model.ok_or_else(|| format!("--model is required\n{}", usage()))?;
    let prompt_ids = prompt_ids.ok_or_else(|| format!("--prompt-ids is required\n{}", usage()))?;
    if gen_tokens < 2 || threads == 0 || runs == 0 {
        return Err("--gen-tokens must be >= 2, --threads and --runs >= 1".into());
    }
    Ok(Args { model, prompt_ids, gen_tokens, threads, runs, json })
}

struct Run {
    load_s: f64,
    ttft_s: f64,
    prefill_tok_s: f64,
    decode_tok_s: f64,
    tokens: Vec<u32>,
}

fn argmax(logits: &Tensor) -> Result<u32, String> {
    let v: Vec<f32> = logits
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| format!("logits: {e}"))?;
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    Ok(best as u32)
}

fn one_run(args: &Args, prompt: &[u32]) -> Result<Run, String> {
    let device = Device::Cpu;

    // Load: open, parse the GGUF header and read every tensor into the model.
    let t0 = Instant::now();
    let file = File::open(&args.model).map_err(|e| format!("{}: {e}", args.model))?;
    let mut reader = BufReader::new(file);
    let content = gguf_file::Content::read(&mut reader).map_err(|e| format!("{}: {e}", args.model))?;
    let mut model = ModelWeights::from_gguf(content, &mut reader, &device).map_err(|e| format!("from_gguf: {e}"))?;
    let load_s = t0.elapsed().as_secs_f64();

    // Prefill: the whole prompt in one forward; logits of the last position.
    let t1 = Instant::now();
    let input = Tensor::new(prompt, &device).and_then(|t| t.unsqueeze(0)).map_err(|e| e.to_string())?;
    let logits = model.forward(&input, 0).map_err(|e| format!("prefill: {e}"))?;
    let logits = logits.squeeze(0).map_err(|e| e.to_string())?;
    // Reading the logits back forces the computation to finish (CPU ops are eager anyway).
    let prefill_done = Instant::now();
    let first = argmax(&logits)?;
    let ttft_s = t1.elapsed().as_secs_f64();
    let prefill_s = (prefill_done - t1).as_secs_f64();

    // Decode: gen_tokens - 1 more greedy tokens, one forward each.
    let mut tokens = vec![first];
    let t2 = Instant::now();
    let mut pos = prompt.len();
    let mut last = first;
    for _ in 1..args.gen_tokens {
        let input = Tensor::new(&[last], &device).and_then(|t| t.unsqueeze(0)).map_err(|e| e.to_string())?;
        let logits = model.forward(&input, pos).map_err(|e| format!("decode: {e}"))?;
        last = argmax(&logits)?;
        tokens.push(last);
        pos += 1;
    }
    let decode_s = t2.elapsed().as_secs_f64();

    Ok(Run {
        load_s,
        ttft_s,
        prefill_tok_s: prompt.len() as f64 / prefill_s,
        decode_tok_s: (args.gen_tokens - 1) as f64 / decode_s,
        tokens,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Peak resident set size of this process in MiB (VmHWM, the same figure as ru_maxrss).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    // Before any candle call: candle sizes its thread pools from these on first use.
    let n = args.threads.to_string();
    std::env::set_var("RAYON_NUM_THREADS", &n);
    std::env::set_var("CANDLE_NUM_THREADS", &n);

    let text = std::fs::read_to_string(&args.prompt_ids).map_err(|e| format!("{}: {e}", args.prompt_ids))?;
    let prompt: Vec<u32> = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", args.prompt_ids))?;
    if prompt.is_empty() {
        return Err(format!("{}: empty prompt", args.prompt_ids));
    }

    let mut runs = Vec::with_capacity(args.runs);
    for i in 0..args.runs {
        let r = one_run(&args, &prompt)?;
        if !args.json {
            eprintln!(
                "run {}: load {:.3}s ttft {:.3}s prefill {:.1} tok/s decode {:.1} tok/s",
                i + 1, r.load_s, r.ttft_s, r.prefill_tok_s, r.decode_tok_s
            );
        }
        runs.push(r);
    }
    // Keys in the same order as the other engines' output (serde_json's map would sort them).
    let fields: Vec<(&str, serde_json::Value)> = vec![
        ("engine", "candle".into()),
        ("version", CANDLE_VERSION.into()),
        ("threads", args.threads.into()),
        ("prompt_tokens", prompt.len().into()),
        ("gen_tokens", args.gen_tokens.into()),
        ("runs", args.runs.into()),
        ("load_s", median(runs.iter().map(|r| r.load_s).collect()).into()),
        ("ttft_s", median(runs.iter().map(|r| r.ttft_s).collect()).into()),
        ("prefill_tok_s", median(runs.iter().map(|r| r.prefill_tok_s).collect()).into()),
        ("decode_tok_s", median(runs.iter().map(|r| r.decode_tok_s).collect()).into()),
        ("peak_rss_mib", peak_rss_mib().into()),
        ("tokens", runs[0].tokens.clone().into()),
    ];
    let sep = if args.json { ", " } else { ",\n  " };
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
    if args.json {
        println!("{{{}}}", body.join(sep));
    } else {
        println!("{{\n  {}\n}}", body.join(sep));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("candle-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `lmfast generate`: one prompt in, one continuation out (streamed, or as JSON).

use super::load_engine;
use crate::model_path;
use clap::Args;
use lmfast_core::chat_template::ChatMessage;
use lmfast_core::generate::GenerateOptions;
use lmfast_core::sampling::SamplingParams;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Sampling flags shared by `generate` and `chat`.
#[derive(Args, Clone)]
pub struct SamplingArgs {
    /// Softmax temperature; 0 means greedy (always the most likely token).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Keep only the K most likely tokens (0 = off).
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to P (1 = off).
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Drop tokens less likely than P times the most likely one (0 = off).
    #[arg(long, default_value_t = 0.05)]
    pub min_p: f32,
    /// Penalise tokens already seen (1 = off).
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    /// Seed of the sampler's random generator; the same seed gives the same output.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    /// The core's sampling parameters for these flags.
    pub fn params(&self) -> SamplingParams {
        SamplingParams {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repetition_penalty: self.repeat_penalty,
            seed: self.seed,
        }
    }
}

/// Arguments of `lmfast generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// The model: a GGUF file or an export folder; defaults to the default model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The prompt text.
    #[arg(long)]
    prompt: String,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Stop when the output contains this text (repeatable); the text itself is not printed.
    #[arg(long)]
    stop: Vec<String>,
    /// Wrap the prompt in the model's chat template as one user turn.
    #[arg(long)]
    chat: bool,
    /// System prompt for --chat.
    #[arg(long, requires = "chat")]
    system: Option<String>,
    #[command(flatten)]
    run: super::RunArgs,
    /// Context length (KV cache size); defaults to the model's maximum.
    #[arg(long)]
    context: Option<usize>,
    /// Print one JSON object {"prompt_ids", "tokens", "text", ...} instead of streaming text.
    #[arg(long)]
    json: bool,
}

/// Generates a continuation and prints it.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let path = model_path::resolve(args.model)?;
    let engine = load_engine(&path, args.context, args.json, &args.run)?;
    let prompt_ids = if args.chat {
        let mut messages = Vec::new();
        if let Some(system) = args.system {
            messages.push(ChatMessage::system(system));
        }
        messages.push(ChatMessage::user(args.prompt));
        engine.encode_chat(&messages)?
    } else {
        engine.encode_prompt(&args.prompt)?
    };
    let options = GenerateOptions {
        max_tokens: args.max_tokens,
        sampling: args.sampling.params(),
        stop_strings: args.stop,
        ..GenerateOptions::default()
    };

    let stream = !args.json;
    let mut stdout = std::io::stdout().lock();
    let output = engine.generate(&prompt_ids, &options, |event| {
        if stream && !event.text.is_empty() {
            // A closed stdout (e.g. `| head`) ends the generation instead of failing it.
            if stdout
                .write_all(event.text.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;

    if args.json {
        let value = serde_json::json!({
            "prompt_ids": prompt_ids,
            "tokens": output.tokens,
            "text": output.text,
            "finish_reason": output.finish_reason.as_str(),
            "prefill_tokens_per_second": output.timings.prefill_tokens_per_second(),
            "decode_tokens_per_second": output.timings.decode_tokens_per_second(),
        });
        writeln!(stdout, "{value}")?;
    } else {
        writeln!(stdout)?;
        eprintln!(
            "{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s ({})",
            prompt_ids.len(),
            output.timings.prefill_tokens_per_second(),
            output.tokens.len(),
            output.timings.decode_tokens_per_second(),
            output.finish_reason.as_str()
        );
    }
    Ok(())
}

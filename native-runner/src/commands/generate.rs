//! `lmfast generate`: one prompt in, one continuation out (streamed, or as JSON).

use super::load_engine;
use crate::model_path;
use clap::Args;
use lmfast_core::chat_template::ChatMessage;
use lmfast_core::generate::{fresh_seed, GenerateOptions, DEFAULTS};
use lmfast_core::sampling::SamplingParams;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Sampling flags shared by `generate` and `chat`; what is left out comes from the one
/// defaults table ([`DEFAULTS`]) the HTTP and JS APIs use too.
#[derive(Args, Clone)]
pub struct SamplingArgs {
    /// Softmax temperature; 0 means greedy (always the most likely token).
    #[arg(long, default_value_t = DEFAULTS.temperature)]
    pub temperature: f32,
    /// Keep only the K most likely tokens (0 = off).
    #[arg(long, default_value_t = DEFAULTS.top_k)]
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to P (1 = off).
    #[arg(long, default_value_t = DEFAULTS.top_p)]
    pub top_p: f32,
    /// Drop tokens less likely than P times the most likely one (0 = off).
    #[arg(long, default_value_t = DEFAULTS.min_p)]
    pub min_p: f32,
    /// Penalise tokens already seen (1 = off).
    #[arg(long, default_value_t = DEFAULTS.repetition_penalty)]
    pub repeat_penalty: f32,
    /// Seed of the sampler's random generator; the same seed gives the same output
    /// (default: a fresh seed each run, as the HTTP and JS APIs).
    #[arg(long)]
    pub seed: Option<u64>,
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
            seed: self.seed.unwrap_or_else(fresh_seed),
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
    #[arg(long, default_value_t = DEFAULTS.text_max_tokens)]
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

#[cfg(test)]
mod defaults_agree {
    //! The CLI, the HTTP API, the JS API and the chat page resolve a request that says
    //! nothing to the same sampling settings (the seed aside: each draws a fresh one).
    use super::GenerateArgs;
    use crate::commands::serve::openai_types::{CompletionRequest, DEFAULT_COMPLETION_MAX_TOKENS};
    use clap::Parser;
    use lmfast_core::generate::{RequestKind, DEFAULTS};
    use lmfast_core::sampling::SamplingParams;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        generate: GenerateArgs,
    }

    fn unseeded(mut p: SamplingParams) -> SamplingParams {
        p.seed = 0;
        p
    }

    #[test]
    fn every_face_resolves_an_empty_request_alike() {
        let cli = Cli::try_parse_from(["lmfast", "--prompt", "x"]).expect("parses");
        let cli_sampling = unseeded(cli.generate.sampling.params());
        let cli_budget = cli.generate.max_tokens;

        let http: CompletionRequest = serde_json::from_str("{}").expect("parses");
        let http = http
            .generate_options(DEFAULT_COMPLETION_MAX_TOKENS, 7)
            .expect("valid");

        let js = lmfast_web::options::GenerationRequest::from_json("{}")
            .expect("parses")
            .to_options(&[], RequestKind::Text)
            .expect("valid");
        let js_chat = lmfast_web::options::GenerationRequest::from_json("{}")
            .expect("parses")
            .to_options(&[], RequestKind::Chat)
            .expect("valid");

        let want = unseeded(DEFAULTS.sampling(0));
        assert_eq!(cli_sampling, want, "CLI");
        assert_eq!(unseeded(http.sampling), want, "HTTP");
        assert_eq!(unseeded(js.sampling), want, "JS");
        assert_eq!(cli_budget, DEFAULTS.text_max_tokens);
        assert_eq!(http.max_tokens, DEFAULTS.text_max_tokens);
        assert_eq!(js.max_tokens, DEFAULTS.text_max_tokens);
        assert_eq!(js_chat.max_tokens, DEFAULTS.chat_max_tokens);

        // The page sends what its settings hold; they start from the same table.
        let page = lmfast_www::settings::Settings::default();
        assert_eq!(page.temperature, want.temperature);
        assert_eq!(page.top_p, want.top_p);
        assert_eq!(page.top_k as usize, want.top_k);
        assert_eq!(page.max_tokens as usize, DEFAULTS.chat_max_tokens);
    }
}

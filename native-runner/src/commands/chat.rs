//! `lmfast chat`: an interactive, streaming conversation in the terminal.

use super::generate::SamplingArgs;
use super::load_engine;
use crate::model_path;
use clap::Args;
use lmfast_core::chat_template::ChatMessage;
use lmfast_core::generate::GenerateOptions;
use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Arguments of `lmfast chat`.
#[derive(Args)]
pub struct ChatArgs {
    /// The model: a GGUF file or an export folder; defaults to the default model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The system prompt (the template's own default when not given).
    #[arg(long)]
    system: Option<String>,
    /// Most tokens per reply.
    #[arg(long, default_value_t = lmfast_core::generate::DEFAULTS.chat_max_tokens)]
    max_tokens: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    run: super::RunArgs,
    /// Context length (KV cache size); defaults to the model's maximum.
    #[arg(long)]
    context: Option<usize>,
}

const HELP: &str =
    "commands: /reset clears the conversation, /system TEXT sets the system prompt, /quit leaves";

/// Runs the read–generate–print loop until `/quit` or end of input.
pub fn run(args: ChatArgs) -> anyhow::Result<()> {
    let path = model_path::resolve(args.model)?;
    let engine = load_engine(&path, args.context, false, &args.run)?;
    // A base model cannot chat: say so now, not after the first message is typed.
    engine.require_chat_template()?;
    let mut system = args.system;
    let mut history: Vec<ChatMessage> = Vec::new();
    let mut options = GenerateOptions {
        max_tokens: args.max_tokens,
        sampling: args.sampling.params(),
        ..GenerateOptions::default()
    };
    eprintln!("{HELP}");

    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut line = String::new();
    loop {
        write!(stdout, "\n> ")?;
        stdout.flush()?;
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            writeln!(stdout)?;
            return Ok(());
        }
        let input = line.trim_end_matches(['\r', '\n']);
        match input.trim() {
            "" => continue,
            "/quit" | "/exit" => return Ok(()),
            "/reset" => {
                history.clear();
                eprintln!("(conversation cleared)");
                continue;
            }
            "/help" => {
                eprintln!("{HELP}");
                continue;
            }
            _ => {}
        }
        if let Some(text) = input.trim().strip_prefix("/system") {
            let text = text.trim();
            system = (!text.is_empty()).then(|| text.to_owned());
            history.clear();
            eprintln!(
                "(system prompt {}; conversation cleared)",
                if system.is_some() { "set" } else { "removed" }
            );
            continue;
        }
        if input.starts_with('/') {
            eprintln!("unknown command {input:?}; {HELP}");
            continue;
        }

        history.push(ChatMessage::user(input));
        let mut messages = Vec::with_capacity(history.len() + 1);
        if let Some(system) = &system {
            messages.push(ChatMessage::system(system.clone()));
        }
        messages.extend(history.iter().cloned());
        let prompt_ids = match engine.encode_chat(&messages) {
            Ok(ids) => ids,
            Err(err) => {
                history.pop();
                eprintln!("error: {err}");
                continue;
            }
        };
        let result = engine.generate(&prompt_ids, &options, |event| {
            if stdout
                .write_all(event.text.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        // Each reply gets fresh randomness while the run as a whole stays reproducible.
        options.sampling.seed = options.sampling.seed.wrapping_add(1);
        match result {
            Ok(output) => {
                writeln!(stdout)?;
                eprintln!(
                    "[{} tokens, {:.1} tok/s, prompt {} tokens at {:.1} tok/s, {}]",
                    output.tokens.len(),
                    output.timings.decode_tokens_per_second(),
                    prompt_ids.len(),
                    output.timings.prefill_tokens_per_second(),
                    output.finish_reason.as_str()
                );
                history.push(ChatMessage::assistant(output.text));
            }
            Err(err) => {
                history.pop();
                eprintln!("\nerror: {err}");
            }
        }
    }
}

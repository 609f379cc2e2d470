//! One module per `lmfast` subcommand, plus the model loading they share.

pub mod bench;
pub mod chat;
pub mod eval;
pub mod export;
pub mod generate;
pub mod info;
pub mod pull;
pub mod serve;
pub mod tokenizer;
pub mod verify;

use anyhow::Context;
use clap::{Args, ValueEnum};
use lmfast_core::checkpoint::{self, Checkpoint};
use lmfast_core::engine::Engine;
use std::path::Path;
use std::time::Instant;

/// Which implementation runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The fused CPU path with lmfast's packed kernels (fastest on the CPU).
    Cpu,
    /// burn's CPU backend (flex), the reference the GPU path shares its code with.
    Burn,
}

/// Options of every command that runs a model.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Implementation that runs the model.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
    /// Threads for the CPU kernels (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl RunArgs {
    /// Sets up the thread pool once, before any parallel work.
    pub fn init_threads(&self) -> anyhow::Result<()> {
        if let Some(n) = self.threads {
            anyhow::ensure!(n > 0, "--threads must be at least 1");
            lmfast_core::parallel::set_threads(n);
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .context("setting the thread count")?;
        }
        Ok(())
    }
}

/// Opens a GGUF file or an export folder.
pub fn load_checkpoint(path: &Path) -> anyhow::Result<Checkpoint> {
    checkpoint::load(path).with_context(|| format!("loading {}", path.display()))
}

/// Builds an engine for `checkpoint` on the chosen backend.
pub fn engine_for(
    checkpoint: Checkpoint,
    context_length: Option<usize>,
    run: &RunArgs,
) -> anyhow::Result<Engine> {
    let engine = match run.backend {
        Backend::Cpu => Engine::new_cpu(checkpoint, context_length)?,
        Backend::Burn => {
            let device = burn::tensor::Device::flex();
            Engine::new(checkpoint, &device, context_length)?
        }
    };
    Ok(engine)
}

/// Loads the model at `path` (GGUF or export folder), reporting the load time on stderr.
pub fn load_engine(
    path: &Path,
    context_length: Option<usize>,
    quiet: bool,
    run: &RunArgs,
) -> anyhow::Result<Engine> {
    run.init_threads()?;
    let started = Instant::now();
    let checkpoint = load_checkpoint(path)?;
    let engine = engine_for(checkpoint, context_length, run)
        .with_context(|| format!("preparing {}", path.display()))?;
    if !quiet {
        eprintln!(
            "loaded {} in {:.2} s on {}",
            path.display(),
            started.elapsed().as_secs_f64(),
            engine.runner().describe()
        );
    }
    Ok(engine)
}

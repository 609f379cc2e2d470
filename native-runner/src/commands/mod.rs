//! One module per `lmfast` subcommand, plus the model loading they share.

pub mod chat;
pub mod generate;
pub mod info;
pub mod tokenizer;

use anyhow::Context;
use lmfast_core::checkpoint::load_gguf;
use lmfast_core::engine::Engine;
use std::path::Path;
use std::time::Instant;

/// Loads the model at `path` onto the CPU device, reporting the load time on stderr.
pub fn load_engine(
    path: &Path,
    context_length: Option<usize>,
    quiet: bool,
) -> anyhow::Result<Engine> {
    let started = Instant::now();
    let checkpoint = load_gguf(path).with_context(|| format!("loading {}", path.display()))?;
    let device = burn::tensor::Device::flex();
    let engine = Engine::new(checkpoint, &device, context_length)
        .with_context(|| format!("placing {} on the CPU", path.display()))?;
    if !quiet {
        eprintln!(
            "loaded {} in {:.2} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(engine)
}

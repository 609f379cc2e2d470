//! `lmfast-core`: one llama-family model, its file formats, tokenizer, chat template, sampler
//! and generation loop, written once for native and wasm32 targets.
//!
//! Start with [`format::gguf`] (reading checkpoints), [`config::ModelConfig`],
//! [`model`] (the burn decoder) and [`generate`] (the token loop).
//!
//! The burn decoder is the `burn` feature (on by default). The browser build turns it off:
//! it runs the fused CPU decoder or the WGSL one, and burn would only add compile time.

pub mod chat_template;
pub mod checkpoint;
pub mod config;
pub mod cpu_model;
pub mod engine;
pub mod error;
pub mod format;
pub mod generate;
#[cfg(feature = "webgpu")]
pub mod gpu_model;
#[cfg(feature = "burn")]
pub mod kv_cache;
pub mod lm;
#[cfg(feature = "burn")]
pub mod model;
pub mod parallel;
pub mod quant;
pub mod rope_frequencies;
pub mod sampling;
mod shared_math;
pub mod tokenizer;
pub mod weights;

pub use error::{Error, Result};

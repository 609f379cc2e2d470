//! `lmfast-core`: the model families, their file formats, tokenizer, chat template, decoders,
//! sampler, engine and generation loop, written once for native and wasm32 targets.
//!
//! Start with [`arch`] (what each family is: config keys, tensor table, variant rules),
//! [`checkpoint`] (loading one), [`decoder`] (the three ways it runs) and [`engine`] (what
//! the CLI, the server and the browser drive).
//!
//! The burn decoder is the `burn` feature (on by default). The browser build turns it off:
//! it runs the fused CPU decoder or the WGSL one, and burn would only add compile time.

pub mod arch;
pub mod chat_template;
pub mod checkpoint;
pub mod config;
pub mod decoder;
pub mod engine;
pub mod error;
pub mod format;
pub mod generate;
pub mod parallel;
pub mod quant;
pub mod sampling;
mod shared_math;
pub mod tokenizer;
pub mod weights;

pub use error::{Error, Result};

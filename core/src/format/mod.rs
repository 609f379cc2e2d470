//! Checkpoint file formats.
pub mod export;
pub mod gguf;

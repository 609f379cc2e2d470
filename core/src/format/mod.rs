//! Checkpoint file formats.
pub mod gguf;

//! Quantized weight formats: ggml's block formats (read from GGUF) and, later, our own.

pub mod ggml;

//! Quantized weight formats: ggml's block formats (read from GGUF), lmfast's own grouped
//! int4/int8 format ([`PackedMatrix`]) and the CPU kernels that multiply by it.

pub mod ggml;
pub mod kernels;
pub mod packed;
mod rules;
pub mod scheme;

pub use packed::{GroupValues, PackedMatrix, PackedParts};
pub use scheme::{QuantScheme, ScaleRule, ScaleType};

#[cfg(test)]
mod tests;

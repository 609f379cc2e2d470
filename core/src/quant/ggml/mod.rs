//! llama.cpp's (ggml's) tensor storage formats, turned back into f32.
//!
//! One file per family, as the formats themselves are grouped: plain floats, the legacy
//! 32-element blocks and the 256-element k-quant super-blocks.

mod float;
mod kquants;
mod legacy;

use crate::format::gguf::GgmlType;

/// Why a buffer could not be dequantized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DequantError {
    /// The input is not the size the output needs.
    #[error("{ty:?}: {elements} values need {need} bytes, got {got}")]
    Length {
        /// The storage type.
        ty: GgmlType,
        /// Values asked for.
        elements: usize,
        /// Bytes those values take.
        need: usize,
        /// Bytes given.
        got: usize,
    },
}

/// Converts `bytes` stored as `ty` into `out.len()` f32 values.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), DequantError> {
    let block = ty.block_elements();
    let need = out
        .len()
        .is_multiple_of(block)
        .then(|| out.len() / block * ty.block_bytes())
        .filter(|&need| need == bytes.len());
    let Some(_) = need else {
        return Err(DequantError::Length {
            ty,
            elements: out.len(),
            need: out.len().div_ceil(block) * ty.block_bytes(),
            got: bytes.len(),
        });
    };
    let decode: fn(&[u8], &mut [f32]) = match ty {
        GgmlType::F32 => float::f32_le,
        GgmlType::F16 => float::f16_le,
        GgmlType::BF16 => float::bf16_le,
        GgmlType::Q4_0 => legacy::q4_0,
        GgmlType::Q4_1 => legacy::q4_1,
        GgmlType::Q5_0 => legacy::q5_0,
        GgmlType::Q5_1 => legacy::q5_1,
        GgmlType::Q8_0 => legacy::q8_0,
        GgmlType::Q4_K => kquants::q4_k,
        GgmlType::Q5_K => kquants::q5_k,
        GgmlType::Q6_K => kquants::q6_k,
    };
    in_parallel(bytes, out, ty.block_bytes(), block, decode);
    Ok(())
}

/// Splits the work on block boundaries over the machine's threads (large tensors only).
#[cfg(not(target_arch = "wasm32"))]
fn in_parallel(
    bytes: &[u8],
    out: &mut [f32],
    block_bytes: usize,
    block_elements: usize,
    decode: fn(&[u8], &mut [f32]),
) {
    const MIN_PER_THREAD: usize = 1 << 16;
    let blocks = out.len() / block_elements;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.min(out.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        decode(bytes, out);
        return;
    }
    let per = blocks.div_ceil(threads);
    std::thread::scope(|scope| {
        for (src, dst) in bytes
            .chunks(per * block_bytes)
            .zip(out.chunks_mut(per * block_elements))
        {
            scope.spawn(move || decode(src, dst));
        }
    });
}

#[cfg(target_arch = "wasm32")]
fn in_parallel(
    bytes: &[u8],
    out: &mut [f32],
    _block_bytes: usize,
    _block_elements: usize,
    decode: fn(&[u8], &mut [f32]),
) {
    decode(bytes, out);
}

/// Reads the little-endian f16 at `bytes[at..at + 2]` as f32.
fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

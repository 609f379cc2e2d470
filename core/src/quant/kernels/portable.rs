//! Plain-Rust kernels: the reference the SIMD paths are tested against, and the wasm32 path.
//!
//! They follow the x86-64 kernel's order of floating-point operations exactly (eight lane
//! accumulators, each over four products of a block; a separate multiply and add per block;
//! the same pairwise horizontal sum), so that the browser's CPU path and native lmfast give
//! bit-identical logits and therefore the same greedy tokens. Integer sums are exact in any
//! order; only the float steps need to agree.

use super::{ActivationQ8, RowKernel};

/// Sums eight lane accumulators in the x86 kernel's order: halves, then pairs, then the two.
pub(crate) fn lane_sum(acc: [f32; 8]) -> f32 {
    let h = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    let p = [h[0] + h[2], h[1] + h[3]];
    p[0] + p[1]
}

/// One int4 row against one activation.
pub(crate) fn dot_q4(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    // Codes in nibble order: byte i of a block holds element 2i (low nibble, code x[i]) and
    // element 2i+1 (high nibble, code x[16 + i]).
    let (codes, ad, asum) = (a.codes(), a.scales(), a.sums());
    let mut acc = [0f32; 8];
    let mut offset = 0f32;
    for (b, words) in k.words.chunks_exact(4).enumerate() {
        let g = b * 32 / k.group;
        let x = &codes[b * 32..b * 32 + 32];
        let scale = k.scales[g] * ad[b];
        for (lane, &word) in words.iter().enumerate() {
            let bytes = word.to_le_bytes();
            let (mut low, mut high) = (0i32, 0i32);
            for (n, &byte) in bytes.iter().enumerate() {
                let i = lane * 4 + n;
                low += i32::from(byte & 0xF) * i32::from(x[i]);
                high += i32::from(byte >> 4) * i32::from(x[16 + i]);
            }
            acc[lane] += low as f32 * scale;
            acc[lane + 4] += high as f32 * scale;
        }
        let min = match k.mins {
            Some(m) => m[g],
            // Symmetric codes are stored as q + 8: the −8 acts as a minimum.
            None => -8.0 * k.scales[g],
        };
        offset += min * asum[b];
    }
    lane_sum(acc) + offset
}

/// One int8 row against one activation.
pub(crate) fn dot_q8(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let (codes, ad) = (a.natural_codes(), a.scales());
    let mut acc = [0f32; 8];
    for (b, words) in k.words.chunks_exact(8).enumerate() {
        let g = b * 32 / k.group;
        let x = &codes[b * 32..b * 32 + 32];
        let scale = k.scales[g] * ad[b];
        for (lane, &word) in words.iter().enumerate() {
            let mut sum = 0i32;
            for (n, byte) in word.to_le_bytes().into_iter().enumerate() {
                sum += i32::from(byte as i8) * i32::from(x[lane * 4 + n]);
            }
            acc[lane] += sum as f32 * scale;
        }
    }
    lane_sum(acc)
}

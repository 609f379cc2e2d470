//! Plain-Rust kernels: the reference the SIMD paths are tested against, and the wasm32 path.

use super::{ActivationQ8, RowKernel};

/// One int4 row against one activation.
pub(crate) fn dot_q4(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let (codes, ad, asum) = (a.natural_codes(), a.scales(), a.sums());
    let mut total = 0f32;
    for (b, words) in k.words.chunks_exact(4).enumerate() {
        let g = b * 32 / k.group;
        let x = &codes[b * 32..b * 32 + 32];
        let mut isum = 0i32;
        for (j, &w) in words.iter().enumerate() {
            for n in 0..8 {
                let q = ((w >> (4 * n)) & 0xF) as i32;
                isum += q * i32::from(x[j * 8 + n]);
            }
        }
        total += k.scales[g] * ad[b] * isum as f32;
        total += match k.mins {
            Some(m) => m[g] * asum[b],
            None => -8.0 * k.scales[g] * asum[b],
        };
    }
    total
}

/// One int8 row against one activation.
pub(crate) fn dot_q8(k: &RowKernel<'_>, a: &ActivationQ8) -> f32 {
    let (codes, ad) = (a.natural_codes(), a.scales());
    let mut total = 0f32;
    for (b, words) in k.words.chunks_exact(8).enumerate() {
        let g = b * 32 / k.group;
        let x = &codes[b * 32..b * 32 + 32];
        let mut isum = 0i32;
        for (j, &w) in words.iter().enumerate() {
            for (n, byte) in w.to_le_bytes().into_iter().enumerate() {
                isum += i32::from(byte as i8) * i32::from(x[j * 4 + n]);
            }
        }
        total += k.scales[g] * ad[b] * isum as f32;
    }
    total
}

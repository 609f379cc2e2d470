//! Activations quantized to int8 in blocks of 32 for integer dot products with weights.

use crate::shared_math::{recip, INV_127};

/// One activation row as int8 blocks of 32: codes, per-block scale and per-block sum.
#[derive(Debug, Clone, Default)]
pub struct ActivationQ8 {
    q: Vec<i8>,
    /// The same codes with each block reordered as elements 0,2,..,30 then 1,3,..,31: the
    /// order of the low then high nibbles of a packed int4 block.
    nibble_order: Vec<i8>,
    d: Vec<f32>,
    sums: Vec<f32>,
}

impl ActivationQ8 {
    /// Quantizes `x` (length a multiple of 32): each block's scale maps its peak to ±127.
    pub fn quantize(x: &[f32]) -> Self {
        let mut a = Self::default();
        a.requantize(x);
        a
    }

    /// Quantizes `x` into this buffer, reusing its allocation.
    pub fn requantize(&mut self, x: &[f32]) {
        debug_assert!(x.len().is_multiple_of(32));
        let blocks = x.len() / 32;
        self.q.resize(x.len(), 0);
        self.nibble_order.resize(x.len(), 0);
        self.d.resize(blocks, 0.0);
        self.sums.resize(blocks, 0.0);
        for (b, (src, dst)) in x
            .chunks_exact(32)
            .zip(self.q.chunks_exact_mut(32))
            .enumerate()
        {
            let amax = src.iter().fold(0f32, |m, v| m.max(v.abs()));
            // Through shared_math so that the WGSL quantizer gets the same codes.
            let d = amax * INV_127;
            let inv = if d > 0.0 { recip(d) } else { 0.0 };
            let mut sum = 0i32;
            for (o, &v) in dst.iter_mut().zip(src) {
                // Round half away from zero without a libm call (`as` truncates).
                let scaled = v * inv;
                let q = (scaled + 0.5f32.copysign(scaled)) as i8;
                *o = q;
                sum += i32::from(q);
            }
            self.d[b] = d;
            self.sums[b] = d * sum as f32;
        }
        for (src, dst) in self
            .q
            .chunks_exact(32)
            .zip(self.nibble_order.chunks_exact_mut(32))
        {
            for j in 0..16 {
                dst[j] = src[2 * j];
                dst[16 + j] = src[2 * j + 1];
            }
        }
    }

    /// Width of the row.
    pub fn cols(&self) -> usize {
        self.q.len()
    }

    /// The int8 codes in int4 nibble order (see the field's comment).
    pub fn codes(&self) -> &[i8] {
        &self.nibble_order
    }

    /// The int8 codes in their natural order.
    pub fn natural_codes(&self) -> &[i8] {
        &self.q
    }

    /// Each block's scale.
    pub fn scales(&self) -> &[f32] {
        &self.d
    }

    /// Each block's sum of dequantized values (`d · Σ q`).
    pub fn sums(&self) -> &[f32] {
        &self.sums
    }
}

//! The element-wise and attention steps of the fused CPU path, on plain slices.
//!
//! Sums run in a fixed order and divisions, square roots and `exp` go through
//! [`crate::shared_math`], so that native, wasm32 and the WGSL decoder (which repeats each
//! step) compute bit-identical results.

use crate::config::Activation;
use crate::parallel;
use crate::shared_math::{exp, gelu_tanh, recip, rsqrt, silu, sum_strided};

/// `out = x / sqrt(mean(x²) + eps) · w` for every row of width `w.len()`.
pub(crate) fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let inv_width = 1.0 / w.len() as f32;
    for (row, dst) in x.chunks_exact(w.len()).zip(out.chunks_exact_mut(w.len())) {
        let mean_square = sum_strided(row.len(), |i| row[i] * row[i]) * inv_width;
        let inv = rsqrt(mean_square + eps);
        for ((o, &v), &g) in dst.iter_mut().zip(row).zip(w) {
            *o = v * inv * g;
        }
    }
}

/// [`rms_norm`] of `x` in place, row by row (the q/k head norms and the sandwich norms).
pub(crate) fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let inv_width = 1.0 / w.len() as f32;
    for row in x.chunks_exact_mut(w.len()) {
        let mean_square = sum_strided(row.len(), |i| row[i] * row[i]) * inv_width;
        let inv = rsqrt(mean_square + eps);
        for (v, &g) in row.iter_mut().zip(w) {
            *v = *v * inv * g;
        }
    }
}

/// Rotates each head of `x` (`heads × head_dim` per token) in Hugging Face's half-split
/// convention; `cos`/`sin` hold `head_dim / 2` values per token.
pub(crate) fn rope(x: &mut [f32], heads: usize, head_dim: usize, cos: &[f32], sin: &[f32]) {
    let half = head_dim / 2;
    for (t, token) in x.chunks_exact_mut(heads * head_dim).enumerate() {
        let (c, s) = (
            &cos[t * half..(t + 1) * half],
            &sin[t * half..(t + 1) * half],
        );
        for head in token.chunks_exact_mut(head_dim) {
            let (a, b) = head.split_at_mut(half);
            for i in 0..half {
                let (x1, x2) = (a[i], b[i]);
                a[i] = x1 * c[i] - x2 * s[i];
                b[i] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

/// `act(gate) · up`, reading `gate|up` rows of width `2·inner` into `out` rows of `inner`;
/// a prompt's rows are split across threads.
pub(crate) fn gated(activation: Activation, gate_up: &[f32], inner: usize, out: &mut [f32]) {
    // One monomorphic loop per activation: through a function pointer the compiler could
    // neither inline nor vectorise the activation.
    match activation {
        Activation::Silu => gated_with(silu, gate_up, inner, out),
        Activation::GeluTanh => gated_with(gelu_tanh, gate_up, inner, out),
    }
}

fn gated_with(
    act: impl Fn(f32) -> f32 + Sync + Send,
    gate_up: &[f32],
    inner: usize,
    out: &mut [f32],
) {
    parallel::for_each_chunk(out, inner, |row, dst| {
        let (g, u) = gate_up[row * 2 * inner..(row + 1) * 2 * inner].split_at(inner);
        for ((o, &g), &u) in dst.iter_mut().zip(g).zip(u) {
            *o = act(g) * u;
        }
    });
}

/// Shapes of one attention call.
pub(crate) struct AttentionShape {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// Position of the first query token.
    pub start: usize,
    /// Positions between one kv head's block and the next in the cache.
    pub stride: usize,
    /// The factor scores are multiplied by.
    pub scale: f32,
    /// Positions each token sees, itself included (`None`: all earlier ones).
    pub window: Option<usize>,
}

/// Causal grouped-query attention of `q` (`tokens × heads × head_dim`) over the cached
/// keys/values up to each token's own position (and no further back than the window), into
/// `out` (same shape as `q`).
pub(crate) fn attention(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    s: &AttentionShape,
    out: &mut [f32],
) {
    let (hd, group) = (s.head_dim, s.heads / s.kv_heads);
    let scale = s.scale;
    parallel::for_each_chunk(out, hd, |i, dst| {
        let (t, h) = (i / s.heads, i % s.heads);
        let pos = s.start + t;
        let first = s.window.map_or(0, |w| (pos + 1).saturating_sub(w));
        let kv = h / group;
        let query = &q[i * hd..(i + 1) * hd];
        let base = kv * s.stride * hd;
        let mut scores: Vec<f32> = (first..=pos)
            .map(|j| {
                let k = &keys[base + j * hd..base + (j + 1) * hd];
                crate::quant::kernels::dense::dot(query, k) * scale
            })
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut scores {
            *v = exp(*v - max);
        }
        let inv_total = recip(sum_strided(scores.len(), |j| scores[j]));
        dst.fill(0.0);
        for (j, p) in (first..).zip(&scores) {
            let w = p * inv_total;
            let v = &values[base + j * hd..base + (j + 1) * hd];
            for (o, &x) in dst.iter_mut().zip(v) {
                *o += w * x;
            }
        }
    });
}

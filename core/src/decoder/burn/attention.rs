//! Grouped-query self-attention with a causal mask, reading and extending the KV cache.

use super::linear::Linear;
use super::norm::RmsNorm;
use super::rope::RopeTables;
use crate::arch::Role;
use crate::config::ModelConfig;
use crate::decoder::burn::cache::LayerCache;
use crate::error::Result;
use crate::weights::{HostTensor, LayerWeights};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

/// One layer's attention: q/k/v projections, rotary embeddings, scaled dot products, output.
#[derive(Debug, Clone)]
pub struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    scale: f64,
    window: Option<usize>,
}

impl Attention {
    /// Takes layer `layer`'s attention weights.
    pub fn take(config: &ModelConfig, p: &mut LayerWeights, device: &Device) -> Result<Self> {
        let bias = |p: &mut LayerWeights, role: Role| -> Result<Option<HostTensor>> {
            if !config.attention_bias {
                return Ok(None);
            }
            let v = p.vector(role)?;
            let n = v.len();
            Ok(Some(HostTensor::new("bias", vec![n], v)?))
        };
        let q_bias = bias(p, Role::AttnQBias)?;
        let k_bias = bias(p, Role::AttnKBias)?;
        let v_bias = bias(p, Role::AttnVBias)?;
        let eps = config.rms_norm_eps;
        Ok(Self {
            q_proj: Linear::from_matrix(p.matrix(Role::AttnQ)?, q_bias, device),
            k_proj: Linear::from_matrix(p.matrix(Role::AttnK)?, k_bias, device),
            v_proj: Linear::from_matrix(p.matrix(Role::AttnV)?, v_bias, device),
            o_proj: Linear::from_matrix(p.matrix(Role::AttnOutput)?, None, device),
            q_norm: p
                .optional_vector(Role::AttnQNorm)
                .map(|w| RmsNorm::new(w, eps, device)),
            k_norm: p
                .optional_vector(Role::AttnKNorm)
                .map(|w| RmsNorm::new(w, eps, device)),
            num_heads: config.num_heads,
            num_kv_heads: config.num_kv_heads,
            head_dim: config.head_dim,
            scale: f64::from(config.attention_scale()),
            window: config.attention_window(p.layer()),
        })
    }

    pub fn forward(
        &self,
        x: Tensor<2>,
        start: usize,
        rope: &RopeTables,
        cache: &mut LayerCache,
    ) -> Tensor<2> {
        let seq = x.dims()[0];
        let (hd, nh, nkv) = (self.head_dim, self.num_heads, self.num_kv_heads);
        let group = nh / nkv;
        let device = x.device();

        let heads = |t: Tensor<2>, n: usize| t.reshape([seq, n, hd]).swap_dims(0, 1);
        let norm = |t: Tensor<3>, n: &Option<RmsNorm>| match n {
            Some(n) => n.forward(t),
            None => t,
        };
        let q = rope.apply(norm(
            heads(self.q_proj.forward(x.clone()), nh),
            &self.q_norm,
        ));
        let k = rope.apply(norm(
            heads(self.k_proj.forward(x.clone()), nkv),
            &self.k_norm,
        ));
        let v = heads(self.v_proj.forward(x), nkv);
        let (keys, values) = cache.append(k, v, start);
        let total = start + seq;

        // Query heads that share a key/value head are stacked as extra rows, so keys and
        // values are never copied per query head: [nkv, group * seq, hd].
        let q = q.reshape([nkv, group * seq, hd]);
        let mut scores = q.matmul(keys.swap_dims(1, 2)).mul_scalar(self.scale);
        let window_cuts = self.window.is_some_and(|w| total > w);
        if seq > 1 || window_cuts {
            scores = scores + causal_mask(group, seq, start, total, self.window, &device);
        }
        let probs = softmax(scores, 2);
        let out = probs.matmul(values); // [nkv, group * seq, hd]
        let out = out
            .reshape([nh, seq, hd])
            .swap_dims(0, 1)
            .reshape([seq, nh * hd]);
        self.o_proj.forward(out)
    }
}

/// Additive mask `[1, group * seq, total]`: query row `i` (position `start + i`) sees keys `0..=start + i`.
fn causal_mask(
    group: usize,
    seq: usize,
    start: usize,
    total: usize,
    window: Option<usize>,
    device: &Device,
) -> Tensor<3> {
    let mut mask = vec![0.0f32; group * seq * total];
    for g in 0..group {
        for i in 0..seq {
            let row = (g * seq + i) * total;
            let pos = start + i;
            for value in &mut mask[row + pos + 1..row + total] {
                *value = f32::NEG_INFINITY;
            }
            // A sliding layer sees the last `w` positions, itself included.
            let first = window.map_or(0, |w| (pos + 1).saturating_sub(w));
            for value in &mut mask[row..row + first] {
                *value = f32::NEG_INFINITY;
            }
        }
    }
    Tensor::from_data(TensorData::new(mask, [1, group * seq, total]), device)
}

//! Grouped-query self-attention with a causal mask, reading and extending the KV cache.

use super::linear::Linear;
use super::rope::RopeTables;
use crate::config::ModelConfig;
use crate::error::Result;
use crate::kv_cache::LayerCache;
use crate::weights::{names, ModelWeights};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

/// One layer's attention: q/k/v projections, rotary embeddings, scaled dot products, output.
#[derive(Debug, Clone)]
pub struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    /// Takes layer `layer`'s attention weights.
    pub fn take(
        config: &ModelConfig,
        layer: usize,
        weights: &mut ModelWeights,
        device: &Device,
    ) -> Result<Self> {
        let hidden = config.hidden_size;
        let q_width = config.num_heads * config.head_dim;
        let kv_width = config.num_kv_heads * config.head_dim;
        let bias = config.attention_bias;
        let name = |part: &str| names::block(layer, part);
        Ok(Self {
            q_proj: Linear::take(weights, &name("attn_q"), q_width, hidden, bias, device)?,
            k_proj: Linear::take(weights, &name("attn_k"), kv_width, hidden, bias, device)?,
            v_proj: Linear::take(weights, &name("attn_v"), kv_width, hidden, bias, device)?,
            o_proj: Linear::take(
                weights,
                &name("attn_output"),
                hidden,
                q_width,
                false,
                device,
            )?,
            num_heads: config.num_heads,
            num_kv_heads: config.num_kv_heads,
            head_dim: config.head_dim,
        })
    }

    /// Attends `x` (`[seq, hidden]`, at positions `start..start + seq`) over the cache plus itself.
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
        let q = rope.apply(heads(self.q_proj.forward(x.clone()), nh));
        let k = rope.apply(heads(self.k_proj.forward(x.clone()), nkv));
        let v = heads(self.v_proj.forward(x), nkv);
        let (keys, values) = cache.append(k, v, start);
        let total = start + seq;

        // Query heads that share a key/value head are stacked as extra rows, so keys and
        // values are never copied per query head: [nkv, group * seq, hd].
        let q = q.reshape([nkv, group * seq, hd]);
        let scale = 1.0 / (hd as f64).sqrt();
        let mut scores = q.matmul(keys.swap_dims(1, 2)).mul_scalar(scale);
        if seq > 1 {
            scores = scores + causal_mask(group, seq, start, total, &device);
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
fn causal_mask(group: usize, seq: usize, start: usize, total: usize, device: &Device) -> Tensor<3> {
    let mut mask = vec![0.0f32; group * seq * total];
    for g in 0..group {
        for i in 0..seq {
            let row = (g * seq + i) * total;
            for value in &mut mask[row + start + i + 1..row + total] {
                *value = f32::NEG_INFINITY;
            }
        }
    }
    Tensor::from_data(TensorData::new(mask, [1, group * seq, total]), device)
}

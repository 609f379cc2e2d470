//! The fused CPU path: the same llama-family decoder as [`crate::model`], run on plain
//! slices with our packed kernels so that no per-operation framework overhead is paid
//! between the matrix products.
//!
//! burn's CPU backend costs a fixed overhead per tensor operation; a decode step of a
//! 30-layer model issues hundreds of them, which caps decoding well below the memory
//! bandwidth limit once the weights are int4. Here each block does four matrix products
//! (q|k|v stacked, o, gate|up stacked, down), each one parallel region over output rows.

mod cache;
mod matrix;
pub(crate) mod ops;

pub use cache::CpuKvCache;
pub use matrix::Matrix;

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::quant::kernels::ActivationQ8;
use crate::rope_frequencies::inverse_frequencies;
use crate::weights::{names, ModelWeights};
use ops::AttentionShape;

/// One decoder block's weights, projections stacked where they share an input.
#[derive(Debug, Clone)]
struct Block {
    attn_norm: Vec<f32>,
    qkv: Matrix,
    qkv_bias: Option<Vec<f32>>,
    attn_output: Matrix,
    ffn_norm: Vec<f32>,
    gate_up: Matrix,
    down: Matrix,
}

/// A llama / qwen2 decoder held in host memory for the fused CPU path.
#[derive(Debug, Clone)]
pub struct CpuModel {
    config: ModelConfig,
    embedding: Matrix,
    blocks: Vec<Block>,
    final_norm: Vec<f32>,
    /// `None` when the head is the (tied) embedding.
    head: Option<Matrix>,
    inverse_frequencies: Vec<f32>,
}

/// Scratch buffers reused by every layer of one forward pass.
#[derive(Default)]
struct Scratch {
    normed: Vec<f32>,
    qkv: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    attended: Vec<f32>,
    projected: Vec<f32>,
    gate_up: Vec<f32>,
    inner: Vec<f32>,
    acts: Vec<ActivationQ8>,
}

impl CpuModel {
    /// Takes `weights` (dense or packed), checking every tensor's presence and shape.
    pub fn new(config: &ModelConfig, mut weights: ModelWeights) -> Result<Self> {
        config.validate()?;
        let (v, h, i) = (
            config.vocab_size,
            config.hidden_size,
            config.intermediate_size,
        );
        let q = config.num_heads * config.head_dim;
        let kv = config.num_kv_heads * config.head_dim;
        let embedding = Matrix::from_weights(weights.take_matrix(names::TOKEN_EMBD, [v, h])?);
        let mut blocks = Vec::with_capacity(config.num_layers);
        for layer in 0..config.num_layers {
            let n = |part: &str| names::block(layer, part);
            let mut m = |part: &str, shape| -> Result<Matrix> {
                Ok(Matrix::from_weights(weights.take_matrix(&n(part), shape)?))
            };
            let qkv = Matrix::stack(
                &n("attn_qkv"),
                vec![
                    m("attn_q.weight", [q, h])?,
                    m("attn_k.weight", [kv, h])?,
                    m("attn_v.weight", [kv, h])?,
                ],
            )?;
            let attn_output = m("attn_output.weight", [h, q])?;
            let gate_up = Matrix::stack(
                &n("ffn_gate_up"),
                vec![m("ffn_gate.weight", [i, h])?, m("ffn_up.weight", [i, h])?],
            )?;
            let down = m("ffn_down.weight", [h, i])?;
            let qkv_bias = if config.attention_bias {
                let mut b = weights.take(&n("attn_q.bias"), &[q])?.data;
                b.extend(weights.take(&n("attn_k.bias"), &[kv])?.data);
                b.extend(weights.take(&n("attn_v.bias"), &[kv])?.data);
                Some(b)
            } else {
                None
            };
            blocks.push(Block {
                attn_norm: weights.take(&n("attn_norm.weight"), &[h])?.data,
                qkv,
                qkv_bias,
                attn_output,
                ffn_norm: weights.take(&n("ffn_norm.weight"), &[h])?.data,
                gate_up,
                down,
            });
        }
        let final_norm = weights.take(names::OUTPUT_NORM, &[h])?.data;
        let head = if config.tie_word_embeddings {
            None
        } else {
            Some(Matrix::from_weights(
                weights.take_matrix(names::OUTPUT, [v, h])?,
            ))
        };
        Ok(Self {
            config: config.clone(),
            embedding,
            blocks,
            final_norm,
            head,
            inverse_frequencies: inverse_frequencies(config),
        })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Bytes of weights read to decode one token (every matrix once, plus one embedding row).
    pub fn weight_bytes_per_token(&self) -> usize {
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| {
                b.qkv.storage_bytes()
                    + b.attn_output.storage_bytes()
                    + b.gate_up.storage_bytes()
                    + b.down.storage_bytes()
                    + 8 * self.config.hidden_size
            })
            .sum();
        blocks
            + self
                .head
                .as_ref()
                .unwrap_or(&self.embedding)
                .storage_bytes()
    }

    /// An empty cache for up to `max_seq_len` positions (at most the model's context).
    pub fn new_cache(&self, max_seq_len: usize) -> Result<CpuKvCache> {
        if max_seq_len == 0 || max_seq_len > self.config.max_position_embeddings {
            return Err(Error::Generation(format!(
                "a cache of {max_seq_len} positions is outside 1..={}",
                self.config.max_position_embeddings
            )));
        }
        Ok(CpuKvCache::new(&self.config, max_seq_len))
    }

    /// Runs `tokens` at the cache's next positions and returns the last position's logits.
    pub fn forward_last(&self, tokens: &[u32], cache: &mut CpuKvCache) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(tokens, cache)?;
        let h = self.config.hidden_size;
        self.logits(&hidden[hidden.len() - h..], 1)
    }

    /// Runs `tokens` and returns every position's logits, `tokens.len() × vocab` row by row.
    pub fn forward_all(&self, tokens: &[u32], cache: &mut CpuKvCache) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(tokens, cache)?;
        self.logits(&hidden, tokens.len())
    }

    fn hidden_states(&self, tokens: &[u32], cache: &mut CpuKvCache) -> Result<Vec<f32>> {
        let c = &self.config;
        crate::lm::check_forward(c, tokens, cache.len, cache.capacity)?;
        let (start, seq) = (cache.len, tokens.len());
        cache.reserve(start + seq);
        let h = c.hidden_size;
        let mut x = vec![0f32; seq * h];
        for (row, &t) in x.chunks_exact_mut(h).zip(tokens) {
            self.embedding.row(t as usize, row);
        }
        let (cos, sin) = self.rope_tables(start, seq);
        let mut s = Scratch::default();
        for (layer, block) in self.blocks.iter().enumerate() {
            self.block_forward(block, layer, &mut x, start, seq, &cos, &sin, cache, &mut s);
        }
        cache.len = start + seq;
        Ok(x)
    }

    #[allow(clippy::too_many_arguments)]
    fn block_forward(
        &self,
        b: &Block,
        layer: usize,
        x: &mut [f32],
        start: usize,
        seq: usize,
        cos: &[f32],
        sin: &[f32],
        cache: &mut CpuKvCache,
        s: &mut Scratch,
    ) {
        let c = &self.config;
        let (h, hd) = (c.hidden_size, c.head_dim);
        let (q_width, kv_width) = (c.num_heads * hd, c.num_kv_heads * hd);
        let qkv_width = q_width + 2 * kv_width;

        s.normed.resize(seq * h, 0.0);
        ops::rms_norm(x, &b.attn_norm, c.rms_norm_eps, &mut s.normed);
        s.qkv.resize(seq * qkv_width, 0.0);
        b.qkv.matmul(&s.normed, seq, &mut s.acts, &mut s.qkv);
        if let Some(bias) = &b.qkv_bias {
            for row in s.qkv.chunks_exact_mut(qkv_width) {
                row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
            }
        }
        // Split q off, rotate q and k, and write k and v into the cache.
        s.q.resize(seq * q_width, 0.0);
        s.k.resize(seq * kv_width, 0.0);
        let k = &mut s.k;
        for (t, row) in s.qkv.chunks_exact(qkv_width).enumerate() {
            s.q[t * q_width..(t + 1) * q_width].copy_from_slice(&row[..q_width]);
            k[t * kv_width..(t + 1) * kv_width].copy_from_slice(&row[q_width..q_width + kv_width]);
        }
        ops::rope(&mut s.q, c.num_heads, hd, cos, sin);
        ops::rope(k, c.num_kv_heads, hd, cos, sin);
        let cap = cache.stride;
        let (keys, values) = (&mut cache.keys[layer], &mut cache.values[layer]);
        for (t, row) in s.qkv.chunks_exact(qkv_width).enumerate() {
            let pos = start + t;
            for g in 0..c.num_kv_heads {
                let at = (g * cap + pos) * hd;
                keys[at..at + hd]
                    .copy_from_slice(&k[t * kv_width + g * hd..t * kv_width + (g + 1) * hd]);
                let v = &row[q_width + kv_width + g * hd..q_width + kv_width + (g + 1) * hd];
                values[at..at + hd].copy_from_slice(v);
            }
        }
        s.attended.resize(seq * q_width, 0.0);
        let shape = AttentionShape {
            heads: c.num_heads,
            kv_heads: c.num_kv_heads,
            head_dim: hd,
            start,
            stride: cap,
        };
        ops::attention(&s.q, keys, values, &shape, &mut s.attended);
        s.projected.resize(seq * h, 0.0);
        b.attn_output
            .matmul(&s.attended, seq, &mut s.acts, &mut s.projected);
        x.iter_mut().zip(&s.projected).for_each(|(a, b)| *a += b);

        ops::rms_norm(x, &b.ffn_norm, c.rms_norm_eps, &mut s.normed);
        let inner = c.intermediate_size;
        s.gate_up.resize(seq * 2 * inner, 0.0);
        b.gate_up
            .matmul(&s.normed, seq, &mut s.acts, &mut s.gate_up);
        s.inner.resize(seq * inner, 0.0);
        ops::swiglu(&s.gate_up, inner, &mut s.inner);
        b.down.matmul(&s.inner, seq, &mut s.acts, &mut s.projected);
        x.iter_mut().zip(&s.projected).for_each(|(a, b)| *a += b);
    }

    fn rope_tables(&self, start: usize, seq: usize) -> (Vec<f32>, Vec<f32>) {
        let half = self.inverse_frequencies.len();
        let mut cos = Vec::with_capacity(seq * half);
        let mut sin = Vec::with_capacity(seq * half);
        for pos in start..start + seq {
            for &f in &self.inverse_frequencies {
                let (s, c) = crate::rope_frequencies::rotation(pos, f);
                cos.push(c);
                sin.push(s);
            }
        }
        (cos, sin)
    }

    fn logits(&self, hidden: &[f32], rows: usize) -> Result<Vec<f32>> {
        let h = self.config.hidden_size;
        let mut normed = vec![0f32; rows * h];
        ops::rms_norm(
            hidden,
            &self.final_norm,
            self.config.rms_norm_eps,
            &mut normed,
        );
        let head = self.head.as_ref().unwrap_or(&self.embedding);
        let mut out = vec![0f32; rows * self.config.vocab_size];
        head.matmul(&normed, rows, &mut Vec::new(), &mut out);
        Ok(out)
    }
}

//! The fused CPU decoder: the model the family's table ([`crate::arch`]) describes, run on plain
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

use crate::arch::{Role, Stack};
use crate::config::ModelConfig;
use crate::decoder::rotary::Rotary;
use crate::decoder::{Decoder, Forward, Want};
use crate::error::Result;
use crate::quant::kernels::ActivationQ8;
use crate::weights::{ModelParts, ModelWeights};
use ops::AttentionShape;

/// One decoder block's weights, projections stacked where they share an input.
#[derive(Debug, Clone)]
struct Block {
    attn_norm: Vec<f32>,
    qkv: Matrix,
    qkv_bias: Option<Vec<f32>>,
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    attn_output: Matrix,
    post_attn_norm: Option<Vec<f32>>,
    ffn_norm: Vec<f32>,
    gate_up: Matrix,
    down: Matrix,
    post_ffn_norm: Option<Vec<f32>>,
    /// Positions this layer's attention sees (`None`: all).
    window: Option<usize>,
    /// The rotary frequency set this layer uses.
    rope_set: usize,
}

/// A decoder of any [`crate::arch`] family held in host memory for the fused CPU path.
#[derive(Debug, Clone)]
pub struct CpuDecoder {
    config: ModelConfig,
    embedding: Matrix,
    blocks: Vec<Block>,
    final_norm: Vec<f32>,
    /// `None` when the head is the (tied) embedding.
    head: Option<Matrix>,
    rotary: Rotary,
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

impl CpuDecoder {
    /// Takes `weights` (dense or packed) as the family's tensor table lists them, checking
    /// every tensor's presence and shape.
    pub fn new(config: &ModelConfig, weights: ModelWeights) -> Result<Self> {
        config.validate()?;
        let parts = ModelParts::take(config, weights)?;
        let rotary = Rotary::new(config);
        let mut blocks = Vec::with_capacity(config.num_layers);
        for mut p in parts.layers {
            let layer = p.layer();
            let mut stack = |roles: &[Role], which: Stack| -> Result<Matrix> {
                let mut list = Vec::with_capacity(roles.len());
                for &role in roles {
                    list.push(Matrix::from_weights(p.matrix(role)?));
                }
                if list.len() == 1 {
                    return Ok(list.remove(0));
                }
                Matrix::stack(&which.name(layer), list)
            };
            let qkv = stack(&[Role::AttnQ, Role::AttnK, Role::AttnV], Stack::Qkv)?;
            let attn_output = stack(&[Role::AttnOutput], Stack::Output)?;
            let gate_up = stack(&[Role::FfnGate, Role::FfnUp], Stack::GateUp)?;
            let down = stack(&[Role::FfnDown], Stack::Down)?;
            let qkv_bias = if config.attention_bias {
                let mut b = p.vector(Role::AttnQBias)?;
                b.extend(p.vector(Role::AttnKBias)?);
                b.extend(p.vector(Role::AttnVBias)?);
                Some(b)
            } else {
                None
            };
            blocks.push(Block {
                attn_norm: p.vector(Role::AttnNorm)?,
                qkv,
                qkv_bias,
                q_norm: p.optional_vector(Role::AttnQNorm),
                k_norm: p.optional_vector(Role::AttnKNorm),
                attn_output,
                post_attn_norm: p.optional_vector(Role::PostAttnNorm),
                ffn_norm: p.vector(Role::FfnNorm)?,
                gate_up,
                down,
                post_ffn_norm: p.optional_vector(Role::PostFfnNorm),
                window: config.attention_window(layer),
                rope_set: rotary.set_of(layer),
            });
        }
        Ok(Self {
            config: config.clone(),
            embedding: Matrix::from_weights(parts.embedding),
            blocks,
            final_norm: parts.output_norm,
            head: parts.head.map(Matrix::from_weights),
            rotary,
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
        crate::decoder::check_capacity(&self.config, max_seq_len)?;
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

    /// Runs `tokens` and returns what `want` asks for.
    pub fn forward_want(
        &self,
        tokens: &[u32],
        cache: &mut CpuKvCache,
        want: Want,
    ) -> Result<Forward> {
        let h = self.config.hidden_size;
        Ok(match want {
            Want::LastLogits => Forward::Logits(self.forward_last(tokens, cache)?),
            Want::AllLogits => Forward::Logits(self.forward_all(tokens, cache)?),
            Want::Argmax => {
                Forward::Token(crate::sampling::argmax(&self.forward_last(tokens, cache)?))
            }
            Want::LastHidden => {
                let hidden = self.hidden_states(tokens, cache)?;
                Forward::Hidden(self.final_normed(&hidden[hidden.len() - h..], 1))
            }
            Want::AllHidden => {
                let hidden = self.hidden_states(tokens, cache)?;
                Forward::Hidden(self.final_normed(&hidden, tokens.len()))
            }
        })
    }

    fn hidden_states(&self, tokens: &[u32], cache: &mut CpuKvCache) -> Result<Vec<f32>> {
        let c = &self.config;
        let (start, seq) = (cache.positions.check(c, tokens)?, tokens.len());
        cache.reserve(start + seq);
        let h = c.hidden_size;
        let mut x = vec![0f32; seq * h];
        for (row, &t) in x.chunks_exact_mut(h).zip(tokens) {
            self.embedding.row(t as usize, row);
            if let Some(scale) = c.variant.embedding_scale {
                row.iter_mut().for_each(|v| *v *= scale);
            }
        }
        let tables: Vec<(Vec<f32>, Vec<f32>)> = (0..self.rotary.set_count())
            .map(|set| self.rotary.tables(set, start, seq))
            .collect();
        let mut s = Scratch::default();
        for (layer, block) in self.blocks.iter().enumerate() {
            let (cos, sin) = &tables[block.rope_set];
            self.block_forward(block, layer, &mut x, start, seq, cos, sin, cache, &mut s);
        }
        cache.positions.advance(seq);
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
        if let (Some(qn), Some(kn)) = (&b.q_norm, &b.k_norm) {
            ops::rms_norm_in_place(&mut s.q, qn, c.rms_norm_eps);
            ops::rms_norm_in_place(k, kn, c.rms_norm_eps);
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
            scale: c.attention_scale(),
            window: b.window,
        };
        ops::attention(&s.q, keys, values, &shape, &mut s.attended);
        s.projected.resize(seq * h, 0.0);
        b.attn_output
            .matmul(&s.attended, seq, &mut s.acts, &mut s.projected);
        if let Some(w) = &b.post_attn_norm {
            ops::rms_norm_in_place(&mut s.projected, w, c.rms_norm_eps);
        }
        x.iter_mut().zip(&s.projected).for_each(|(a, b)| *a += b);

        ops::rms_norm(x, &b.ffn_norm, c.rms_norm_eps, &mut s.normed);
        let inner = c.intermediate_size;
        s.gate_up.resize(seq * 2 * inner, 0.0);
        b.gate_up
            .matmul(&s.normed, seq, &mut s.acts, &mut s.gate_up);
        s.inner.resize(seq * inner, 0.0);
        ops::gated(c.variant.activation, &s.gate_up, inner, &mut s.inner);
        b.down.matmul(&s.inner, seq, &mut s.acts, &mut s.projected);
        if let Some(w) = &b.post_ffn_norm {
            ops::rms_norm_in_place(&mut s.projected, w, c.rms_norm_eps);
        }
        x.iter_mut().zip(&s.projected).for_each(|(a, b)| *a += b);
    }

    fn final_normed(&self, hidden: &[f32], rows: usize) -> Vec<f32> {
        let mut normed = vec![0f32; rows * self.config.hidden_size];
        ops::rms_norm(
            hidden,
            &self.final_norm,
            self.config.rms_norm_eps,
            &mut normed,
        );
        normed
    }

    fn logits(&self, hidden: &[f32], rows: usize) -> Result<Vec<f32>> {
        let normed = self.final_normed(hidden, rows);
        let head = self.head.as_ref().unwrap_or(&self.embedding);
        let mut out = vec![0f32; rows * self.config.vocab_size];
        head.matmul(&normed, rows, &mut Vec::new(), &mut out);
        Ok(out)
    }
}

impl Decoder for CpuDecoder {
    type Cache = CpuKvCache;

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn describe(&self) -> String {
        format!(
            "fused CPU ({} kernels, {} threads)",
            crate::quant::kernels::kernel_isa(),
            crate::parallel::threads()
        )
    }

    fn new_cache(&self, capacity: usize) -> Result<CpuKvCache> {
        CpuDecoder::new_cache(self, capacity)
    }

    async fn forward(&self, tokens: &[u32], cache: &mut CpuKvCache, want: Want) -> Result<Forward> {
        self.forward_want(tokens, cache, want)
    }
}

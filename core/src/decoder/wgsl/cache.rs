//! The GPU key/value cache, and the scratch buffers and bind groups of the passes run on it.

use super::kernels::{call_bytes, Kernels};
use super::matrix::{GpuMatrix, Storage};
use super::{MatSlots, WgslDecoder};
use crate::decoder::{DecoderCache, Positions};
use crate::error::Result;

/// Keys and values of every layer on the device, `[num_kv_heads, capacity, head_dim]` f32
/// each, plus the scratch buffers of the forward passes run on it (sized for the longest
/// chunk seen, grown when a longer one comes).
pub struct WgslKvCache {
    pub(super) model_id: u64,
    pub(super) keys: Vec<wgpu::Buffer>,
    pub(super) values: Vec<wgpu::Buffer>,
    pub(super) positions: Positions,
    pub(super) session: Option<Session>,
}

impl DecoderCache for WgslKvCache {
    fn len(&self) -> usize {
        self.positions.len()
    }

    fn capacity(&self) -> usize {
        self.positions.capacity()
    }

    fn truncate(&mut self, len: usize) {
        self.positions.truncate(len);
    }
}

/// One matrix product bound to its input and output: the activation quantization (packed
/// weights only) and one bind group per row chunk.
pub(super) struct MatOp {
    pub(super) storage: Storage,
    pub(super) cols: usize,
    pub(super) quant: Option<wgpu::BindGroup>,
    pub(super) chunks: Vec<(wgpu::BindGroup, usize)>,
}

pub(super) struct LayerPlan {
    pub(super) attn_norm: wgpu::BindGroup,
    pub(super) qkv: MatOp,
    pub(super) head_norm: Option<wgpu::BindGroup>,
    pub(super) rope: wgpu::BindGroup,
    pub(super) attention: wgpu::BindGroup,
    pub(super) output: MatOp,
    pub(super) post_attn_norm: Option<wgpu::BindGroup>,
    pub(super) ffn_norm: wgpu::BindGroup,
    pub(super) gate_up: MatOp,
    pub(super) gated: wgpu::BindGroup,
    pub(super) down: MatOp,
    pub(super) post_ffn_norm: Option<wgpu::BindGroup>,
}

/// Scratch buffers and every bind group of a forward pass, built once per size.
pub(super) struct Session {
    /// Tokens one submitted chunk may hold.
    pub(super) seq_cap: usize,
    /// Logit rows the head computes per submission.
    pub(super) head_cap: usize,
    pub(super) call: wgpu::Buffer,
    pub(super) tokens: wgpu::Buffer,
    pub(super) rope: wgpu::Buffer,
    pub(super) logits: wgpu::Buffer,
    pub(super) argmax: wgpu::Buffer,
    pub(super) staging: wgpu::Buffer,
    pub(super) staging_small: wgpu::Buffer,
    pub(super) embed: Vec<wgpu::BindGroup>,
    pub(super) layers: Vec<LayerPlan>,
    pub(super) final_norm: wgpu::BindGroup,
    pub(super) head: MatOp,
    pub(super) argmax_group: wgpu::BindGroup,
}

impl WgslDecoder {
    /// Scratch for chunks of up to `seq_cap` tokens, bound to `cache`'s buffers.
    pub(super) fn build_session(
        &self,
        keys: &[wgpu::Buffer],
        values: &[wgpu::Buffer],
        seq_cap: usize,
    ) -> Result<Session> {
        let k = &self.k;
        let c = &self.config;
        let (h, hd) = (c.hidden_size, c.head_dim);
        let qw = c.num_heads * hd;
        let qkv_w = qw + 2 * c.num_kv_heads * hd;
        let inner = c.intermediate_size;
        let widest = h.max(qw).max(inner);
        let none = wgpu::BufferUsages::empty();
        let f32s = |label: &str, n: usize| k.storage(label, (n * 4) as u64, none);
        let x = f32s("x", seq_cap * h)?;
        let normed = f32s("normed", seq_cap * h)?;
        let codes = f32s("codes", seq_cap * widest / 4)?;
        let dsum = f32s("dsum", seq_cap * widest / 32 * 2)?;
        let qkv = f32s("qkv", seq_cap * qkv_w)?;
        let q = f32s("q", seq_cap * qw)?;
        let attended = f32s("attended", seq_cap * qw)?;
        let gate_up = f32s("gate_up", seq_cap * 2 * inner)?;
        let inner_buf = f32s("inner", seq_cap * inner)?;
        let tokens = f32s("tokens", seq_cap)?;
        let rope = f32s("rope", self.rotary.set_count() * seq_cap * hd)?;
        let row_bytes = (c.vocab_size * 4) as u64;
        let head_cap = ((k.max_binding / row_bytes) as usize).clamp(1, seq_cap);
        let logits = k.storage(
            "logits",
            row_bytes * head_cap as u64,
            wgpu::BufferUsages::COPY_SRC,
        )?;
        let argmax = k.storage("argmax", 4, wgpu::BufferUsages::COPY_SRC)?;
        let staging = k.staging(row_bytes * head_cap as u64);
        let staging_small = k.staging(4);
        let call = k.uniform("call", &call_bytes(0, 0, 0, 0, 0));
        let params = &self.params;
        let slot = |offset: u64| (params, offset);
        // With sandwich norms the output and down products land here, to be normed and
        // added into x; without, they accumulate into x directly.
        let projected = if c.variant.sandwich_norms {
            Some(f32s("projected", seq_cap * h)?)
        } else {
            None
        };
        let sublayer_out = projected.as_ref().unwrap_or(&x);
        let add_norm = |offset: Option<u64>| {
            offset.map(|o| {
                k.bind(
                    &k.rms_norm,
                    &call,
                    slot(o),
                    &[sublayer_out, &self.norms],
                    &[&x],
                )
            })
        };

        let embed = self
            .embedding
            .chunks
            .iter()
            .zip(&self.slots.embed)
            .map(|(ch, &s)| {
                let scales = ch.scales.as_ref().unwrap_or(&k.unused_binding);
                let mins = ch.mins.as_ref().unwrap_or(&k.unused_binding);
                k.bind(
                    &k.embed,
                    &call,
                    slot(s),
                    &[&tokens, &ch.q, scales, mins],
                    &[&x],
                )
            })
            .collect();
        let mat_op = |m: &GpuMatrix, slots: &MatSlots, input: &wgpu::Buffer, out: &wgpu::Buffer| {
            bind_matmul(k, &call, params, m, slots, input, out, (&codes, &dsum))
        };
        let layers = self
            .layers
            .iter()
            .zip(&self.slots.layers)
            .enumerate()
            .map(|(l, (w, s))| LayerPlan {
                attn_norm: k.bind(
                    &k.rms_norm,
                    &call,
                    slot(s.attn_norm),
                    &[&x, &self.norms],
                    &[&normed],
                ),
                qkv: mat_op(&w.qkv, &s.qkv, &normed, &qkv),
                head_norm: s.head_norm.map(|o| {
                    k.bind(
                        &k.head_norm,
                        &call,
                        slot(o),
                        &[&self.biases, &self.head_norms],
                        &[&qkv],
                    )
                }),
                rope: k.bind(
                    &k.rope_kv,
                    &call,
                    slot(s.rope),
                    &[&qkv, &self.biases, &rope],
                    &[&q, &keys[l], &values[l]],
                ),
                attention: k.bind(
                    &k.attention,
                    &call,
                    slot(s.attention),
                    &[&q, &keys[l], &values[l]],
                    &[&attended],
                ),
                output: mat_op(&w.output, &s.output, &attended, sublayer_out),
                post_attn_norm: add_norm(s.post_attn_norm),
                ffn_norm: k.bind(
                    &k.rms_norm,
                    &call,
                    slot(s.ffn_norm),
                    &[&x, &self.norms],
                    &[&normed],
                ),
                gate_up: mat_op(&w.gate_up, &s.gate_up, &normed, &gate_up),
                gated: k.bind(
                    &k.gated,
                    &call,
                    slot(self.slots.gated),
                    &[&gate_up],
                    &[&inner_buf],
                ),
                down: mat_op(&w.down, &s.down, &inner_buf, sublayer_out),
                post_ffn_norm: add_norm(s.post_ffn_norm),
            })
            .collect();
        let final_norm = k.bind(
            &k.rms_norm,
            &call,
            slot(self.slots.final_norm),
            &[&x, &self.norms],
            &[&normed],
        );
        let head = mat_op(
            self.head.as_ref().unwrap_or(&self.embedding),
            &self.slots.head,
            &normed,
            &logits,
        );
        let argmax_group = k.bind(
            &k.argmax,
            &call,
            slot(self.slots.argmax),
            &[&logits],
            &[&argmax],
        );
        Ok(Session {
            seq_cap,
            head_cap,
            call,
            tokens,
            rope,
            logits,
            argmax,
            staging,
            staging_small,
            embed,
            layers,
            final_norm,
            head,
            argmax_group,
        })
    }
}

/// Binds matrix `m` between `input` and `out`, through the activation buffers `acts`.
#[allow(clippy::too_many_arguments)]
pub(super) fn bind_matmul(
    k: &Kernels,
    call: &wgpu::Buffer,
    params: &wgpu::Buffer,
    m: &GpuMatrix,
    slots: &MatSlots,
    input: &wgpu::Buffer,
    out: &wgpu::Buffer,
    acts: (&wgpu::Buffer, &wgpu::Buffer),
) -> MatOp {
    let (codes, dsum) = acts;
    let packed = m.storage != Storage::Dense;
    let quant = packed.then(|| {
        k.bind(
            &k.quantize,
            call,
            (params, slots.quant),
            &[input],
            &[codes, dsum],
        )
    });
    let chunks = m
        .chunks
        .iter()
        .zip(&slots.chunks)
        .map(|(ch, &s)| {
            let slot = (params, s);
            let scales = ch.scales.as_ref().unwrap_or(&k.unused_binding);
            let mins = ch.mins.as_ref().unwrap_or(&k.unused_binding);
            let group = match m.storage {
                Storage::Dense => k.bind(&k.dense.one, call, slot, &[input, &ch.q], &[out]),
                Storage::Q4 { .. } => k.bind(
                    &k.q4.one,
                    call,
                    slot,
                    &[codes, dsum, &ch.q, scales, mins],
                    &[out],
                ),
                Storage::Q8 { .. } => {
                    k.bind(&k.q8.one, call, slot, &[codes, dsum, &ch.q, scales], &[out])
                }
            };
            (group, ch.rows)
        })
        .collect();
    MatOp {
        storage: m.storage,
        cols: m.cols,
        quant,
        chunks,
    }
}

/// Records one matrix product of `tokens` rows: quantize the input (packed weights), then
/// one dispatch per row chunk, the many-token kernel when `tokens > 1`.
pub(super) fn encode_matmul(
    k: &Kernels,
    pass: &mut wgpu::ComputePass<'_>,
    op: &MatOp,
    tokens: usize,
) {
    use super::kernels::{dispatch, dispatch_threads, grid, TILE};
    if let Some(q) = &op.quant {
        dispatch_threads(pass, &k.quantize, q, tokens * op.cols / 32);
    }
    let kernel = match op.storage {
        Storage::Dense => &k.dense,
        Storage::Q4 { .. } => &k.q4,
        Storage::Q8 { .. } => &k.q8,
    };
    let (kernel, tile) = if tokens == 1 {
        (&kernel.one, 1)
    } else {
        (&kernel.many, TILE as usize)
    };
    for (group, rows) in &op.chunks {
        let (x, y) = grid(rows.div_ceil(k.rows_per_group as usize));
        dispatch(pass, kernel, group, (x, y, tokens.div_ceil(tile) as u32));
    }
}

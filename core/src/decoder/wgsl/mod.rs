//! The decoder of every [`crate::arch`] family (llama, qwen2, gemma3) on wgpu in hand-written
//! WGSL: the same math as [`crate::decoder::cpu`] (int8 activation blocks against packed
//! int4/int8 weights, the same rotary tables, attention and gated MLP, and Gemma 3's q/k
//! norms, sandwich norms, scaled embedding and sliding windows), on Vulkan natively and the
//! browser's WebGPU on wasm32.
//!
//! Weights stay in the packed layout of [`crate::quant::PackedMatrix`]; q|k|v and gate|up
//! are stacked into one matrix each, as the CPU path does, by writing each part at its row
//! offset. A forward pass is one command encoder; results come back through `map_async`,
//! so every readback is `async` and nothing blocks in the browser.

mod builder;
mod cache;
pub mod checks;
mod kernels;
mod matrix;

/// The wgpu this module is built against, so callers create devices with the same version.
pub use wgpu;

pub use builder::WgslDecoderBuilder;
pub use cache::WgslKvCache;
pub use checks::{run_kernel_checks, KernelCheck};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::weights::ModelWeights;
use cache::{encode_matmul, Session};
use kernels::{call_bytes, dispatch, dispatch_threads, Kernels};
use matrix::GpuMatrix;

/// Longest run of tokens submitted at once; longer prompts go through in chunks, which
/// gives the same result (each token attends to the cache up to its own position) with
/// bounded scratch buffers.
const MAX_CHUNK: usize = 128;

/// One decoder block's matrices.
struct Layer {
    qkv: GpuMatrix,
    output: GpuMatrix,
    gate_up: GpuMatrix,
    down: GpuMatrix,
}

/// Offsets of one matrix product's parameter slots.
struct MatSlots {
    quant: u64,
    chunks: Vec<u64>,
}

struct LayerSlots {
    attn_norm: u64,
    ffn_norm: u64,
    /// Sandwich norms (Gemma): normed outputs added into x.
    post_attn_norm: Option<u64>,
    post_ffn_norm: Option<u64>,
    /// Per-head q/k norm (Gemma).
    head_norm: Option<u64>,
    rope: u64,
    /// Per layer: sliding layers have their own window.
    attention: u64,
    qkv: MatSlots,
    output: MatSlots,
    gate_up: MatSlots,
    down: MatSlots,
}

/// Where every dispatch's static parameters live in the parameter buffer.
struct Slots {
    embed: Vec<u64>,
    layers: Vec<LayerSlots>,
    final_norm: u64,
    head: MatSlots,
    gated: u64,
    argmax: u64,
}

/// A llama / qwen2 / gemma3 decoder whose weights live in GPU buffers, with every pipeline compiled
/// once at creation.
pub struct WgslDecoder {
    id: u64,
    k: Kernels,
    config: ModelConfig,
    embedding: GpuMatrix,
    /// `None` when the head is the (tied) embedding.
    head: Option<GpuMatrix>,
    layers: Vec<Layer>,
    /// attn_norm and ffn_norm of each layer (then post-attention and post-MLP norms with
    /// sandwich norms), then the final norm, `hidden` values each.
    norms: wgpu::Buffer,
    /// q and k norms of each layer (Gemma), `head_dim` values each, or a placeholder.
    head_norms: wgpu::Buffer,
    /// q|k|v biases of each layer (qwen2), or a placeholder.
    biases: wgpu::Buffer,
    params: wgpu::Buffer,
    slots: Slots,
    /// The rotary frequency sets (Gemma's sliding layers have their own).
    rotary: crate::decoder::rotary::Rotary,
}

/// What a forward pass returns.
enum Want {
    Last,
    All,
    Argmax,
}

impl crate::decoder::Decoder for WgslDecoder {
    type Cache = WgslKvCache;

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn describe(&self) -> String {
        WgslDecoder::describe(self)
    }

    fn new_cache(&self, capacity: usize) -> Result<WgslKvCache> {
        WgslDecoder::new_cache(self, capacity)
    }

    async fn forward(
        &self,
        tokens: &[u32],
        cache: &mut WgslKvCache,
        want: crate::decoder::Want,
    ) -> Result<crate::decoder::Forward> {
        use crate::decoder::{Forward, Want as Asked};
        match want {
            Asked::LastLogits => self.forward_last(tokens, cache).await.map(Forward::Logits),
            Asked::AllLogits => self.forward_all(tokens, cache).await.map(Forward::Logits),
            Asked::Argmax => self.forward_argmax(tokens, cache).await.map(Forward::Token),
            Asked::LastHidden | Asked::AllHidden => Err(Error::Gpu(
                "the WGSL decoder returns logits, not hidden states (run the CPU decoder)".into(),
            )),
        }
    }
}

impl WgslDecoder {
    /// Uploads every tensor of `weights` through a [`WgslDecoderBuilder`].
    pub fn from_weights(
        device: wgpu::Device,
        queue: wgpu::Queue,
        config: &ModelConfig,
        weights: ModelWeights,
    ) -> Result<Self> {
        let mut builder = WgslDecoderBuilder::new(device, queue, config)?;
        for (name, entry) in weights.into_entries() {
            builder.add_tensor(&name, entry)?;
        }
        builder.finish()
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The adapter and backend the model runs on, for logs and test output.
    pub fn describe(&self) -> String {
        let info = self.k.device.adapter_info();
        format!(
            "{} ({:?}, {:?}, driver {} {})",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        )
    }

    /// An empty cache for up to `capacity` positions (at most the model's context).
    pub fn new_cache(&self, capacity: usize) -> Result<WgslKvCache> {
        let c = &self.config;
        crate::decoder::check_capacity(c, capacity)?;
        let bytes = (c.num_kv_heads * capacity * c.head_dim * 4) as u64;
        let mut keys = Vec::with_capacity(c.num_layers);
        let mut values = Vec::with_capacity(c.num_layers);
        for _ in 0..c.num_layers {
            keys.push(self.k.storage("keys", bytes, wgpu::BufferUsages::empty())?);
            values.push(
                self.k
                    .storage("values", bytes, wgpu::BufferUsages::empty())?,
            );
        }
        Ok(WgslKvCache {
            model_id: self.id,
            keys,
            values,
            positions: crate::decoder::Positions::new(capacity),
            session: None,
        })
    }

    /// Runs `tokens` at the cache's next positions and returns the last position's logits.
    pub async fn forward_last(&self, tokens: &[u32], cache: &mut WgslKvCache) -> Result<Vec<f32>> {
        self.run(tokens, cache, Want::Last)
            .await
            .map(|(logits, _)| logits)
    }

    /// Runs `tokens` and returns every position's logits, `tokens.len() × vocab` row by row.
    pub async fn forward_all(&self, tokens: &[u32], cache: &mut WgslKvCache) -> Result<Vec<f32>> {
        self.run(tokens, cache, Want::All)
            .await
            .map(|(logits, _)| logits)
    }

    /// Runs `tokens` and returns the greedy next token, chosen on the device (the lowest
    /// index among equal maxima, as [`crate::sampling::argmax`]); only 4 bytes come back.
    pub async fn forward_argmax(&self, tokens: &[u32], cache: &mut WgslKvCache) -> Result<u32> {
        self.run(tokens, cache, Want::Argmax)
            .await
            .map(|(_, id)| id)
    }

    fn check_tokens(&self, tokens: &[u32], cache: &WgslKvCache) -> Result<()> {
        let c = &self.config;
        if cache.model_id != self.id {
            return Err(Error::Generation(
                "this cache was made by another WgslDecoder".into(),
            ));
        }
        cache.positions.check(c, tokens)?;
        Ok(())
    }

    async fn run(
        &self,
        tokens: &[u32],
        cache: &mut WgslKvCache,
        want: Want,
    ) -> Result<(Vec<f32>, u32)> {
        self.check_tokens(tokens, cache)?;
        let need = tokens.len().min(MAX_CHUNK);
        if cache.session.as_ref().is_none_or(|s| s.seq_cap < need) {
            // Grow in powers of two so a conversation rebuilds its bind groups rarely.
            let cap = need.next_power_of_two().min(MAX_CHUNK);
            cache.session = None;
            cache.session = Some(self.build_session(&cache.keys, &cache.values, cap)?);
        }
        let Some(session) = cache.session.as_ref() else {
            return Err(Error::Gpu("no scratch buffers".into()));
        };
        let vocab = self.config.vocab_size;
        let mut all = Vec::new();
        let mut last = (Vec::new(), 0);
        let mut done = 0;
        while done < tokens.len() {
            let chunk = &tokens[done..(done + session.seq_cap).min(tokens.len())];
            let start = cache.positions.len();
            let final_chunk = done + chunk.len() == tokens.len();
            let seq = chunk.len();
            self.write_inputs(session, chunk, start, cache.positions.capacity());
            let mut encoder = self.k.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                self.encode_layers(&mut pass, session, seq);
                if final_chunk && !matches!(want, Want::All) {
                    self.encode_head(&mut pass, session, 1);
                    if matches!(want, Want::Argmax) {
                        dispatch(&mut pass, &self.k.argmax, &session.argmax_group, (1, 1, 1));
                    }
                }
            }
            let readback = match want {
                Want::All => 0,
                _ if !final_chunk => 0,
                Want::Last => {
                    let bytes = (vocab * 4) as u64;
                    encoder.copy_buffer_to_buffer(&session.logits, 0, &session.staging, 0, bytes);
                    bytes
                }
                Want::Argmax => {
                    encoder.copy_buffer_to_buffer(&session.argmax, 0, &session.staging_small, 0, 4);
                    4
                }
            };
            self.k.submit(encoder).await?;
            cache.positions.advance(seq);
            match want {
                Want::All => {
                    let mut row = 0;
                    while row < seq {
                        let rows = session.head_cap.min(seq - row);
                        all.extend(
                            self.head_rows(
                                session,
                                seq,
                                start,
                                row,
                                rows,
                                cache.positions.capacity(),
                            )
                            .await?,
                        );
                        row += rows;
                    }
                }
                Want::Last if readback > 0 => {
                    let bytes = self.k.read(&session.staging, readback).await?;
                    last.0 = bytemuck::pod_collect_to_vec(&bytes);
                }
                Want::Argmax if readback > 0 => {
                    let bytes = self.k.read(&session.staging_small, 4).await?;
                    last.1 = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                }
                _ => {}
            }
            done += seq;
        }
        Ok(match want {
            Want::All => (all, 0),
            _ => last,
        })
    }

    /// Token ids, the rotary tables and the per-call values for one chunk.
    fn write_inputs(&self, s: &Session, chunk: &[u32], start: usize, capacity: usize) {
        let q = &self.k.queue;
        let seq = chunk.len();
        q.write_buffer(&s.tokens, 0, bytemuck::cast_slice(chunk));
        // Each frequency set's cos then sin, set after set: rope_kv finds its layer's table
        // at `set · 2 · seq · head_dim/2`.
        let mut table = Vec::new();
        for set in 0..self.rotary.set_count() {
            let (cos, sin) = self.rotary.tables(set, start, seq);
            table.extend(cos);
            table.extend(sin);
        }
        q.write_buffer(&s.rope, 0, bytemuck::cast_slice(&table));
        q.write_buffer(&s.call, 0, &call_bytes(seq, start, 1, seq - 1, capacity));
    }

    fn encode_layers(&self, pass: &mut wgpu::ComputePass<'_>, s: &Session, seq: usize) {
        let k = &self.k;
        let c = &self.config;
        let h = c.hidden_size;
        for group in &s.embed {
            dispatch_threads(pass, &k.embed, group, seq * h);
        }
        let half = c.head_dim / 2;
        let all_heads = c.num_heads + 2 * c.num_kv_heads;
        for l in &s.layers {
            dispatch(pass, &k.rms_norm, &l.attn_norm, (seq as u32, 1, 1));
            encode_matmul(k, pass, &l.qkv, seq);
            if let Some(g) = &l.head_norm {
                dispatch(pass, &k.head_norm, g, (all_heads as u32, seq as u32, 1));
            }
            dispatch_threads(pass, &k.rope_kv, &l.rope, seq * all_heads * half);
            dispatch(
                pass,
                &k.attention,
                &l.attention,
                (c.num_heads as u32, seq as u32, 1),
            );
            encode_matmul(k, pass, &l.output, seq);
            if let Some(g) = &l.post_attn_norm {
                dispatch(pass, &k.rms_norm, g, (seq as u32, 1, 1));
            }
            dispatch(pass, &k.rms_norm, &l.ffn_norm, (seq as u32, 1, 1));
            encode_matmul(k, pass, &l.gate_up, seq);
            dispatch_threads(pass, &k.gated, &l.gated, seq * c.intermediate_size);
            encode_matmul(k, pass, &l.down, seq);
            if let Some(g) = &l.post_ffn_norm {
                dispatch(pass, &k.rms_norm, g, (seq as u32, 1, 1));
            }
        }
    }

    /// Final norm and head over `rows` rows (the call values say which rows of x).
    fn encode_head(&self, pass: &mut wgpu::ComputePass<'_>, s: &Session, rows: usize) {
        dispatch(pass, &self.k.rms_norm, &s.final_norm, (rows as u32, 1, 1));
        encode_matmul(&self.k, pass, &s.head, rows);
    }

    /// Logits of rows `row0..row0 + rows` of the chunk just run (for `forward_all`).
    async fn head_rows(
        &self,
        s: &Session,
        seq: usize,
        start: usize,
        row0: usize,
        rows: usize,
        capacity: usize,
    ) -> Result<Vec<f32>> {
        self.k
            .queue
            .write_buffer(&s.call, 0, &call_bytes(seq, start, rows, row0, capacity));
        let mut encoder = self.k.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.encode_head(&mut pass, s, rows);
        }
        let bytes = (rows * self.config.vocab_size * 4) as u64;
        encoder.copy_buffer_to_buffer(&s.logits, 0, &s.staging, 0, bytes);
        self.k.submit(encoder).await?;
        let data = self.k.read(&s.staging, bytes).await?;
        Ok(bytemuck::pod_collect_to_vec(&data))
    }
}

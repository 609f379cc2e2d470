//! Streaming upload of a model's tensors, one at a time and in any order.

use super::kernels::{Kernels, ParamSlots};
use super::matrix::{GpuMatrix, Part, Storage};
use super::{Layer, LayerSlots, MatSlots, Slots, WgslDecoder};
use crate::arch::{self, Role as TableRole, Stack};
use crate::config::{Activation, ModelConfig};
use crate::decoder::rotary::Rotary;
use crate::error::{Error, Result};
use crate::weights::WeightEntry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// Gives each model an identity, so a cache is never run against another model's buffers.
static NEXT_MODEL_ID: AtomicU64 = AtomicU64::new(1);

/// Where a tensor goes.
#[derive(Debug, Clone, Copy)]
enum Role {
    Embedding,
    Head,
    /// Row `index` of the norms buffer (`hidden` values each).
    Norm(usize),
    /// Row `index` of the q/k head-norms buffer (`head_dim` values each).
    HeadNorm(usize),
    /// A part of `layer`'s `stack` matrix at row `row0`.
    Matrix {
        layer: usize,
        stack: Stack,
        row0: usize,
    },
    /// Values at `offset` of the bias buffer.
    Bias(usize),
}

/// Builds a [`WgslDecoder`] from tensors handed over one at a time (each host copy is dropped
/// once it has been written to the device), so a browser never holds a whole model twice.
pub struct WgslDecoderBuilder {
    k: Kernels,
    config: ModelConfig,
    max_binding: u64,
    expected: HashMap<String, (Role, Vec<usize>)>,
    received: HashSet<String>,
    embedding: Option<GpuMatrix>,
    head: Option<GpuMatrix>,
    /// Per layer: q|k|v, o, gate|up, down.
    matrices: Vec<[Option<GpuMatrix>; 4]>,
    norms: wgpu::Buffer,
    head_norms: wgpu::Buffer,
    biases: wgpu::Buffer,
}

/// Rows of the norms buffer per layer: the attention and MLP input norms, then (Gemma's
/// sandwich norms) those of the attention and MLP outputs. The final norm follows the last
/// layer's.
pub(super) fn norms_per_layer(c: &ModelConfig) -> usize {
    if c.variant.sandwich_norms {
        4
    } else {
        2
    }
}

impl WgslDecoderBuilder {
    /// Compiles every kernel for `device` and prepares the buffers of `config`'s model.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue, config: &ModelConfig) -> Result<Self> {
        config.validate()?;
        if config.head_dim > super::kernels::MAX_HEAD_DIM {
            return Err(Error::config(
                "head_dim",
                format!(
                    "{} is wider than the GPU attention kernel's {}",
                    config.head_dim,
                    super::kernels::MAX_HEAD_DIM
                ),
            ));
        }
        let k = Kernels::new(device, queue);
        let (h, inner) = (config.hidden_size, config.intermediate_size);
        let q = config.num_heads * config.head_dim;
        let kv = config.num_kv_heads * config.head_dim;
        let qkv = q + 2 * kv;
        let mut expected = HashMap::new();
        let mut add = |name: String, role: Role, shape: Vec<usize>| {
            expected.insert(name, (role, shape));
        };
        let m = |layer, stack, row0| Role::Matrix { layer, stack, row0 };
        let n = norms_per_layer(config);
        for spec in arch::tensors(config) {
            let role = match (spec.layer, spec.role) {
                (None, TableRole::TokenEmbedding) => Role::Embedding,
                (None, TableRole::Output) => Role::Head,
                (None, _) => Role::Norm(n * config.num_layers),
                (Some(layer), TableRole::AttnNorm) => Role::Norm(n * layer),
                (Some(layer), TableRole::FfnNorm) => Role::Norm(n * layer + 1),
                (Some(layer), TableRole::PostAttnNorm) => Role::Norm(n * layer + 2),
                (Some(layer), TableRole::PostFfnNorm) => Role::Norm(n * layer + 3),
                (Some(layer), TableRole::AttnQNorm) => Role::HeadNorm(2 * layer),
                (Some(layer), TableRole::AttnKNorm) => Role::HeadNorm(2 * layer + 1),
                (Some(layer), role) => match role.stack() {
                    Some((Stack::Qkv, part)) if role.is_matrix() => {
                        m(layer, Stack::Qkv, [0, q, q + kv][part])
                    }
                    Some((Stack::Qkv, part)) => Role::Bias(layer * qkv + [0, q, q + kv][part]),
                    Some((Stack::Output, _)) => m(layer, Stack::Output, 0),
                    Some((Stack::GateUp, part)) => m(layer, Stack::GateUp, part * inner),
                    Some((Stack::Down, _)) => m(layer, Stack::Down, 0),
                    None => {
                        return Err(Error::tensor(
                            &spec.name,
                            "is not supported by the WGSL decoder",
                        ))
                    }
                },
            };
            add(spec.name, role, spec.shape);
        }
        let norms = k.storage(
            "norms",
            ((n * config.num_layers + 1) * h * 4) as u64,
            wgpu::BufferUsages::empty(),
        )?;
        let head_norm_bytes = if config.variant.qk_norm {
            2 * config.num_layers * config.head_dim * 4
        } else {
            16
        };
        let head_norms = k.storage(
            "head norms",
            head_norm_bytes as u64,
            wgpu::BufferUsages::empty(),
        )?;
        let bias_bytes = if config.attention_bias {
            config.num_layers * qkv * 4
        } else {
            16
        };
        let biases = k.storage("biases", bias_bytes as u64, wgpu::BufferUsages::empty())?;
        let max_binding = k.max_binding;
        Ok(Self {
            k,
            config: config.clone(),
            max_binding,
            expected,
            received: HashSet::new(),
            embedding: None,
            head: None,
            matrices: (0..config.num_layers)
                .map(|_| [None, None, None, None])
                .collect(),
            norms,
            head_norms,
            biases,
        })
    }

    /// Caps each buffer of a matrix at `bytes` (at most the device's own limit), splitting
    /// matrices into more row chunks; for tests of the chunked path on small models.
    pub fn with_max_binding_bytes(mut self, bytes: u64) -> Self {
        self.max_binding = bytes.clamp(256, self.k.max_binding);
        self
    }

    /// Uploads tensor `name` (a canonical name from [`crate::weights::names`], shaped as
    /// [`crate::decoder::cpu::CpuDecoder::new`] checks) and drops the host copy. Errors name the
    /// tensor: an unknown name, a wrong shape, a duplicate, a packed norm or bias, or a
    /// storage that differs from the projections stacked with it.
    ///
    /// `output.weight` is accepted and ignored when the model ties its head to the embedding.
    pub fn add_tensor(&mut self, name: &str, entry: WeightEntry) -> Result<()> {
        if name == TableRole::Output.global_name() && self.config.tie_word_embeddings {
            return Ok(());
        }
        let Some((role, shape)) = self.expected.get(name).cloned() else {
            return Err(Error::tensor(name, "is not a tensor of this model"));
        };
        if self.received.contains(name) {
            return Err(Error::tensor(name, "was given twice"));
        }
        let found = match &entry {
            WeightEntry::Dense(t) => t.shape.clone(),
            WeightEntry::Packed(p) => vec![p.rows(), p.cols()],
        };
        if found != shape {
            return Err(Error::tensor(
                name,
                format!("expected shape {shape:?}, found {found:?}"),
            ));
        }
        let part = match &entry {
            WeightEntry::Dense(t) => Part::Dense(t),
            WeightEntry::Packed(p) => Part::Packed(p),
        };
        let h = self.config.hidden_size;
        match role {
            Role::Norm(index) | Role::HeadNorm(index) | Role::Bias(index) => {
                let WeightEntry::Dense(t) = &entry else {
                    return Err(Error::tensor(name, "must be dense f32 values, not packed"));
                };
                let (buffer, offset) = match role {
                    Role::Norm(_) => (&self.norms, index * h),
                    Role::HeadNorm(_) => (&self.head_norms, index * self.config.head_dim),
                    _ => (&self.biases, index),
                };
                self.k.queue.write_buffer(
                    buffer,
                    (offset * 4) as u64,
                    bytemuck::cast_slice(&t.data),
                );
            }
            Role::Embedding | Role::Head => {
                let m = GpuMatrix::allocate(
                    &self.k,
                    name,
                    shape[0],
                    shape[1],
                    part.storage(),
                    self.max_binding,
                )?;
                m.write(&self.k, name, 0, part)?;
                match role {
                    Role::Embedding => self.embedding = Some(m),
                    _ => self.head = Some(m),
                }
            }
            Role::Matrix { layer, stack, row0 } => {
                let (q, kv) = (
                    self.config.num_heads * self.config.head_dim,
                    self.config.num_kv_heads * self.config.head_dim,
                );
                let inner = self.config.intermediate_size;
                let (index, rows, cols) = match stack {
                    Stack::Qkv => (0, q + 2 * kv, h),
                    Stack::Output => (1, h, q),
                    Stack::GateUp => (2, 2 * inner, h),
                    Stack::Down => (3, h, inner),
                };
                let slot = &mut self.matrices[layer][index];
                if slot.is_none() {
                    *slot = Some(GpuMatrix::allocate(
                        &self.k,
                        &stack.name(layer),
                        rows,
                        cols,
                        part.storage(),
                        self.max_binding,
                    )?);
                }
                if let Some(m) = slot.as_ref() {
                    m.write(&self.k, name, row0, part)?;
                }
            }
        }
        self.received.insert(name.to_owned());
        Ok(())
    }

    /// The model, once every tensor has arrived; the error lists every missing one.
    pub fn finish(self) -> Result<WgslDecoder> {
        let mut missing: Vec<&str> = self
            .expected
            .keys()
            .filter(|n| !self.received.contains(*n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            return Err(Error::tensor(
                missing.join(", "),
                "missing from the checkpoint",
            ));
        }
        let c = &self.config;
        let missing_matrix = || Error::Gpu("a matrix was never allocated".into());
        let embedding = self.embedding.ok_or_else(missing_matrix)?;
        let mut layers = Vec::with_capacity(c.num_layers);
        for m in self.matrices {
            let [Some(qkv), Some(output), Some(gate_up), Some(down)] = m else {
                return Err(missing_matrix());
            };
            layers.push(Layer {
                qkv,
                output,
                gate_up,
                down,
            });
        }
        let head = self.head;
        let rotary = Rotary::new(c);
        let slots = plan_slots(
            c,
            &rotary,
            &embedding,
            head.as_ref(),
            &layers,
            self.k.uniform_align,
        );
        let params = self.k.uniform("params", slots.0.bytes());
        Ok(WgslDecoder {
            id: NEXT_MODEL_ID.fetch_add(1, Ordering::Relaxed),
            k: self.k,
            config: self.config.clone(),
            embedding,
            head,
            layers,
            norms: self.norms,
            head_norms: self.head_norms,
            biases: self.biases,
            params,
            slots: slots.1,
            rotary,
        })
    }
}

/// Writes every dispatch's static parameters and remembers where each went.
fn plan_slots(
    c: &ModelConfig,
    rotary: &Rotary,
    embedding: &GpuMatrix,
    head: Option<&GpuMatrix>,
    layers: &[Layer],
    align: u64,
) -> (ParamSlots, Slots) {
    let mut p = ParamSlots::new(align);
    let (h, hd) = (c.hidden_size, c.head_dim);
    let n = norms_per_layer(c);
    let norm = |p: &mut ParamSlots, index: usize, use_head: bool, add: bool| {
        p.push(&norm_words(h, index * h, use_head, add, c.rms_norm_eps))
    };
    let embed_scale = c.variant.embedding_scale;
    let embed: Vec<u64> = embedding
        .chunks
        .iter()
        .map(|ch| {
            let (kind, asym, f16, group) = storage_words(embedding.storage);
            p.push(&[
                ch.rows as u32,
                embedding.cols as u32,
                group,
                embedding.scale_stride as u32,
                f16,
                asym,
                kind,
                ch.row0 as u32,
                u32::from(embed_scale.is_some()),
                embed_scale.unwrap_or(1.0).to_bits(),
            ])
        })
        .collect();
    let sandwich = c.variant.sandwich_norms;
    let qkv_width = c.num_heads * hd + 2 * c.num_kv_heads * hd;
    let scale = c.attention_scale();
    let mut layer_slots = Vec::with_capacity(layers.len());
    for (l, layer) in layers.iter().enumerate() {
        let attn_norm = norm(&mut p, n * l, false, false);
        let ffn_norm = norm(&mut p, n * l + 1, false, false);
        // With sandwich norms the output and down products write a scratch row that the
        // norm then adds into x; without, they accumulate into x themselves.
        let post_attn_norm = sandwich.then(|| norm(&mut p, n * l + 2, false, true));
        let post_ffn_norm = sandwich.then(|| norm(&mut p, n * l + 3, false, true));
        let bias_offset = (l * qkv_width) as u32;
        let has_bias = u32::from(c.attention_bias);
        // The head norm adds the biases before norming, so rope_kv must not add them again.
        let head_norm = c.variant.qk_norm.then(|| {
            p.push(&head_norm_words(
                (c.num_heads, c.num_kv_heads, hd),
                c.rms_norm_eps,
                2 * l * hd,
                bias_offset,
                c.attention_bias,
            ))
        });
        let rope = p.push(&[
            c.num_heads as u32,
            c.num_kv_heads as u32,
            hd as u32,
            rotary.set_of(l) as u32,
            bias_offset,
            if head_norm.is_some() { 0 } else { has_bias },
            0,
            0,
        ]);
        let attention = p.push(&attention_words(c, c.attention_window(l), scale));
        layer_slots.push(LayerSlots {
            attn_norm,
            ffn_norm,
            post_attn_norm,
            post_ffn_norm,
            head_norm,
            rope,
            attention,
            qkv: matrix_slots(&mut p, &layer.qkv, false, false),
            output: matrix_slots(&mut p, &layer.output, !sandwich, false),
            gate_up: matrix_slots(&mut p, &layer.gate_up, false, false),
            down: matrix_slots(&mut p, &layer.down, !sandwich, false),
        });
    }
    let final_norm = norm(&mut p, n * c.num_layers, true, false);
    let head_slots = matrix_slots(&mut p, head.unwrap_or(embedding), false, true);
    let gated = p.push(&gated_words(c.intermediate_size, c.variant.activation));
    let argmax = p.push(&[c.vocab_size as u32, 0, 0, 0]);
    let slots = Slots {
        embed,
        layers: layer_slots,
        final_norm,
        head: head_slots,
        gated,
        argmax,
    };
    (p, slots)
}

/// The parameter words of the attention kernel: `window` 0 means every earlier position.
pub(crate) fn attention_words(c: &ModelConfig, window: Option<usize>, scale: f32) -> [u32; 5] {
    [
        c.num_heads as u32,
        c.num_kv_heads as u32,
        c.head_dim as u32,
        window.unwrap_or(0) as u32,
        scale.to_bits(),
    ]
}

/// The parameter words of the gated activation over rows of `inner`.
pub(crate) fn gated_words(inner: usize, activation: Activation) -> [u32; 4] {
    let act = match activation {
        Activation::Silu => 0,
        Activation::GeluTanh => 1,
    };
    [inner as u32, act, 0, 0]
}

/// The parameter words of the q/k head norm, its weights from `weight_offset` (q's, then
/// k's `head_dim` later); 1/head_dim is computed here, as cpu::ops::rms_norm_in_place does.
/// `heads` is `(q heads, kv heads, head_dim)`.
pub(crate) fn head_norm_words(
    heads: (usize, usize, usize),
    eps: f32,
    weight_offset: usize,
    bias_offset: u32,
    has_bias: bool,
) -> [u32; 8] {
    let (q_heads, kv_heads, head_dim) = heads;
    let inv_cols = 1.0 / head_dim as f32;
    [
        q_heads as u32,
        kv_heads as u32,
        head_dim as u32,
        weight_offset as u32,
        bias_offset,
        u32::from(has_bias),
        eps.to_bits(),
        inv_cols.to_bits(),
    ]
}

/// The parameter words of an RMS norm over rows of `cols` with weights from `offset`:
/// 1/cols is computed here, as cpu::ops::rms_norm computes it. With `add` the normed rows are
/// added into the output (the sandwich norms' residual add) instead of replacing it.
pub(crate) fn norm_words(
    cols: usize,
    offset: usize,
    use_head: bool,
    add: bool,
    eps: f32,
) -> [u32; 8] {
    let inv_cols = 1.0 / cols as f32;
    [
        cols as u32,
        offset as u32,
        u32::from(use_head),
        eps.to_bits(),
        inv_cols.to_bits(),
        u32::from(add),
        0,
        0,
    ]
}

/// `(kind, asym, f16, group)` words of a storage (kind 0: int4, 1: int8, 2: dense).
pub(crate) fn storage_words(s: Storage) -> (u32, u32, u32, u32) {
    match s {
        Storage::Q4 { asym, f16, group } => (0, u32::from(asym), u32::from(f16), group as u32),
        Storage::Q8 { f16, group } => (1, 0, u32::from(f16), group as u32),
        Storage::Dense => (2, 0, 0, 32),
    }
}

/// The parameter words of one chunk of a matrix product.
pub(crate) fn matmul_words(
    m: &GpuMatrix,
    rows: usize,
    row0: usize,
    accumulate: bool,
    use_head: bool,
) -> [u32; 10] {
    let (_, asym, f16, group) = storage_words(m.storage);
    [
        rows as u32,
        m.cols as u32,
        group,
        m.scale_stride as u32,
        f16,
        asym,
        m.rows as u32,
        row0 as u32,
        u32::from(accumulate),
        u32::from(use_head),
    ]
}

pub(super) fn matrix_slots(
    p: &mut ParamSlots,
    m: &GpuMatrix,
    accumulate: bool,
    use_head: bool,
) -> MatSlots {
    MatSlots {
        quant: p.push(&[m.cols as u32, u32::from(use_head), 0, 0]),
        chunks: m
            .chunks
            .iter()
            .map(|ch| p.push(&matmul_words(m, ch.rows, ch.row0, accumulate, use_head)))
            .collect(),
    }
}

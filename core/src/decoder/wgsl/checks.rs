//! Every GPU kernel against its CPU reference on deterministic random data.
//!
//! The same function runs natively (tests on lavapipe) and from wasm in the browser, so it
//! uses no threads, files or blocking waits: only the device and `async` readbacks.

use super::builder::matrix_slots;
use super::cache::{bind_matmul, encode_matmul};
use super::kernels::{call_bytes, dispatch, dispatch_threads, Kernels, ParamSlots};
use super::matrix::{GpuMatrix, Part, Storage};
use crate::config::Activation;
use crate::decoder::cpu::ops;
use crate::error::Result;
use crate::quant::kernels::{dense_matmul, packed_matmul, ActivationQ8, DenseMatrix};
use crate::quant::{PackedMatrix, QuantScheme};
use crate::weights::HostTensor;
use rand::{RngExt, SeedableRng};

/// The outcome of one kernel's comparison with the CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelCheck {
    /// What was run, e.g. `int4 g32 asym f16: 100×576, 5 tokens`.
    pub name: String,
    /// Largest absolute difference between the GPU's and the CPU's outputs.
    pub max_abs_error: f32,
    /// The largest difference accepted.
    pub tolerance: f32,
    /// Whether `max_abs_error <= tolerance`.
    pub passed: bool,
}

/// Runs every kernel on `device` and compares it with the CPU reference.
pub async fn run_kernel_checks(
    device: wgpu::Device,
    queue: wgpu::Queue,
) -> Result<Vec<KernelCheck>> {
    let k = Kernels::new(device, queue);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut out = Vec::new();
    let q4 = |group, asymmetric, scale| QuantScheme::Q4 {
        group,
        asymmetric,
        scale,
        rule: crate::quant::ScaleRule::Search,
    };
    use crate::quant::ScaleType::{F16, F32};
    let cases: [(&str, Option<QuantScheme>, usize, Option<u64>); 6] = [
        ("int4 g32 asym f16", Some(q4(32, true, F16)), 100, None),
        (
            "int4 g32 asym f16, 3 chunks",
            Some(q4(32, true, F16)),
            100,
            Some(40 * 288),
        ),
        (
            "int4 g128 sym f16 (short last group)",
            Some(q4(128, false, F16)),
            100,
            None,
        ),
        ("int4 g32 sym f32", Some(q4(32, false, F32)), 37, None),
        (
            "int8 g32 f16",
            Some(QuantScheme::Q8 {
                group: 32,
                scale: F16,
            }),
            100,
            None,
        ),
        ("dense f32", None, 100, None),
    ];
    for (label, scheme, rows, max_binding) in cases {
        for tokens in [1, 5, 11] {
            out.push(
                matmul_check(&k, &mut rng, label, scheme, rows, 576, tokens, max_binding).await?,
            );
        }
    }
    out.push(quantize_check(&k, &mut rng).await?);
    out.push(embed_check(&k, &mut rng, None).await?);
    out.push(embed_check(&k, &mut rng, Some(24f32.sqrt())).await?);
    out.push(rms_norm_check(&k, &mut rng).await?);
    out.push(norm_add_check(&k, &mut rng).await?);
    for (hd, bias) in [(64, true), (16, false), (256, false)] {
        out.push(head_norm_check(&k, &mut rng, hd, bias).await?);
    }
    for table in [0, 1] {
        out.push(rope_check(&k, &mut rng, table).await?);
    }
    let default_scale = 1.0 / (HEAD_DIM as f32).sqrt();
    for (start, seq, window, scale) in [
        (0, 1, None, default_scale),
        (4, 3, None, default_scale),
        (70, 2, None, default_scale),
        // Sliding windows: shorter than the context, longer than one workgroup's 64 keys,
        // and wider than every position seen so far.
        (4, 3, Some(5), 0.2),
        (70, 9, Some(5), 0.2),
        (70, 2, Some(66), 0.2),
        (2, 3, Some(10), 0.2),
    ] {
        out.push(attention_check(&k, &mut rng, start, seq, window, scale).await?);
    }
    for activation in [Activation::Silu, Activation::GeluTanh] {
        out.push(gated_check(&k, &mut rng, activation).await?);
    }
    out.push(argmax_check(&k, &mut rng).await?);
    Ok(out)
}

type Rng = rand_chacha::ChaCha8Rng;

fn random(rng: &mut Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

fn check(name: String, gpu: &[f32], cpu: &[f32], tolerance: f32) -> KernelCheck {
    let max_abs_error = if gpu.len() == cpu.len() {
        gpu.iter()
            .zip(cpu)
            .map(|(a, b)| {
                if a.is_nan() || b.is_nan() {
                    f32::INFINITY
                } else {
                    (a - b).abs()
                }
            })
            .fold(0.0, f32::max)
    } else {
        f32::INFINITY
    };
    KernelCheck {
        name,
        max_abs_error,
        tolerance,
        passed: max_abs_error <= tolerance,
    }
}

/// A tolerance relative to the reference's magnitude (f32 sums in another order).
fn relative(cpu: &[f32], rel: f32) -> f32 {
    rel * cpu.iter().fold(1.0f32, |m, v| m.max(v.abs()))
}

fn storage_f32(k: &Kernels, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
    let b = k.storage(label, (data.len() * 4) as u64, wgpu::BufferUsages::COPY_SRC)?;
    k.queue.write_buffer(&b, 0, bytemuck::cast_slice(data));
    Ok(b)
}

/// Runs the dispatches `record` makes, then reads `n` f32 values of each of `outputs`.
async fn run(
    k: &Kernels,
    record: impl FnOnce(&mut wgpu::ComputePass<'_>),
    outputs: &[(&wgpu::Buffer, usize)],
) -> Result<Vec<Vec<f32>>> {
    let mut encoder = k.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        record(&mut pass);
    }
    let total: usize = outputs.iter().map(|o| o.1 * 4).sum();
    let staging = k.staging(total as u64);
    let mut at = 0u64;
    for (buffer, n) in outputs {
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, at, (*n * 4) as u64);
        at += (*n * 4) as u64;
    }
    k.submit(encoder).await?;
    let bytes = k.read(&staging, total as u64).await?;
    let all: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
    let mut result = Vec::new();
    let mut from = 0;
    for (_, n) in outputs {
        result.push(all[from..from + n].to_vec());
        from += n;
    }
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
async fn matmul_check(
    k: &Kernels,
    rng: &mut Rng,
    label: &str,
    scheme: Option<QuantScheme>,
    rows: usize,
    cols: usize,
    tokens: usize,
    max_binding: Option<u64>,
) -> Result<KernelCheck> {
    let w = random(rng, rows * cols, 1.0 / (cols as f32).sqrt());
    let x = random(rng, tokens * cols, 1.0);
    let mut cpu = vec![0f32; tokens * rows];
    let max_binding = max_binding.unwrap_or(k.max_binding);
    let (gpu_matrix, packed);
    match scheme {
        Some(s) => {
            let p = PackedMatrix::quantize(label, &w, rows, cols, s)?;
            let acts: Vec<ActivationQ8> =
                x.chunks_exact(cols).map(ActivationQ8::quantize).collect();
            packed_matmul(&p, &acts, &mut cpu);
            let m = GpuMatrix::allocate(k, label, rows, cols, Storage::of_packed(&p), max_binding)?;
            m.write(k, label, 0, Part::Packed(&p))?;
            gpu_matrix = m;
            packed = true;
        }
        None => {
            let d = DenseMatrix {
                rows,
                cols,
                data: w.clone(),
            };
            dense_matmul(&d, &x, tokens, &mut cpu);
            let t = HostTensor::new(label, vec![rows, cols], w)?;
            let m = GpuMatrix::allocate(k, label, rows, cols, Storage::Dense, max_binding)?;
            m.write(k, label, 0, Part::Dense(&t))?;
            gpu_matrix = m;
            packed = false;
        }
    }
    let mut slots = ParamSlots::new(k.uniform_align);
    let mat_slots = matrix_slots(&mut slots, &gpu_matrix, false, false);
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(tokens, 0, 1, 0, 1));
    let input = storage_f32(k, "x", &x)?;
    let codes = k.storage("codes", (tokens * cols) as u64, wgpu::BufferUsages::empty())?;
    let dsum = k.storage(
        "dsum",
        (tokens * cols / 32 * 8) as u64,
        wgpu::BufferUsages::empty(),
    )?;
    let y = k.storage(
        "y",
        (tokens * rows * 4) as u64,
        wgpu::BufferUsages::COPY_SRC,
    )?;
    let op = bind_matmul(
        k,
        &call,
        &params,
        &gpu_matrix,
        &mat_slots,
        &input,
        &y,
        (&codes, &dsum),
    );
    let gpu = run(
        k,
        |pass| encode_matmul(k, pass, &op, tokens),
        &[(&y, tokens * rows)],
    )
    .await?;
    let kind = if packed { "" } else { " (f32 activations)" };
    Ok(check(
        format!(
            "matmul {label}{kind}: {rows}×{cols}, {tokens} token{} ({} chunk{})",
            if tokens == 1 { "" } else { "s" },
            gpu_matrix.chunks.len(),
            if gpu_matrix.chunks.len() == 1 {
                ""
            } else {
                "s"
            },
        ),
        &gpu[0],
        &cpu,
        // Packed products repeat the CPU's steps exactly; dense ones sum in another order.
        if packed { 0.0 } else { relative(&cpu, 1e-5) },
    ))
}

/// Activation quantization must agree bit for bit: one code off changes a product by a
/// whole quantization step, which then spreads through the key/value cache.
async fn quantize_check(k: &Kernels, rng: &mut Rng) -> Result<KernelCheck> {
    let (tokens, cols) = (64, 4096);
    let mut x = random(rng, tokens * cols, 3.0);
    // Values on rounding boundaries: exact halves of the step once scaled.
    for (i, v) in x.iter_mut().enumerate().step_by(7) {
        let block_max = 127.0;
        *v = ((i % 255) as f32 - 127.0 + 0.5) / block_max * 3.0;
    }
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&[cols as u32, 0, 0, 0]);
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(tokens, 0, 1, 0, 1));
    let xb = storage_f32(k, "x", &x)?;
    let codes = k.storage(
        "codes",
        (tokens * cols) as u64,
        wgpu::BufferUsages::COPY_SRC,
    )?;
    let dsum = k.storage(
        "dsum",
        (tokens * cols / 32 * 8) as u64,
        wgpu::BufferUsages::COPY_SRC,
    )?;
    let g = k.bind(
        &k.quantize,
        &call,
        (&params, slot),
        &[&xb],
        &[&codes, &dsum],
    );
    let gpu = run(
        k,
        |p| dispatch_threads(p, &k.quantize, &g, tokens * cols / 32),
        &[(&codes, tokens * cols / 4), (&dsum, tokens * cols / 32 * 2)],
    )
    .await?;
    let mut wrong = 0usize;
    for (t, row) in x.chunks_exact(cols).enumerate() {
        let a = ActivationQ8::quantize(row);
        for (i, &c) in a.natural_codes().iter().enumerate() {
            let word = gpu[0][(t * cols + i) / 4].to_bits();
            let got = (word >> (8 * (i % 4))) as u8 as i8;
            wrong += usize::from(got != c);
        }
        for (b, (&d, &s)) in a.scales().iter().zip(a.sums()).enumerate() {
            let at = (t * cols / 32 + b) * 2;
            wrong += usize::from(gpu[1][at].to_bits() != d.to_bits());
            wrong += usize::from(gpu[1][at + 1].to_bits() != s.to_bits());
        }
    }
    Ok(KernelCheck {
        name: format!(
            "activation int8 quantization, {tokens}×{cols}: codes, scales and sums that differ"
        ),
        max_abs_error: wrong as f32,
        tolerance: 0.0,
        passed: wrong == 0,
    })
}

/// Embedding rows, then (Gemma) `row · scale` as the CPU decoder's `*v *= scale`.
async fn embed_check(k: &Kernels, rng: &mut Rng, scale: Option<f32>) -> Result<KernelCheck> {
    let (rows, cols) = (50, 64);
    let w = random(rng, rows * cols, 1.0);
    let p = PackedMatrix::quantize("embedding", &w, rows, cols, QuantScheme::DEFAULT)?;
    let m = GpuMatrix::allocate(k, "embedding", rows, cols, Storage::of_packed(&p), 20 * 32)?;
    m.write(k, "embedding", 0, Part::Packed(&p))?;
    let tokens = [3u32, 49, 0, 17];
    let mut cpu = vec![0f32; tokens.len() * cols];
    for (row, &t) in cpu.chunks_exact_mut(cols).zip(&tokens) {
        p.dequantize_row(t as usize, row);
        if let Some(scale) = scale {
            row.iter_mut().for_each(|v| *v *= scale);
        }
    }
    let mut slots = ParamSlots::new(k.uniform_align);
    let (kind, asym, f16, group) = super::builder::storage_words(m.storage);
    let offsets: Vec<u64> = m
        .chunks
        .iter()
        .map(|ch| {
            slots.push(&[
                ch.rows as u32,
                cols as u32,
                group,
                m.scale_stride as u32,
                f16,
                asym,
                kind,
                ch.row0 as u32,
                u32::from(scale.is_some()),
                scale.unwrap_or(1.0).to_bits(),
            ])
        })
        .collect();
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(tokens.len(), 0, 1, 0, 1));
    let token_buf = k.storage("tokens", 16, wgpu::BufferUsages::empty())?;
    k.queue
        .write_buffer(&token_buf, 0, bytemuck::cast_slice(&tokens));
    let out = k.storage("out", (cpu.len() * 4) as u64, wgpu::BufferUsages::COPY_SRC)?;
    let groups: Vec<wgpu::BindGroup> = m
        .chunks
        .iter()
        .zip(&offsets)
        .map(|(ch, &o)| {
            let scales = ch.scales.as_ref().unwrap_or(&k.unused_binding);
            let mins = ch.mins.as_ref().unwrap_or(&k.unused_binding);
            k.bind(
                &k.embed,
                &call,
                (&params, o),
                &[&token_buf, &ch.q, scales, mins],
                &[&out],
            )
        })
        .collect();
    let gpu = run(
        k,
        |pass| {
            for g in &groups {
                dispatch_threads(pass, &k.embed, g, tokens.len() * cols);
            }
        },
        &[(&out, cpu.len())],
    )
    .await?;
    Ok(check(
        format!(
            "embedding rows (int4 g32 asym, {} chunks){}",
            m.chunks.len(),
            scale.map_or(String::new(), |s| format!(", scaled by {s}"))
        ),
        &gpu[0],
        &cpu,
        0.0,
    ))
}

async fn rms_norm_check(k: &Kernels, rng: &mut Rng) -> Result<KernelCheck> {
    let (rows, cols, eps) = (3, 576, 1e-5f32);
    let x = random(rng, rows * cols, 2.0);
    let w: Vec<f32> = (0..cols)
        .map(|_| 1.0 + rng.random_range(-0.1f32..0.1))
        .collect();
    let mut cpu = vec![0f32; rows * cols];
    ops::rms_norm(&x, &w, eps, &mut cpu);
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&super::builder::norm_words(cols, 0, false, false, eps));
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(rows, 0, 1, 0, 1));
    let (xb, wb) = (storage_f32(k, "x", &x)?, storage_f32(k, "w", &w)?);
    let out = k.storage(
        "out",
        (rows * cols * 4) as u64,
        wgpu::BufferUsages::COPY_SRC,
    )?;
    let g = k.bind(&k.rms_norm, &call, (&params, slot), &[&xb, &wb], &[&out]);
    let gpu = run(
        k,
        |p| dispatch(p, &k.rms_norm, &g, (rows as u32, 1, 1)),
        &[(&out, rows * cols)],
    )
    .await?;
    Ok(check(
        format!("rms_norm: {rows}×{cols}"),
        &gpu[0],
        &cpu,
        0.0,
    ))
}

/// The sandwich norm: a sublayer's output normed and added into the residual stream, as the
/// CPU's `rms_norm_in_place` then `x += projected`.
async fn norm_add_check(k: &Kernels, rng: &mut Rng) -> Result<KernelCheck> {
    let (rows, cols, eps) = (3, 640, 1e-6f32);
    let mut projected = random(rng, rows * cols, 2.0);
    let x = random(rng, rows * cols, 3.0);
    let w: Vec<f32> = (0..cols).map(|_| rng.random_range(-2f32..2.0)).collect();
    // The weights sit after another norm's, as in the decoder's norms buffer.
    let mut weights = random(rng, cols, 1.0);
    weights.extend_from_slice(&w);
    let (xb, pb, wb) = (
        storage_f32(k, "x", &x)?,
        storage_f32(k, "projected", &projected)?,
        storage_f32(k, "w", &weights)?,
    );
    let mut cpu = x;
    ops::rms_norm_in_place(&mut projected, &w, eps);
    cpu.iter_mut().zip(&projected).for_each(|(a, b)| *a += b);
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&super::builder::norm_words(cols, cols, false, true, eps));
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(rows, 0, 1, 0, 1));
    let g = k.bind(&k.rms_norm, &call, (&params, slot), &[&pb, &wb], &[&xb]);
    let gpu = run(
        k,
        |p| dispatch(p, &k.rms_norm, &g, (rows as u32, 1, 1)),
        &[(&xb, rows * cols)],
    )
    .await?;
    Ok(check(
        format!("rms_norm added into x (sandwich norm): {rows}×{cols}"),
        &gpu[0],
        &cpu,
        0.0,
    ))
}

/// Gemma's q/k norms in place in q|k|v rows (biases first when there are any), against
/// the CPU's bias add and `rms_norm_in_place` over rows of `head_dim`.
async fn head_norm_check(
    k: &Kernels,
    rng: &mut Rng,
    hd: usize,
    has_bias: bool,
) -> Result<KernelCheck> {
    let seq = 3;
    let (qw, kvw) = (HEADS * hd, KV_HEADS * hd);
    let width = qw + 2 * kvw;
    let layer = 1;
    let qkv = random(rng, seq * width, 2.0);
    // Two layers' biases and norms; the check uses the second's.
    let bias = random(rng, 2 * width, 0.5);
    let norms = random(rng, 2 * 2 * hd, 1.5);
    let layer_bias = &bias[layer * width..(layer + 1) * width];
    let (q_norm, k_norm) = norms[2 * layer * hd..2 * (layer + 1) * hd].split_at(hd);
    let eps = 1e-6f32;
    let mut cpu = qkv.clone();
    for row in cpu.chunks_exact_mut(width) {
        if has_bias {
            row.iter_mut().zip(layer_bias).for_each(|(v, b)| *v += b);
        }
        ops::rms_norm_in_place(&mut row[..qw], q_norm, eps);
        ops::rms_norm_in_place(&mut row[qw..qw + kvw], k_norm, eps);
    }
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&super::builder::head_norm_words(
        (HEADS, KV_HEADS, hd),
        eps,
        2 * layer * hd,
        (layer * width) as u32,
        has_bias,
    ));
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(seq, 0, 1, 0, 1));
    let (qkv_b, bias_b, norms_b) = (
        storage_f32(k, "qkv", &qkv)?,
        storage_f32(k, "bias", &bias)?,
        storage_f32(k, "norms", &norms)?,
    );
    let g = k.bind(
        &k.head_norm,
        &call,
        (&params, slot),
        &[&bias_b, &norms_b],
        &[&qkv_b],
    );
    let gpu = run(
        k,
        |p| {
            dispatch(
                p,
                &k.head_norm,
                &g,
                ((HEADS + 2 * KV_HEADS) as u32, seq as u32, 1),
            )
        },
        &[(&qkv_b, qkv.len())],
    )
    .await?;
    Ok(check(
        format!(
            "q/k head norms{}: 3 tokens, 4/2 heads, head_dim {hd}",
            if has_bias { " after biases" } else { "" }
        ),
        &gpu[0],
        &cpu,
        0.0,
    ))
}

/// Shapes shared by the rotary and attention checks: 4 query heads over 2 kv heads.
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = 64;
const CAPACITY: usize = 80;

/// Rotation with frequency set `table` of two (Gemma's sliding layers use the second).
async fn rope_check(k: &Kernels, rng: &mut Rng, table: usize) -> Result<KernelCheck> {
    let (seq, start, hd) = (3, 5, HEAD_DIM);
    let (qw, kvw) = (HEADS * hd, KV_HEADS * hd);
    let width = qw + 2 * kvw;
    let qkv = random(rng, seq * width, 1.0);
    let bias = random(rng, width, 0.1);
    let half = hd / 2;
    let sets: Vec<(Vec<f32>, Vec<f32>)> = [1_000_000f32, 10_000.0]
        .iter()
        .map(|base| {
            let inv: Vec<f32> = (0..half)
                .map(|i| 1.0 / base.powf(2.0 * i as f32 / hd as f32))
                .collect();
            let (mut cos, mut sin) = (Vec::new(), Vec::new());
            for pos in start..start + seq {
                for &f in &inv {
                    let (s, c) = (pos as f32 * f).sin_cos();
                    cos.push(c);
                    sin.push(s);
                }
            }
            (cos, sin)
        })
        .collect();
    let (cos, sin) = &sets[table];
    // CPU: bias, then rotate q and k; v is copied.
    let mut q = Vec::new();
    let mut kk = Vec::new();
    let mut v = Vec::new();
    for row in qkv.chunks_exact(width) {
        let row: Vec<f32> = row.iter().zip(&bias).map(|(a, b)| a + b).collect();
        q.extend_from_slice(&row[..qw]);
        kk.extend_from_slice(&row[qw..qw + kvw]);
        v.extend_from_slice(&row[qw + kvw..]);
    }
    ops::rope(&mut q, HEADS, hd, cos, sin);
    ops::rope(&mut kk, KV_HEADS, hd, cos, sin);
    let mut cache_k = vec![0f32; KV_HEADS * CAPACITY * hd];
    let mut cache_v = vec![0f32; KV_HEADS * CAPACITY * hd];
    for t in 0..seq {
        for g in 0..KV_HEADS {
            let at = (g * CAPACITY + start + t) * hd;
            let src = t * kvw + g * hd;
            cache_k[at..at + hd].copy_from_slice(&kk[src..src + hd]);
            cache_v[at..at + hd].copy_from_slice(&v[src..src + hd]);
        }
    }
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&[
        HEADS as u32,
        KV_HEADS as u32,
        hd as u32,
        table as u32,
        0,
        1,
        0,
        0,
    ]);
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(seq, start, 1, 0, CAPACITY));
    let tables: Vec<f32> = sets
        .iter()
        .flat_map(|(c, s)| c.iter().chain(s))
        .copied()
        .collect();
    let (qkv_b, bias_b, rope_b) = (
        storage_f32(k, "qkv", &qkv)?,
        storage_f32(k, "bias", &bias)?,
        storage_f32(k, "rope", &tables)?,
    );
    let zeros = vec![0f32; cache_k.len()];
    let q_b = storage_f32(k, "q", &vec![0f32; q.len()])?;
    let (k_b, v_b) = (storage_f32(k, "k", &zeros)?, storage_f32(k, "v", &zeros)?);
    let g = k.bind(
        &k.rope_kv,
        &call,
        (&params, slot),
        &[&qkv_b, &bias_b, &rope_b],
        &[&q_b, &k_b, &v_b],
    );
    let gpu = run(
        k,
        |p| dispatch_threads(p, &k.rope_kv, &g, seq * (HEADS + 2 * KV_HEADS) * half),
        &[
            (&q_b, q.len()),
            (&k_b, cache_k.len()),
            (&v_b, cache_v.len()),
        ],
    )
    .await?;
    let gpu_all: Vec<f32> = gpu.concat();
    let cpu_all: Vec<f32> = [q, cache_k, cache_v].concat();
    Ok(check(
        format!("rope (table {table} of 2) + bias + kv write: 3 tokens at 5, 4/2 heads"),
        &gpu_all,
        &cpu_all,
        0.0,
    ))
}

async fn attention_check(
    k: &Kernels,
    rng: &mut Rng,
    start: usize,
    seq: usize,
    window: Option<usize>,
    scale: f32,
) -> Result<KernelCheck> {
    let hd = HEAD_DIM;
    let q = random(rng, seq * HEADS * hd, 2.0);
    let keys = random(rng, KV_HEADS * CAPACITY * hd, 2.0);
    let values = random(rng, KV_HEADS * CAPACITY * hd, 1.0);
    let mut cpu = vec![0f32; q.len()];
    let shape = ops::AttentionShape {
        heads: HEADS,
        kv_heads: KV_HEADS,
        head_dim: hd,
        start,
        stride: CAPACITY,
        scale,
        window,
    };
    ops::attention(&q, &keys, &values, &shape, &mut cpu);
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&[
        HEADS as u32,
        KV_HEADS as u32,
        hd as u32,
        window.unwrap_or(0) as u32,
        scale.to_bits(),
    ]);
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(seq, start, 1, 0, CAPACITY));
    let (qb, kb, vb) = (
        storage_f32(k, "q", &q)?,
        storage_f32(k, "keys", &keys)?,
        storage_f32(k, "values", &values)?,
    );
    let out = k.storage("out", (q.len() * 4) as u64, wgpu::BufferUsages::COPY_SRC)?;
    let g = k.bind(
        &k.attention,
        &call,
        (&params, slot),
        &[&qb, &kb, &vb],
        &[&out],
    );
    let gpu = run(
        k,
        |p| dispatch(p, &k.attention, &g, (HEADS as u32, seq as u32, 1)),
        &[(&out, q.len())],
    )
    .await?;
    Ok(check(
        format!(
            "attention: {seq} token(s) at {start}, 4 heads over 2 kv heads, head_dim 64, {}",
            window.map_or("all positions".into(), |w| format!(
                "window {w}, scale {scale}"
            ))
        ),
        &gpu[0],
        &cpu,
        0.0,
    ))
}

/// The gated activation, SiLU (llama, qwen2) or GELU's tanh form (Gemma).
async fn gated_check(k: &Kernels, rng: &mut Rng, activation: Activation) -> Result<KernelCheck> {
    let (seq, inner) = (3, 160);
    let mut gate_up = random(rng, seq * 2 * inner, 4.0);
    // Far tails too, where e^(−x) saturates.
    gate_up[0] = 30.0;
    gate_up[1] = -30.0;
    gate_up[2] = 100.0;
    gate_up[3] = -100.0;
    let mut cpu = vec![0f32; seq * inner];
    ops::gated(activation, &gate_up, inner, &mut cpu);
    let mut slots = ParamSlots::new(k.uniform_align);
    let slot = slots.push(&super::builder::gated_words(inner, activation));
    let params = k.uniform("params", slots.bytes());
    let call = k.uniform("call", &call_bytes(seq, 0, 1, 0, 1));
    let gb = storage_f32(k, "gate_up", &gate_up)?;
    let out = k.storage("out", (cpu.len() * 4) as u64, wgpu::BufferUsages::COPY_SRC)?;
    let g = k.bind(&k.gated, &call, (&params, slot), &[&gb], &[&out]);
    let gpu = run(
        k,
        |p| dispatch_threads(p, &k.gated, &g, seq * inner),
        &[(&out, cpu.len())],
    )
    .await?;
    Ok(check(
        format!("gated {activation:?}: {seq}×{inner}"),
        &gpu[0],
        &cpu,
        0.0,
    ))
}

async fn argmax_check(k: &Kernels, rng: &mut Rng) -> Result<KernelCheck> {
    let n = 49_999;
    let mut worst = 0f32;
    let cases: [&[usize]; 3] = [&[31_000, 777, 40_000], &[n - 1], &[5, 4, 300]];
    for peaks in cases {
        let mut logits = random(rng, n, 10.0);
        for &i in peaks {
            logits[i] = 12.5;
        }
        let cpu = crate::sampling::argmax(&logits);
        let mut slots = ParamSlots::new(k.uniform_align);
        let slot = slots.push(&[n as u32, 0, 0, 0]);
        let params = k.uniform("params", slots.bytes());
        let call = k.uniform("call", &call_bytes(1, 0, 1, 0, 1));
        let lb = storage_f32(k, "logits", &logits)?;
        let out = k.storage("argmax", 4, wgpu::BufferUsages::COPY_SRC)?;
        let g = k.bind(&k.argmax, &call, (&params, slot), &[&lb], &[&out]);
        let gpu = run(k, |p| dispatch(p, &k.argmax, &g, (1, 1, 1)), &[(&out, 1)]).await?;
        let index = gpu[0][0].to_bits();
        worst = worst.max((index as f32 - cpu as f32).abs());
    }
    Ok(KernelCheck {
        name: format!("argmax over {n} logits, tied maxima"),
        max_abs_error: worst,
        tolerance: 0.0,
        passed: worst == 0.0,
    })
}

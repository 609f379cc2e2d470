//! An independent, deliberately naive forward pass in plain loops (Hugging Face semantics for
//! llama, qwen2 and Gemma 3's variant rules), to check the decoders against something
//! written a different way.

use lmfast_core::arch::{block_name, Role};
use lmfast_core::config::{Activation, LayerKind, ModelConfig, RopeScaling};
use lmfast_core::weights::ModelWeights;

fn matvec(w: &[f32], rows: usize, cols: usize, x: &[f32]) -> Vec<f32> {
    (0..rows)
        .map(|r| (0..cols).map(|c| w[r * cols + c] * x[c]).sum())
        .collect()
}

fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + eps).sqrt();
    x.iter().zip(w).map(|(v, w)| v * inv * w).collect()
}

/// Hugging Face's `inv_freq` (default, linear or llama3 rope parameters), element by element.
fn inverse_frequencies(config: &ModelConfig, kind: LayerKind) -> Vec<f32> {
    let d = config.head_dim;
    if let (LayerKind::Sliding, Some(theta)) = (kind, config.variant.rope_local_theta) {
        return (0..d / 2)
            .map(|i| 1.0 / theta.powf((2 * i) as f32 / d as f32))
            .collect();
    }
    (0..d / 2)
        .map(|i| {
            let mut f = 1.0 / config.rope_theta.powf((2 * i) as f32 / d as f32);
            if let Some(factors) = &config.variant.rope_factors {
                f /= factors[i];
            }
            match config.rope_scaling {
                None => f,
                Some(RopeScaling::Linear { factor }) => f / factor,
                Some(RopeScaling::Llama3 {
                    factor,
                    low_freq_factor: low,
                    high_freq_factor: high,
                    original_max_position_embeddings: old,
                }) => {
                    let old = old as f32;
                    let wavelen = 2.0 * std::f32::consts::PI / f;
                    if wavelen < old / high {
                        f
                    } else if wavelen > old / low {
                        f / factor
                    } else {
                        let smooth = (old / wavelen - low) / (high - low);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                }
            }
        })
        .collect()
}

fn rope(x: &mut [f32], pos: usize, inverse_frequencies: &[f32]) {
    let half = x.len() / 2;
    for (i, &freq) in inverse_frequencies.iter().enumerate() {
        let (s, c) = (pos as f32 * freq).sin_cos();
        let (a, b) = (x[i], x[i + half]);
        x[i] = a * c - b * s;
        x[i + half] = b * c + a * s;
    }
}

/// Logits for every position of `tokens`, `[tokens.len()][vocab]`.
pub fn logits(config: &ModelConfig, weights: &ModelWeights, tokens: &[u32]) -> Vec<Vec<f32>> {
    let w = |name: &str| &weights.get(name).unwrap_or_else(|| panic!("{name}")).data;
    let (h, hd) = (config.hidden_size, config.head_dim);
    let (nh, nkv) = (config.num_heads, config.num_kv_heads);
    let group = nh / nkv;
    let eps = config.rms_norm_eps;
    let v = &config.variant;
    let scale = v.attention_scale.unwrap_or(1.0 / (hd as f32).sqrt());
    let mut keys: Vec<Vec<Vec<f32>>> = vec![Vec::new(); config.num_layers]; // [layer][pos][kv]
    let mut values: Vec<Vec<Vec<f32>>> = vec![Vec::new(); config.num_layers];
    let mut out = Vec::new();
    for (pos, &token) in tokens.iter().enumerate() {
        let embd = w(Role::TokenEmbedding.global_name());
        let mut x: Vec<f32> = embd[token as usize * h..(token as usize + 1) * h].to_vec();
        if let Some(s) = v.embedding_scale {
            x.iter_mut().for_each(|a| *a *= s);
        }
        for layer in 0..config.num_layers {
            let b = |role: Role| block_name(layer, role);
            let kind = v.layer_kinds.get(layer).copied().unwrap_or_default();
            let inv_freq = inverse_frequencies(config, kind);
            let xn = rms_norm(&x, w(&b(Role::AttnNorm)), eps);
            let mut q = matvec(w(&b(Role::AttnQ)), nh * hd, h, &xn);
            let mut k = matvec(w(&b(Role::AttnK)), nkv * hd, h, &xn);
            let mut vv = matvec(w(&b(Role::AttnV)), nkv * hd, h, &xn);
            if config.attention_bias {
                for (t, bias) in [
                    (&mut q, Role::AttnQBias),
                    (&mut k, Role::AttnKBias),
                    (&mut vv, Role::AttnVBias),
                ] {
                    t.iter_mut().zip(w(&b(bias))).for_each(|(a, b)| *a += b);
                }
            }
            if v.qk_norm {
                for (t, role) in [(&mut q, Role::AttnQNorm), (&mut k, Role::AttnKNorm)] {
                    let normed: Vec<f32> = t
                        .chunks(hd)
                        .flat_map(|head| rms_norm(head, w(&b(role)), eps))
                        .collect();
                    *t = normed;
                }
            }
            q.chunks_mut(hd).for_each(|head| rope(head, pos, &inv_freq));
            k.chunks_mut(hd).for_each(|head| rope(head, pos, &inv_freq));
            keys[layer].push(k);
            values[layer].push(vv);
            let first = match (kind, v.sliding_window) {
                (LayerKind::Sliding, Some(window)) => (pos + 1).saturating_sub(window),
                _ => 0,
            };
            let mut attn = vec![0.0f32; nh * hd];
            for head in 0..nh {
                let kvh = head / group;
                let qh = &q[head * hd..(head + 1) * hd];
                let scores: Vec<f32> = keys[layer][first..]
                    .iter()
                    .map(|k| {
                        let kh = &k[kvh * hd..(kvh + 1) * hd];
                        qh.iter().zip(kh).map(|(a, b)| a * b).sum::<f32>() * scale
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f32 = exps.iter().sum();
                for (p, e) in exps.iter().enumerate() {
                    let vh = &values[layer][first + p][kvh * hd..(kvh + 1) * hd];
                    for d in 0..hd {
                        attn[head * hd + d] += e / sum * vh[d];
                    }
                }
            }
            let mut o = matvec(w(&b(Role::AttnOutput)), h, nh * hd, &attn);
            if v.sandwich_norms {
                o = rms_norm(&o, w(&b(Role::PostAttnNorm)), eps);
            }
            x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            let xn = rms_norm(&x, w(&b(Role::FfnNorm)), eps);
            let i = config.intermediate_size;
            let gate = matvec(w(&b(Role::FfnGate)), i, h, &xn);
            let up = matvec(w(&b(Role::FfnUp)), i, h, &xn);
            let act: Vec<f32> = gate
                .iter()
                .zip(&up)
                .map(|(&g, u)| {
                    let a = match v.activation {
                        Activation::Silu => g / (1.0 + (-g).exp()),
                        Activation::GeluTanh => {
                            let c = (2.0f32 / std::f32::consts::PI).sqrt();
                            0.5 * g * (1.0 + (c * (g + 0.044715 * g * g * g)).tanh())
                        }
                    };
                    a * u
                })
                .collect();
            let mut down = matvec(w(&b(Role::FfnDown)), h, i, &act);
            if v.sandwich_norms {
                down = rms_norm(&down, w(&b(Role::PostFfnNorm)), eps);
            }
            x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        }
        let xn = rms_norm(&x, w(Role::OutputNorm.global_name()), eps);
        let head = if config.tie_word_embeddings {
            Role::TokenEmbedding.global_name()
        } else {
            Role::Output.global_name()
        };
        out.push(matvec(w(head), config.vocab_size, h, &xn));
    }
    out
}

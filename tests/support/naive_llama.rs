//! An independent, deliberately naive llama forward pass in plain loops (Hugging Face
//! semantics), to check the burn model against something written a different way.

use lmfast_core::config::{ModelConfig, RopeScaling};
use lmfast_core::weights::{names, ModelWeights};

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
fn inverse_frequencies(config: &ModelConfig) -> Vec<f32> {
    let d = config.head_dim;
    (0..d / 2)
        .map(|i| {
            let f = 1.0 / config.rope_theta.powf((2 * i) as f32 / d as f32);
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
    let inv_freq = inverse_frequencies(config);
    let mut keys: Vec<Vec<Vec<f32>>> = vec![Vec::new(); config.num_layers]; // [layer][pos][kv]
    let mut values: Vec<Vec<Vec<f32>>> = vec![Vec::new(); config.num_layers];
    let mut out = Vec::new();
    for (pos, &token) in tokens.iter().enumerate() {
        let embd = w(names::TOKEN_EMBD);
        let mut x: Vec<f32> = embd[token as usize * h..(token as usize + 1) * h].to_vec();
        for layer in 0..config.num_layers {
            let b = |part: &str| names::block(layer, part);
            let xn = rms_norm(&x, w(&b("attn_norm.weight")), eps);
            let mut q = matvec(w(&b("attn_q.weight")), nh * hd, h, &xn);
            let mut k = matvec(w(&b("attn_k.weight")), nkv * hd, h, &xn);
            let mut v = matvec(w(&b("attn_v.weight")), nkv * hd, h, &xn);
            if config.attention_bias {
                for (t, bias) in [
                    (&mut q, "attn_q.bias"),
                    (&mut k, "attn_k.bias"),
                    (&mut v, "attn_v.bias"),
                ] {
                    t.iter_mut().zip(w(&b(bias))).for_each(|(a, b)| *a += b);
                }
            }
            q.chunks_mut(hd).for_each(|head| rope(head, pos, &inv_freq));
            k.chunks_mut(hd).for_each(|head| rope(head, pos, &inv_freq));
            keys[layer].push(k);
            values[layer].push(v);
            let mut attn = vec![0.0f32; nh * hd];
            for head in 0..nh {
                let kvh = head / group;
                let qh = &q[head * hd..(head + 1) * hd];
                let scores: Vec<f32> = keys[layer]
                    .iter()
                    .map(|k| {
                        let kh = &k[kvh * hd..(kvh + 1) * hd];
                        qh.iter().zip(kh).map(|(a, b)| a * b).sum::<f32>() / (hd as f32).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f32 = exps.iter().sum();
                for (p, e) in exps.iter().enumerate() {
                    let vh = &values[layer][p][kvh * hd..(kvh + 1) * hd];
                    for d in 0..hd {
                        attn[head * hd + d] += e / sum * vh[d];
                    }
                }
            }
            let o = matvec(w(&b("attn_output.weight")), h, nh * hd, &attn);
            x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            let xn = rms_norm(&x, w(&b("ffn_norm.weight")), eps);
            let i = config.intermediate_size;
            let gate = matvec(w(&b("ffn_gate.weight")), i, h, &xn);
            let up = matvec(w(&b("ffn_up.weight")), i, h, &xn);
            let act: Vec<f32> = gate
                .iter()
                .zip(&up)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let down = matvec(w(&b("ffn_down.weight")), h, i, &act);
            x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        }
        let xn = rms_norm(&x, w(names::OUTPUT_NORM), eps);
        let head = if config.tie_word_embeddings {
            names::TOKEN_EMBD
        } else {
            names::OUTPUT
        };
        out.push(matvec(w(head), config.vocab_size, h, &xn));
    }
    out
}

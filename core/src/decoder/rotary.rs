//! The rotary embedding: frequency per dimension pair (with the config's scaling and
//! per-pair factors) and the cos/sin tables, built here once for every decoder (burn, fused
//! CPU, WGSL), so all of them rotate by the same f32 angles.
//!
//! A model has one frequency set per layer kind: global layers use `rope_theta`, scaling and
//! factors; sliding layers (Gemma 3) their own base, unscaled.

use crate::config::{LayerKind, ModelConfig, RopeScaling};

/// `(sin, cos)` of `position · frequency`, computed the one way every decoder uses.
pub fn rotation(position: usize, frequency: f32) -> (f32, f32) {
    libm::sincosf(position as f32 * frequency)
}

/// The inverse frequency of each of the `head_dim / 2` pairs for global layers.
pub fn inverse_frequencies(config: &ModelConfig) -> Vec<f32> {
    let mut inv = base_frequencies(config.head_dim, config.rope_theta);
    if let Some(factors) = &config.variant.rope_factors {
        inv.iter_mut().zip(factors).for_each(|(f, d)| *f /= d);
    }
    match config.rope_scaling {
        None => {}
        // Dividing positions by the factor is the same as dividing every frequency.
        Some(RopeScaling::Linear { factor }) => inv.iter_mut().for_each(|f| *f /= factor),
        Some(RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        }) => {
            let old = original_max_position_embeddings as f32;
            let low_wavelen = old / low_freq_factor;
            let high_wavelen = old / high_freq_factor;
            for f in &mut inv {
                let wavelen = 2.0 * std::f32::consts::PI / *f;
                if wavelen > low_wavelen {
                    *f /= factor;
                } else if wavelen >= high_wavelen {
                    let smooth =
                        (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                    *f = (1.0 - smooth) * *f / factor + smooth * *f;
                }
            }
        }
    }
    inv
}

fn base_frequencies(dim: usize, base: f32) -> Vec<f32> {
    (0..dim / 2)
        .map(|i| 1.0 / libm::powf(base, (2 * i) as f32 / dim as f32))
        .collect()
}

/// A model's rotary frequency sets and which layer uses which.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotary {
    sets: Vec<Vec<f32>>,
    layer_sets: Vec<usize>,
}

impl Rotary {
    /// The sets of `config`'s model: set 0 for global layers, set 1 for sliding layers when
    /// they have a base of their own.
    pub fn new(config: &ModelConfig) -> Self {
        let mut sets = vec![inverse_frequencies(config)];
        let local = config
            .variant
            .rope_local_theta
            .filter(|_| (0..config.num_layers).any(|l| config.layer_kind(l) == LayerKind::Sliding));
        if let Some(theta) = local {
            sets.push(base_frequencies(config.head_dim, theta));
        }
        let layer_sets = (0..config.num_layers)
            .map(|l| match config.layer_kind(l) {
                LayerKind::Sliding if sets.len() > 1 => 1,
                _ => 0,
            })
            .collect();
        Self { sets, layer_sets }
    }

    /// Number of frequency sets (1 or 2).
    pub fn set_count(&self) -> usize {
        self.sets.len()
    }

    /// The set layer `layer` rotates with.
    pub fn set_of(&self, layer: usize) -> usize {
        self.layer_sets.get(layer).copied().unwrap_or(0)
    }

    /// The inverse frequencies of set `set`.
    pub fn frequencies(&self, set: usize) -> &[f32] {
        &self.sets[set]
    }

    /// `cos` and `sin` of set `set` for positions `start..start + seq`, `head_dim / 2` values
    /// per position.
    pub fn tables(&self, set: usize, start: usize, seq: usize) -> (Vec<f32>, Vec<f32>) {
        let freqs = &self.sets[set];
        let mut cos = Vec::with_capacity(seq * freqs.len());
        let mut sin = Vec::with_capacity(seq * freqs.len());
        for pos in start..start + seq {
            for &f in freqs {
                let (s, c) = rotation(pos, f);
                cos.push(c);
                sin.push(s);
            }
        }
        (cos, sin)
    }
}

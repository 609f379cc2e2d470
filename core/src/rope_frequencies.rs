//! The rotary embedding's frequency per dimension pair, with the config's scaling: shared by
//! every decoder (burn, fused CPU, WGSL), so all of them rotate by the same f32 angles.

use crate::config::{ModelConfig, RopeScaling};

/// `(sin, cos)` of the angle `position · frequency`, in f32 as Hugging Face computes it and
/// through `libm` (the platform's libm and Rust's differ in the last place, and greedy
/// decoding of an int4 model amplifies that into different tokens), so that every decoder
/// on every platform rotates by the same bits.
pub fn rotation(position: usize, frequency: f32) -> (f32, f32) {
    libm::sincosf(position as f32 * frequency)
}

/// The rotation frequency of each pair, with the config's scaling applied.
pub fn inverse_frequencies(config: &ModelConfig) -> Vec<f32> {
    let dim = config.head_dim;
    let base = config.rope_theta;
    let mut inv: Vec<f32> = (0..dim / 2)
        .map(|i| 1.0 / libm::powf(base, (2 * i) as f32 / dim as f32))
        .collect();
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

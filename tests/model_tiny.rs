//! The burn decoder against a naive loop implementation on tiny random models.

use burn::tensor::Device;
use lmfast_core::config::{Architecture, ModelConfig, RopeScaling};
use lmfast_core::decoder::burn::BurnDecoder;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::decoder::{Decoder, DecoderCache};
use lmfast_core::weights::ModelWeights;
use lmfast_tests::{naive_llama, tiny_config};

const TOKENS: [u32; 9] = [1, 5, 42, 96, 0, 7, 7, 33, 64];

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn check_against_naive(architecture: Architecture) {
    check_config_against_naive(&tiny_config(architecture));
}

fn check_config_against_naive(config: &ModelConfig) {
    let weights = ModelWeights::random(config, 11);
    let want = naive_llama::logits(config, &weights, &TOKENS);
    let burn = BurnDecoder::new(config, weights.clone(), &Device::flex()).expect("model");
    check_decoder("burn", config, &burn, &want);
    let cpu = CpuDecoder::new(config, weights).expect("model");
    check_decoder("fused cpu", config, &cpu, &want);
}

fn check_decoder<D: Decoder>(label: &str, config: &ModelConfig, model: &D, want: &[Vec<f32>]) {
    let architecture = config.architecture;
    // The whole prompt at once (prefill).
    let mut cache = model.new_cache(32).unwrap();
    let all = model.all_logits(&TOKENS, &mut cache).unwrap();
    for (pos, row) in all.chunks(config.vocab_size).enumerate() {
        let diff = max_difference(row, &want[pos]);
        assert!(
            diff < 1e-4,
            "{label} {architecture:?} prefill position {pos}: off by {diff}"
        );
    }

    // One token at a time through the cache, and a split prefill then decode.
    let mut cache = model.new_cache(32).unwrap();
    for (pos, &t) in TOKENS.iter().enumerate() {
        let row = model.last_logits(&[t], &mut cache).unwrap();
        let diff = max_difference(&row, &want[pos]);
        assert!(
            diff < 1e-4,
            "{label} {architecture:?} decode position {pos}: off by {diff}"
        );
    }
    let mut cache = model.new_cache(32).unwrap();
    model.last_logits(&TOKENS[..4], &mut cache).unwrap();
    let row = model.last_logits(&TOKENS[4..], &mut cache).unwrap();
    assert!(max_difference(&row, &want[TOKENS.len() - 1]) < 1e-4);
    assert_eq!(cache.len(), TOKENS.len());
}

#[test]
fn gemma3_variant_rules_match_the_naive_forward_pass() {
    // The prompt is longer than layer 0's window of 5, so the window is exercised.
    assert!(TOKENS.len() > 5);
    check_against_naive(Architecture::Gemma3);
}

#[test]
fn gemma3_rules_change_the_logits() {
    // Each rule must matter, or the test above would pass for a decoder that ignores it.
    let gemma = tiny_config(Architecture::Gemma3);
    let weights = ModelWeights::random(&gemma, 11);
    let want = naive_llama::logits(&gemma, &weights, &TOKENS);
    let mut no_window = gemma.clone();
    no_window.variant.sliding_window = Some(64);
    let got = naive_llama::logits(&no_window, &weights, &TOKENS);
    assert!(max_difference(&got[TOKENS.len() - 1], &want[TOKENS.len() - 1]) > 1e-3);
}

#[test]
fn rope_factors_match_the_naive_forward_pass() {
    let mut config = tiny_config(Architecture::Llama);
    let pairs = config.head_dim / 2;
    config.variant.rope_factors = Some((0..pairs).map(|i| 1.0 + i as f32 * 0.5).collect());
    check_config_against_naive(&config);
}

#[test]
fn llama_matches_the_naive_forward_pass() {
    check_against_naive(Architecture::Llama);
}

#[test]
fn qwen2_with_biases_and_untied_head_matches_the_naive_forward_pass() {
    check_against_naive(Architecture::Qwen2);
}

/// A llama config whose rotary scaling touches every band (for head_dim 16 and theta 1e4 the
/// wavelengths run from 6 to 2e4 positions: below 8, between 8 and 32, and above 32).
fn scaled(scaling: RopeScaling) -> ModelConfig {
    ModelConfig {
        rope_scaling: Some(scaling),
        ..tiny_config(Architecture::Llama)
    }
}

const LLAMA3: RopeScaling = RopeScaling::Llama3 {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 32,
};

#[test]
fn llama3_and_linear_rope_scaling_match_the_naive_forward_pass() {
    check_config_against_naive(&scaled(LLAMA3));
    check_config_against_naive(&scaled(RopeScaling::Linear { factor: 4.0 }));
}

#[test]
fn rope_scaling_changes_the_logits() {
    // Guards the test above: if scaling were ignored on both sides it would still pass.
    let plain = tiny_config(Architecture::Llama);
    let weights = ModelWeights::random(&plain, 11);
    let a = naive_llama::logits(&plain, &weights, &TOKENS);
    let b = naive_llama::logits(&scaled(LLAMA3), &weights, &TOKENS);
    let last = TOKENS.len() - 1;
    assert!(max_difference(&a[last], &b[last]) > 1e-3);
}

#[test]
fn a_full_cache_is_an_error_not_a_panic() {
    let config = tiny_config(Architecture::Llama);
    let model =
        BurnDecoder::new(&config, ModelWeights::random(&config, 1), &Device::flex()).unwrap();
    let mut cache = model.new_cache(4).unwrap();
    model.forward_last(&[1, 2, 3], &mut cache).unwrap();
    let err = model.forward_last(&[4, 5], &mut cache).unwrap_err();
    assert!(err.to_string().contains("context is full"), "{err}");
    let err = model.forward_last(&[97], &mut cache).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
}

#[test]
fn a_missing_or_misshapen_tensor_is_named() {
    let config = tiny_config(Architecture::Llama);
    let mut weights = ModelWeights::random(&config, 1);
    weights.take("blk.1.ffn_up.weight", &[160, 64]).unwrap();
    let err = BurnDecoder::new(&config, weights, &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("blk.1.ffn_up.weight"), "{err}");

    let mut wrong = config.clone();
    wrong.intermediate_size = 128;
    let err =
        BurnDecoder::new(&wrong, ModelWeights::random(&config, 1), &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("expected shape"), "{err}");
}

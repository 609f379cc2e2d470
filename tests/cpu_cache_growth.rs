//! The fused CPU decoder's key/value cache grows as a conversation does (256 positions, then
//! doubling); logits across each growth must equal the naive forward pass's.

use lmfast_core::config::Architecture;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::decoder::DecoderCache;
use lmfast_core::weights::ModelWeights;
use lmfast_tests::{naive_llama, tiny_config};

#[test]
fn logits_are_unchanged_across_cache_growth() {
    let mut config = tiny_config(Architecture::Llama);
    config.max_position_embeddings = config.max_position_embeddings.max(1024);
    let weights = ModelWeights::random(&config, 5);
    let vocab = config.vocab_size as u32;
    let tokens: Vec<u32> = (0..600u32).map(|i| (i * 37 + 11) % vocab).collect();
    let want = naive_llama::logits(&config, &weights, &tokens);
    let model = CpuDecoder::new(&config, weights).expect("model");
    let mut cache = model.new_cache(1024).unwrap();
    // A prefill inside the first allocation, then single tokens through two growths
    // (256 → 512 → 1024 positions), then a chunk that forces a third.
    model.forward_last(&tokens[..200], &mut cache).unwrap();
    for (pos, &t) in tokens.iter().enumerate().take(520).skip(200) {
        let row = model.forward_last(&[t], &mut cache).unwrap();
        let diff = row
            .iter()
            .zip(&want[pos])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-4, "position {pos}: off by {diff}");
    }
    let row = model.forward_last(&tokens[520..], &mut cache).unwrap();
    let diff = row
        .iter()
        .zip(&want[599])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff < 1e-4, "after the last growth: off by {diff}");
    assert_eq!(cache.len(), 600);
}

//! The native engine against Hugging Face `transformers` on the real default model.
//!
//! `tests/reference/make_fixtures.py` loaded the same GGUF in transformers, dequantized to f32,
//! and recorded for each prompt its ids, 32 greedy tokens (EOS ignored), the top-5 logits at the
//! last prompt position and the logit of every greedy token. Here the same prompts must give the
//! same ids, the same 32 tokens and logits within 1e-3 (the top-5 at every step, the greedy
//! token's logit and a fixed probe of ids). Both ways of running the model are checked: the
//! burn decoder (the code the GPU path shares) and the fused CPU path (f32 weights here).

use lmfast_core::checkpoint::load_gguf;
use lmfast_core::decoder::burn::BurnDecoder;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_tests::parity::check_against_fixture;
use lmfast_tests::real_model;

#[test]
fn burn_decoder_matches_transformers() {
    let Some(path) = real_model() else { return };
    let checkpoint = load_gguf(&path).expect("load the default model");
    let tokenizer = checkpoint.tokenizer.clone();
    let model = BurnDecoder::new(
        &checkpoint.config,
        checkpoint.weights,
        &burn::tensor::Device::flex(),
    )
    .expect("place the model on the CPU");
    check_against_fixture("model_parity.json", "burn flex", &model, &tokenizer);
}

#[test]
fn fused_cpu_path_matches_transformers() {
    let Some(path) = real_model() else { return };
    let checkpoint = load_gguf(&path).expect("load the default model");
    let tokenizer = checkpoint.tokenizer.clone();
    let model = CpuDecoder::new(&checkpoint.config, checkpoint.weights).expect("build the model");
    check_against_fixture("model_parity.json", "fused cpu", &model, &tokenizer);
}

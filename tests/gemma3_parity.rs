//! Gemma 3 270M against Hugging Face `transformers` on the real GGUF.
//!
//! `tests/reference/make_gemma3_fixtures.py` loaded the same GGUF in transformers (dequantized
//! to f32) and recorded for each prompt (one longer than the 512-position sliding window) its
//! ids, greedy tokens and logits. Here the fused CPU decoder and the burn decoder must give
//! the same ids, tokens and logits within 1e-3, from the GGUF and from an f32 lmfast export.

use lmfast_core::checkpoint::{load, load_gguf};
use lmfast_core::decoder::burn::BurnDecoder;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::format::export::{write_export, ExportOptions};
use lmfast_core::quant::QuantScheme;
use lmfast_tests::parity::check_against_fixture;
use lmfast_tests::real_gemma3;

const FIXTURE: &str = "gemma3_model_parity.json";

#[test]
fn fused_cpu_decoder_matches_transformers_from_the_gguf() {
    let Some(path) = real_gemma3() else { return };
    let checkpoint = load_gguf(&path).expect("load Gemma 3");
    let tokenizer = checkpoint.tokenizer.clone();
    let model = CpuDecoder::new(&checkpoint.config, checkpoint.weights).expect("build");
    check_against_fixture(FIXTURE, "gemma3 fused cpu (gguf)", &model, &tokenizer);
}

#[test]
fn burn_decoder_matches_transformers_from_the_gguf() {
    let Some(path) = real_gemma3() else { return };
    let checkpoint = load_gguf(&path).expect("load Gemma 3");
    let tokenizer = checkpoint.tokenizer.clone();
    let device = burn::tensor::Device::flex();
    let model = BurnDecoder::new(&checkpoint.config, checkpoint.weights, &device).expect("build");
    check_against_fixture(FIXTURE, "gemma3 burn flex (gguf)", &model, &tokenizer);
}

#[test]
fn fused_cpu_decoder_matches_transformers_from_an_f32_export() {
    let Some(path) = real_gemma3() else { return };
    let dir = std::env::temp_dir().join(format!("lmfast-gemma3-f32-{}", std::process::id()));
    let options = ExportOptions {
        quant: QuantScheme::parse("f32").expect("scheme"),
        embedding: None,
        shard_size: 64 << 20,
        force: true,
    };
    write_export(load_gguf(&path).expect("load"), &dir, &options, &mut |_| {}).expect("export");
    let checkpoint = load(&dir).expect("load the export");
    let tokenizer = checkpoint.tokenizer.clone();
    let model = CpuDecoder::new(&checkpoint.config, checkpoint.weights).expect("build");
    check_against_fixture(FIXTURE, "gemma3 fused cpu (f32 export)", &model, &tokenizer);
    let _ = std::fs::remove_dir_all(&dir);
}

//! Shared helpers for the integration tests: where the fixtures and the real model live.

use std::path::{Path, PathBuf};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// A file under `tests/reference/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/reference/fixtures").join(name)
}

/// Reads and parses a JSON fixture, panicking with the path when it is missing or malformed
/// (a missing committed fixture is a broken checkout, not a skipped test).
pub fn read_json_fixture(name: &str) -> serde_json::Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("fixture {} unreadable: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("fixture {} is not JSON: {err}", path.display()))
}

/// The real default model, when it has been fetched (`lmfast pull smollm2-135m`).
///
/// CI always fetches it, and sets `LMFAST_REQUIRE_MODEL=1` so a missing model fails instead
/// of skipping; locally a missing model prints a note and the caller skips.
pub fn real_model() -> Option<PathBuf> {
    real_model_file("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The real Gemma 3 270M GGUF, when it has been fetched (`lmfast pull gemma3-270m`).
pub fn real_gemma3() -> Option<PathBuf> {
    real_model_file("gemma-3-270m-q4_k_m.gguf")
}

/// `models/{file}` when present; see [`real_model`] for what a missing file does.
pub fn real_model_file(file: &str) -> Option<PathBuf> {
    let path = repo_root().join("models").join(file);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("LMFAST_REQUIRE_MODEL").is_some() {
        panic!(
            "LMFAST_REQUIRE_MODEL is set but {} is missing; run `lmfast pull` (scripts/test.sh does)",
            path.display()
        );
    }
    eprintln!(
        "note: {} is missing; skipping (run `lmfast pull smollm2-135m gemma3-270m`)",
        path.display()
    );
    None
}

pub mod naive_llama;
pub mod parity;

use lmfast_core::config::{Activation, Architecture, LayerKind, ModelConfig, Variant};

/// A tiny configuration of `architecture` for tests (GQA 4 heads over 2, vocab 97).
///
/// Gemma 3's has its variant rules with small numbers: layer 0 slides over a window of 5
/// positions with its own rotary base, layer 1 is global, and the attention scale is not
/// 1/√head_dim, so a decoder that ignores any rule disagrees.
pub fn tiny_config(architecture: Architecture) -> ModelConfig {
    let variant = match architecture {
        Architecture::Gemma3 => Variant {
            activation: Activation::GeluTanh,
            embedding_scale: Some(8.0),
            qk_norm: true,
            sandwich_norms: true,
            attention_scale: Some(1.0 / 24f32.sqrt()),
            sliding_window: Some(5),
            layer_kinds: vec![LayerKind::Sliding, LayerKind::Global],
            rope_local_theta: Some(10_000.0),
            rope_factors: None,
        },
        _ => Variant::default(),
    };
    ModelConfig {
        architecture,
        vocab_size: 97,
        hidden_size: 64,
        intermediate_size: 160,
        num_layers: 2,
        num_heads: 4,
        num_kv_heads: 2,
        head_dim: 16,
        rms_norm_eps: 1e-5,
        rope_scaling: None,
        max_position_embeddings: 128,
        tie_word_embeddings: architecture == Architecture::Llama,
        attention_bias: architecture == Architecture::Qwen2,
        rope_theta: if architecture == Architecture::Gemma3 {
            1_000_000.0
        } else {
            10_000.0
        },
        variant,
    }
}

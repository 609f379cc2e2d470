//! Hugging Face folders (config.json + sharded safetensors + tokenizer.json) against the
//! logits transformers computed for the same tiny random checkpoints
//! (`tests/reference/make_tiny_hf.py`): a bf16 llama with a separate head and an f32 qwen2
//! with q/k/v biases and a tied head.

use lmfast_core::checkpoint::{load, Checkpoint};
use lmfast_core::decoder::burn::BurnDecoder;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::decoder::Decoder;
use lmfast_tests::{read_json_fixture, repo_root};
use serde_json::Value;

const TOLERANCE: f32 = 1e-3;

fn open(kind: &str) -> Checkpoint {
    let dir = repo_root()
        .join("tests/reference/fixtures/tiny-hf")
        .join(kind);
    load(&dir).unwrap_or_else(|e| panic!("load {}: {e}", dir.display()))
}

fn as_ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn check<M: Decoder>(label: &str, model: &M, cases: &Value) {
    let vocab = model.config().vocab_size;
    for case in cases.as_array().unwrap() {
        let ids = as_ids(&case["ids"]);
        let mut cache = model.new_cache(ids.len() + 8).unwrap();
        let logits = model.all_logits(&ids, &mut cache).unwrap();
        for (pos, (top_ids, top_logits)) in case["top5_ids"]
            .as_array()
            .unwrap()
            .iter()
            .zip(case["top5_logits"].as_array().unwrap())
            .enumerate()
        {
            for (id, want) in as_ids(top_ids).iter().zip(top_logits.as_array().unwrap()) {
                let got = logits[pos * vocab + *id as usize];
                let want = want.as_f64().unwrap() as f32;
                assert!(
                    (got - want).abs() < TOLERANCE,
                    "{label}: position {pos} id {id}: {got} vs transformers {want}"
                );
            }
        }
        let mut greedy = Vec::new();
        let mut next = argmax(&logits[(ids.len() - 1) * vocab..]);
        for _ in 0..8 {
            greedy.push(next);
            next = argmax(&model.last_logits(&[next], &mut cache).unwrap());
        }
        assert_eq!(greedy, as_ids(&case["greedy"]), "{label}: greedy tokens");
    }
}

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

#[test]
fn tiny_hf_checkpoints_match_transformers_on_both_paths() {
    let fixture = read_json_fixture("tiny_hf_logits.json");
    for kind in ["llama", "qwen2"] {
        let cases = &fixture["models"][kind]["cases"];
        let cp = open(kind);
        assert_eq!(cp.config.tie_word_embeddings, kind == "qwen2");
        assert!(cp.chat_template.is_some(), "{kind}: chat template");
        let cpu = CpuDecoder::new(&cp.config, cp.weights.clone()).unwrap();
        check(&format!("{kind} fused cpu"), &cpu, cases);
        let burn = BurnDecoder::new(&cp.config, cp.weights, &burn::tensor::Device::flex()).unwrap();
        check(&format!("{kind} burn"), &burn, cases);
    }
}

#[test]
fn tokenizer_and_specials_come_from_the_folder() {
    let cp = open("llama");
    assert_eq!(cp.tokenizer.bos_id(), Some(0));
    assert_eq!(cp.tokenizer.eos_ids(), &[1]);
    assert_eq!(cp.tokenizer.encode("w5 w17", false).unwrap(), vec![5, 17]);
}

#[test]
fn a_broken_config_names_the_field() {
    let dir = std::env::temp_dir().join(format!("lmfast-hf-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = repo_root().join("tests/reference/fixtures/tiny-hf/llama");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    config.as_object_mut().unwrap().remove("intermediate_size");
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(err.contains("intermediate_size"), "{err}");

    config["intermediate_size"] = 96.into();
    config["model_type"] = "gpt2".into();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(err.contains("gpt2"), "{err}");

    config["model_type"] = "llama".into();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::remove_file(dir.join("model-00002-of-00003.safetensors")).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(err.contains("model-00002-of-00003.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

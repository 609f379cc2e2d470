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
use lmfast_core::decoder::Decoder;
use lmfast_core::tokenizer::Tokenizer;
use lmfast_tests::{read_json_fixture, real_model};
use serde_json::Value;

const LOGIT_TOLERANCE: f32 = 1e-3;

fn ids(value: &Value, field: &str) -> Vec<u32> {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {field} is not an array"))
        .iter()
        .map(|v| v.as_u64().expect("token id") as u32)
        .collect()
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("array of numbers")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

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
    check_against_fixture("burn flex", &model, &tokenizer);
}

#[test]
fn fused_cpu_path_matches_transformers() {
    let Some(path) = real_model() else { return };
    let checkpoint = load_gguf(&path).expect("load the default model");
    let tokenizer = checkpoint.tokenizer.clone();
    let model = CpuDecoder::new(&checkpoint.config, checkpoint.weights).expect("build the model");
    check_against_fixture("fused cpu", &model, &tokenizer);
}

fn check_against_fixture<M: Decoder>(label: &str, model: &M, tokenizer: &Tokenizer) {
    let fixture = read_json_fixture("model_parity.json");
    let probe_ids = ids(&fixture, "probe_ids");
    let steps = fixture["n_new_tokens"].as_u64().expect("n_new_tokens") as usize;
    let prompts = fixture["prompts"].as_array().expect("prompts");
    assert!(
        prompts.len() >= 10,
        "the fixture should hold at least 10 prompts"
    );

    let mut failures = Vec::new();
    let mut worst_logit_error = 0.0f32;
    for case in prompts {
        let name = case["name"].as_str().unwrap_or("?");
        let prompt = case["prompt"].as_str().expect("prompt");
        let want_prompt_ids = ids(case, "prompt_ids");
        let got_prompt_ids = tokenizer.encode(prompt, false).expect("encode");
        if got_prompt_ids != want_prompt_ids {
            failures.push(format!(
                "{name}: prompt ids {got_prompt_ids:?} != {want_prompt_ids:?}"
            ));
            continue;
        }

        let mut cache = model
            .new_cache(want_prompt_ids.len() + steps)
            .expect("cache");
        let mut logits = model
            .last_logits(&want_prompt_ids, &mut cache)
            .expect("prefill");

        let mut check = |what: String, got: f32, want: f32, failures: &mut Vec<String>| {
            let error = (got - want).abs();
            worst_logit_error = worst_logit_error.max(error);
            if error > LOGIT_TOLERANCE {
                failures.push(format!(
                    "{name}: {what}: logit {got} vs transformers {want}"
                ));
            }
        };
        for pair in case["last_prompt_top5"].as_array().expect("top5") {
            let id = pair[0].as_u64().expect("id") as usize;
            let want = pair[1].as_f64().expect("logit") as f32;
            check(format!("top-5 id {id}"), logits[id], want, &mut failures);
        }
        for (id, want) in probe_ids
            .iter()
            .zip(floats(&case["last_prompt_logits_probe"]))
        {
            check(
                format!("probe id {id}"),
                logits[*id as usize],
                want,
                &mut failures,
            );
        }

        let want_tokens = ids(case, "greedy_ids");
        let want_logits = floats(&case["greedy_logits"]);
        let mut got_tokens = Vec::with_capacity(steps);
        for step in 0..steps {
            let token = argmax(&logits);
            got_tokens.push(token);
            check(
                format!("step {step} greedy logit"),
                logits[want_tokens[step] as usize],
                want_logits[step],
                &mut failures,
            );
            for pair in case["step_top5"][step].as_array().expect("step top5") {
                let id = pair[0].as_u64().expect("id") as usize;
                let want = pair[1].as_f64().expect("logit") as f32;
                check(
                    format!("step {step} top-5 id {id}"),
                    logits[id],
                    want,
                    &mut failures,
                );
            }
            // Feeding the reference token (not ours) keeps later steps comparable after a
            // mismatch; while every argmax matches, this is exactly free-running greedy decoding.
            if step + 1 < steps {
                logits = model
                    .last_logits(&[want_tokens[step]], &mut cache)
                    .expect("decode");
            }
        }
        if got_tokens != want_tokens {
            failures.push(format!(
                "{name}: greedy tokens differ\n  lmfast:       {got_tokens:?}\n  transformers: {want_tokens:?}"
            ));
        }
    }
    eprintln!(
        "{label}: {} prompts x {steps} greedy tokens; largest logit difference {worst_logit_error:.2e}",
        prompts.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

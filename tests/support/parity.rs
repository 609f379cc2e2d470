//! The check every real-model parity test runs: a model's ids, greedy tokens and logits
//! against a transformers fixture.

use crate::read_json_fixture;
use lmfast_core::decoder::Decoder;
use lmfast_core::sampling::argmax;
use lmfast_core::tokenizer::Tokenizer;
use serde_json::Value;

/// Largest logit difference accepted against transformers (f32 on both sides).
pub const LOGIT_TOLERANCE: f32 = 1e-3;

/// The ids in fixture field `field`.
pub fn ids(value: &Value, field: &str) -> Vec<u32> {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {field} is not an array"))
        .iter()
        .map(|v| v.as_u64().expect("token id") as u32)
        .collect()
}

/// The numbers of a fixture array.
pub fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("array of numbers")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

/// Runs every prompt of fixture `fixture_name` (made by `tests/reference/`): its ids, its
/// greedy tokens (feeding the reference's tokens, so later steps stay comparable after a
/// mismatch) and its logits within [`LOGIT_TOLERANCE`]; panics listing every mismatch.
pub fn check_against_fixture<M: Decoder>(
    fixture_name: &str,
    label: &str,
    model: &M,
    tokenizer: &Tokenizer,
) {
    let fixture = read_json_fixture(fixture_name);
    let add_bos = fixture["add_bos"].as_bool().unwrap_or(false);
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
        let got_prompt_ids = tokenizer.encode(prompt, add_bos).expect("encode");
        if got_prompt_ids != want_prompt_ids {
            failures.push(format!(
                "{name}: prompt ids {got_prompt_ids:?} != {want_prompt_ids:?}"
            ));
            continue;
        }

        let steps = case["n_new_tokens"].as_u64().map_or(steps, |n| n as usize);
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

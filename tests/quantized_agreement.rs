//! How closely the default int4 export (q4g32 blocks, q8g32 embedding) follows the f32 model: on the parity prompts
//! (`tests/reference/fixtures/model_parity.json`, greedy tokens from transformers on the
//! dequantized GGUF), the quantized model decodes 32 greedy tokens on its own and we count
//! how many match, position by position and as an unbroken prefix.
//!
//! Some divergence is expected (a different but plausible continuation); the assertion only
//! catches a broken quantization, which matches almost nothing.

use lmfast_core::checkpoint::load_gguf;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::quant::QuantScheme;
use lmfast_core::weights::quantize_model_weights;
use lmfast_tests::{read_json_fixture, real_model};

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn default_int4_scheme_mostly_follows_the_f32_model() {
    let Some(path) = real_model() else { return };
    let mut cp = load_gguf(&path).expect("load");
    // `None`: the embedding gets the default for the scheme, as `lmfast export` does.
    quantize_model_weights(&mut cp.weights, QuantScheme::DEFAULT, None, |_, _, _| {})
        .expect("quantize");
    let model = CpuDecoder::new(&cp.config, cp.weights).expect("model");
    let fixture = read_json_fixture("model_parity.json");
    let steps = fixture["n_new_tokens"].as_u64().unwrap() as usize;
    let (mut same, mut prefix, mut total) = (0, 0, 0);
    for case in fixture["prompts"].as_array().unwrap() {
        let prompt = ids(&case["prompt_ids"]);
        let want = ids(&case["greedy_ids"]);
        let mut cache = model.new_cache(prompt.len() + steps).unwrap();
        let mut logits = model.forward_last(&prompt, &mut cache).unwrap();
        let mut got = Vec::new();
        for _ in 0..steps {
            let t = argmax(&logits);
            got.push(t);
            logits = model.forward_last(&[t], &mut cache).unwrap();
        }
        same += got.iter().zip(&want).filter(|(a, b)| a == b).count();
        prefix += got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        total += steps;
        eprintln!(
            "{:>12}: {:>2}/{steps} same, first {} identical",
            case["name"].as_str().unwrap_or("?"),
            got.iter().zip(&want).filter(|(a, b)| a == b).count(),
            got.iter().zip(&want).take_while(|(a, b)| a == b).count()
        );
    }
    let prompts = fixture["prompts"].as_array().unwrap().len();
    eprintln!(
        "{}: {same}/{total} greedy tokens equal to the f32 reference ({:.0}%), mean identical prefix {:.1} of {steps}",
        QuantScheme::DEFAULT,
        100.0 * same as f64 / total as f64,
        prefix as f64 / prompts as f64
    );
    assert!(same * 3 >= total, "only {same} of {total} tokens agree");
}

//! The generation loop on a tiny random model: stop tokens, stop strings, budgets,
//! cancellation and seeded sampling.

use burn::tensor::Device;
use lmfast_core::config::Architecture;
use lmfast_core::decoder::burn::BurnDecoder;
use lmfast_core::generate::{generate, Detokenizer, FinishReason, GenerateOptions};
use lmfast_core::sampling::SamplingParams;
use lmfast_core::weights::ModelWeights;
use lmfast_core::Result;
use lmfast_tests::tiny_config;
use std::ops::ControlFlow;

/// Token `i` decodes to the letter `a + i % 26`, so text is easy to reason about.
struct Letters;

impl Detokenizer for Letters {
    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(ids
            .iter()
            .map(|&i| (b'a' + (i % 26) as u8) as char)
            .collect())
    }
}

fn model() -> BurnDecoder {
    let config = tiny_config(Architecture::Llama);
    BurnDecoder::new(&config, ModelWeights::random(&config, 3), &Device::flex()).unwrap()
}

fn run(
    model: &BurnDecoder,
    options: &GenerateOptions,
) -> (lmfast_core::generate::GenerateOutput, String) {
    let mut streamed = String::new();
    let out = generate(model, 64, &Letters, &[1, 2, 3], options, |event| {
        streamed.push_str(&event.text);
        ControlFlow::Continue(())
    })
    .unwrap();
    (out, streamed)
}

#[test]
fn stops_at_the_budget_and_streams_all_text() {
    let model = model();
    let options = GenerateOptions {
        max_tokens: 10,
        ..Default::default()
    };
    let (out, streamed) = run(&model, &options);
    assert_eq!(out.tokens.len(), 10);
    assert_eq!(out.finish_reason, FinishReason::Length);
    assert_eq!(streamed, out.text);
    assert_eq!(out.text, Letters.decode(&out.tokens).unwrap());
}

#[test]
fn stops_at_a_stop_token() {
    let model = model();
    let free = run(
        &model,
        &GenerateOptions {
            max_tokens: 10,
            ..Default::default()
        },
    )
    .0;
    // Greedy output is deterministic, so its fourth token can serve as the stop token.
    let stop = free.tokens[3];
    let first = free.tokens.iter().position(|&t| t == stop).unwrap();
    let options = GenerateOptions {
        max_tokens: 10,
        stop_token_ids: vec![stop],
        ..Default::default()
    };
    let (out, _) = run(&model, &options);
    assert_eq!(out.finish_reason, FinishReason::Stop);
    assert_eq!(out.tokens, free.tokens[..=first]);
    // The stop token ends the ids but is not part of the text.
    assert_eq!(out.text, Letters.decode(&free.tokens[..first]).unwrap());
}

#[test]
fn the_cache_bounds_the_budget() {
    let model = model();
    // 8 positions, a prompt of 3: the 6th token is sampled from the logits of position 7 and
    // never fed back, so 6 tokens fit.
    let options = GenerateOptions {
        max_tokens: 100,
        ..Default::default()
    };
    let mut session = lmfast_core::engine::Session::new(&model, 8).unwrap();
    let out = session
        .generate(&model, &Letters, &[1, 2, 3], &options, false, |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(out.tokens.len(), 6);
    assert_eq!(out.finish_reason, FinishReason::Length);
    assert_eq!(session.cached_tokens().len(), 8);
}

#[test]
fn a_zero_budget_generates_nothing() {
    let model = model();
    let options = GenerateOptions {
        max_tokens: 0,
        ..Default::default()
    };
    let (out, streamed) = run(&model, &options);
    assert!(out.tokens.is_empty() && out.text.is_empty() && streamed.is_empty());
    assert_eq!(out.finish_reason, FinishReason::Length);
}

#[test]
fn stops_before_a_stop_string_that_spans_tokens() {
    let model = model();
    let free = run(
        &model,
        &GenerateOptions {
            max_tokens: 12,
            ..Default::default()
        },
    )
    .0;
    let stop = free.text[4..7].to_owned();
    let at = free.text.find(&stop).unwrap();
    let options = GenerateOptions {
        max_tokens: 12,
        stop_strings: vec![stop],
        ..Default::default()
    };
    let (out, streamed) = run(&model, &options);
    assert_eq!(out.finish_reason, FinishReason::StopString);
    assert_eq!(out.text, free.text[..at]);
    assert_eq!(streamed, out.text, "the stop string must never be streamed");
}

#[test]
fn the_callback_can_cancel() {
    let model = model();
    let mut seen = 0;
    let out = generate(
        &model,
        64,
        &Letters,
        &[1, 2, 3],
        &GenerateOptions::default(),
        |_| {
            seen += 1;
            if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(out.finish_reason, FinishReason::Cancelled);
    assert_eq!(out.tokens.len(), 3);
}

#[test]
fn seeded_sampling_repeats_and_differs_by_seed() {
    let model = model();
    let sampled = |seed| {
        let sampling = SamplingParams {
            temperature: 1.0,
            seed,
            ..Default::default()
        };
        run(
            &model,
            &GenerateOptions {
                max_tokens: 16,
                sampling,
                ..Default::default()
            },
        )
        .0
        .tokens
    };
    assert_eq!(sampled(9), sampled(9));
    assert_ne!(sampled(9), sampled(10));
}

#[test]
fn bad_requests_are_errors() {
    let model = model();
    let err = generate(
        &model,
        4,
        &Letters,
        &[],
        &GenerateOptions::default(),
        |_| ControlFlow::Continue(()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = generate(
        &model,
        4,
        &Letters,
        &[1; 5],
        &GenerateOptions::default(),
        |_| ControlFlow::Continue(()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("room"), "{err}");
}

//! The tokenizer built from the GGUF's metadata against Hugging Face's SmolLM2 tokenizer.
//!
//! `tokenizer_cases.json` holds 1,400+ strings (prose, code, numbers, Unicode, whitespace runs,
//! literal special tokens) with the reference ids and decodings.

use lmfast_core::format::gguf::GgufFile;
use lmfast_core::tokenizer::Tokenizer;
use lmfast_tests::{read_json_fixture, real_model};
use serde_json::Value;

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("ids array")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

fn default_tokenizer() -> Option<Tokenizer> {
    let path = real_model()?;
    let file = GgufFile::open(&path).expect("open the default model");
    Some(Tokenizer::from_gguf(&file).expect("tokenizer from GGUF metadata"))
}

#[test]
fn encodes_and_decodes_every_case_like_hugging_face() {
    let Some(tokenizer) = default_tokenizer() else {
        return;
    };
    let fixture = read_json_fixture("tokenizer_cases.json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 1000, "expected at least 1,000 cases");
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let add_special = case["add_special_tokens"].as_bool().expect("flag");
        let want = ids(&case["ids"]);
        let got = tokenizer.encode(text, add_special).expect("encode");
        if got != want {
            failures.push(format!("encode {text:?}: {got:?} != {want:?}"));
        }
        let decoded = tokenizer.decode(&want, false).expect("decode");
        if decoded != case["decoded"].as_str().expect("decoded") {
            failures.push(format!(
                "decode {want:?}: {decoded:?} != {:?}",
                case["decoded"]
            ));
        }
        if let Some(skip) = case.get("decoded_skip_special").and_then(Value::as_str) {
            let decoded = tokenizer.decode(&want, true).expect("decode");
            if decoded != skip {
                failures.push(format!(
                    "decode (skip special) {want:?}: {decoded:?} != {skip:?}"
                ));
            }
        }
    }
    eprintln!("{} cases, {} mismatches", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn special_ids_match_the_reference() {
    let Some(tokenizer) = default_tokenizer() else {
        return;
    };
    let fixture = read_json_fixture("tokenizer_cases.json");
    assert_eq!(
        tokenizer.vocab_size() as u64,
        fixture["vocab_size"].as_u64().unwrap()
    );
    assert_eq!(
        tokenizer.bos_id().map(u64::from),
        fixture["bos_token_id"].as_u64()
    );
    let eos = fixture["eos_token_id"].as_u64().unwrap() as u32;
    assert_eq!(tokenizer.eos_ids().first(), Some(&eos));
    for (piece, id) in fixture["special_tokens"]
        .as_object()
        .expect("special tokens")
    {
        assert_eq!(
            tokenizer.token_id(piece),
            Some(id.as_u64().unwrap() as u32),
            "{piece}"
        );
    }
}

#[test]
fn tokenizer_json_round_trip_keeps_encodings() {
    let Some(tokenizer) = default_tokenizer() else {
        return;
    };
    let json = tokenizer.to_json(false).expect("to_json");
    let again = Tokenizer::from_json_bytes(json.as_bytes(), tokenizer.specials().clone())
        .expect("read back");
    for text in [
        "Hello, world! 12345",
        "<|im_start|>user\nhi<|im_end|>",
        "  tabs\tand 日本語 🦀",
    ] {
        assert_eq!(
            tokenizer.encode(text, true).unwrap(),
            again.encode(text, true).unwrap(),
            "{text}"
        );
    }
}

#[test]
fn streamed_pieces_join_to_the_full_decoding() {
    let Some(tokenizer) = default_tokenizer() else {
        return;
    };
    let text = "Emoji 👩‍👩‍👧 and 日本語 mixed with ASCII, café — done.";
    let ids = tokenizer.encode(text, false).unwrap();
    let mut stream = tokenizer.stream_decoder(false);
    let mut streamed = String::new();
    let mut held_back = 0;
    for &id in &ids {
        match stream.push(id).unwrap() {
            Some(piece) => {
                assert!(
                    !piece.contains('\u{FFFD}'),
                    "a partial character was released: {piece:?}"
                );
                streamed.push_str(&piece);
            }
            None => held_back += 1,
        }
    }
    streamed.push_str(&stream.finish().unwrap());
    assert_eq!(streamed, tokenizer.decode(&ids, false).unwrap());
    assert!(
        held_back > 0,
        "multi-byte characters should span tokens in this text"
    );
}

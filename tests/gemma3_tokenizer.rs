//! The tokenizer built from Gemma 3 270M's GGUF metadata (SentencePiece, 262,144 pieces, no
//! dummy prefix) against Hugging Face transformers' tokenizer loaded from the same GGUF.
//!
//! `gemma3_tokenizer_cases.json` (from `tests/reference/make_gemma3_fixtures.py`) holds 1,500
//! strings: corpus.py's prose, code, numbers, Unicode, whitespace runs, plus Gemma's turn
//! markers, HTML tags, space and newline runs, emoji and byte-fallback characters. Skips when
//! `models/gemma-3-270m-q4_k_m.gguf` is missing.

use lmfast_core::format::gguf::GgufFile;
use lmfast_core::tokenizer::Tokenizer;
use lmfast_tests::{read_json_fixture, real_gemma3};
use serde_json::Value;

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("ids array")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

fn gemma_tokenizer() -> Option<Tokenizer> {
    let path = real_gemma3()?;
    let file = GgufFile::open(&path).expect("open the Gemma 3 GGUF");
    let start = std::time::Instant::now();
    let tokenizer = Tokenizer::from_gguf(&file).expect("tokenizer from GGUF metadata");
    eprintln!("built the Gemma 3 tokenizer in {:?}", start.elapsed());
    Some(tokenizer)
}

#[test]
fn encodes_and_decodes_every_case_like_transformers() {
    let Some(tokenizer) = gemma_tokenizer() else {
        return;
    };
    let fixture = read_json_fixture("gemma3_tokenizer_cases.json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 1000, "expected at least 1,000 cases");
    let (mut encode_mismatches, mut decode_mismatches) = (0, 0);
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let want = ids(&case["ids"]);
        let got = tokenizer.encode(text, false).expect("encode");
        if got != want {
            encode_mismatches += 1;
            failures.push(format!("encode {text:?}: {got:?} != {want:?}"));
        }
        let want_special = case
            .get("ids_with_special")
            .map(ids)
            .unwrap_or_else(|| want.clone());
        let got = tokenizer.encode(text, true).expect("encode");
        if got != want_special {
            encode_mismatches += 1;
            failures.push(format!(
                "encode (special) {text:?}: {got:?} != {want_special:?}"
            ));
        }
        let decoded = tokenizer.decode(&want, false).expect("decode");
        if decoded != case["decoded"].as_str().expect("decoded") {
            decode_mismatches += 1;
            failures.push(format!(
                "decode {want:?}: {decoded:?} != {:?}",
                case["decoded"]
            ));
        }
        let skip = case
            .get("decoded_skip_special")
            .unwrap_or(&case["decoded"])
            .as_str()
            .expect("decoded");
        let decoded = tokenizer.decode(&want, true).expect("decode");
        if decoded != skip {
            decode_mismatches += 1;
            failures.push(format!(
                "decode (skip special) {want:?}: {decoded:?} != {skip:?}"
            ));
        }
    }
    eprintln!(
        "{} cases: {encode_mismatches} encode mismatches, {decode_mismatches} decode mismatches",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

#[test]
fn special_ids_match_the_reference() {
    let Some(tokenizer) = gemma_tokenizer() else {
        return;
    };
    let fixture = read_json_fixture("gemma3_tokenizer_cases.json");
    assert_eq!(
        tokenizer.vocab_size() as u64,
        fixture["vocab_size"].as_u64().expect("vocab_size")
    );
    assert_eq!(
        tokenizer.bos_id().map(u64::from),
        fixture["bos_token_id"].as_u64()
    );
    let eos = fixture["eos_token_id"].as_u64().expect("eos") as u32;
    assert_eq!(tokenizer.eos_ids().first(), Some(&eos));
    // generation also stops at the end of a turn
    let end_of_turn = tokenizer.token_id("<end_of_turn>").expect("<end_of_turn>");
    assert!(tokenizer.eos_ids().contains(&end_of_turn));
    assert!(tokenizer.specials().add_bos);
    for (piece, id) in fixture["special_tokens"]
        .as_object()
        .expect("special tokens")
    {
        assert_eq!(
            tokenizer.token_id(piece),
            Some(id.as_u64().expect("id") as u32),
            "{piece}"
        );
    }
}

#[test]
fn streamed_pieces_join_to_the_full_decoding() {
    let Some(tokenizer) = gemma_tokenizer() else {
        return;
    };
    let text = "Emoji 👩‍👩‍👧 and 日本語, \u{1fae8} \u{e0001} mixed with  two spaces\n\n\tcafé — done.";
    let ids = tokenizer.encode(text, true).unwrap();
    let mut stream = tokenizer.stream_decoder(true);
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
    assert_eq!(streamed, text);
    assert!(
        held_back > 0,
        "byte-fallback characters should span several ids in this text"
    );
}

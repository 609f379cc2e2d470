//! The SentencePiece tokenizer built from GGUF metadata (`tokenizer.ggml.model = llama`) on a
//! tiny Llama-style vocabulary, against Hugging Face transformers' tokenizer for the same file.
//!
//! `tiny_spm.gguf` (512 pieces: `<unk>`, `<s>`, `</s>`, byte pieces, learned pieces with scores,
//! one control and two user-defined symbols) and `tiny_spm_cases.json` come from
//! `tests/reference/make_tiny_spm.py`; no model is needed.

use lmfast_core::format::gguf::{GgufFile, GgufWriter, MetadataValue};
use lmfast_core::tokenizer::Tokenizer;
use lmfast_tests::{fixture, read_json_fixture};
use serde_json::Value;

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("ids array")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

fn tiny_file() -> GgufFile {
    GgufFile::open(&fixture("tiny_spm.gguf")).expect("open tiny_spm.gguf")
}

fn tiny() -> Tokenizer {
    Tokenizer::from_gguf(&tiny_file()).expect("tokenizer from tiny_spm.gguf")
}

/// The tiny file's metadata with `edit` applied, as an in-memory GGUF.
fn edited(edit: impl FnOnce(&mut Metadata)) -> GgufFile {
    let mut kv: Metadata = tiny_file()
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    edit(&mut kv);
    let mut w = GgufWriter::new();
    for (k, v) in kv {
        w.metadata(k, v);
    }
    GgufFile::from_bytes("edited.gguf", w.to_bytes()).expect("edited file parses")
}

/// A file's metadata as key/value pairs, in an order a writer keeps.
type Metadata = Vec<(String, MetadataValue)>;

/// A change made to the tiny file's metadata.
type Edit = Box<dyn FnOnce(&mut Metadata)>;

fn set(kv: &mut Metadata, key: &str, value: MetadataValue) {
    kv.retain(|(k, _)| k != key);
    kv.push((key.to_owned(), value));
}

#[test]
fn encodes_and_decodes_every_case_like_transformers() {
    let tokenizer = tiny();
    let fixture = read_json_fixture("tiny_spm_cases.json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 150, "expected at least 150 cases");
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let want = ids(&case["ids"]);
        let got = tokenizer.encode(text, false).expect("encode");
        if got != want {
            failures.push(format!("encode {text:?}: {got:?} != {want:?}"));
        }
        let want_special = ids(&case["ids_with_special"]);
        let got = tokenizer.encode(text, true).expect("encode");
        if got != want_special {
            failures.push(format!(
                "encode (special) {text:?}: {got:?} != {want_special:?}"
            ));
        }
        let decoded = tokenizer.decode(&want, false).expect("decode");
        if decoded != case["decoded"].as_str().expect("decoded") {
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
            failures.push(format!(
                "decode (skip special) {want:?}: {decoded:?} != {skip:?}"
            ));
        }
    }
    eprintln!("{} cases, {} mismatches", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

#[test]
fn special_ids_match_the_reference() {
    let tokenizer = tiny();
    let fixture = read_json_fixture("tiny_spm_cases.json");
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
    assert!(tokenizer.specials().add_bos);
    assert!(!tokenizer.specials().add_eos);
    for (piece, id) in fixture["special_tokens"]
        .as_object()
        .expect("special tokens")
    {
        let id = id.as_u64().expect("id") as u32;
        assert_eq!(tokenizer.token_id(piece), Some(id), "{piece}");
        // matched whole in text
        assert_eq!(tokenizer.encode(piece, false).unwrap(), vec![id], "{piece}");
    }
    // byte pieces are in the vocabulary under their `<0xNN>` names
    assert!(tokenizer.token_id("<0x00>").is_some());
    assert!(tokenizer.token_id("<0xFF>").is_some());
}

#[test]
fn byte_fallback_and_the_space_mark_decode_to_text() {
    let tokenizer = tiny();
    let emoji = tokenizer.encode("🦀", false).unwrap();
    // a dummy-prefix piece, then the four UTF-8 bytes of the crab as byte pieces
    let pieces: Vec<String> = emoji
        .iter()
        .map(|&id| tokenizer.id_to_piece(id).unwrap())
        .collect();
    assert_eq!(
        pieces[pieces.len() - 4..],
        ["<0xF0>", "<0x9F>", "<0xA6>", "<0x80>"],
        "{pieces:?}"
    );
    assert_eq!(tokenizer.decode(&emoji, false).unwrap(), "🦀");
    let hello = tokenizer.encode("Hello world", false).unwrap();
    assert!(tokenizer
        .id_to_piece(hello[0])
        .unwrap()
        .starts_with('\u{2581}'));
    assert_eq!(tokenizer.decode(&hello, false).unwrap(), "Hello world");
}

#[test]
fn streamed_pieces_join_to_the_full_decoding() {
    let tokenizer = tiny();
    let fixture = read_json_fixture("tiny_spm_cases.json");
    let mut held_back_somewhere = false;
    let mut texts: Vec<&str> = fixture["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["text"].as_str().expect("text"))
        .collect();
    texts.push("Emoji 👩‍👩‍👧 and 日本語 mixed with ASCII, café — done. 🦀🐍");
    for text in texts {
        let ids = tokenizer.encode(text, true).unwrap();
        let mut stream = tokenizer.stream_decoder(false);
        let mut streamed = String::new();
        for &id in &ids {
            match stream.push(id).unwrap() {
                Some(piece) => {
                    assert!(
                        !piece.contains('\u{FFFD}') || text.contains('\u{FFFD}'),
                        "{text:?}: a partial character was released: {piece:?}"
                    );
                    streamed.push_str(&piece);
                }
                None => held_back_somewhere = true,
            }
        }
        streamed.push_str(&stream.finish().unwrap());
        assert_eq!(
            streamed,
            tokenizer.decode(&ids, false).unwrap(),
            "{text:?} ({ids:?})"
        );
    }
    assert!(
        held_back_somewhere,
        "byte-fallback characters should span several ids"
    );
}

#[test]
fn streaming_keeps_the_spaces_between_words() {
    let tokenizer = tiny();
    let ids = tokenizer.encode("Hello world, again", false).unwrap();
    let mut stream = tokenizer.stream_decoder(true);
    let mut pieces = Vec::new();
    for &id in &ids {
        if let Some(piece) = stream.push(id).unwrap() {
            pieces.push(piece);
        }
    }
    pieces.push(stream.finish().unwrap());
    assert_eq!(pieces.concat(), "Hello world, again");
    assert!(pieces.iter().any(|p| p.starts_with(' ')), "{pieces:?}");
}

#[test]
fn tokenizer_json_round_trip_keeps_encodings() {
    let tokenizer = tiny();
    let json = tokenizer.to_json(false).expect("to_json");
    let again = Tokenizer::from_json_bytes(json.as_bytes(), tokenizer.specials().clone())
        .expect("read back");
    for text in [
        "Hello world",
        " two  spaces",
        "<s>a<sep>b</s>",
        "日本語 🦀 café",
    ] {
        assert_eq!(
            tokenizer.encode(text, true).unwrap(),
            again.encode(text, true).unwrap(),
            "{text}"
        );
    }
}

#[test]
fn add_space_prefix_false_turns_the_dummy_prefix_off() {
    let file = edited(|kv| {
        set(
            kv,
            "tokenizer.ggml.add_space_prefix",
            MetadataValue::Bool(false),
        )
    });
    let tokenizer = Tokenizer::from_gguf(&file).expect("tokenizer");
    let with_prefix = tiny();
    let ids = tokenizer.encode("Hello world", false).unwrap();
    assert!(!tokenizer
        .id_to_piece(ids[0])
        .unwrap()
        .starts_with('\u{2581}'));
    assert_ne!(ids, with_prefix.encode("Hello world", false).unwrap());
    // no dummy prefix, so no leading space is stripped when decoding
    assert_eq!(tokenizer.decode(&ids, false).unwrap(), "Hello world");
    let spaced = tokenizer.encode(" x", false).unwrap();
    assert_eq!(tokenizer.decode(&spaced, false).unwrap(), " x");
}

#[test]
fn bad_metadata_is_a_tokenizer_error_naming_the_key() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "tokenizer.ggml.scores",
            Box::new(|kv| {
                set(
                    kv,
                    "tokenizer.ggml.scores",
                    MetadataValue::Array(vec![MetadataValue::F32(0.0); 3]),
                )
            }),
        ),
        (
            "tokenizer.ggml.scores",
            Box::new(|kv| kv.retain(|(k, _)| k != "tokenizer.ggml.scores")),
        ),
        (
            "tokenizer.ggml.token_type",
            Box::new(|kv| {
                set(
                    kv,
                    "tokenizer.ggml.token_type",
                    MetadataValue::String("nope".into()),
                )
            }),
        ),
        (
            "tokenizer.ggml.token_type",
            Box::new(|kv| {
                set(
                    kv,
                    "tokenizer.ggml.token_type",
                    MetadataValue::Array(vec![MetadataValue::I32(1); 7]),
                )
            }),
        ),
        (
            "tokenizer.ggml.bos_token_id",
            Box::new(|kv| {
                set(
                    kv,
                    "tokenizer.ggml.bos_token_id",
                    MetadataValue::U32(100_000),
                )
            }),
        ),
        (
            "tokenizer.ggml.add_space_prefix",
            Box::new(|kv| set(kv, "tokenizer.ggml.add_space_prefix", MetadataValue::U32(1))),
        ),
        (
            "tokenizer.ggml.tokens",
            Box::new(|kv| {
                set(
                    kv,
                    "tokenizer.ggml.tokens",
                    MetadataValue::Array(vec![MetadataValue::U32(1); 512]),
                )
            }),
        ),
        (
            "tokenizer.ggml.tokens",
            Box::new(|kv| {
                set(
                    kv,
                    "tokenizer.ggml.tokens",
                    MetadataValue::Array(Vec::new()),
                )
            }),
        ),
    ];
    for (key, edit) in cases {
        let file = edited(edit);
        match Tokenizer::from_gguf(&file) {
            Ok(_) => panic!("broken {key} was accepted"),
            Err(err) => {
                assert!(
                    matches!(err, lmfast_core::error::Error::Tokenizer(_)),
                    "{err:?}"
                );
                let text = err.to_string();
                assert!(text.contains(key), "the error should name {key}: {text}");
                assert!(
                    text.contains("edited.gguf"),
                    "the error should name the file: {text}"
                );
            }
        }
    }
}

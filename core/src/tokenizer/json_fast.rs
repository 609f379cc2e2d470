//! A faster reader of BPE `tokenizer.json` files (every model family lmfast targets).
//!
//! The `tokenizers` crate reads a file's `model` section through two generic intermediate
//! forms, serde's buffered content (for an untagged enum) and then a `serde_json::Value`
//! tree, before it builds the BPE: for SmolLM2's 49k-token vocabulary and 49k merges that
//! was 140 ms of a browser's warm load. Here the vocabulary and merges are read straight into
//! the types the crate's `BpeBuilder` takes, every other section goes through the crate's own
//! deserializers, and the tokenizer is assembled as the crate's reader does (builder, then
//! the added tokens). A test checks that both readers give the same tokenizer, serialized.

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokenizers::models::bpe::{BpeBuilder, Merges, Vocab};
use tokenizers::{
    AddedToken, DecoderWrapper, ModelWrapper, NormalizerWrapper, PaddingParams,
    PostProcessorWrapper, PreTokenizerWrapper, TokenizerBuilder, TruncationParams,
};

/// The top level of a `tokenizer.json`, each section left as raw JSON text.
#[derive(Deserialize)]
struct Sections<'a> {
    version: Option<String>,
    #[serde(borrow)]
    truncation: Option<&'a RawValue>,
    #[serde(borrow)]
    padding: Option<&'a RawValue>,
    #[serde(borrow)]
    added_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    normalizer: Option<&'a RawValue>,
    #[serde(borrow)]
    pre_tokenizer: Option<&'a RawValue>,
    #[serde(borrow)]
    model: &'a RawValue,
    #[serde(borrow)]
    decoder: Option<&'a RawValue>,
    #[serde(borrow)]
    post_processor: Option<&'a RawValue>,
}

/// A `"type": "BPE"` model section, with the fields the crate's BPE reader knows.
#[derive(Deserialize)]
struct BpeSection {
    #[serde(rename = "type")]
    kind: String,
    dropout: Option<f32>,
    unk_token: Option<String>,
    continuing_subword_prefix: Option<String>,
    end_of_word_suffix: Option<String>,
    fuse_unk: Option<bool>,
    byte_fallback: Option<bool>,
    ignore_merges: Option<bool>,
    vocab: Vocab,
    #[serde(deserialize_with = "merges")]
    merges: Merges,
}

/// An entry of `added_tokens`: the token and the id the file gives it.
#[derive(Deserialize)]
struct AddedTokenEntry {
    #[allow(dead_code)]
    id: u32,
    #[serde(flatten)]
    token: AddedToken,
}

/// Merges as `["a", "b"]` pairs or as the older `"a b"` strings (`#version` lines skipped),
/// read one entry at a time.
fn merges<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Merges, D::Error> {
    struct MergesVisitor;
    impl<'de> Visitor<'de> for MergesVisitor {
        type Value = Merges;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of merges")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Merges, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(entry) = seq.next_element::<MergeEntry>()? {
                match entry {
                    MergeEntry::Pair(a, b) => out.push((a, b)),
                    MergeEntry::Line(line) if line.starts_with("#version") => {}
                    MergeEntry::Line(line) => {
                        let mut parts = line.split(' ');
                        match (parts.next(), parts.next(), parts.next()) {
                            (Some(a), Some(b), None) => out.push((a.to_owned(), b.to_owned())),
                            _ => {
                                return Err(serde::de::Error::custom(format!(
                                    "merge {} ('{line}') is not two tokens separated by a space",
                                    out.len() + 1
                                )))
                            }
                        }
                    }
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_seq(MergesVisitor)
}

/// One merge: a pair, or a line to split.
enum MergeEntry {
    Pair(String, String),
    Line(String),
}

impl<'de> Deserialize<'de> for MergeEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = MergeEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a merge: [\"a\", \"b\"] or \"a b\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MergeEntry, E> {
                Ok(MergeEntry::Line(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<MergeEntry, E> {
                Ok(MergeEntry::Line(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MergeEntry, A::Error> {
                let missing = || serde::de::Error::custom("a merge pair needs two tokens");
                let a: String = seq.next_element()?.ok_or_else(missing)?;
                let b: String = seq.next_element()?.ok_or_else(missing)?;
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::custom(
                        "a merge pair has more than two tokens",
                    ));
                }
                Ok(MergeEntry::Pair(a, b))
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// A section parsed by the crate's own reader; `null` or absent gives `None`.
fn section<T: serde::de::DeserializeOwned>(
    raw: Option<&RawValue>,
    name: &str,
) -> Result<Option<T>, String> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            serde_json::from_str::<Option<T>>(raw.get()).map_err(|e| format!("{name}: {e}"))
        }
    }
}

/// Reads a BPE `tokenizer.json`. An error means "use the crate's reader" (another model
/// type, or a file it may explain better); it is never a different tokenizer.
pub(super) fn read(bytes: &[u8]) -> Result<tokenizers::Tokenizer, String> {
    let s: Sections = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if let Some(v) = &s.version {
        if v != "1.0" {
            return Err(format!("unknown tokenizer version '{v}'"));
        }
    }
    let m: BpeSection = serde_json::from_str(s.model.get()).map_err(|e| format!("model: {e}"))?;
    if m.kind != "BPE" {
        return Err(format!("model type {} is not BPE", m.kind));
    }
    let mut bpe = BpeBuilder::new().vocab_and_merges(m.vocab, m.merges);
    if let Some(d) = m.dropout {
        bpe = bpe.dropout(d);
    }
    if let Some(u) = m.unk_token {
        bpe = bpe.unk_token(u);
    }
    if let Some(p) = m.continuing_subword_prefix {
        bpe = bpe.continuing_subword_prefix(p);
    }
    if let Some(p) = m.end_of_word_suffix {
        bpe = bpe.end_of_word_suffix(p);
    }
    if let Some(f) = m.fuse_unk {
        bpe = bpe.fuse_unk(f);
    }
    if let Some(b) = m.byte_fallback {
        bpe = bpe.byte_fallback(b);
    }
    if let Some(i) = m.ignore_merges {
        bpe = bpe.ignore_merges(i);
    }
    let bpe = bpe.build().map_err(|e| format!("model: {e}"))?;
    let mut tokenizer = TokenizerBuilder::<
        ModelWrapper,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    >::new()
    .with_model(bpe.into())
    .with_normalizer(section(s.normalizer, "normalizer")?)
    .with_pre_tokenizer(section(s.pre_tokenizer, "pre_tokenizer")?)
    .with_post_processor(section(s.post_processor, "post_processor")?)
    .with_decoder(section(s.decoder, "decoder")?)
    .with_truncation(section::<TruncationParams>(s.truncation, "truncation")?)
    .with_padding(section::<PaddingParams>(s.padding, "padding")?)
    .build()
    .map_err(|e| e.to_string())?;
    let added: Vec<AddedTokenEntry> = section(s.added_tokens, "added_tokens")?.unwrap_or_default();
    tokenizer
        .add_tokens(added.into_iter().map(|t| t.token))
        .map_err(|e| e.to_string())?;
    Ok(tokenizer.into())
}

#[cfg(test)]
mod tests {
    use super::read;
    use std::path::Path;

    /// Both readers on `json`: the same tokenizer, serialized, and the same ids for a text.
    fn assert_same(json: &str) {
        let fast = read(json.as_bytes()).expect("the direct reader reads this file");
        let slow = tokenizers::Tokenizer::from_bytes(json.as_bytes()).expect("the crate reads it");
        assert_eq!(
            fast.to_string(false).unwrap(),
            slow.to_string(false).unwrap()
        );
        let text = "Hello, world! <|im_start|>user\nLes élèves ont 12 ans.<|im_end|>";
        let ids = |t: &tokenizers::Tokenizer| t.encode(text, true).unwrap().get_ids().to_vec();
        assert_eq!(ids(&fast), ids(&slow));
    }

    /// A small byte-level BPE tokenizer with added tokens, as `tokenizer.json` text.
    fn small_bpe() -> String {
        use tokenizers::models::bpe::BPE;
        use tokenizers::pre_tokenizers::byte_level::ByteLevel;
        use tokenizers::{AddedToken, Tokenizer};
        let alphabet: Vec<String> = ByteLevel::alphabet()
            .into_iter()
            .map(String::from)
            .collect();
        let mut vocab: Vec<(String, u32)> = alphabet.iter().cloned().zip(0..).collect();
        let merges = [
            ("H", "e"),
            ("He", "l"),
            ("l", "o"),
            ("Hel", "lo"),
            ("Ġ", "w"),
        ];
        for (a, b) in merges {
            vocab.push((format!("{a}{b}"), vocab.len() as u32));
        }
        let merges = merges.map(|(a, b)| (a.to_string(), b.to_string())).to_vec();
        let bpe = BPE::builder()
            .vocab_and_merges(
                vocab
                    .into_iter()
                    .collect::<tokenizers::models::bpe::Vocab>(),
                merges,
            )
            .unk_token("<unk>".into())
            .build()
            .unwrap();
        let mut t = Tokenizer::new(bpe);
        t.with_pre_tokenizer(Some(ByteLevel::default()));
        t.with_decoder(Some(ByteLevel::default()));
        t.add_special_tokens([
            AddedToken::from("<|im_start|>", true),
            AddedToken::from("<|im_end|>", true),
        ])
        .unwrap();
        t.to_string(false).unwrap()
    }

    #[test]
    fn a_bpe_file_reads_the_same_as_with_the_crate_reader() {
        assert_same(&small_bpe());
    }

    #[test]
    fn merges_written_as_lines_read_the_same_as_pairs() {
        let mut v: serde_json::Value = serde_json::from_str(&small_bpe()).unwrap();
        let merges = v["model"]["merges"].as_array().unwrap().clone();
        let mut lines: Vec<serde_json::Value> = vec!["#version: 0.2".into()];
        lines.extend(
            merges
                .iter()
                .map(|m| format!("{} {}", m[0].as_str().unwrap(), m[1].as_str().unwrap()).into()),
        );
        v["model"]["merges"] = lines.into();
        assert_same(&v.to_string());
        // A line that is not two tokens is refused (the crate's reader refuses it too).
        v["model"]["merges"][1] = "a b c".into();
        assert!(read(v.to_string().as_bytes())
            .unwrap_err()
            .contains("merge 1"));
    }

    #[test]
    fn other_model_types_are_left_to_the_crate_reader() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/reference/fixtures/tiny-hf/llama/tokenizer.json");
        let json = std::fs::read(path).unwrap();
        assert!(
            read(&json).is_err(),
            "a WordLevel file is not the direct reader's"
        );
        let t = crate::tokenizer::Tokenizer::from_json_bytes(&json, Default::default()).unwrap();
        assert!(t.vocab_size() > 0);
    }

    /// SmolLM2's own file, when the default model has been exported (scripts/setup).
    #[test]
    fn the_default_model_tokenizer_reads_the_same_and_faster() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/smollm2-135m-q4/tokenizer.json");
        let Ok(json) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} is not there", path.display());
            return;
        };
        assert_same(&json);
        let time = |f: &dyn Fn()| {
            let start = std::time::Instant::now();
            for _ in 0..3 {
                f();
            }
            start.elapsed().as_secs_f64() / 3.0
        };
        let fast = time(&|| drop(read(json.as_bytes()).unwrap()));
        let slow = time(&|| drop(tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap()));
        eprintln!(
            "tokenizer.json: direct reader {:.1} ms, crate reader {:.1} ms",
            fast * 1e3,
            slow * 1e3
        );
    }
}

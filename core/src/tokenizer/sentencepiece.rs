//! SentencePiece vocabularies as GGUF stores them (`tokenizer.ggml.model = llama`): Llama 2,
//! TinyLlama, Mistral, Gemma.
//!
//! A GGUF keeps what SentencePiece's model file keeps: pieces, scores and piece types (normal,
//! unknown, control, user-defined, unused, byte `<0xNN>`), but no merges. We rebuild the
//! tokenizer the way Hugging Face transformers does when it loads such a GGUF
//! (`integrations/gguf/gguf_tokenizer_mapping.py`), because its ids are the reference we test
//! against: a `tokenizers` BPE with byte fallback and `fuse_unk`, whose merges are generated from
//! the vocabulary, plus the pipeline of its Llama or Gemma tokenizer class:
//!
//! * Llama style: `Metaspace(▁, prepend_scheme = first, split = false)` pre-tokenizer (the
//!   dummy-prefix `▁`, spaces as `▁`); decoder `Replace(▁ → " ")`, `ByteFallback`, `Fuse`,
//!   `Strip(one leading space)`. Merges sorted by the pieces' scores.
//! * Gemma (`general.architecture` gemma, gemma2, gemma3): normalizer `Replace(" " → ▁)`, no
//!   dummy prefix, decoder without the `Strip`. Tokens made only of whitespace that contain a
//!   space (`"  "`, stored with real spaces) are respelled as that many `▁`; merges are sorted by
//!   the tokens' position in the file, since Gemma's scores do not follow its merge order.
//!
//! Everything is built from the crate's own parts except the merge list: `tokenizers` has no
//! way to derive merges from a scored vocabulary (that lives in transformers' Python
//! `generate_merges`), so [`generate_merges`] is written here, reproducing its order and
//! tie-breaking exactly, because BPE applies merges by rank and a different order gives
//! different ids.
//!
//! Control pieces become special added tokens and user-defined pieces plain added tokens, both
//! matched whole in the text; the BOS/EOS/UNK/padding pieces that are neither become special
//! too (SentencePiece types `<unk>` as unknown, not control), as transformers adds them.
//!
//! One deliberate difference from transformers: `tokenizer.ggml.add_space_prefix = false` turns
//! the dummy prefix off for Llama-style vocabularies, as llama.cpp does; transformers ignores
//! the key (no file we test sets it on a Llama-style vocabulary).

use super::{Tokenizer, TokenizerSpecials};
use crate::error::{Error, Result};
use crate::format::gguf::GgufFile;
use std::collections::HashMap;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior,
};

/// SentencePiece's word-boundary mark, which stands for a space inside pieces.
const SPACE_MARK: char = '\u{2581}';

/// GGUF token types (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_NORMAL: i32 = 1;
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// The architectures whose SentencePiece vocabulary transformers builds as a Gemma tokenizer.
const GEMMA_ARCHITECTURES: [&str; 3] = ["gemma", "gemma2", "gemma3"];

/// Python's `str.isspace` for one character: Rust's `char::is_whitespace` (Unicode
/// White_Space) plus the four separators U+001C..U+001F, which Python counts as whitespace.
/// transformers' Gemma respelling tests whitespace with Python's definition.
fn python_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// transformers' Gemma respelling: a token of whitespace only that contains a space is stored
/// with real spaces but looked up as `▁`s, one per character.
fn gemma_respell(token: &str) -> Option<String> {
    (token.contains(' ') && token.chars().all(python_isspace))
        .then(|| std::iter::repeat_n(SPACE_MARK, token.chars().count()).collect())
}

/// The merges a scored vocabulary implies, best first: transformers' `generate_merges`.
///
/// `tokens` are in file order (the id is the index) and `scores[i]` is token `i`'s merge
/// priority (higher merges first). A repeated token keeps its first position in the iteration
/// but its last id and score, as the Python dicts built from the list do. For every token, each
/// split into two pieces that are both tokens gives a candidate `(left, right)`; a token's
/// candidates are ordered by the ids of (left, right), then all candidates are sorted, stably,
/// by (score, left length, right length) descending, lengths counted in characters.
pub(super) fn generate_merges(tokens: &[&str], scores: &[f64]) -> Vec<(String, String)> {
    let mut id_of: HashMap<&str, usize> = HashMap::with_capacity(tokens.len());
    let mut order: Vec<&str> = Vec::with_capacity(tokens.len());
    for (id, &token) in tokens.iter().enumerate() {
        if id_of.insert(token, id).is_none() {
            order.push(token);
        }
    }
    // (score, left chars, right chars, left, right)
    let mut candidates: Vec<(f64, usize, usize, &str, &str)> = Vec::new();
    let mut local: Vec<(usize, usize, &str, &str)> = Vec::new();
    for token in order {
        let score = scores[id_of[token]];
        local.clear();
        for (split, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(split);
            if let (Some(&l), Some(&r)) = (id_of.get(left), id_of.get(right)) {
                local.push((l, r, left, right));
            }
        }
        local.sort_by_key(|&(l, r, _, _)| (l, r));
        for &(_, _, left, right) in &local {
            candidates.push((
                score,
                left.chars().count(),
                right.chars().count(),
                left,
                right,
            ));
        }
    }
    // `sort_by` is stable, and comparing b to a sorts descending while equal keys keep their
    // order: what Python's `sorted(..., reverse=True)` does.
    candidates.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| b.2.cmp(&a.2))
    });
    candidates
        .into_iter()
        .map(|(_, _, _, left, right)| (left.to_owned(), right.to_owned()))
        .collect()
}

/// Builds the tokenizer of a GGUF with `tokenizer.ggml.model = llama`.
pub(super) fn build(file: &GgufFile) -> Result<Tokenizer> {
    let name = file.name();
    let err = |msg: String| Error::Tokenizer(format!("{name}: {msg}"));
    // GGUF accessor errors already name the file and the key; they become tokenizer errors.
    let meta = |e: Error| Error::Tokenizer(e.to_string());
    let architecture = match file.get("general.architecture") {
        Some(_) => file.get_str("general.architecture").map_err(meta)?,
        None => "",
    };
    let gemma = GEMMA_ARCHITECTURES.contains(&architecture);
    let tokens = file.get_str_array("tokenizer.ggml.tokens").map_err(meta)?;
    if tokens.is_empty() {
        return Err(err("tokenizer.ggml.tokens is empty".into()));
    }
    let types = match file.get("tokenizer.ggml.token_type") {
        Some(_) => file
            .get_i32_array("tokenizer.ggml.token_type")
            .map_err(meta)?,
        None => vec![TOKEN_TYPE_NORMAL; tokens.len()],
    };
    if types.len() != tokens.len() {
        return Err(err(format!(
            "tokenizer.ggml.token_type has {} entries for {} tokens",
            types.len(),
            tokens.len()
        )));
    }

    // Gemma's lookup spelling of whitespace tokens; the others are kept as the file has them.
    let respelled: Vec<Option<String>> = tokens
        .iter()
        .map(|t| if gemma { gemma_respell(t) } else { None })
        .collect();
    let model_tokens: Vec<&str> = tokens
        .iter()
        .zip(&respelled)
        .map(|(t, r)| r.as_deref().unwrap_or(t))
        .collect();
    let merge_scores: Vec<f64> = if gemma {
        // file position: earlier tokens merge first
        (0..tokens.len()).map(|i| -(i as f64)).collect()
    } else {
        let scores = file.get_f32_array("tokenizer.ggml.scores").map_err(meta)?;
        if scores.len() != tokens.len() {
            return Err(err(format!(
                "tokenizer.ggml.scores has {} entries for {} tokens",
                scores.len(),
                tokens.len()
            )));
        }
        scores.into_iter().map(f64::from).collect()
    };
    let merges = generate_merges(&model_tokens, &merge_scores);

    let vocab: Vocab = model_tokens
        .iter()
        .enumerate()
        .map(|(id, token)| ((*token).to_owned(), id as u32))
        .collect();
    let mut bpe = BPE::builder()
        .vocab_and_merges(vocab.clone(), merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if gemma {
        // GemmaTokenizer names `<unk>` as the model's unknown token whatever the file says;
        // with byte fallback it only shows when a byte piece is missing.
        bpe = bpe.unk_token("<unk>".to_owned());
    }
    let bpe = bpe
        .build()
        .map_err(|e| err(format!("building the BPE model: {e}")))?;

    let flag = |key: &str, default: bool| -> Result<bool> {
        match file.get(key) {
            None => Ok(default),
            Some(_) => file.get_bool(key).map_err(meta),
        }
    };
    let add_space_prefix = !gemma && flag("tokenizer.ggml.add_space_prefix", true)?;

    let mut inner = tokenizers::Tokenizer::new(bpe);
    let mut decoders = vec![
        DecoderWrapper::Replace(
            Replace::new(SPACE_MARK.to_string(), " ").map_err(|e| err(format!("decoder: {e}")))?,
        ),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if gemma {
        let replace = Replace::new(" ", SPACE_MARK.to_string())
            .map_err(|e| err(format!("normalizer: {e}")))?;
        inner
            .with_normalizer(Some(NormalizerWrapper::Replace(replace)))
            .map_err(|e| err(format!("normalizer: {e}")))?;
        // GemmaTokenizer's split on spaces; after the normalizer there are none left, so the
        // whole text (between added tokens) is one BPE word. Kept for an identical pipeline.
        let split = Split::new(
            SplitPattern::String(" ".into()),
            SplitDelimiterBehavior::MergedWithPrevious,
            false,
        )
        .map_err(|e| err(format!("pre-tokenizer: {e}")))?;
        inner.with_pre_tokenizer(Some(PreTokenizerWrapper::Split(split)));
    } else {
        let scheme = if add_space_prefix {
            PrependScheme::First
        } else {
            PrependScheme::Never
        };
        inner.with_pre_tokenizer(Some(PreTokenizerWrapper::Metaspace(Metaspace::new(
            SPACE_MARK, scheme, false,
        ))));
        if add_space_prefix {
            // the dummy prefix comes back as a leading space; drop one
            decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
        }
    }
    inner.with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(
        decoders,
    ))));

    let id_key = |key: &str| -> Result<Option<u32>> {
        match file.get(key) {
            None => Ok(None),
            Some(_) => {
                let id = file.get_u32(key).map_err(meta)?;
                if id as usize >= tokens.len() {
                    return Err(err(format!(
                        "{key} = {id} is outside the vocabulary of {}",
                        tokens.len()
                    )));
                }
                Ok(Some(id))
            }
        }
    };
    let bos_id = id_key("tokenizer.ggml.bos_token_id")?;
    let eos_id = id_key("tokenizer.ggml.eos_token_id")?;
    let unk_id = id_key("tokenizer.ggml.unknown_token_id")?;
    let pad_id = id_key("tokenizer.ggml.padding_token_id")?;

    // Control pieces become special added tokens and user-defined pieces plain ones (only
    // those the model vocabulary holds under their own spelling: Gemma's respelled space runs
    // are left to BPE). The named BOS/EOS/UNK/padding pieces that are neither are then added
    // as special, as transformers does (SentencePiece types `<unk>` as unknown).
    let control: Vec<u32> = (0..tokens.len() as u32)
        .filter(|&id| types[id as usize] == TOKEN_TYPE_CONTROL)
        .collect();
    let user_defined: Vec<u32> = (0..tokens.len() as u32)
        .filter(|&id| {
            types[id as usize] == TOKEN_TYPE_USER_DEFINED && vocab.contains_key(tokens[id as usize])
        })
        .collect();
    let mut added: std::collections::HashSet<u32> =
        control.iter().chain(&user_defined).copied().collect();
    let mut special = control;
    for id in [unk_id, bos_id, eos_id, pad_id].into_iter().flatten() {
        if added.insert(id) {
            special.push(id);
        }
    }
    let added_token = |id: &u32, is_special: bool| {
        AddedToken::from(tokens[*id as usize].to_owned(), is_special).normalized(false)
    };
    inner
        .add_special_tokens(special.iter().map(|id| added_token(id, true)))
        .map_err(|e| err(format!("adding control tokens: {e}")))?;
    inner
        .add_tokens(user_defined.iter().map(|id| added_token(id, false)))
        .map_err(|e| err(format!("adding user-defined tokens: {e}")))?;

    let specials = TokenizerSpecials {
        bos_id,
        eos_ids: eos_id.into_iter().collect(),
        // llama.cpp (and transformers) add BOS to a SentencePiece vocabulary that does not
        // say otherwise
        add_bos: flag("tokenizer.ggml.add_bos_token", true)?,
        add_eos: flag("tokenizer.ggml.add_eos_token", false)?,
    };
    Ok(Tokenizer::new(inner, specials))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merges(tokens: &[&str], scores: &[f64]) -> Vec<(String, String)> {
        generate_merges(tokens, scores)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn merges_follow_scores_then_lengths() {
        // "abc" splits as a+bc and ab+c, same score: the longer left piece first
        let tokens = ["a", "b", "c", "ab", "bc", "abc"];
        let scores = [0.0, 0.0, 0.0, -1.0, -2.0, -0.5];
        assert_eq!(
            merges(&tokens, &scores),
            pairs(&[("ab", "c"), ("a", "bc"), ("a", "b"), ("b", "c")])
        );
    }

    #[test]
    fn equal_keys_keep_file_order() {
        let tokens = ["x", "y", "yx", "xy"];
        let scores = [0.0, 0.0, -1.0, -1.0];
        assert_eq!(merges(&tokens, &scores), pairs(&[("y", "x"), ("x", "y")]));
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // é is two bytes: by bytes "é"+"ab" and "éa"+"b" would tie differently
        let tokens = ["é", "a", "b", "éa", "ab", "éab"];
        let scores = [0.0, 0.0, 0.0, -3.0, -3.0, -1.0];
        assert_eq!(
            merges(&tokens, &scores),
            pairs(&[("éa", "b"), ("é", "ab"), ("é", "a"), ("a", "b")])
        );
    }

    #[test]
    fn repeated_tokens_keep_first_position_and_last_id() {
        let tokens = ["a", "b", "ab", "a"];
        let scores = [0.0, 0.0, -1.0, 5.0];
        // "a" (last score 5) has no split; "ab" splits into a + b
        assert_eq!(merges(&tokens, &scores), pairs(&[("a", "b")]));
    }

    #[test]
    fn gemma_respells_space_runs_only() {
        assert_eq!(gemma_respell("  ").as_deref(), Some("\u{2581}\u{2581}"));
        assert_eq!(gemma_respell(" \n").as_deref(), Some("\u{2581}\u{2581}"));
        assert_eq!(gemma_respell("\n\n"), None);
        assert_eq!(gemma_respell(" a"), None);
        assert_eq!(
            gemma_respell(" \u{1f}").as_deref(),
            Some("\u{2581}\u{2581}")
        );
    }
}

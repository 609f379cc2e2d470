//! The pre-tokenizers that GGUF names in `tokenizer.ggml.pre`, as Hugging Face defines them.
//!
//! llama.cpp only records a name; the matching `tokenizer.json` pipelines are rebuilt here so
//! that encodings equal the original Hugging Face tokenizer's.

use crate::error::{Error, Result};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior};

/// Llama 3's split pattern: numbers in groups of up to three digits.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's split pattern: every digit on its own.
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The normalizer, pre-tokenizer and BPE option that one `tokenizer.ggml.pre` value stands for.
pub(super) struct Pipeline {
    pub normalizer: Option<NormalizerWrapper>,
    pub pre_tokenizer: PreTokenizerWrapper,
    pub ignore_merges: bool,
}

fn split(pattern: &str) -> Result<PreTokenizerWrapper> {
    Split::new(
        SplitPattern::Regex(pattern.to_owned()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map(PreTokenizerWrapper::Split)
    .map_err(|e| Error::Tokenizer(format!("split pattern: {e}")))
}

/// The pipeline for `name`, or an error naming it when we do not know it.
pub(super) fn pipeline(name: &str) -> Result<Pipeline> {
    let byte_level = |trim_offsets, use_regex| {
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, trim_offsets, use_regex))
    };
    Ok(match name {
        // SmolLM/SmolLM2: each digit alone, then GPT-2's byte-level split.
        "smollm" => Pipeline {
            normalizer: None,
            pre_tokenizer: PreTokenizerWrapper::Sequence(Sequence::new(vec![
                PreTokenizerWrapper::Digits(Digits::new(true)),
                byte_level(true, true),
            ])),
            ignore_merges: false,
        },
        "gpt-2" | "gpt2" | "default" => Pipeline {
            normalizer: None,
            pre_tokenizer: byte_level(true, true),
            ignore_merges: false,
        },
        "llama-bpe" | "llama3" | "llama-v3" => Pipeline {
            normalizer: None,
            pre_tokenizer: PreTokenizerWrapper::Sequence(Sequence::new(vec![
                split(LLAMA3_PATTERN)?,
                byte_level(true, false),
            ])),
            ignore_merges: true,
        },
        "qwen2" => Pipeline {
            normalizer: Some(NormalizerWrapper::NFC(NFC)),
            pre_tokenizer: PreTokenizerWrapper::Sequence(Sequence::new(vec![
                split(QWEN2_PATTERN)?,
                byte_level(false, false),
            ])),
            ignore_merges: false,
        },
        other => {
            return Err(Error::Tokenizer(format!(
                "pre-tokenizer `{other}` (tokenizer.ggml.pre) is not supported; known: smollm, \
                 gpt-2, default, llama-bpe, qwen2"
            )))
        }
    })
}

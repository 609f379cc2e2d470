//! Building the tokenizer from GGUF's `tokenizer.ggml.*` metadata: byte-level BPE here,
//! SentencePiece vocabularies in [`super::sentencepiece`].

use super::pre_tokenizer::pipeline;
use super::{Tokenizer, TokenizerSpecials};
use crate::error::{Error, Result};
use crate::format::gguf::GgufFile;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::{AddedToken, DecoderWrapper};

/// GGUF token types (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

impl Tokenizer {
    /// Builds the tokenizer that a GGUF file describes: byte-level BPE (`tokenizer.ggml.model =
    /// gpt2`) with the pre-tokenizer named by `tokenizer.ggml.pre`, or a SentencePiece
    /// vocabulary (`llama`: Llama 2, TinyLlama, Gemma) rebuilt as Hugging Face transformers
    /// rebuilds it.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let err = |msg: String| Error::Tokenizer(format!("{}: {msg}", file.name()));
        let model = file.get_str("tokenizer.ggml.model")?;
        match model {
            "gpt2" => {}
            "llama" => return super::sentencepiece::build(file),
            other => {
                return Err(err(format!(
                    "tokenizer.ggml.model `{other}` is not supported (byte-level BPE `gpt2` and \
                     SentencePiece `llama` are)"
                )))
            }
        }
        let tokens = file.get_str_array("tokenizer.ggml.tokens")?;
        let merges = file.get_str_array("tokenizer.ggml.merges")?;
        let types = match file.get("tokenizer.ggml.token_type") {
            Some(_) => file.get_i32_array("tokenizer.ggml.token_type")?,
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(err(format!(
                "{} token types for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let pre_name = match file.get("tokenizer.ggml.pre") {
            Some(_) => file.get_str("tokenizer.ggml.pre")?,
            None => "default",
        };
        let pipeline = pipeline(pre_name).map_err(|e| err(e.to_string()))?;

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| ((*token).to_owned(), id as u32))
            .collect();
        let mut merge_pairs = Vec::with_capacity(merges.len());
        for (index, merge) in merges.iter().enumerate() {
            let (a, b) = merge.split_once(' ').ok_or_else(|| {
                err(format!(
                    "merge #{index} `{merge}` is not two tokens separated by a space"
                ))
            })?;
            merge_pairs.push((a.to_owned(), b.to_owned()));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merge_pairs)
            .ignore_merges(pipeline.ignore_merges)
            .build()
            .map_err(|e| err(format!("building BPE: {e}")))?;

        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner
            .with_normalizer(pipeline.normalizer)
            .map_err(|e| err(format!("normalizer: {e}")))?;
        inner.with_pre_tokenizer(Some(pipeline.pre_tokenizer));
        inner.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevelDecoder::default())));
        let added = |special: bool, wanted: i32| {
            tokens
                .iter()
                .zip(&types)
                .filter(move |(_, &ty)| ty == wanted)
                .map(move |(token, _)| {
                    AddedToken::from((*token).to_owned(), special).normalized(false)
                })
        };
        inner
            .add_special_tokens(added(true, TOKEN_TYPE_CONTROL).collect::<Vec<_>>())
            .map_err(|e| err(format!("adding control tokens: {e}")))?;
        inner
            .add_tokens(added(false, TOKEN_TYPE_USER_DEFINED).collect::<Vec<_>>())
            .map_err(|e| err(format!("adding user-defined tokens: {e}")))?;

        let id_key = |key: &str| -> Result<Option<u32>> {
            match file.get(key) {
                None => Ok(None),
                Some(_) => {
                    let id = file.get_u32(key)?;
                    if id as usize >= tokens.len() {
                        return Err(err(format!("{key} = {id} is outside the vocabulary")));
                    }
                    Ok(Some(id))
                }
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            match file.get(key) {
                None => Ok(default),
                Some(_) => file.get_bool(key),
            }
        };
        let specials = TokenizerSpecials {
            bos_id: id_key("tokenizer.ggml.bos_token_id")?,
            eos_ids: id_key("tokenizer.ggml.eos_token_id")?.into_iter().collect(),
            add_bos: flag("tokenizer.ggml.add_bos_token", false)?,
            add_eos: flag("tokenizer.ggml.add_eos_token", false)?,
        };
        Ok(Tokenizer::new(inner, specials))
    }
}

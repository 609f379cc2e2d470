//! The tokenizer: text to token ids and back, built from a checkpoint's own vocabulary.
//!
//! We wrap Hugging Face's `tokenizers` crate rather than re-implementing BPE: it is the
//! reference implementation the models were trained with. What it cannot carry in a
//! `tokenizer.json` (BOS/EOS ids and whether to add them) lives in [`TokenizerSpecials`].

mod from_gguf;
mod json_fast;
mod pre_tokenizer;
mod sentencepiece;
mod stream;

pub use stream::StreamDecoder;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The special-token facts a model needs beside its `tokenizer.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerSpecials {
    /// Beginning-of-sequence token, if the model has one.
    pub bos_id: Option<u32>,
    /// Tokens that end generation: the EOS token and end-of-turn tokens.
    pub eos_ids: Vec<u32>,
    /// Whether plain-text prompts start with BOS.
    pub add_bos: bool,
    /// Whether encodings end with EOS.
    pub add_eos: bool,
}

/// A model's tokenizer with its special-token facts.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    specials: TokenizerSpecials,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("specials", &self.specials)
            .finish()
    }
}

/// End-of-turn pieces of the chat formats we know; generation stops on them too.
const END_OF_TURN_PIECES: [&str; 4] = ["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"];

impl Tokenizer {
    /// Wraps a built `tokenizers::Tokenizer`; end-of-turn tokens it knows join `eos_ids`.
    pub fn new(inner: tokenizers::Tokenizer, mut specials: TokenizerSpecials) -> Self {
        for piece in END_OF_TURN_PIECES {
            if let Some(id) = inner.token_to_id(piece) {
                if !specials.eos_ids.contains(&id) {
                    specials.eos_ids.push(id);
                }
            }
        }
        Self { inner, specials }
    }

    /// Reads a Hugging Face `tokenizer.json` from memory.
    pub fn from_json_bytes(bytes: &[u8], specials: TokenizerSpecials) -> Result<Self> {
        // BPE files (every family we target) take the direct reader; anything it does not
        // read goes through the crate's, which also words the error for a broken file.
        let inner = match json_fast::read(bytes) {
            Ok(t) => t,
            Err(_) => tokenizers::Tokenizer::from_bytes(bytes)
                .map_err(|e| Error::Tokenizer(format!("tokenizer.json: {e}")))?,
        };
        Ok(Self::new(inner, specials))
    }

    /// Reads a Hugging Face `tokenizer.json` file.
    pub fn from_file(path: &Path, specials: TokenizerSpecials) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_bytes(&bytes, specials)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
    }

    /// The tokenizer as `tokenizer.json` text that Hugging Face `tokenizers` reads.
    pub fn to_json(&self, pretty: bool) -> Result<String> {
        self.inner
            .to_string(pretty)
            .map_err(|e| Error::Tokenizer(format!("serializing tokenizer.json: {e}")))
    }

    /// The special-token facts kept beside `tokenizer.json`.
    pub fn specials(&self) -> &TokenizerSpecials {
        &self.specials
    }

    /// Token ids of `text`. Special tokens written in the text (`<|im_start|>`) are recognised;
    /// `add_special_tokens` adds BOS/EOS as the model's metadata asks.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| Error::Tokenizer(format!("encoding: {e}")))?;
        let mut ids = Vec::with_capacity(encoding.len() + 2);
        if add_special_tokens && self.specials.add_bos {
            if let Some(bos) = self.specials.bos_id {
                ids.push(bos);
            }
        }
        ids.extend_from_slice(encoding.get_ids());
        if add_special_tokens && self.specials.add_eos {
            if let Some(&eos) = self.specials.eos_ids.first() {
                ids.push(eos);
            }
        }
        Ok(ids)
    }

    /// Text of `ids`; `skip_special_tokens` leaves out control tokens such as `<|im_end|>`.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        let vocab = self.vocab_size();
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(Error::Tokenizer(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| Error::Tokenizer(format!("decoding: {e}")))
    }

    /// A decoder that turns ids into text one at a time, for streaming.
    pub fn stream_decoder(&self, skip_special_tokens: bool) -> StreamDecoder<'_> {
        StreamDecoder::new(self, skip_special_tokens)
    }

    /// Number of token ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The BOS token id, if any.
    pub fn bos_id(&self) -> Option<u32> {
        self.specials.bos_id
    }

    /// Ids that end generation (EOS and end-of-turn tokens).
    pub fn eos_ids(&self) -> &[u32] {
        &self.specials.eos_ids
    }

    /// The id of token `piece`, if it is in the vocabulary.
    pub fn token_id(&self, piece: &str) -> Option<u32> {
        self.inner.token_to_id(piece)
    }

    /// The vocabulary entry of `id` (byte-level pieces look like `Ġthe`).
    pub fn id_to_piece(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}

//! Turning a stream of token ids into text pieces that join up to the full decoding.
//!
//! A character can span several byte-level tokens, so text is released only once the decoded
//! tail no longer ends in a partial character (U+FFFD).

use super::Tokenizer;
use crate::error::Result;

/// Decodes ids one at a time, yielding only complete text.
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    skip_special_tokens: bool,
    ids: Vec<u32>,
    /// Start of the ids re-decoded for context (a few tokens back, so spacing rules apply).
    prefix_start: usize,
    /// Ids before this index have had their text released.
    read_index: usize,
}

impl<'a> StreamDecoder<'a> {
    pub(super) fn new(tokenizer: &'a Tokenizer, skip_special_tokens: bool) -> Self {
        Self {
            tokenizer,
            skip_special_tokens,
            ids: Vec::new(),
            prefix_start: 0,
            read_index: 0,
        }
    }

    /// Adds `id`; returns the new text when it forms complete characters.
    pub fn push(&mut self, id: u32) -> Result<Option<String>> {
        self.ids.push(id);
        let skip = self.skip_special_tokens;
        let prefix = self
            .tokenizer
            .decode(&self.ids[self.prefix_start..self.read_index], skip)?;
        let full = self
            .tokenizer
            .decode(&self.ids[self.prefix_start..], skip)?;
        if full.len() <= prefix.len() || full.ends_with('\u{FFFD}') {
            return Ok(None);
        }
        let Some(new_text) = full.strip_prefix(prefix.as_str()) else {
            return Ok(None);
        };
        let new_text = new_text.to_owned();
        self.prefix_start = self.read_index;
        self.read_index = self.ids.len();
        Ok(Some(new_text))
    }

    /// Text still held back at the end of the stream (an incomplete character, as U+FFFD).
    pub fn finish(self) -> Result<String> {
        let skip = self.skip_special_tokens;
        let prefix = self
            .tokenizer
            .decode(&self.ids[self.prefix_start..self.read_index], skip)?;
        let full = self
            .tokenizer
            .decode(&self.ids[self.prefix_start..], skip)?;
        Ok(full.strip_prefix(prefix.as_str()).unwrap_or("").to_owned())
    }
}

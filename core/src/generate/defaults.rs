//! The generation defaults: the one table every face (CLI, HTTP API, JS API, chat page)
//! applies to what a request leaves out, so an empty request samples alike everywhere.
//!
//! The sampling values suit small models (OpenAI's temperature 1 without top-k or min-p
//! makes them ramble).

/// What a request that says nothing gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationDefaults {
    /// Softmax temperature.
    pub temperature: f32,
    /// Keep the K most likely tokens.
    pub top_k: usize,
    /// Nucleus sampling mass.
    pub top_p: f32,
    /// Drop tokens less likely than this times the most likely one.
    pub min_p: f32,
    /// Repetition penalty (1 = off).
    pub repetition_penalty: f32,
    /// Reply budget of a chat turn.
    pub chat_max_tokens: usize,
    /// Budget of a text continuation.
    pub text_max_tokens: usize,
}

/// The defaults.
pub const DEFAULTS: GenerationDefaults = GenerationDefaults {
    temperature: 0.7,
    top_k: 40,
    top_p: 0.95,
    min_p: 0.05,
    repetition_penalty: 1.0,
    chat_max_tokens: 512,
    text_max_tokens: 256,
};

/// Whether a request continues a chat or plain text (they differ only in the budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A chat turn rendered with the template.
    Chat,
    /// Plain text to continue.
    Text,
}

impl GenerationDefaults {
    /// The default budget for `kind`.
    pub fn max_tokens(&self, kind: RequestKind) -> usize {
        match kind {
            RequestKind::Chat => self.chat_max_tokens,
            RequestKind::Text => self.text_max_tokens,
        }
    }

    /// The default sampling parameters with `seed`.
    pub fn sampling(&self, seed: u64) -> crate::sampling::SamplingParams {
        crate::sampling::SamplingParams {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repetition_penalty: self.repetition_penalty,
            seed,
        }
    }
}

/// A seed for requests that name none: different each call, so unseeded requests differ.
pub fn fresh_seed() -> u64 {
    web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15)
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
}

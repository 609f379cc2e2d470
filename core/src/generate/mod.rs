//! The generation loop: prefill the prompt, then decode token by token until a stop
//! condition, streaming text that is safe to show (never half a character, never the start
//! of a stop string that may yet complete).

mod defaults;

pub use defaults::{fresh_seed, GenerationDefaults, RequestKind, DEFAULTS};

use crate::decoder::Decoder;
use crate::error::{Error, Result};
use crate::sampling::{Sampler, SamplingParams};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use web_time::Instant;

/// Turns generated ids into text; implemented by the engine over the tokenizer.
pub trait Detokenizer {
    /// The text of `ids` (special tokens left out).
    fn decode(&self, ids: &[u32]) -> Result<String>;
}

/// What to generate and when to stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateOptions {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// How to choose each token.
    pub sampling: SamplingParams,
    /// Stop when the text contains one of these (the stop string is not part of the output).
    pub stop_strings: Vec<String>,
    /// Stop after one of these tokens (EOS, end of turn).
    pub stop_token_ids: Vec<u32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            sampling: SamplingParams::default(),
            stop_strings: Vec::new(),
            stop_token_ids: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A stop token (EOS / end of turn) was generated.
    Stop,
    /// A stop string appeared in the text.
    StopString,
    /// `max_tokens` were generated.
    Length,
    /// The callback asked to stop.
    Cancelled,
}

impl FinishReason {
    /// The reason as OpenAI's APIs spell it (`stop`, `length`) or ours (`cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop | FinishReason::StopString => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// One generated token as it streams out.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEvent {
    /// The token id.
    pub token: u32,
    /// Index of this token among the generated ones.
    pub index: usize,
    /// Text that became safe to show with this token (may be empty).
    pub text: String,
}

/// How long each phase took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values were already in the cache (not run again).
    #[serde(default)]
    pub cached_prompt_tokens: usize,
    /// Seconds to run the prompt and produce the first token's logits.
    pub prefill_seconds: f64,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Seconds spent in the decode steps after the first token.
    pub decode_seconds: f64,
}

impl Timings {
    /// Prompt tokens run per second (cached ones are not counted).
    pub fn prefill_tokens_per_second(&self) -> f64 {
        rate(
            self.prompt_tokens - self.cached_prompt_tokens.min(self.prompt_tokens),
            self.prefill_seconds,
        )
    }

    /// Generated tokens per second, over the decode steps (the first token came from prefill).
    pub fn decode_tokens_per_second(&self) -> f64 {
        rate(self.generated_tokens.saturating_sub(1), self.decode_seconds)
    }

    /// Seconds until the first token was known.
    pub fn time_to_first_token(&self) -> f64 {
        self.prefill_seconds
    }
}

fn rate(tokens: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        tokens as f64 / seconds
    } else {
        0.0
    }
}

/// The result of one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOutput {
    /// Generated ids, including a final stop token when one ended generation.
    pub tokens: Vec<u32>,
    /// Generated text, without special tokens and without a matched stop string.
    pub text: String,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Phase timings.
    pub timings: Timings,
}

/// Generates from `prompt_ids` with a fresh cache of `decoder`'s, calling `on_token` for
/// every token: [`crate::engine::Session::generate`] without reuse.
pub fn generate<D: Decoder>(
    decoder: &D,
    capacity: usize,
    detok: &dyn Detokenizer,
    prompt_ids: &[u32],
    options: &GenerateOptions,
    on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
) -> Result<GenerateOutput> {
    let mut session = crate::engine::Session::new(decoder, capacity)?;
    session.generate(decoder, detok, prompt_ids, options, false, on_token)
}

/// One generation as a state machine, for callers that run the model themselves (the
/// browser's asynchronous GPU path): feed it each forward pass's logits (or a token sampled
/// elsewhere), get back the token's event and the next token to run.
pub struct Generation {
    sampler: Sampler,
    max_tokens: usize,
    stop_token_ids: Vec<u32>,
    history: Vec<u32>,
    tokens: Vec<u32>,
    stream: TextStream,
    timings: Timings,
    started: Instant,
    decode_started: Option<Instant>,
    finish_reason: Option<FinishReason>,
}

impl Generation {
    /// Checks the prompt and options against a cache holding `cache_len` of `capacity`
    /// positions; the caller then runs `prompt_ids` and calls [`Generation::prefill_done`].
    pub fn new(
        prompt_ids: &[u32],
        options: &GenerateOptions,
        cache_len: usize,
        capacity: usize,
    ) -> Result<Self> {
        if prompt_ids.is_empty() {
            return Err(Error::Generation("the prompt is empty".into()));
        }
        let room = capacity.saturating_sub(cache_len);
        if prompt_ids.len() > room {
            return Err(Error::Generation(format!(
                "the prompt has {} tokens but the context has room for {room}",
                prompt_ids.len()
            )));
        }
        Ok(Self {
            sampler: Sampler::new(options.sampling.clone())?,
            max_tokens: options.max_tokens.min(room - prompt_ids.len() + 1),
            stop_token_ids: options.stop_token_ids.clone(),
            history: prompt_ids.to_vec(),
            tokens: Vec::new(),
            stream: TextStream::new(options.stop_strings.clone()),
            timings: Timings {
                prompt_tokens: prompt_ids.len(),
                ..Timings::default()
            },
            started: Instant::now(),
            decode_started: None,
            finish_reason: if options.max_tokens == 0 {
                Some(FinishReason::Length)
            } else {
                None
            },
        })
    }

    /// Records that the first `cached` prompt tokens came from the cache (for the timings).
    pub fn set_cached_prompt_tokens(&mut self, cached: usize) {
        self.timings.cached_prompt_tokens = cached;
    }

    /// Marks the end of the prompt's forward pass (for the timings).
    pub fn prefill_done(&mut self) {
        self.timings.prefill_seconds = self.started.elapsed().as_secs_f64();
        self.decode_started = Some(Instant::now());
    }

    /// Whether the next token is the logits' argmax whatever the history, so a caller may
    /// pick it on the device and pass it to [`Generation::accept`] without reading logits back.
    pub fn is_plain_greedy(&self) -> bool {
        let p = self.sampler.params();
        p.temperature == 0.0 && p.repetition_penalty == 1.0
    }

    /// Samples the next token from `logits` and records it.
    pub fn step(&mut self, logits: &mut [f32], detok: &dyn Detokenizer) -> Result<TokenEvent> {
        let token = self.sampler.sample(logits, &self.history);
        self.accept(token, detok)
    }

    /// Records `token` (chosen by the caller) and returns its event.
    pub fn accept(&mut self, token: u32, detok: &dyn Detokenizer) -> Result<TokenEvent> {
        if self.finish_reason.is_some() {
            return Err(Error::Generation("the generation has finished".into()));
        }
        self.tokens.push(token);
        self.history.push(token);
        let index = self.tokens.len() - 1;
        if self.stop_token_ids.contains(&token) {
            self.finish_reason = Some(FinishReason::Stop);
            let text = self.stream.finish();
            return Ok(TokenEvent { token, index, text });
        }
        let (mut text, hit_stop) = self.stream.update(detok.decode(&self.tokens)?);
        let out_of_budget = self.tokens.len() >= self.max_tokens;
        if out_of_budget && !hit_stop {
            // Nothing more is coming: release what was held back for a possible stop string.
            text.push_str(&self.stream.finish());
        }
        if hit_stop {
            self.finish_reason = Some(FinishReason::StopString);
        } else if out_of_budget {
            self.finish_reason = Some(FinishReason::Length);
        }
        Ok(TokenEvent { token, index, text })
    }

    /// The token the model must run next, or `None` once finished.
    pub fn next_input(&self) -> Option<u32> {
        match self.finish_reason {
            Some(_) => None,
            None => self.tokens.last().copied(),
        }
    }

    /// Ends the generation early (a stop button); the text so far is kept.
    pub fn cancel(&mut self) {
        if self.finish_reason.is_none() {
            self.finish_reason = Some(FinishReason::Cancelled);
        }
    }

    /// Whether a stop condition was met.
    pub fn is_finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// Tokens generated so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// The result: ids, final text, reason and timings.
    pub fn finish(mut self, detok: &dyn Detokenizer) -> Result<GenerateOutput> {
        let finish_reason = self.finish_reason.unwrap_or(FinishReason::Cancelled);
        self.timings.generated_tokens = self.tokens.len();
        self.timings.decode_seconds = self
            .decode_started
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        let text = match finish_reason {
            FinishReason::StopString => std::mem::take(&mut self.stream.visible),
            // The stop token ends the ids but, like a stop string, is not part of the text.
            FinishReason::Stop => detok.decode(&self.tokens[..self.tokens.len() - 1])?,
            _ => detok.decode(&self.tokens)?,
        };
        Ok(GenerateOutput {
            tokens: self.tokens,
            text,
            finish_reason,
            timings: self.timings,
        })
    }
}

/// Decides how much of the decoded text may be shown yet.
struct TextStream {
    stop_strings: Vec<String>,
    /// The whole decoded text as of the last update.
    full: String,
    /// The part already handed out (a prefix of `full`).
    visible: String,
}

impl TextStream {
    fn new(stop_strings: Vec<String>) -> Self {
        Self {
            stop_strings,
            full: String::new(),
            visible: String::new(),
        }
    }

    /// Takes the new full decoding; returns the newly showable text and whether a stop
    /// string was found (the text then ends just before it).
    fn update(&mut self, full: String) -> (String, bool) {
        self.full = full;
        let stop_at = self
            .stop_strings
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| self.full.find(s.as_str()))
            .min();
        if let Some(at) = stop_at {
            return (self.release(at), true);
        }
        // Hold back a partial character and any tail that could begin a stop string.
        let mut safe = self.full.trim_end_matches('\u{FFFD}').len();
        for stop in &self.stop_strings {
            for (at, _) in self.full[..safe]
                .char_indices()
                .rev()
                .take(stop.chars().count())
            {
                if stop.starts_with(&self.full[at..safe]) {
                    safe = at;
                }
            }
        }
        (self.release(safe), false)
    }

    /// Everything not yet shown (used when generation ends without a stop string).
    fn finish(&mut self) -> String {
        let end = self.full.len();
        self.release(end)
    }

    fn release(&mut self, end: usize) -> String {
        let end = end.max(self.visible.len());
        if !self.full.starts_with(&self.visible) || !self.full.is_char_boundary(end) {
            return String::new();
        }
        let new = self.full[self.visible.len()..end].to_owned();
        self.visible.push_str(&new);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::TextStream;

    #[test]
    fn holds_back_a_possible_stop_string_then_releases_it() {
        let stops = vec!["END".to_owned()];
        let mut s = TextStream::new(stops);
        assert_eq!(s.update("Hello E".into()), ("Hello ".into(), false));
        assert_eq!(s.update("Hello EN".into()), ("".into(), false));
        assert_eq!(s.update("Hello ENOUGH".into()), ("ENOUGH".into(), false));
    }

    #[test]
    fn stops_before_a_stop_string_spanning_updates() {
        let stops = vec!["\n\nUser:".to_owned()];
        let mut s = TextStream::new(stops);
        assert_eq!(s.update("Fine.\n".into()), ("Fine.".into(), false));
        assert_eq!(s.update("Fine.\n\nUs".into()), ("".into(), false));
        assert_eq!(s.update("Fine.\n\nUser: hi".into()), ("".into(), true));
        assert_eq!(s.visible, "Fine.");
    }

    #[test]
    fn never_releases_half_a_character() {
        let mut s = TextStream::new(Vec::new());
        assert_eq!(s.update("caf\u{FFFD}".into()), ("caf".into(), false));
        assert_eq!(s.update("café".into()), ("é".into(), false));
    }
}

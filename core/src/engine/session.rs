//! A session: one decoder cache, the tokens it holds, and the generation running on it.
//!
//! Every front end generates through this: the CLI and the server through
//! [`Session::generate`] (a loop over the same steps), the browser one step per call (it
//! awaits the GPU between steps). A new prompt keeps the longest prefix the cache already
//! holds, so a chat's next turn runs only its new tokens.
//!
//! A step is split in two ([`Session::take_step`], [`Session::put_step`]) so that nothing
//! of the session is borrowed while the decoder runs: the browser may cancel meanwhile.

use crate::decoder::{Decoder, DecoderCache, Forward, Want};
use crate::error::{Error, Result};
use crate::generate::{Detokenizer, GenerateOptions, GenerateOutput, Generation, TokenEvent};
use std::ops::ControlFlow;

/// A cache and the generation running on it.
pub struct Session<D: Decoder> {
    /// `None` only while a step holds it.
    cache: Option<D::Cache>,
    /// The tokens whose keys and values the cache holds, in order.
    cached_tokens: Vec<u32>,
    running: Option<Running>,
}

struct Running {
    generation: Generation,
    /// The prompt tokens still to run (the first step runs them all).
    pending_prompt: Option<Vec<u32>>,
}

/// One step's work, taken out of the session while the decoder runs.
pub struct StepInput<C> {
    /// The tokens to run.
    pub tokens: Vec<u32>,
    /// The session's cache.
    pub cache: C,
    /// What the step needs back.
    pub want: Want,
}

impl<D: Decoder> Session<D> {
    /// An empty session with a cache of `capacity` positions.
    pub fn new(decoder: &D, capacity: usize) -> Result<Self> {
        Ok(Self {
            cache: Some(decoder.new_cache(capacity)?),
            cached_tokens: Vec::new(),
            running: None,
        })
    }

    /// Positions the cache holds at most.
    pub fn capacity(&self) -> Result<usize> {
        Ok(self.cache()?.capacity())
    }

    /// The tokens whose keys and values the cache holds.
    pub fn cached_tokens(&self) -> &[u32] {
        &self.cached_tokens
    }

    /// How many leading tokens of `prompt` the cache could keep (never the whole prompt:
    /// the last token must run for its logits).
    pub fn reusable_prefix(&self, prompt: &[u32]) -> usize {
        let common = self
            .cached_tokens
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        common.min(prompt.len().saturating_sub(1))
    }

    fn cache(&self) -> Result<&D::Cache> {
        self.cache
            .as_ref()
            .ok_or_else(|| Error::Generation("a step is still running".into()))
    }

    /// Starts generating from `prompt`; with `reuse`, the cached prefix it shares is kept.
    /// Returns how many prompt tokens came from the cache.
    pub fn start(
        &mut self,
        prompt: &[u32],
        options: &GenerateOptions,
        reuse: bool,
    ) -> Result<usize> {
        let keep = if reuse {
            self.reusable_prefix(prompt)
        } else {
            0
        };
        let cache = self
            .cache
            .as_mut()
            .ok_or_else(|| Error::Generation("a step is still running".into()))?;
        let mut generation = Generation::new(prompt, options, 0, cache.capacity())?;
        generation.set_cached_prompt_tokens(keep);
        cache.truncate(keep);
        self.cached_tokens.truncate(keep);
        self.running = Some(Running {
            generation,
            pending_prompt: Some(prompt[keep..].to_vec()),
        });
        Ok(keep)
    }

    /// Whether a generation is running (started and not yet finished and collected).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Whether the running generation has met a stop condition.
    pub fn is_finished(&self) -> bool {
        self.running
            .as_ref()
            .is_none_or(|r| r.generation.is_finished())
    }

    /// Ends the running generation after the current step (a stop button).
    pub fn cancel(&mut self) {
        if let Some(r) = self.running.as_mut() {
            r.generation.cancel();
        }
    }

    /// Forgets the cached tokens (a new conversation).
    pub fn reset(&mut self) {
        self.cached_tokens.clear();
        if let Some(cache) = self.cache.as_mut() {
            cache.clear();
        }
    }

    /// Takes the next step's input out of the session; `None` when the generation is done
    /// (collect it with [`Session::finish`]).
    pub fn take_step(&mut self) -> Result<Option<StepInput<D::Cache>>> {
        let running = self
            .running
            .as_mut()
            .ok_or_else(|| Error::Generation("no generation is running: call start()".into()))?;
        if running.generation.is_finished() {
            return Ok(None);
        }
        let tokens = match running.pending_prompt.take() {
            Some(prompt) => prompt,
            None => vec![running
                .generation
                .next_input()
                .ok_or_else(|| Error::Generation("the generation has no next token".into()))?],
        };
        let want = if running.generation.is_plain_greedy() {
            Want::Argmax
        } else {
            Want::LastLogits
        };
        let cache = self
            .cache
            .take()
            .ok_or_else(|| Error::Generation("a step is already running".into()))?;
        Ok(Some(StepInput {
            tokens,
            cache,
            want,
        }))
    }

    /// Puts a step's cache back with the decoder's result and returns the token's event.
    /// A failed step ends the generation and forgets the cache (its state is unknown).
    pub fn put_step(
        &mut self,
        tokens: &[u32],
        cache: D::Cache,
        result: Result<Forward>,
        detok: &dyn Detokenizer,
    ) -> Result<TokenEvent> {
        self.cache = Some(cache);
        let outcome = self.record(tokens, result, detok);
        if outcome.is_err() {
            self.running = None;
            self.reset();
        }
        outcome
    }

    fn record(
        &mut self,
        tokens: &[u32],
        result: Result<Forward>,
        detok: &dyn Detokenizer,
    ) -> Result<TokenEvent> {
        let forward = result?;
        self.cached_tokens.extend_from_slice(tokens);
        let running = self
            .running
            .as_mut()
            .ok_or_else(|| Error::Generation("the generation vanished during a step".into()))?;
        let generation = &mut running.generation;
        if generation.tokens().is_empty() {
            generation.prefill_done();
        }
        match forward {
            Forward::Token(t) => generation.accept(t, detok),
            Forward::Logits(mut logits) => generation.step(&mut logits, detok),
            Forward::Hidden(_) => Err(Error::Generation(
                "the decoder returned hidden states where logits were asked for".into(),
            )),
        }
    }

    /// Runs one step on `decoder` and returns its token, or `None` once finished.
    pub async fn step(
        &mut self,
        decoder: &D,
        detok: &dyn Detokenizer,
    ) -> Result<Option<TokenEvent>> {
        let Some(StepInput {
            tokens,
            mut cache,
            want,
        }) = self.take_step()?
        else {
            return Ok(None);
        };
        let result = decoder.forward(&tokens, &mut cache, want).await;
        self.put_step(&tokens, cache, result, detok).map(Some)
    }

    /// Collects the finished (or cancelled) generation.
    pub fn finish(&mut self, detok: &dyn Detokenizer) -> Result<GenerateOutput> {
        let running = self
            .running
            .take()
            .ok_or_else(|| Error::Generation("no generation is running".into()))?;
        running.generation.finish(detok)
    }

    /// The whole generation on this thread: start, step until a stop condition (or until
    /// `on_token` breaks), finish.
    pub fn generate(
        &mut self,
        decoder: &D,
        detok: &dyn Detokenizer,
        prompt: &[u32],
        options: &GenerateOptions,
        reuse: bool,
        mut on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<GenerateOutput> {
        self.start(prompt, options, reuse)?;
        while let Some(event) = crate::decoder::block_on(self.step(decoder, detok))? {
            if on_token(&event).is_break() {
                self.cancel();
            }
        }
        self.finish(detok)
    }
}

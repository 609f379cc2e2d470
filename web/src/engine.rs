//! A loaded model in the browser: tokenizer, chat template, and generation one step per
//! call, so the worker can stream every token and honour a stop request between tokens.

use crate::errors::{to_js, WebError};
use crate::options::GenerationRequest;
use crate::runner::{Cache, Forward, Runner};
use lmfast_core::chat_template::{ChatMessage, ChatTemplate};
use lmfast_core::engine::TokenizerText;
use lmfast_core::format::export::Manifest;
use lmfast_core::generate::{GenerateOutput, Generation};
use lmfast_core::tokenizer::Tokenizer;
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// What [`crate::ModelLoader`] hands over.
pub(crate) struct Parts {
    pub manifest: Manifest,
    pub tokenizer: Tokenizer,
    pub chat_template: Option<ChatTemplate>,
    pub runner: Runner,
    pub context_length: usize,
    pub adapter: Option<serde_json::Value>,
    pub lost: Option<std::sync::Arc<std::sync::Mutex<Option<String>>>>,
    pub fallback_reason: Option<String>,
}

struct State {
    parts: Parts,
    /// `None` only while a forward pass has it.
    cache: Option<Cache>,
    /// The tokens whose keys and values are in the cache, in order: a new prompt that
    /// starts with them (the next turn of a chat) runs only its new tokens.
    cached_tokens: Vec<u32>,
    generation: Option<Running>,
}

struct Running {
    generation: Generation,
    /// Prompt tokens still to run (the suffix not already cached), until the first step.
    pending_prompt: Option<Vec<u32>>,
    cached_prompt_tokens: usize,
}

/// A loaded model, ready to generate.
#[wasm_bindgen]
pub struct WebEngine {
    state: Rc<RefCell<State>>,
}

impl WebEngine {
    pub(crate) fn new(parts: Parts) -> Result<Self, WebError> {
        let cache = parts.runner.new_cache(parts.context_length)?;
        Ok(Self {
            state: Rc::new(RefCell::new(State {
                parts,
                cache: Some(cache),
                cached_tokens: Vec::new(),
                generation: None,
            })),
        })
    }
}

#[wasm_bindgen]
impl WebEngine {
    /// JSON: backend, adapter facts (WebGPU), why the CPU was used, model config and
    /// export facts, context length, wasm memory.
    pub fn info(&self) -> String {
        let s = self.state.borrow();
        let p = &s.parts;
        let m = &p.manifest;
        json!({
            "backend": p.runner.backend(),
            "adapter": p.adapter,
            "fallback_reason": p.fallback_reason,
            "model": {
                "name": m.name,
                "quant": m.quant,
                "embedding_quant": m.embedding_quant,
                "bytes": m.shards.iter().map(|s| s.bytes).sum::<u64>(),
                "shards": m.shards.len(),
                "config": m.config,
            },
            "context_length": p.context_length,
            "kernels": lmfast_core::quant::kernels::kernel_isa(),
            "threads": lmfast_core::parallel::threads(),
            "wasm_memory_bytes": crate::wasm_memory_bytes(),
        })
        .to_string()
    }

    /// Token ids of `text`; `add_special` adds BOS when the tokenizer asks for it.
    pub fn tokenize(&self, text: &str, add_special: bool) -> Result<Vec<u32>, JsError> {
        let s = self.state.borrow();
        s.parts
            .tokenizer
            .encode(text, add_special)
            .map_err(|e| to_js(e.into()))
    }

    /// The text of `ids` (special tokens dropped when `skip_special`).
    pub fn detokenize(&self, ids: Vec<u32>, skip_special: bool) -> Result<String, JsError> {
        let s = self.state.borrow();
        s.parts
            .tokenizer
            .decode(&ids, skip_special)
            .map_err(|e| to_js(e.into()))
    }

    /// Renders `[{role, content}, ...]` (JSON) with the model's chat template, ending with
    /// the assistant's turn opened.
    #[wasm_bindgen(js_name = renderChat)]
    pub fn render_chat(&self, messages_json: &str) -> Result<String, JsError> {
        self.render(messages_json).map_err(to_js)
    }

    /// Token ids of a conversation (the template writes any BOS itself).
    #[wasm_bindgen(js_name = encodeChat)]
    pub fn encode_chat(&self, messages_json: &str) -> Result<Vec<u32>, JsError> {
        let text = self.render(messages_json).map_err(to_js)?;
        self.tokenize(&text, false)
    }

    /// Starts a generation from `prompt_ids` with `options_json` (see
    /// [`GenerationRequest`]); `reuse_cache` keeps the cached prefix it shares with the
    /// previous prompt. Tokens then come from [`WebEngine::step`].
    pub fn start(
        &self,
        prompt_ids: Vec<u32>,
        options_json: &str,
        reuse_cache: bool,
    ) -> Result<(), JsError> {
        self.begin(prompt_ids, options_json, reuse_cache)
            .map_err(to_js)
    }

    /// Runs one forward pass and returns the next token's event as JSON:
    /// `{ token, index, text, done }`, plus `result` (text, tokens, finish_reason, timings)
    /// once done. The first call runs the prompt.
    pub fn step(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            match step(&state).await {
                Ok(event) => Ok(JsValue::from_str(&event.to_string())),
                Err(e) => {
                    // A failed step ends the generation; the cache state is unknown.
                    let mut s = state.borrow_mut();
                    s.generation = None;
                    s.cached_tokens.clear();
                    Err(to_js(e).into())
                }
            }
        })
    }

    /// Asks the running generation to stop; the next [`WebEngine::step`] returns its result
    /// with `finish_reason: "cancelled"` without running the model.
    pub fn cancel(&self) {
        if let Some(r) = self.state.borrow_mut().generation.as_mut() {
            r.generation.cancel();
        }
    }

    /// Forgets the cached conversation (the next prompt runs from scratch).
    pub fn reset(&self) {
        let mut s = self.state.borrow_mut();
        s.cached_tokens.clear();
        if let Some(c) = s.cache.as_mut() {
            c.clear();
        }
    }
}

impl WebEngine {
    fn render(&self, messages_json: &str) -> Result<String, WebError> {
        let messages: Vec<ChatMessage> = serde_json::from_str(messages_json)
            .map_err(|e| WebError::Input(format!("messages: {e}")))?;
        let s = self.state.borrow();
        let template = s.parts.chat_template.as_ref().ok_or_else(|| {
            WebError::Input("this model has no chat template; use generate() with a prompt".into())
        })?;
        Ok(template.render(&messages, true)?)
    }

    fn begin(&self, prompt: Vec<u32>, options_json: &str, reuse: bool) -> Result<(), WebError> {
        let mut guard = self.state.borrow_mut();
        let s = &mut *guard;
        let request = GenerationRequest::from_json(options_json).map_err(WebError::Input)?;
        let options = request
            .to_options(s.parts.tokenizer.eos_ids())
            .map_err(WebError::Input)?;
        let cache = s
            .cache
            .as_mut()
            .ok_or_else(|| WebError::Input("a step is still running".into()))?;
        let vocab = s.parts.manifest.config.vocab_size;
        if let Some(bad) = prompt.iter().find(|&&t| t as usize >= vocab) {
            return Err(WebError::Input(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        let generation = Generation::new(&prompt, &options, 0, cache.capacity())?;
        // Keep the longest cached prefix, but always run at least the last prompt token:
        // its logits give the first new token.
        let mut keep = if reuse {
            s.cached_tokens
                .iter()
                .zip(&prompt)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            0
        };
        keep = keep.min(prompt.len() - 1);
        cache.truncate(keep);
        s.cached_tokens.truncate(keep);
        s.generation = Some(Running {
            generation,
            pending_prompt: Some(prompt[keep..].to_vec()),
            cached_prompt_tokens: keep,
        });
        Ok(())
    }
}

/// One step of the running generation (see [`WebEngine::step`]).
async fn step(state: &Rc<RefCell<State>>) -> Result<serde_json::Value, WebError> {
    let (runner, mut cache, input, greedy) = {
        let mut guard = state.borrow_mut();
        let s = &mut *guard;
        if let Some(reason) = s
            .parts
            .lost
            .as_ref()
            .and_then(|l| l.lock().ok().and_then(|g| g.clone()))
        {
            return Err(WebError::DeviceLost(reason));
        }
        let running = s
            .generation
            .as_mut()
            .ok_or_else(|| WebError::Input("no generation is running: call start()".into()))?;
        if running.generation.is_finished() {
            return finish(s, Vec::new(), String::new(), None);
        }
        let input = match running.pending_prompt.take() {
            Some(prompt) => prompt,
            None => vec![running
                .generation
                .next_input()
                .ok_or_else(|| WebError::Input("the generation has no next token".into()))?],
        };
        let cache = s
            .cache
            .take()
            .ok_or_else(|| WebError::Input("a step is already running".into()))?;
        let greedy = running.generation.is_plain_greedy();
        (s.parts.runner.clone(), cache, input, greedy)
    };
    let forward = runner.forward(&input, &mut cache, greedy).await;
    let mut guard = state.borrow_mut();
    let s = &mut *guard;
    s.cache = Some(cache);
    let forward = forward?;
    s.cached_tokens.extend_from_slice(&input);
    let running = s
        .generation
        .as_mut()
        .ok_or_else(|| WebError::Input("the generation vanished during a step".into()))?;
    if running.generation.tokens().is_empty() {
        running.generation.prefill_done();
    }
    let detok = TokenizerText(&s.parts.tokenizer);
    let event = match forward {
        Forward::Token(t) => running.generation.accept(t, &detok)?,
        Forward::Logits(mut logits) => running.generation.step(&mut logits, &detok)?,
    };
    if running.generation.is_finished() {
        return finish(s, vec![event.token], event.text, Some(event.index));
    }
    Ok(json!({ "token": event.token, "index": event.index, "text": event.text, "done": false }))
}

/// Ends the running generation and returns the final event with its result.
fn finish(
    s: &mut State,
    token: Vec<u32>,
    text: String,
    index: Option<usize>,
) -> Result<serde_json::Value, WebError> {
    let running = s
        .generation
        .take()
        .ok_or_else(|| WebError::Input("no generation is running".into()))?;
    let cached = running.cached_prompt_tokens;
    let out: GenerateOutput = running
        .generation
        .finish(&TokenizerText(&s.parts.tokenizer))?;
    let t = &out.timings;
    let run_prompt = t.prompt_tokens - cached;
    Ok(json!({
        "token": token.first(),
        "index": index,
        "text": text,
        "done": true,
        "result": {
            "text": out.text,
            "tokens": out.tokens,
            "finish_reason": out.finish_reason.as_str(),
            "timings": {
                "prompt_tokens": t.prompt_tokens,
                "cached_prompt_tokens": cached,
                "generated_tokens": t.generated_tokens,
                "prefill_seconds": t.prefill_seconds,
                "decode_seconds": t.decode_seconds,
                "time_to_first_token": t.time_to_first_token(),
                "prefill_tokens_per_second": if t.prefill_seconds > 0.0 { run_prompt as f64 / t.prefill_seconds } else { 0.0 },
                "decode_tokens_per_second": t.decode_tokens_per_second(),
            }
        }
    }))
}

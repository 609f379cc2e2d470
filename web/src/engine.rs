//! A loaded model in the browser: tokenizer, chat template, and generation one step per
//! call, so the worker can stream every token and honour a stop request between tokens.

use crate::errors::{to_js, WebError};
use crate::options::GenerationRequest;
use lmfast_core::chat_template::ChatMessage;
use lmfast_core::decoder::Decoder;
use lmfast_core::engine::{Engine, Runner, Session, StepInput, TokenizerText};
use lmfast_core::format::export::Manifest;
use lmfast_core::generate::{GenerateOutput, RequestKind, TokenEvent};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Everything the loader hands over.
pub(crate) struct Parts {
    pub manifest: Manifest,
    /// The core engine: decoder, tokenizer, chat template, context length.
    pub engine: Engine,
    pub adapter: Option<serde_json::Value>,
    pub lost: Option<std::sync::Arc<std::sync::Mutex<Option<String>>>>,
    pub fallback_reason: Option<String>,
}

struct State {
    parts: Parts,
    /// The one conversation's cache; its cached prefix is reused by the next turn.
    session: Session<Runner>,
}

#[wasm_bindgen]
pub struct WebEngine {
    state: Rc<RefCell<State>>,
}

impl WebEngine {
    pub(crate) fn new(parts: Parts) -> Result<Self, WebError> {
        let session = parts.engine.new_session()?;
        Ok(Self {
            state: Rc::new(RefCell::new(State { parts, session })),
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
            "backend": p.engine.runner().backend(),
            "adapter": p.adapter,
            "fallback_reason": p.fallback_reason,
            "model": {
                "name": m.name,
                "quant": m.quant,
                "embedding_quant": m.embedding_quant,
                "bytes": m.shards.iter().map(|s| s.bytes).sum::<u64>(),
                "shards": m.shards.len(),
                "config": m.config,
                "chat": p.engine.chat_template().is_some(),
            },
            "context_length": p.engine.context_length(),
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
            .engine
            .tokenizer()
            .encode(text, add_special)
            .map_err(|e| to_js(e.into()))
    }

    /// The text of `ids` (special tokens dropped when `skip_special`).
    pub fn detokenize(&self, ids: Vec<u32>, skip_special: bool) -> Result<String, JsError> {
        let s = self.state.borrow();
        s.parts
            .engine
            .tokenizer()
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
        chat: bool,
    ) -> Result<(), JsError> {
        self.begin(prompt_ids, options_json, reuse_cache, chat)
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
                Err(e) => Err(to_js(e).into()),
            }
        })
    }

    /// Asks the running generation to stop; the next [`WebEngine::step`] returns its result
    /// with `finish_reason: "cancelled"` without running the model.
    pub fn cancel(&self) {
        self.state.borrow_mut().session.cancel();
    }

    /// Forgets the cached conversation (the next prompt runs from scratch).
    pub fn reset(&self) {
        self.state.borrow_mut().session.reset();
    }
}

impl WebEngine {
    fn render(&self, messages_json: &str) -> Result<String, WebError> {
        let messages: Vec<ChatMessage> = serde_json::from_str(messages_json)
            .map_err(|e| WebError::Input(format!("messages: {e}")))?;
        let s = self.state.borrow();
        let template = s.parts.engine.chat_template().ok_or_else(|| {
            WebError::Input("this model has no chat template; use generate() with a prompt".into())
        })?;
        Ok(template.render(&messages, true)?)
    }

    fn begin(
        &self,
        prompt: Vec<u32>,
        options_json: &str,
        reuse: bool,
        chat: bool,
    ) -> Result<(), WebError> {
        let mut guard = self.state.borrow_mut();
        let s = &mut *guard;
        let request = GenerationRequest::from_json(options_json).map_err(WebError::Input)?;
        let kind = if chat {
            RequestKind::Chat
        } else {
            RequestKind::Text
        };
        let options = request
            .to_options(s.parts.engine.tokenizer().eos_ids(), kind)
            .map_err(WebError::Input)?;
        let vocab = s.parts.engine.config().vocab_size;
        if let Some(bad) = prompt.iter().find(|&&t| t as usize >= vocab) {
            return Err(WebError::Input(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        s.session.start(&prompt, &options, reuse)?;
        Ok(())
    }
}

/// One step: the session's input is taken out, the decoder runs without any borrow of the
/// state held (so `cancel()` may come meanwhile), and the result goes back in.
async fn step(state: &Rc<RefCell<State>>) -> Result<serde_json::Value, WebError> {
    let (runner, input) = {
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
        match s.session.take_step()? {
            Some(input) => (s.parts.engine.runner().clone(), input),
            None => return finish(s, None),
        }
    };
    let StepInput {
        tokens,
        mut cache,
        want,
    } = input;
    let result = runner.forward(&tokens, &mut cache, want).await;
    let mut guard = state.borrow_mut();
    let s = &mut *guard;
    let detok = TokenizerText(s.parts.engine.tokenizer());
    let event = s.session.put_step(&tokens, cache, result, &detok)?;
    if s.session.is_finished() {
        return finish(s, Some(event));
    }
    Ok(json!({ "token": event.token, "index": event.index, "text": event.text, "done": false }))
}

fn finish(s: &mut State, last: Option<TokenEvent>) -> Result<serde_json::Value, WebError> {
    let out: GenerateOutput = s
        .session
        .finish(&TokenizerText(s.parts.engine.tokenizer()))?;
    let t = &out.timings;
    let cached = t.cached_prompt_tokens;
    Ok(json!({
        "token": last.as_ref().map(|e| e.token),
        "index": last.as_ref().map(|e| e.index),
        "text": last.map(|e| e.text).unwrap_or_default(),
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
                "prefill_tokens_per_second": t.prefill_tokens_per_second(),
                "decode_tokens_per_second": t.decode_tokens_per_second(),
            }
        }
    }))
}

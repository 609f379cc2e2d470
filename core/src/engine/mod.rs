//! The engine: a model on a decoder with its tokenizer and chat template, ready to answer.
//!
//! The CLI (`lmfast generate`, `chat`), `lmfast serve` and the browser build all drive this
//! one type and its [`Session`], so prompt formatting, prefix reuse of the cache across
//! turns, stopping, streaming and statistics behave the same everywhere.

mod runner;
mod session;

pub use runner::{Runner, RunnerCache};
pub use session::{Session, StepInput};

use crate::chat_template::{ChatMessage, ChatTemplate};
use crate::checkpoint::{Checkpoint, CheckpointSource};
use crate::config::ModelConfig;
#[cfg(feature = "burn")]
use crate::decoder::burn::BurnDecoder;
use crate::decoder::cpu::CpuDecoder;
use crate::decoder::Decoder;
use crate::error::{Error, Result};
use crate::generate::{Detokenizer, GenerateOptions, GenerateOutput, TokenEvent};
use crate::tokenizer::Tokenizer;
#[cfg(feature = "burn")]
use burn::tensor::Device;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// A loaded model with everything needed to turn text into text.
pub struct Engine {
    model: Runner,
    tokenizer: Tokenizer,
    chat_template: Option<ChatTemplate>,
    source: CheckpointSource,
    context_length: usize,
    /// Idle sessions of the fused CPU decoder, whose caches grow as they fill: a request
    /// takes the one sharing the longest prefix with its prompt (a chat's earlier turns).
    sessions: Mutex<Vec<Session<Runner>>>,
}

/// Idle sessions kept per engine: one per concurrent conversation worth remembering.
const MAX_IDLE_SESSIONS: usize = 8;

impl Engine {
    /// Places `checkpoint`'s weights on `device` and keeps its tokenizer and template.
    ///
    /// `context_length` caps the KV cache (and so memory); `None` uses the model's own maximum.
    #[cfg(feature = "burn")]
    pub fn new(
        checkpoint: Checkpoint,
        device: &Device,
        context_length: Option<usize>,
    ) -> Result<Self> {
        let device = device.clone();
        Self::with_runner(checkpoint, context_length, move |config, weights| {
            Ok(Runner::Burn(Arc::new(BurnDecoder::new(
                config, weights, &device,
            )?)))
        })
    }

    /// Like [`Engine::new`], on the fused CPU path (packed weights stay packed).
    pub fn new_cpu(checkpoint: Checkpoint, context_length: Option<usize>) -> Result<Self> {
        Self::with_runner(checkpoint, context_length, |config, weights| {
            Ok(Runner::Cpu(Arc::new(CpuDecoder::new(config, weights)?)))
        })
    }

    fn with_runner(
        checkpoint: Checkpoint,
        context_length: Option<usize>,
        build: impl FnOnce(&ModelConfig, crate::weights::ModelWeights) -> Result<Runner>,
    ) -> Result<Self> {
        let Checkpoint {
            config,
            weights,
            tokenizer,
            chat_template,
            source,
        } = checkpoint;
        let context_length = context_length
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        if context_length == 0 {
            return Err(Error::config("context_length", "must be greater than zero"));
        }
        let model = build(&config, weights)?;
        Self::from_parts(model, tokenizer, chat_template, source, context_length)
    }

    /// An engine around a decoder built elsewhere (the browser streams its weights in).
    pub fn from_parts(
        model: Runner,
        tokenizer: Tokenizer,
        chat_template: Option<ChatTemplate>,
        source: CheckpointSource,
        context_length: usize,
    ) -> Result<Self> {
        let max = model.config().max_position_embeddings;
        if context_length == 0 || context_length > max {
            return Err(Error::config(
                "context_length",
                format!("{context_length} is outside 1..={max}"),
            ));
        }
        Ok(Self {
            model,
            tokenizer,
            chat_template,
            source,
            context_length,
            sessions: Mutex::new(Vec::new()),
        })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        self.model.config()
    }

    /// A new session with a cache of the engine's whole context.
    pub fn new_session(&self) -> Result<Session<Runner>> {
        Session::new(&self.model, self.context_length)
    }

    /// The model itself, for callers that drive the forward pass directly (perplexity, tests).
    pub fn runner(&self) -> &Runner {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template, when the checkpoint has one.
    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat_template.as_ref()
    }

    /// Where the model was loaded from.
    pub fn source(&self) -> &CheckpointSource {
        &self.source
    }

    /// The longest prompt plus reply this engine will hold.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Token ids for a plain-text prompt, with BOS when the tokenizer asks for it.
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(prompt, true)
    }

    /// The chat template, or the error that says this is a base model (what every chat
    /// face reports, before it asks for a first message).
    pub fn require_chat_template(&self) -> Result<&ChatTemplate> {
        self.chat_template.as_ref().ok_or_else(|| {
            Error::Template(format!(
                "{} has no chat template (no tokenizer.chat_template): it is a base model that \
                 continues text; give it a plain prompt (leave out --chat / use completions) \
                 rather than have lmfast guess a chat format",
                self.source.path
            ))
        })
    }

    /// Renders `messages` with the chat template (ending with the assistant's turn opened).
    pub fn render_chat(&self, messages: &[ChatMessage]) -> Result<String> {
        self.require_chat_template()?.render(messages, true)
    }

    /// Token ids for a conversation rendered with the chat template.
    ///
    /// The template writes any BOS itself, so none is added here (as `apply_chat_template` does).
    pub fn encode_chat(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        let text = self.render_chat(messages)?;
        self.tokenizer.encode(&text, false)
    }

    /// Generates from `prompt_ids`, streaming each token to `on_token`.
    ///
    /// The model's end-of-sequence and end-of-turn tokens always stop generation, besides any
    /// in `options.stop_token_ids`. On the fused CPU decoder the cached prefix an earlier
    /// call left (a chat's previous turns) is reused; `timings.cached_prompt_tokens` says how
    /// much.
    pub fn generate(
        &self,
        prompt_ids: &[u32],
        options: &GenerateOptions,
        on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<GenerateOutput> {
        let mut options = options.clone();
        for &id in self.tokenizer.eos_ids() {
            if !options.stop_token_ids.contains(&id) {
                options.stop_token_ids.push(id);
            }
        }
        let room = self.context_length.saturating_sub(prompt_ids.len());
        if room == 0 {
            return Err(Error::Generation(format!(
                "the prompt has {} tokens; the context holds {}",
                prompt_ids.len(),
                self.context_length
            )));
        }
        options.max_tokens = options.max_tokens.min(room);
        let detok = TokenizerText(&self.tokenizer);
        if !matches!(self.model, Runner::Cpu(_)) {
            // The other decoders allocate their cache whole: size it to this request.
            let mut session = Session::new(&self.model, prompt_ids.len() + options.max_tokens)?;
            return session.generate(&self.model, &detok, prompt_ids, &options, false, on_token);
        }
        let mut session = self.take_session(prompt_ids)?;
        let result = session.generate(&self.model, &detok, prompt_ids, &options, true, on_token);
        let mut idle = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_SESSIONS {
            idle.push(session);
        }
        result
    }

    /// The idle session sharing the longest prefix with `prompt`, or a new one.
    fn take_session(&self, prompt: &[u32]) -> Result<Session<Runner>> {
        let mut idle = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let best = idle
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.reusable_prefix(prompt))
            .map(|(i, _)| i);
        match best {
            Some(i) => Ok(idle.swap_remove(i)),
            None => {
                drop(idle);
                self.new_session()
            }
        }
    }
}

/// Lets the generation loop decode text with our tokenizer (special tokens dropped).
pub struct TokenizerText<'a>(pub &'a Tokenizer);

impl Detokenizer for TokenizerText<'_> {
    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.0.decode(ids, true)
    }
}

//! The engine: a model on a device with its tokenizer and chat template, ready to answer.
//!
//! Native front ends (`lmfast generate`, `chat`, `serve`) and the browser build all drive this
//! one type, so prompt formatting, stopping and streaming behave the same everywhere.

use crate::chat_template::{ChatMessage, ChatTemplate};
use crate::checkpoint::{Checkpoint, CheckpointSource};
use crate::config::ModelConfig;
use crate::cpu_model::CpuModel;
use crate::error::{Error, Result};
use crate::generate::{generate, Detokenizer, GenerateOptions, GenerateOutput, TokenEvent};
use crate::lm::CausalLm;
#[cfg(feature = "burn")]
use crate::model::LlamaModel;
use crate::tokenizer::Tokenizer;
#[cfg(feature = "burn")]
use burn::tensor::Device;
use std::ops::ControlFlow;

/// Which implementation runs the model.
#[derive(Debug, Clone)]
pub enum Runner {
    /// The burn decoder on a burn device (CPU flex, wgpu, …).
    #[cfg(feature = "burn")]
    Burn(Box<LlamaModel>),
    /// The fused CPU path with our packed kernels.
    Cpu(Box<CpuModel>),
}

impl Runner {
    /// A short name for logs and `lmfast info`.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "burn")]
            Runner::Burn(m) => format!("burn ({:?})", m.device()),
            Runner::Cpu(_) => format!(
                "fused CPU ({} kernels, {} threads)",
                crate::quant::kernels::kernel_isa(),
                crate::parallel::threads()
            ),
        }
    }
}

/// A loaded model with everything needed to turn text into text.
pub struct Engine {
    model: Runner,
    tokenizer: Tokenizer,
    chat_template: Option<ChatTemplate>,
    source: CheckpointSource,
    context_length: usize,
}

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
            Ok(Runner::Burn(Box::new(LlamaModel::new(
                config, weights, &device,
            )?)))
        })
    }

    /// Like [`Engine::new`], on the fused CPU path (packed weights stay packed).
    pub fn new_cpu(checkpoint: Checkpoint, context_length: Option<usize>) -> Result<Self> {
        Self::with_runner(checkpoint, context_length, |config, weights| {
            Ok(Runner::Cpu(Box::new(CpuModel::new(config, weights)?)))
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
        Ok(Self {
            model,
            tokenizer,
            chat_template,
            source,
            context_length,
        })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        match &self.model {
            #[cfg(feature = "burn")]
            Runner::Burn(m) => m.config(),
            Runner::Cpu(m) => m.config(),
        }
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

    /// Renders `messages` with the chat template (ending with the assistant's turn opened).
    pub fn render_chat(&self, messages: &[ChatMessage]) -> Result<String> {
        let template = self.chat_template.as_ref().ok_or_else(|| {
            Error::Template(format!(
                "{} has no chat template (tokenizer.chat_template)",
                self.source.path
            ))
        })?;
        template.render(messages, true)
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
    /// in `options.stop_token_ids`.
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
        let capacity = prompt_ids.len() + options.max_tokens;
        match &self.model {
            #[cfg(feature = "burn")]
            Runner::Burn(m) => self.run(m.as_ref(), capacity, prompt_ids, &options, on_token),
            Runner::Cpu(m) => self.run(m.as_ref(), capacity, prompt_ids, &options, on_token),
        }
    }

    fn run<M: CausalLm>(
        &self,
        model: &M,
        capacity: usize,
        prompt_ids: &[u32],
        options: &GenerateOptions,
        on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<GenerateOutput> {
        let mut cache = model.new_cache(capacity)?;
        let detok = TokenizerText(&self.tokenizer);
        generate(model, &mut cache, &detok, prompt_ids, options, on_token)
    }
}

/// Lets the generation loop decode text with our tokenizer (special tokens dropped).
pub struct TokenizerText<'a>(pub &'a Tokenizer);

impl Detokenizer for TokenizerText<'_> {
    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.0.decode(ids, true)
    }
}

//! The JSON shapes of OpenAI's chat and text completion APIs, and the checks that turn a
//! request into the core's [`GenerateOptions`].

use super::error::ApiError;
use lmfast_core::chat_template::ChatMessage;
use lmfast_core::generate::GenerateOptions;
use lmfast_core::sampling::SamplingParams;
use serde::{Deserialize, Serialize};

// Fields a request leaves out come from the one defaults table the CLI and the JS API use too.
use lmfast_core::generate::DEFAULTS;
/// Reply budget of a chat completion without `max_tokens` (as `lmfast chat`).
pub const DEFAULT_CHAT_MAX_TOKENS: usize = DEFAULTS.chat_max_tokens;
/// Budget of a text completion without `max_tokens` (as `lmfast generate`).
pub const DEFAULT_COMPLETION_MAX_TOKENS: usize = DEFAULTS.text_max_tokens;

/// The body of `POST /v1/chat/completions` and `POST /v1/completions` (one type: the two
/// differ only in `messages` versus `prompt`, which the handlers require).
#[derive(Debug, Deserialize)]
pub struct CompletionRequest {
    /// The model's id (its export folder's name).
    pub model: Option<String>,
    /// The conversation (chat completions).
    pub messages: Option<Vec<MessageIn>>,
    /// The text to continue (text completions).
    pub prompt: Option<PromptIn>,
    /// Most tokens to generate.
    #[serde(alias = "max_completion_tokens")]
    pub max_tokens: Option<u64>,
    /// Softmax temperature; 0 is greedy.
    pub temperature: Option<f32>,
    /// Nucleus sampling mass.
    pub top_p: Option<f32>,
    /// Keep the K most likely tokens (0 = off); not in OpenAI's API, as llama.cpp's server.
    pub top_k: Option<u64>,
    /// Drop tokens less likely than P times the most likely one.
    pub min_p: Option<f32>,
    /// Penalise tokens already seen (1 = off), as Hugging Face's `repetition_penalty`.
    #[serde(alias = "repeat_penalty")]
    pub repetition_penalty: Option<f32>,
    /// Not supported by the core: only 0 (the default) is accepted.
    pub frequency_penalty: Option<f32>,
    /// Not supported by the core: only 0 (the default) is accepted.
    pub presence_penalty: Option<f32>,
    /// Seed of the sampler; the same seed gives the same reply.
    pub seed: Option<i64>,
    /// Stop strings.
    pub stop: Option<StopIn>,
    /// Number of choices: only 1.
    pub n: Option<u64>,
    /// Stream server-sent events.
    pub stream: Option<bool>,
    /// Streaming options.
    pub stream_options: Option<StreamOptions>,
}

/// One message of a chat request.
#[derive(Debug, Deserialize)]
pub struct MessageIn {
    /// `system`, `user`, `assistant` (the template decides what else it knows).
    pub role: String,
    /// The text, as a string or as content parts (`null` for an assistant turn that only
    /// called tools).
    pub content: Option<ContentIn>,
}

/// A message's content: a string or a list of parts of which only text is understood.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ContentIn {
    /// Plain text.
    Text(String),
    /// `[{"type": "text", "text": "..."}]`.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Deserialize)]
pub struct ContentPart {
    /// `text` is the only kind this server reads.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    pub text: Option<String>,
}

/// A text completion's prompt: a string, or a list holding one string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PromptIn {
    /// One prompt.
    Text(String),
    /// A batch of prompts (only one is supported).
    Batch(Vec<String>),
}

/// `stop`: a string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StopIn {
    /// One stop string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with token counts.
    pub include_usage: Option<bool>,
}

/// Parses a request body, naming the field at fault when it is malformed.
pub fn parse_request(body: &[u8]) -> Result<CompletionRequest, ApiError> {
    // Syntax first, so "not JSON" and "wrong field" are told apart.
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_json(format!("The body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_json("The body must be a JSON object."));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // A missing field is reported at the root: take its name from the message.
        let param = if path == "." {
            inner
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_default()
        } else {
            path
        };
        ApiError::invalid_field(param.clone(), format!("Invalid field `{param}`: {inner}"))
    })
}

impl CompletionRequest {
    /// The model id, which both endpoints require.
    pub fn model_id(&self) -> Result<&str, ApiError> {
        match self.model.as_deref() {
            Some(model) if !model.is_empty() => Ok(model),
            _ => Err(ApiError::invalid_field(
                "model",
                "Missing field `model` (GET /v1/models lists them).",
            )),
        }
    }

    /// The conversation for the chat template.
    pub fn chat_messages(&self) -> Result<Vec<ChatMessage>, ApiError> {
        let messages = self
            .messages
            .as_ref()
            .ok_or_else(|| ApiError::invalid_field("messages", "Missing field `messages`."))?;
        if messages.is_empty() {
            return Err(ApiError::invalid_field(
                "messages",
                "`messages` must hold at least one message.",
            ));
        }
        messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                let content = match &message.content {
                    None => String::new(),
                    Some(ContentIn::Text(text)) => text.clone(),
                    Some(ContentIn::Parts(parts)) => {
                        let mut text = String::new();
                        for part in parts {
                            match (part.kind.as_str(), &part.text) {
                                ("text", Some(piece)) => text.push_str(piece),
                                _ => {
                                    return Err(ApiError::invalid_field(
                                        format!("messages[{i}].content"),
                                        format!(
                                        "Content parts of type `{}` are not supported; only text.",
                                        part.kind
                                    ),
                                    ))
                                }
                            }
                        }
                        text
                    }
                };
                Ok(ChatMessage::new(message.role.clone(), content))
            })
            .collect()
    }

    /// The text-completion prompt.
    pub fn prompt_text(&self) -> Result<&str, ApiError> {
        match &self.prompt {
            None => Err(ApiError::invalid_field("prompt", "Missing field `prompt`.")),
            Some(PromptIn::Text(text)) => Ok(text),
            Some(PromptIn::Batch(batch)) if batch.len() == 1 => Ok(&batch[0]),
            Some(PromptIn::Batch(_)) => Err(ApiError::invalid_field(
                "prompt",
                "Only one prompt per request is supported.",
            )),
        }
    }

    /// Whether to stream server-sent events.
    pub fn stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// Whether a streamed reply ends with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// Checks every generation field and builds the core's options.
    ///
    /// `random_seed` is used when the request names no seed, so unseeded requests differ.
    pub fn generate_options(
        &self,
        default_max_tokens: usize,
        random_seed: u64,
    ) -> Result<GenerateOptions, ApiError> {
        if let Some(n) = self.n {
            if n != 1 {
                return Err(ApiError::invalid_field("n", "Only `n: 1` is supported."));
            }
        }
        for (name, value) in [
            ("frequency_penalty", self.frequency_penalty),
            ("presence_penalty", self.presence_penalty),
        ] {
            if value.is_some_and(|v| v != 0.0) {
                return Err(ApiError::invalid_field(
                    name,
                    format!("`{name}` is not supported; use `repetition_penalty`."),
                ));
            }
        }
        let max_tokens = match self.max_tokens {
            None => default_max_tokens,
            Some(0) => {
                return Err(ApiError::invalid_field(
                    "max_tokens",
                    "`max_tokens` must be at least 1.",
                ))
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let temperature = checked(
            "temperature",
            self.temperature,
            DEFAULTS.temperature,
            |t| t >= 0.0,
            "at least 0",
        )?;
        let top_p = checked(
            "top_p",
            self.top_p,
            DEFAULTS.top_p,
            |p| p > 0.0 && p <= 1.0,
            "in (0, 1]",
        )?;
        let min_p = checked(
            "min_p",
            self.min_p,
            DEFAULTS.min_p,
            |p| (0.0..=1.0).contains(&p),
            "in [0, 1]",
        )?;
        let repetition_penalty = checked(
            "repetition_penalty",
            self.repetition_penalty,
            DEFAULTS.repetition_penalty,
            |r| r > 0.0,
            "greater than 0",
        )?;
        let top_k = self
            .top_k
            .map_or(DEFAULTS.top_k, |k| usize::try_from(k).unwrap_or(usize::MAX));
        let seed = self.seed.map_or(random_seed, |s| s as u64);
        let stop_strings = match &self.stop {
            None => Vec::new(),
            Some(StopIn::One(s)) => vec![s.clone()],
            Some(StopIn::Many(list)) => list.clone(),
        };
        if stop_strings.iter().any(String::is_empty) {
            return Err(ApiError::invalid_field(
                "stop",
                "Stop strings must not be empty.",
            ));
        }
        Ok(GenerateOptions {
            max_tokens,
            sampling: SamplingParams {
                temperature,
                top_k,
                top_p,
                min_p,
                repetition_penalty,
                seed,
            },
            stop_strings,
            stop_token_ids: Vec::new(),
        })
    }
}

/// `value` or `default`, refused unless finite and `ok`.
fn checked(
    name: &str,
    value: Option<f32>,
    default: f32,
    ok: impl Fn(f32) -> bool,
    range: &str,
) -> Result<f32, ApiError> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && ok(v) => Ok(v),
        Some(v) => Err(ApiError::invalid_field(
            name,
            format!("`{name}` must be {range}; got {v}."),
        )),
    }
}

/// Token counts of one request.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Their sum.
    pub total_tokens: usize,
}

impl Usage {
    /// Counts for a prompt and a reply.
    pub fn new(prompt_tokens: usize, completion_tokens: usize) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

/// `chat.completion` and `chat.completion.chunk` objects (the two share their frame).
#[derive(Debug, Serialize)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    pub id: String,
    /// `chat.completion` or `chat.completion.chunk`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model id.
    pub model: String,
    /// One choice (or none in the usage chunk).
    pub choices: Vec<ChatChoice>,
    /// Token counts (the whole reply, or the stream's last chunk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One choice: a whole `message`, or a streamed `delta`.
#[derive(Debug, Serialize)]
pub struct ChatChoice {
    /// Always 0.
    pub index: usize,
    /// The reply (non-streamed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<ChatMessageOut>,
    /// A piece of the reply (streamed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<ChatDelta>,
    /// Never computed.
    pub logprobs: Option<()>,
    /// `stop`, `length`, or null until the end.
    pub finish_reason: Option<&'static str>,
}

/// The assistant's reply.
#[derive(Debug, Serialize)]
pub struct ChatMessageOut {
    /// Always `assistant`.
    pub role: &'static str,
    /// The text.
    pub content: String,
}

/// A streamed piece: the role first, then content.
#[derive(Debug, Default, Serialize)]
pub struct ChatDelta {
    /// `assistant`, in the first chunk only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// New text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A `text_completion` object (whole or streamed chunk).
#[derive(Debug, Serialize)]
pub struct TextCompletion {
    /// `cmpl-…`.
    pub id: String,
    /// Always `text_completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model id.
    pub model: String,
    /// One choice (or none in the usage chunk).
    pub choices: Vec<TextChoice>,
    /// Token counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One text choice.
#[derive(Debug, Serialize)]
pub struct TextChoice {
    /// The text (the whole completion, or a streamed piece).
    pub text: String,
    /// Always 0.
    pub index: usize,
    /// Never computed.
    pub logprobs: Option<()>,
    /// `stop`, `length`, or null until the end.
    pub finish_reason: Option<&'static str>,
}

/// `GET /v1/models`.
#[derive(Debug, Serialize)]
pub struct ModelList {
    /// Always `list`.
    pub object: &'static str,
    /// Every export folder served.
    pub data: Vec<ModelObject>,
}

/// One model, with what the web page needs to load it in the browser.
#[derive(Debug, Serialize)]
pub struct ModelObject {
    /// The export folder's name.
    pub id: String,
    /// Always `model`.
    pub object: &'static str,
    /// The manifest's modification time, Unix seconds.
    pub created: u64,
    /// Always `lmfast`.
    pub owned_by: &'static str,
    /// lmfast's own facts.
    pub lmfast: ModelDetails,
}

/// `lmfast` field of a model: where the browser finds it and what it is.
#[derive(Debug, Serialize)]
pub struct ModelDetails {
    /// The folder's URL on this server (`/models/<name>/`).
    pub url: String,
    /// The model's own name from the manifest.
    pub name: Option<String>,
    /// Matrix quantization scheme (`q4g32`, …).
    pub quant: String,
    /// Embedding quantization scheme.
    pub embedding_quant: Option<String>,
    /// Total bytes of the shards (what the browser downloads).
    pub bytes: u64,
    /// Whether chat completions work (the model has a chat template).
    pub chat: bool,
    /// The model's hyper-parameters as the manifest has them.
    pub config: serde_json::Value,
}

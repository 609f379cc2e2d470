//! The OpenAI-compatible routes: `GET /v1/models`, `POST /v1/chat/completions` and
//! `POST /v1/completions`, whole or streamed as server-sent events.
//!
//! A completion request is checked completely (fields, model, prompt length) before it is
//! queued, so every client mistake is a 4xx with an OpenAI-shaped body, and a stream, once
//! its 200 is sent, only carries tokens.

use super::error::ApiError;
use super::metrics::RouteLabels;
use super::openai_types::*;
use super::queue::{Job, JobEvent, SubmitError};
use super::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lmfast_core::chat_template::ChatMessage;
use lmfast_core::generate::GenerateOutput;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// `GET /v1/models`: every export folder, with the URL the web page loads it from.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    Json(ModelList {
        object: "list",
        data: state.models.iter().map(|m| m.object()).collect(),
    })
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    complete(state, &body, Endpoint::Chat)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/completions`.
pub async fn completions(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    complete(state, &body, Endpoint::Text)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Which of the two completion APIs a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Text,
}

impl Endpoint {
    fn route(self) -> &'static str {
        match self {
            Endpoint::Chat => "/v1/chat/completions",
            Endpoint::Text => "/v1/completions",
        }
    }

    /// The request field that holds the input.
    fn input_field(self) -> &'static str {
        match self {
            Endpoint::Chat => "messages",
            Endpoint::Text => "prompt",
        }
    }
}

/// The input, checked, before tokenization.
enum Input {
    Chat(Vec<ChatMessage>),
    Text(String),
}

async fn complete(
    state: Arc<AppState>,
    body: &[u8],
    endpoint: Endpoint,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    if state.is_shutting_down() {
        return Err(ApiError::shutting_down());
    }
    let request = parse_request(body)?;
    let model_id = request.model_id()?.to_owned();
    let entry = state
        .models
        .get(&model_id)
        .ok_or_else(|| ApiError::model_not_found(&model_id))?;
    // Every field is checked before the model is touched: bad requests fail fast.
    let input = match endpoint {
        Endpoint::Chat => Input::Chat(request.chat_messages()?),
        Endpoint::Text => Input::Text(request.prompt_text()?.to_owned()),
    };
    let default_max_tokens = match endpoint {
        Endpoint::Chat => DEFAULT_CHAT_MAX_TOKENS,
        Endpoint::Text => DEFAULT_COMPLETION_MAX_TOKENS,
    };
    let options = request.generate_options(default_max_tokens, random_u64())?;

    let engine = entry.engine().await.map_err(ApiError::internal)?;
    if endpoint == Endpoint::Chat && engine.chat_template().is_none() {
        return Err(ApiError::invalid_field(
            "model",
            format!("The model `{model_id}` has no chat template; use /v1/completions."),
        ));
    }
    // Rendering and tokenizing a long conversation takes a while: off the async threads.
    let encoder = Arc::clone(&engine);
    let prompt_ids = tokio::task::spawn_blocking(move || match input {
        Input::Chat(messages) => encoder.encode_chat(&messages),
        Input::Text(text) => encoder.encode_prompt(&text),
    })
    .await
    .map_err(|e| ApiError::internal(format!("tokenizing failed: {e}")))?
    .map_err(|e| ApiError::invalid_field(endpoint.input_field(), e.to_string()))?;
    if prompt_ids.is_empty() {
        return Err(ApiError::invalid_field(
            endpoint.input_field(),
            format!("The {} is empty.", endpoint.input_field()),
        ));
    }
    if prompt_ids.len() >= engine.context_length() {
        return Err(ApiError::context_length_exceeded(
            endpoint.input_field(),
            prompt_ids.len(),
            engine.context_length(),
        ));
    }

    let (events, receiver) = unbounded_channel();
    let prompt_tokens = prompt_ids.len();
    state
        .queue
        .submit(Job {
            engine,
            prompt_ids,
            options,
            events,
        })
        .map_err(|e| match e {
            SubmitError::Full => ApiError::queue_full(state.queue.capacity()),
            SubmitError::Closed => ApiError::shutting_down(),
        })?;

    let reply = Reply {
        id: state.next_id(endpoint),
        created: unix_seconds(),
        model: model_id,
        endpoint,
        prompt_tokens,
        started,
        state: Arc::clone(&state),
    };
    if request.stream() {
        Ok(stream(reply, receiver, request.include_usage()))
    } else {
        whole(reply, receiver).await
    }
}

/// What every response object of one request shares, and its metrics.
struct Reply {
    id: String,
    created: u64,
    model: String,
    endpoint: Endpoint,
    prompt_tokens: usize,
    started: Instant,
    state: Arc<AppState>,
}

impl Reply {
    fn labels(&self) -> RouteLabels {
        RouteLabels {
            route: self.endpoint.route().to_owned(),
        }
    }

    fn first_token(&self) {
        self.state
            .metrics
            .time_to_first_token
            .get_or_create(&self.labels())
            .observe(self.started.elapsed().as_secs_f64());
    }

    fn finished(&self, output: &GenerateOutput) {
        let metrics = &self.state.metrics;
        metrics.prompt_tokens.inc_by(self.prompt_tokens as u64);
        metrics.generated_tokens.inc_by(output.tokens.len() as u64);
        metrics
            .request_duration
            .get_or_create(&self.labels())
            .observe(self.started.elapsed().as_secs_f64());
    }

    fn usage(&self, output: &GenerateOutput) -> Usage {
        Usage::new(self.prompt_tokens, output.tokens.len())
    }

    /// A chat object (`chat.completion` or `.chunk`) with these choices.
    fn chat(&self, object: &'static str, choices: Vec<ChatChoice>, usage: Option<Usage>) -> String {
        json(&ChatCompletion {
            id: self.id.clone(),
            object,
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
        })
    }

    /// A `text_completion` object with these choices.
    fn text(&self, choices: Vec<TextChoice>, usage: Option<Usage>) -> String {
        json(&TextCompletion {
            id: self.id.clone(),
            object: "text_completion",
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
        })
    }

    /// The non-streamed response body.
    fn whole_body(&self, output: &GenerateOutput) -> String {
        let finish_reason = Some(output.finish_reason.as_str());
        let usage = Some(self.usage(output));
        match self.endpoint {
            Endpoint::Chat => self.chat(
                "chat.completion",
                vec![ChatChoice {
                    index: 0,
                    message: Some(ChatMessageOut {
                        role: "assistant",
                        content: output.text.clone(),
                    }),
                    delta: None,
                    logprobs: None,
                    finish_reason,
                }],
                usage,
            ),
            Endpoint::Text => self.text(
                vec![TextChoice {
                    text: output.text.clone(),
                    index: 0,
                    logprobs: None,
                    finish_reason,
                }],
                usage,
            ),
        }
    }

    /// One streamed chunk: a delta of text, or (with `finish_reason`) the end.
    fn chunk(&self, text: Option<String>, finish_reason: Option<&'static str>) -> String {
        match self.endpoint {
            Endpoint::Chat => {
                let delta = match (&text, finish_reason) {
                    (None, None) => ChatDelta {
                        role: Some("assistant"),
                        content: Some(String::new()),
                    },
                    _ => ChatDelta {
                        role: None,
                        content: text,
                    },
                };
                self.chat(
                    "chat.completion.chunk",
                    vec![ChatChoice {
                        index: 0,
                        message: None,
                        delta: Some(delta),
                        logprobs: None,
                        finish_reason,
                    }],
                    None,
                )
            }
            Endpoint::Text => self.text(
                vec![TextChoice {
                    text: text.unwrap_or_default(),
                    index: 0,
                    logprobs: None,
                    finish_reason,
                }],
                None,
            ),
        }
    }

    /// The chunk after the last, carrying only token counts (`stream_options.include_usage`).
    fn usage_chunk(&self, output: &GenerateOutput) -> String {
        let usage = Some(self.usage(output));
        match self.endpoint {
            Endpoint::Chat => self.chat("chat.completion.chunk", Vec::new(), usage),
            Endpoint::Text => self.text(Vec::new(), usage),
        }
    }
}

/// Waits for the whole generation and answers one JSON object.
async fn whole(
    reply: Reply,
    mut events: UnboundedReceiver<JobEvent>,
) -> Result<Response, ApiError> {
    let mut first = true;
    while let Some(event) = events.recv().await {
        match event {
            JobEvent::Token(_) => {
                if std::mem::take(&mut first) {
                    reply.first_token();
                }
            }
            JobEvent::Done(Ok(output)) => {
                reply.finished(&output);
                let body = reply.whole_body(&output);
                return Ok((
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response());
            }
            JobEvent::Done(Err(message)) => return Err(ApiError::internal(message)),
        }
    }
    Err(ApiError::internal("the generation ended without a result"))
}

/// Answers with server-sent events: a chunk per piece of text, a last chunk with the finish
/// reason, optionally a usage chunk, then `data: [DONE]`.
fn stream(reply: Reply, events: UnboundedReceiver<JobEvent>, include_usage: bool) -> Response {
    let (sender, receiver) = unbounded_channel::<Event>();
    tokio::spawn(pump(reply, events, sender, include_usage));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(body).into_response()
}

/// Turns a worker's events into SSE events. Returning early (the client is gone) drops
/// `events`, which makes the worker's next send fail and cancels the generation.
async fn pump(
    reply: Reply,
    mut events: UnboundedReceiver<JobEvent>,
    out: UnboundedSender<Event>,
    include_usage: bool,
) {
    let send = |data: String| out.send(Event::default().data(data)).is_ok();
    if reply.endpoint == Endpoint::Chat && !send(reply.chunk(None, None)) {
        return;
    }
    let mut first = true;
    while let Some(event) = events.recv().await {
        match event {
            JobEvent::Token(text) => {
                if std::mem::take(&mut first) {
                    reply.first_token();
                }
                if !text.is_empty() && !send(reply.chunk(Some(text), None)) {
                    return;
                }
            }
            JobEvent::Done(Ok(output)) => {
                reply.finished(&output);
                let finish_reason = Some(output.finish_reason.as_str());
                send(reply.chunk(None, finish_reason));
                if include_usage {
                    send(reply.usage_chunk(&output));
                }
                send("[DONE]".to_owned());
                return;
            }
            JobEvent::Done(Err(message)) => {
                // The 200 is already sent: report the failure in the stream, as OpenAI does.
                send(json(&ApiError::internal(message).body()));
                send("[DONE]".to_owned());
                return;
            }
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Our response types hold only strings and numbers: serializing cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh random number (std's per-process random hash keys), for unseeded requests and ids.
pub fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// The prefix of response ids (`chatcmpl-…`, `cmpl-…`).
pub fn id_prefix(chat: bool) -> &'static str {
    if chat {
        "chatcmpl"
    } else {
        "cmpl"
    }
}

impl AppState {
    fn next_id(&self, endpoint: Endpoint) -> String {
        let n = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{n:016x}", id_prefix(endpoint == Endpoint::Chat))
    }
}

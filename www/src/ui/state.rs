//! The page's state (signals shared by every component) and what the buttons do.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::bridge::{self, PageError};
use super::storage;
use crate::conversation::{Conversation, Message, ReplyStats, CONVERSATION_KEY};
use crate::progress::{DownloadProgress, LoadEvent};
use crate::settings::{BackendChoice, Settings, SETTINGS_KEY};

/// The localStorage key of the last model URL.
const MODEL_KEY: &str = "lmfast.model.v1";

/// A model the server lists.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ServerModel {
    /// Its name (the export folder's).
    pub id: String,
    /// The folder's URL.
    pub url: String,
    /// Bytes of its shards.
    #[serde(default)]
    pub bytes: f64,
    /// Its quantization scheme.
    #[serde(default)]
    pub quant: String,
    /// Whether it has a chat template (a base model continues text instead).
    #[serde(default = "chat_by_default")]
    pub chat: bool,
}

fn chat_by_default() -> bool {
    true
}

/// The model a first visit loads: the first chat model listed (this is a chat page; a base
/// model such as Gemma 3 270M only continues text), else the first listed.
fn first_choice(models: &[ServerModel]) -> Option<&ServerModel> {
    models.iter().find(|m| m.chat).or_else(|| models.first())
}

/// Where the model stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadState {
    /// Nothing chosen yet.
    Idle,
    /// Downloading or reading from the cache, then building the engine.
    Loading,
    /// Ready to chat.
    Ready,
    /// Loading failed or the engine was lost; the error banner says why.
    Failed,
}

/// A JS callback taking a JSON string (progress events, errors, streamed text).
type JsonCallback = Closure<dyn FnMut(String)>;

/// Every signal of the page. `Copy`, so closures take it by value.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Sampling, system prompt, backend, theme.
    pub settings: RwSignal<Settings>,
    /// The messages.
    pub conversation: RwSignal<Conversation>,
    /// The models the server lists.
    pub models: RwSignal<Vec<ServerModel>>,
    /// The model folder (or manifest) URL to load.
    pub model_url: RwSignal<String>,
    /// Whether the model is loading, ready or failed.
    pub load_state: RwSignal<LoadState>,
    /// Download progress of the current load.
    pub progress: RwSignal<DownloadProgress>,
    /// The error on show, if any.
    pub error: RwSignal<Option<PageError>>,
    /// Non-fatal warnings (storage quota).
    pub warning: RwSignal<Option<String>>,
    /// "WebGPU · adapter" or "CPU (wasm) · reason".
    pub backend_label: RwSignal<String>,
    /// Seconds the last load took.
    pub load_seconds: RwSignal<Option<f64>>,
    /// Whether the loaded model is a base model (no chat template): it continues text.
    pub base_model: RwSignal<bool>,
    /// Whether a reply is streaming.
    pub generating: RwSignal<bool>,
    /// Whether the settings panel is open.
    pub show_settings: RwSignal<bool>,
    /// The backend the URL asks for (`?backend=cpu`), over the settings' choice.
    backend_override: StoredValue<Option<BackendChoice>>,
    /// The engine (a JS object) and the callbacks it holds.
    engine: StoredValue<Option<JsValue>, LocalStorage>,
    callbacks: StoredValue<Vec<JsonCallback>, LocalStorage>,
    /// Counts loads, so a late answer of an abandoned load is ignored.
    load_serial: StoredValue<u32>,
}

impl AppState {
    /// Reads stored settings and conversation and provides the state to every component.
    pub fn provide() -> Self {
        let state = AppState {
            settings: RwSignal::new(Settings::from_json(storage::load(SETTINGS_KEY).as_deref())),
            conversation: RwSignal::new(Conversation::from_json(
                storage::load(CONVERSATION_KEY).as_deref(),
            )),
            models: RwSignal::new(Vec::new()),
            model_url: RwSignal::new(String::new()),
            load_state: RwSignal::new(LoadState::Idle),
            base_model: RwSignal::new(false),
            progress: RwSignal::new(DownloadProgress::default()),
            error: RwSignal::new(None),
            warning: RwSignal::new(None),
            backend_label: RwSignal::new(String::new()),
            load_seconds: RwSignal::new(None),
            generating: RwSignal::new(false),
            show_settings: RwSignal::new(false),
            backend_override: StoredValue::new(
                storage::query_param("backend").and_then(|b| BackendChoice::parse(&b)),
            ),
            engine: StoredValue::new_local(None),
            callbacks: StoredValue::new_local(Vec::new()),
            load_serial: StoredValue::new(0),
        };
        provide_context(state);
        state.persist();
        state
    }

    /// Saves settings at every change, and the conversation whenever no reply is streaming
    /// (not at every token).
    fn persist(self) {
        Effect::new(move |_| {
            self.settings.with(|s| {
                storage::save(SETTINGS_KEY, &serde_json::to_string(s).unwrap_or_default())
            });
        });
        Effect::new(move |_| {
            let streaming = self.generating.get();
            self.conversation.with(|c| {
                if !streaming {
                    storage::save(CONVERSATION_KEY, &c.to_json());
                }
            });
        });
    }

    /// Fetches the server's model list and loads the model the visitor had, the one named
    /// in `?model=`, or the first chat model listed.
    pub fn start(self) {
        spawn_local(async move {
            let list = bridge::js_string(&bridge::list_server_models().await);
            let models: Vec<ServerModel> = serde_json::from_str(&list).unwrap_or_default();
            let chosen = storage::query_param("model")
                .or_else(|| storage::load(MODEL_KEY))
                .or_else(|| first_choice(&models).map(|m| m.url.clone()));
            self.models.set(models);
            if let Some(url) = chosen {
                self.model_url.set(url);
                self.load_model();
            }
        });
    }

    /// The backend to load on: the URL's override, else the settings'.
    pub fn backend(self) -> BackendChoice {
        self.backend_override
            .get_value()
            .unwrap_or_else(|| self.settings.with_untracked(|s| s.backend))
    }

    /// Loads `model_url` (dropping the current engine first).
    pub fn load_model(self) {
        let url = self.model_url.get_untracked().trim().to_string();
        if url.is_empty() {
            self.error.set(Some(PageError::new(
                "input",
                "choose a model or type the URL of an export folder",
            )));
            return;
        }
        let serial = self.load_serial.get_value() + 1;
        self.load_serial.set_value(serial);
        self.stop();
        self.load_state.set(LoadState::Loading);
        self.progress.set(DownloadProgress::default());
        self.error.set(None);
        self.warning.set(None);
        self.load_seconds.set(None);
        let backend = self.backend();
        spawn_local(async move {
            if let Some(old) = self.engine.try_update_value(|e| e.take()).flatten() {
                bridge::unload_engine(&old).await;
            }
            let started = bridge::now_seconds();
            let on_progress = JsonCallback::new(move |json: String| {
                if self.load_serial.get_value() != serial {
                    return;
                }
                if let Ok(event) = serde_json::from_str::<LoadEvent>(&json) {
                    if let Some(e) = &event.error {
                        self.warning.set(Some(format!("{}: {}", e.code, e.message)));
                    }
                    self.progress
                        .update(|p| p.apply(&event, bridge::now_seconds() - started));
                }
            });
            let on_error = JsonCallback::new(move |json: String| {
                if self.load_serial.get_value() == serial {
                    self.fail(PageError::from_json(&json));
                }
            });
            let result = bridge::load_engine(
                &url,
                backend.as_str(),
                "auto",
                on_progress.as_ref().unchecked_ref(),
                on_error.as_ref().unchecked_ref(),
            )
            .await;
            if self.load_serial.get_value() != serial {
                if let Ok(engine) = result {
                    bridge::unload_engine(&engine).await;
                }
                return;
            }
            match result {
                Ok(engine) => {
                    // Remembered only once it loads: a mistyped URL must not greet the next visit.
                    storage::save(MODEL_KEY, &url);
                    let info_json = bridge::engine_info(&engine)
                        .await
                        .map(|v| bridge::js_string(&v))
                        .unwrap_or_default();
                    let info: Value = serde_json::from_str(&info_json).unwrap_or(Value::Null);
                    self.backend_label.set(backend_label(&info));
                    self.base_model.set(is_base_model(&info));
                    self.engine.set_value(Some(engine));
                    self.callbacks.set_value(vec![on_progress, on_error]);
                    self.load_seconds.set(Some(bridge::now_seconds() - started));
                    self.load_state.set(LoadState::Ready);
                }
                Err(e) => self.fail(PageError::from_js(&e)),
            }
        });
    }

    /// Switches to the wasm CPU path (over a `?backend=` in the URL too) and reloads.
    pub fn use_cpu(self) {
        self.backend_override.set_value(None);
        self.settings.update(|s| s.backend = BackendChoice::Cpu);
        self.load_model();
    }

    /// Shows `error` and marks the model unusable until it is loaded again.
    fn fail(self, error: PageError) {
        self.error.set(Some(error));
        self.load_state.set(LoadState::Failed);
        self.generating.set(false);
    }

    /// Sends `text` as the visitor's next message.
    pub fn send(self, text: String) {
        if text.trim().is_empty() || !self.can_generate() {
            return;
        }
        self.conversation
            .update(|c| c.messages.push(Message::user(text)));
        self.reply();
    }

    /// Drops the last reply and answers the last question again.
    pub fn regenerate(self) {
        if !self.can_generate() {
            return;
        }
        let mut ok = false;
        self.conversation.update(|c| ok = c.prepare_regenerate());
        if ok {
            self.reply();
        }
    }

    /// Replaces the question at `index` and answers it afresh.
    pub fn edit_and_resend(self, index: usize, text: String) {
        if text.trim().is_empty() || !self.can_generate() {
            return;
        }
        let mut ok = false;
        self.conversation
            .update(|c| ok = c.edit_user_message(index, &text));
        if ok {
            self.reply();
        }
    }

    /// Forgets the conversation.
    pub fn clear(self) {
        self.stop();
        self.conversation.set(Conversation::default());
    }

    /// Stops the streaming reply (it keeps what was generated).
    pub fn stop(self) {
        if self.generating.get_untracked() {
            self.engine.with_value(|e| {
                if let Some(engine) = e {
                    bridge::interrupt_engine(engine);
                }
            });
        }
    }

    /// Deletes every stored model shard (the next load downloads again).
    pub fn clear_stored_models(self) {
        spawn_local(async move {
            match bridge::clear_model_stores().await {
                Ok(_) => self.warning.set(Some(
                    "stored models deleted: the next load downloads again".into(),
                )),
                Err(e) => self.error.set(Some(PageError::from_js(&e))),
            }
        });
    }

    fn can_generate(self) -> bool {
        self.load_state.get_untracked() == LoadState::Ready && !self.generating.get_untracked()
    }

    /// Streams a reply to the conversation as it stands.
    fn reply(self) {
        let Some(engine) = self.engine.with_value(|e| e.clone()) else {
            return;
        };
        let settings = self.settings.get_untracked();
        let mut params = settings.sampling_json();
        params["messages"] = Value::Array(
            self.conversation
                .with_untracked(|c| c.chat_messages(&settings.system_prompt)),
        );
        self.conversation
            .update(|c| c.messages.push(Message::pending_reply()));
        self.generating.set(true);
        self.error.set(None);
        let sent = bridge::now_seconds();
        // A plain cell, not a StoredValue: this may run from a button inside the reply it
        // replaces (Regenerate, Edit), whose reactive owner is disposed while streaming.
        let first_token = Rc::new(Cell::new(None::<f64>));
        let first_token_seen = Rc::clone(&first_token);
        spawn_local(async move {
            let on_delta = JsonCallback::new(move |delta: String| {
                if first_token_seen.get().is_none() {
                    first_token_seen.set(Some(bridge::now_seconds() - sent));
                }
                self.conversation.update(|c| {
                    if let Some(last) = c.messages.last_mut() {
                        last.content.push_str(&delta);
                    }
                });
            });
            let result = bridge::stream_chat(
                &engine,
                &params.to_string(),
                on_delta.as_ref().unchecked_ref(),
            )
            .await;
            drop(on_delta);
            match result {
                Ok(summary) => {
                    // Under a reply the backend's name is enough; the header says why.
                    let label = self.backend_label.get_untracked();
                    let backend = if label.starts_with("CPU") {
                        "CPU (wasm)".to_string()
                    } else {
                        label
                    };
                    let stats =
                        reply_stats(&bridge::js_string(&summary), first_token.get(), backend);
                    self.conversation.update(|c| {
                        if let Some(last) = c.messages.last_mut() {
                            last.stats = Some(stats);
                        }
                    });
                }
                Err(e) => {
                    let error = PageError::from_js(&e);
                    // An empty reply after a failure would be sent back as context next time.
                    self.conversation.update(|c| {
                        if c.messages.last().is_some_and(|m| m.content.is_empty()) {
                            c.messages.pop();
                        }
                    });
                    if error.code == "device-lost" || error.code == "worker" {
                        self.fail(error);
                    } else {
                        self.error.set(Some(error));
                    }
                }
            }
            self.generating.set(false);
        });
    }
}

/// Whether `engine.info()` says the model has no chat template.
fn is_base_model(info: &Value) -> bool {
    info["model"]["chat"] == Value::Bool(false)
}

/// "WebGPU · adapter name" or "CPU (wasm) · why", from `engine.info()`.
fn backend_label(info: &Value) -> String {
    match info["backend"].as_str() {
        Some("webgpu") => {
            let adapter = &info["adapter"];
            let name = ["name", "description", "device", "vendor"]
                .iter()
                .find_map(|k| adapter[*k].as_str().filter(|s| !s.is_empty()))
                .unwrap_or("unknown adapter");
            format!("WebGPU · {name}")
        }
        Some("cpu") => {
            let cpu = match info["threads"].as_u64() {
                Some(n) if n > 1 => format!("CPU (wasm, {n} threads)"),
                _ => "CPU (wasm)".to_string(),
            };
            match info["fallback_reason"].as_str().map(short_reason) {
                Some(reason) if !reason.is_empty() => format!("{cpu} · {reason}"),
                _ => cpu,
            }
        }
        _ => String::new(),
    }
}

/// The first clause of a fallback reason: wgpu lists every backend it did not try after a
/// ';', which says nothing to a visitor.
fn short_reason(reason: &str) -> &str {
    reason.split(';').next().unwrap_or(reason).trim()
}

/// The figures under a reply, from the stream's last chunk and the page's own clock.
fn reply_stats(summary_json: &str, first_token: Option<f64>, backend: String) -> ReplyStats {
    let s: Value = serde_json::from_str(summary_json).unwrap_or(Value::Null);
    let t = &s["timings"];
    let num = |v: &Value| v.as_f64().unwrap_or(0.0);
    ReplyStats {
        time_to_first_token: first_token.unwrap_or_else(|| num(&t["time_to_first_token"])),
        tokens: num(&s["usage"]["completion_tokens"]) as u32,
        tokens_per_second: num(&t["decode_tokens_per_second"]),
        prompt_tokens: num(&t["prompt_tokens"]) as u32
            - (num(&t["cached_prompt_tokens"]) as u32).min(num(&t["prompt_tokens"]) as u32),
        prefill_tokens_per_second: num(&t["prefill_tokens_per_second"]),
        backend,
        finish_reason: s["finish_reason"].as_str().unwrap_or("stop").to_string(),
    }
}

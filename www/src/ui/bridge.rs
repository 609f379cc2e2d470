//! Bindings to `js/bridge.js`, the page's thin layer over the lmfast npm package.

use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/bridge.js")]
extern "C" {
    /// `Engine.load(url, { backend, cache, onProgress, onError })`; rejects with `{code, message}`.
    #[wasm_bindgen(catch, js_name = loadEngine)]
    pub async fn load_engine(
        url: &str,
        backend: &str,
        cache: &str,
        on_progress: &js_sys::Function,
        on_error: &js_sys::Function,
    ) -> Result<JsValue, JsValue>;

    /// Streams a chat reply, calling `on_delta(text)` per chunk; resolves to the last
    /// chunk's `{finish_reason, usage, timings}` as JSON.
    #[wasm_bindgen(catch, js_name = streamChat)]
    pub async fn stream_chat(
        engine: &JsValue,
        params_json: &str,
        on_delta: &js_sys::Function,
    ) -> Result<JsValue, JsValue>;

    /// Stops the running generation.
    #[wasm_bindgen(js_name = interruptEngine)]
    pub fn interrupt_engine(engine: &JsValue);

    /// `engine.info()` as JSON.
    #[wasm_bindgen(catch, js_name = engineInfo)]
    pub async fn engine_info(engine: &JsValue) -> Result<JsValue, JsValue>;

    /// Frees the model and stops its worker.
    #[wasm_bindgen(js_name = unloadEngine)]
    pub async fn unload_engine(engine: &JsValue);

    /// Deletes every stored shard.
    #[wasm_bindgen(catch, js_name = clearModelStores)]
    pub async fn clear_model_stores() -> Result<JsValue, JsValue>;

    /// The export folders the server lists, as JSON `[{id, url, bytes, quant}]`.
    #[wasm_bindgen(js_name = listServerModels)]
    pub async fn list_server_models() -> JsValue;

    /// Whether the browser exposes `navigator.gpu` at all.
    #[wasm_bindgen(js_name = hasWebGpu)]
    pub fn has_webgpu() -> bool;

    /// `performance.now()` in seconds.
    #[wasm_bindgen(js_name = nowSeconds)]
    pub fn now_seconds() -> f64;
}

/// An error shown on the page: the npm package's code and message.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PageError {
    /// The npm package's error code (`network`, `hash`, `webgpu`, `device-lost`, ...).
    pub code: String,
    /// What happened, naming the file or option.
    pub message: String,
}

impl PageError {
    /// An error raised by the page itself.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        PageError {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Reads the `{code, message}` the bridge throws (anything else becomes `internal`).
    pub fn from_js(value: &JsValue) -> Self {
        let field = |name: &str| {
            js_sys::Reflect::get(value, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string())
        };
        match (field("code"), field("message")) {
            (Some(code), Some(message)) => PageError { code, message },
            _ => PageError::new("internal", format!("{value:?}")),
        }
    }

    /// Reads an error the bridge passed as JSON.
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|_| PageError::new("internal", text))
    }
}

/// A JS string result, or an empty string.
pub fn js_string(value: &JsValue) -> String {
    value.as_string().unwrap_or_default()
}

//! Errors as JavaScript sees them: a message and a stable `code` the JS face maps to its
//! typed `LmfastError` (`model`, `webgpu`, `device-lost`, `generation`, `input`).

use wasm_bindgen::JsError;

/// An error of the browser engine, with the code the JavaScript side dispatches on.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The export is malformed or a shard does not fit the manifest.
    #[error("the model: {0}")]
    Model(String),
    /// No usable WebGPU adapter or device.
    #[error("WebGPU: {0}")]
    WebGpu(String),
    /// The GPU device was lost; the engine must be created again.
    #[error("the WebGPU device was lost: {0}")]
    DeviceLost(String),
    /// Generation failed (context full, bad token, ...).
    #[error("generation: {0}")]
    Generation(String),
    /// The caller passed something unusable (bad JSON options, wrong call order).
    #[error("bad input: {0}")]
    Input(String),
}

impl WebError {
    fn code(&self) -> &'static str {
        match self {
            WebError::Model(_) => "model",
            WebError::WebGpu(_) => "webgpu",
            WebError::DeviceLost(_) => "device-lost",
            WebError::Generation(_) => "generation",
            WebError::Input(_) => "input",
        }
    }

    fn message(&self) -> &str {
        match self {
            WebError::Model(m)
            | WebError::WebGpu(m)
            | WebError::DeviceLost(m)
            | WebError::Generation(m)
            | WebError::Input(m) => m,
        }
    }
}

impl From<lmfast_core::Error> for WebError {
    fn from(e: lmfast_core::Error) -> Self {
        match e {
            lmfast_core::Error::Generation(m) => WebError::Generation(m),
            other => WebError::Model(other.to_string()),
        }
    }
}

/// The error as a JavaScript `Error` whose message starts with `[code] ` (wasm-bindgen's
/// `JsError` carries only a message; the JS face splits the code back off).
pub fn to_js(e: WebError) -> JsError {
    JsError::new(&format!("[{}] {}", e.code(), e.message()))
}

//! Errors and warnings, each with what the visitor can do about it.

use leptos::prelude::*;

use super::state::{AppState, LoadState};

/// A title and a hint for each of the npm package's error codes.
fn explain(code: &str) -> (&'static str, &'static str) {
    match code {
        "webgpu" => (
            "WebGPU is not available",
            "This browser gave no WebGPU device. Use the CPU (wasm) backend, which works everywhere, or enable WebGPU.",
        ),
        "device-lost" => ("The GPU device was lost", "The GPU was reset or reclaimed. Retry to load the model again."),
        "network" => ("Network failure", "A file could not be downloaded. Check the connection and retry."),
        "http" => ("The server refused a file", "Check the model URL; retry when the server is back."),
        "hash" => (
            "Corrupted download",
            "A shard's checksum did not match, even after downloading it again. The server's copy may be damaged.",
        ),
        "quota" => ("Out of storage", "The browser's storage quota is full: the model will download again next time."),
        "storage" => ("Storage unavailable", "The browser's storage failed; the model can still load without caching."),
        "model" => ("Not a usable model", "The URL does not hold an lmfast export this page can run."),
        "worker" => ("The engine crashed", "Its worker stopped. Retry to start it again."),
        "generation" => ("The reply failed", "Shorten the conversation (Clear) or lower max tokens."),
        "input" => ("Check the input", ""),
        _ => ("Something went wrong", "Retry; if it persists, the browser console has details."),
    }
}

/// The error on show, with Retry (and "Use CPU" when WebGPU is what failed).
#[component]
pub fn ErrorBanner() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <Show when=move || state.error.with(|e| e.is_some())>
            {move || {
                let error = state.error.get().unwrap_or_else(|| super::bridge::PageError::new("internal", ""));
                let (title, hint) = explain(&error.code);
                let is_webgpu = error.code == "webgpu" || error.code == "device-lost";
                let model_failed = state.load_state.get() == LoadState::Failed;
                view! {
                    <div class="banner error" role="alert" data-testid="error" data-code=error.code.clone()>
                        <div class="banner-text">
                            <strong>{title}</strong>
                            <span class="banner-message">{error.message.clone()}</span>
                            <span class="banner-hint">{hint}</span>
                        </div>
                        <div class="banner-actions">
                            <Show when=move || is_webgpu>
                                <button data-testid="use-cpu" on:click=move |_| state.use_cpu()>"Use CPU"</button>
                            </Show>
                            <Show
                                when=move || model_failed
                                fallback=move || view! { <button on:click=move |_| state.error.set(None)>"Dismiss"</button> }
                            >
                                <button data-testid="retry" on:click=move |_| state.load_model()>"Retry"</button>
                            </Show>
                        </div>
                    </div>
                }
            }}
        </Show>
        <Show when=move || state.warning.with(|w| w.is_some())>
            <div class="banner warning" role="status">
                <span class="banner-text">{move || state.warning.get().unwrap_or_default()}</span>
                <button on:click=move |_| state.warning.set(None)>"Dismiss"</button>
            </div>
        </Show>
    }
}

//! lmfast-www: the chat page. A leptos client-side app over the lmfast npm package, which
//! runs the model in a Web Worker (WebGPU, or the wasm CPU path). `lmfast serve` serves it
//! next to the model folders; `scripts/build-www.sh` builds it into `www/dist/`.
//!
//! The page logic that needs no browser (Markdown, settings, the conversation and its
//! storage, download progress arithmetic) is plain Rust, unit-tested natively; the UI
//! itself exists only on wasm32.

pub mod conversation;
pub mod markdown;
pub mod progress;
pub mod settings;

#[cfg(target_arch = "wasm32")]
mod ui;

/// Mounts the page when the wasm module starts.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    ui::mount();
}

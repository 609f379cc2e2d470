//! `lmfast-web`: the browser face of lmfast.
//!
//! The npm package's JavaScript fetches an export folder (manifest, tokenizer, chat
//! template, shards — with progress, the Cache API/OPFS and sha256 checks) and hands each
//! shard to a [`ModelLoader`], which routes its tensors straight to the chosen backend: GPU
//! buffers for WebGPU (the shard is then dropped, so the model never sits whole in wasm
//! memory) or the packed host matrices of the CPU path. [`WebEngine`] then runs generations
//! one step per call, so the worker stays responsive between tokens (streaming, stop).

mod engine;
mod errors;
#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
mod gpu;
mod loader;
pub mod options;
mod threads;
mod warm_up;

pub use engine::WebEngine;
pub use loader::ModelLoader;
pub use options::GenerationRequest;

use wasm_bindgen::prelude::*;

/// Bytes of linear memory this wasm instance holds. Wasm memory never shrinks, so this is
/// also the peak since the page loaded.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        (core::arch::wasm32::memory_size(0) * 65_536) as f64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}

/// Runs every WebGPU kernel against the CPU reference on random data and returns a JSON
/// report: `{ adapter, checks: [{ name, max_abs_error, tolerance, passed }] }`.
#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
#[wasm_bindgen(js_name = runKernelChecks)]
pub async fn run_kernel_checks() -> Result<String, JsError> {
    let gpu = gpu::Gpu::request().await.map_err(errors::to_js)?;
    let checks =
        lmfast_core::decoder::wgsl::run_kernel_checks(gpu.device.clone(), gpu.queue.clone())
            .await
            .map_err(|e| errors::to_js(e.into()))?;
    let checks: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "max_abs_error": c.max_abs_error,
                "tolerance": c.tolerance,
                "passed": c.passed,
            })
        })
        .collect();
    Ok(serde_json::json!({ "adapter": gpu.facts, "checks": checks }).to_string())
}

/// Without the `webgpu` feature there are no kernels to check.
#[cfg(not(all(target_arch = "wasm32", feature = "webgpu")))]
#[wasm_bindgen(js_name = runKernelChecks)]
pub async fn run_kernel_checks() -> Result<String, JsError> {
    Err(errors::to_js(errors::WebError::WebGpu(
        "this build of lmfast-web has no WebGPU kernels (built without the webgpu feature)".into(),
    )))
}

/// Compares this build's CPU matrix kernels (wasm SIMD, relaxed SIMD in the threaded build)
/// with the portable ones, bit for bit, over every packed scheme and one, four, seven and 21
/// tokens. Returns a JSON report: `{ isa, products, values, mismatch_count, mismatches }`.
#[wasm_bindgen(js_name = cpuKernelCheck)]
pub fn cpu_kernel_check() -> String {
    let c = lmfast_core::quant::kernels::check_against_portable();
    serde_json::json!({
        "isa": c.isa,
        "products": c.products,
        "values": c.values,
        "mismatch_count": c.mismatch_count,
        "mismatches": c.mismatches,
    })
    .to_string()
}

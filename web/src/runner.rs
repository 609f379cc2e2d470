//! The two ways a loaded model runs in the browser, behind one asynchronous forward call.

use crate::errors::WebError;
use lmfast_core::cpu_model::{CpuKvCache, CpuModel};
use std::rc::Rc;

#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
use lmfast_core::gpu_model::{GpuKvCache, GpuModel};

/// A loaded model.
#[derive(Clone)]
pub enum Runner {
    /// The fused CPU decoder with the portable kernels (single-threaded wasm).
    Cpu(Rc<CpuModel>),
    /// Our WGSL decoder on the page's WebGPU device.
    #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
    Gpu(Rc<GpuModel>),
}

/// Its key/value cache, preallocated for the engine's context length.
pub enum Cache {
    /// Host memory.
    Cpu(CpuKvCache),
    /// GPU buffers.
    #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
    Gpu(Box<GpuKvCache>),
}

/// What a forward pass gives back: the logits, or only the argmax when the caller asked
/// for a greedy token (so 4 bytes cross from the GPU instead of the vocabulary's logits).
pub enum Forward {
    /// Logits of the last position.
    Logits(Vec<f32>),
    /// The most likely next token.
    Token(u32),
}

impl Runner {
    /// Which backend this is, for `info()`.
    pub fn backend(&self) -> &'static str {
        match self {
            Runner::Cpu(_) => "cpu",
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Runner::Gpu(_) => "webgpu",
        }
    }

    /// A cache for `capacity` positions.
    pub fn new_cache(&self, capacity: usize) -> Result<Cache, WebError> {
        Ok(match self {
            Runner::Cpu(m) => Cache::Cpu(m.new_cache(capacity)?),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Runner::Gpu(m) => Cache::Gpu(Box::new(m.new_cache(capacity)?)),
        })
    }

    /// Runs `tokens` at the cache's next positions.
    pub async fn forward(
        &self,
        tokens: &[u32],
        cache: &mut Cache,
        greedy: bool,
    ) -> Result<Forward, WebError> {
        match (self, cache) {
            (Runner::Cpu(m), Cache::Cpu(c)) => {
                let logits = m.forward_last(tokens, c)?;
                Ok(if greedy {
                    Forward::Token(lmfast_core::sampling::argmax(&logits))
                } else {
                    Forward::Logits(logits)
                })
            }
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            (Runner::Gpu(m), Cache::Gpu(c)) => Ok(if greedy {
                Forward::Token(m.forward_argmax(tokens, c).await?)
            } else {
                Forward::Logits(m.forward_last(tokens, c).await?)
            }),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            _ => Err(WebError::Input(
                "the cache belongs to the other backend".into(),
            )),
        }
    }
}

impl Cache {
    /// Forgets every position (a new conversation).
    pub fn clear(&mut self) {
        match self {
            Cache::Cpu(c) => c.clear(),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Cache::Gpu(c) => c.clear(),
        }
    }

    /// Keeps the first `len` positions (a conversation's shared prefix).
    pub fn truncate(&mut self, len: usize) {
        match self {
            Cache::Cpu(c) => c.truncate(len),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Cache::Gpu(c) => c.truncate(len),
        }
    }

    /// Positions it holds.
    pub fn capacity(&self) -> usize {
        match self {
            Cache::Cpu(c) => c.capacity(),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Cache::Gpu(c) => c.capacity(),
        }
    }
}

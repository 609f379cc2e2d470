//! Which decoder an engine runs, chosen at load time: one enum over the three, itself a
//! [`Decoder`], so sessions and the generation loop never look inside.

use crate::config::ModelConfig;
#[cfg(feature = "burn")]
use crate::decoder::burn::{BurnDecoder, BurnKvCache};
use crate::decoder::cpu::{CpuDecoder, CpuKvCache};
#[cfg(feature = "webgpu")]
use crate::decoder::wgsl::{WgslDecoder, WgslKvCache};
use crate::decoder::{Decoder, DecoderCache, Forward, Want};
use crate::error::{Error, Result};
use std::sync::Arc;

/// The decoder an engine runs. Cloning shares the weights.
#[derive(Clone)]
pub enum Runner {
    /// The fused CPU decoder with our packed kernels.
    Cpu(Arc<CpuDecoder>),
    /// The burn decoder on a burn device (CPU flex, CUDA, wgpu).
    #[cfg(feature = "burn")]
    Burn(Arc<BurnDecoder>),
    /// The WGSL decoder (WebGPU in the browser, Vulkan natively).
    #[cfg(feature = "webgpu")]
    Wgsl(Arc<WgslDecoder>),
}

/// The cache of whichever decoder a [`Runner`] holds.
pub enum RunnerCache {
    /// The fused CPU decoder's cache.
    Cpu(CpuKvCache),
    /// The burn decoder's cache.
    #[cfg(feature = "burn")]
    Burn(BurnKvCache),
    /// The WGSL decoder's cache.
    #[cfg(feature = "webgpu")]
    Wgsl(Box<WgslKvCache>),
}

impl Runner {
    /// A short description for logs and `lmfast info`.
    pub fn describe(&self) -> String {
        Decoder::describe(self)
    }

    /// A runner over the WGSL decoder.
    ///
    /// wgpu's handles are `Send + Sync` natively (where the server shares the runner between
    /// threads) but neither on wasm32, where the browser engine lives on the page's one
    /// thread; an `Arc` serves both, so the lint that wants an `Rc` on wasm32 is allowed here.
    #[cfg(feature = "webgpu")]
    #[allow(clippy::arc_with_non_send_sync)]
    pub fn wgsl(decoder: WgslDecoder) -> Runner {
        Runner::Wgsl(Arc::new(decoder))
    }

    /// The short backend name the browser reports (`cpu`, `webgpu`, `burn`).
    pub fn backend(&self) -> &'static str {
        match self {
            Runner::Cpu(_) => "cpu",
            #[cfg(feature = "burn")]
            Runner::Burn(_) => "burn",
            #[cfg(feature = "webgpu")]
            Runner::Wgsl(_) => "webgpu",
        }
    }
}

macro_rules! each {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            Runner::Cpu($m) => $e,
            #[cfg(feature = "burn")]
            Runner::Burn($m) => $e,
            #[cfg(feature = "webgpu")]
            Runner::Wgsl($m) => $e,
        }
    };
}

macro_rules! each_cache {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            RunnerCache::Cpu($c) => $e,
            #[cfg(feature = "burn")]
            RunnerCache::Burn($c) => $e,
            #[cfg(feature = "webgpu")]
            RunnerCache::Wgsl($c) => $e,
        }
    };
}

impl DecoderCache for RunnerCache {
    fn len(&self) -> usize {
        each_cache!(self, c => c.len())
    }

    fn capacity(&self) -> usize {
        each_cache!(self, c => c.capacity())
    }

    fn truncate(&mut self, len: usize) {
        each_cache!(self, c => c.truncate(len))
    }
}

impl Decoder for Runner {
    type Cache = RunnerCache;

    fn config(&self) -> &ModelConfig {
        each!(self, m => m.config())
    }

    fn describe(&self) -> String {
        each!(self, m => Decoder::describe(m.as_ref()))
    }

    fn new_cache(&self, capacity: usize) -> Result<RunnerCache> {
        Ok(match self {
            Runner::Cpu(m) => RunnerCache::Cpu(m.new_cache(capacity)?),
            #[cfg(feature = "burn")]
            Runner::Burn(m) => RunnerCache::Burn(m.new_cache(capacity)?),
            #[cfg(feature = "webgpu")]
            Runner::Wgsl(m) => RunnerCache::Wgsl(Box::new(m.new_cache(capacity)?)),
        })
    }

    async fn forward(
        &self,
        tokens: &[u32],
        cache: &mut RunnerCache,
        want: Want,
    ) -> Result<Forward> {
        match (self, cache) {
            (Runner::Cpu(m), RunnerCache::Cpu(c)) => m.forward(tokens, c, want).await,
            #[cfg(feature = "burn")]
            (Runner::Burn(m), RunnerCache::Burn(c)) => m.forward(tokens, c, want).await,
            #[cfg(feature = "webgpu")]
            (Runner::Wgsl(m), RunnerCache::Wgsl(c)) => m.forward(tokens, c, want).await,
            #[allow(unreachable_patterns)]
            _ => Err(Error::Generation(
                "the cache belongs to another decoder".into(),
            )),
        }
    }
}

//! The decoders: one model definition ([`crate::arch`]) run three ways, behind one trait.
//!
//! - [`cpu`]: the fused CPU decoder, our packed int4/int8 kernels on plain slices; the fast
//!   path natively and the browser's wasm CPU path.
//! - [`wgsl`] (feature `webgpu`): our WGSL decoder on wgpu; WebGPU in the browser, Vulkan
//!   natively; bit-identical to the CPU decoder.
//! - [`burn`] (feature `burn`): the decoder written with burn tensors; the autodiff model
//!   training runs on and the CUDA path where a GPU exists.
//!
//! [`Decoder`] is what the generation loop and the engine see: a forward pass that returns
//! what the caller asks for ([`Want`]), asynchronously so the GPU decoder fits, and a cache
//! that can be truncated (prefix reuse, speculative decoding).

#[cfg(feature = "burn")]
pub mod burn;
pub mod cpu;
mod positions;
pub mod rotary;
#[cfg(feature = "webgpu")]
pub mod wgsl;

pub use positions::Positions;

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use std::future::Future;

/// A decoder's cache of past positions.
pub trait DecoderCache {
    /// Positions filled.
    fn len(&self) -> usize;
    /// Positions it can hold.
    fn capacity(&self) -> usize;
    /// Keeps only the first `len` positions (rewinding a conversation, rejecting drafts).
    fn truncate(&mut self, len: usize);
    /// Whether no position is filled.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Forgets every position (memory is kept for reuse).
    fn clear(&mut self) {
        self.truncate(0);
    }
}

/// What a forward call should return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The last position's logits (`vocab` values).
    LastLogits,
    /// Every position's logits, row by row.
    AllLogits,
    /// The last position's final hidden state, after the final norm (`hidden` values).
    LastHidden,
    /// Every position's final hidden state, after the final norm, row by row.
    AllHidden,
    /// The greedy next token (the lowest id among equal maxima); the GPU picks it on the device.
    Argmax,
}

/// The result of a forward call, as [`Want`] asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Forward {
    /// Logits, one row of `vocab` per position asked for.
    Logits(Vec<f32>),
    /// Hidden states, one row of `hidden` per position asked for.
    Hidden(Vec<f32>),
    /// The greedy next token.
    Token(u32),
}

impl Forward {
    /// The values of a `Logits` or `Hidden` result.
    pub fn into_values(self) -> Result<Vec<f32>> {
        match self {
            Forward::Logits(v) | Forward::Hidden(v) => Ok(v),
            Forward::Token(_) => Err(Error::Generation(
                "the forward pass returned a token, not values".into(),
            )),
        }
    }

    /// The next greedy token, from `Token` or from the last row of `Logits`.
    pub fn greedy_token(&self, vocab: usize) -> Result<u32> {
        match self {
            Forward::Token(t) => Ok(*t),
            Forward::Logits(v) if v.len() >= vocab => {
                Ok(crate::sampling::argmax(&v[v.len() - vocab..]))
            }
            _ => Err(Error::Generation(
                "the forward pass returned no logits".into(),
            )),
        }
    }
}

/// A causal decoder: tokens in, logits or hidden states out, with a cache of the past.
pub trait Decoder {
    /// The decoder's cache type.
    type Cache: DecoderCache;
    /// The model's hyper-parameters.
    fn config(&self) -> &ModelConfig;
    /// A short description for logs and `lmfast info`.
    fn describe(&self) -> String;
    /// An empty cache for up to `capacity` positions (at most the model's context).
    fn new_cache(&self, capacity: usize) -> Result<Self::Cache>;
    /// Runs `tokens` at the cache's next positions. CPU decoders finish before returning;
    /// the GPU decoder's future waits for the device.
    fn forward(
        &self,
        tokens: &[u32],
        cache: &mut Self::Cache,
        want: Want,
    ) -> impl Future<Output = Result<Forward>>;

    /// The last position's logits, waiting on this thread (native callers, tests).
    fn last_logits(&self, tokens: &[u32], cache: &mut Self::Cache) -> Result<Vec<f32>> {
        block_on(self.forward(tokens, cache, Want::LastLogits))?.into_values()
    }

    /// Every position's logits, waiting on this thread (perplexity, tests).
    fn all_logits(&self, tokens: &[u32], cache: &mut Self::Cache) -> Result<Vec<f32>> {
        block_on(self.forward(tokens, cache, Want::AllLogits))?.into_values()
    }
}

/// Runs `future` to completion on this thread: the CPU decoders' futures are ready at once,
/// and natively wgpu waits inside `device.poll`, so this parks only if one is not.
pub fn block_on<F: Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Checks that a cache of `capacity` positions fits `config`'s model.
pub(crate) fn check_capacity(config: &ModelConfig, capacity: usize) -> Result<()> {
    if capacity == 0 || capacity > config.max_position_embeddings {
        return Err(Error::Generation(format!(
            "a cache of {capacity} positions is outside 1..={}",
            config.max_position_embeddings
        )));
    }
    Ok(())
}

/// Checks a forward call every decoder accepts alike: at least one token, every id inside
/// the vocabulary, and room in a cache holding `len` of `capacity` positions.
pub(crate) fn check_forward(
    config: &ModelConfig,
    tokens: &[u32],
    len: usize,
    capacity: usize,
) -> Result<()> {
    if tokens.is_empty() {
        return Err(Error::Generation("no tokens to run".into()));
    }
    if let Some(bad) = tokens.iter().find(|&&t| t as usize >= config.vocab_size) {
        return Err(Error::Generation(format!(
            "token id {bad} is outside the vocabulary of {}",
            config.vocab_size
        )));
    }
    let seq = tokens.len();
    if len + seq > capacity {
        return Err(Error::Generation(format!(
            "the context is full: {len} positions used, {seq} more asked, room for {capacity}"
        )));
    }
    Ok(())
}

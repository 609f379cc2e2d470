//! Building a model from an export folder's files as the page fetches them.

use crate::engine::WebEngine;
use crate::errors::{to_js, WebError};
use lmfast_core::chat_template::ChatTemplate;
use lmfast_core::checkpoint::export_source;
use lmfast_core::decoder::cpu::CpuDecoder;
use lmfast_core::engine::{Engine, Runner};
use lmfast_core::format::export::{parse_manifest, text_files_from, ExportAssembler};
use lmfast_core::tokenizer::Tokenizer;
use lmfast_core::weights::{ModelWeights, WeightEntry};
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// Where completed tensors go.
enum Sink {
    /// Kept packed in wasm memory for the CPU path.
    Cpu(ModelWeights),
    /// Uploaded to GPU buffers as they complete (the host copy is dropped at once).
    #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
    Gpu(Box<GpuSink>),
}

/// The GPU side of a load: the device and the model being uploaded to it.
#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
struct GpuSink {
    builder: lmfast_core::decoder::wgsl::WgslDecoderBuilder,
    gpu: crate::gpu::Gpu,
}

/// Receives an export's shards one at a time and becomes a [`WebEngine`].
#[wasm_bindgen]
pub struct ModelLoader {
    assembler: ExportAssembler,
    tokenizer: Tokenizer,
    chat_template: Option<ChatTemplate>,
    sink: Sink,
    /// Why WebGPU was not used, when `auto` fell back to the CPU.
    fallback_reason: Option<String>,
}

#[wasm_bindgen]
impl ModelLoader {
    /// Parses the manifest, tokenizer and chat template and prepares `backend`
    /// (`webgpu`, `cpu`, or `auto`: WebGPU when the browser gives a device, else the CPU).
    pub async fn create(
        manifest_json: Vec<u8>,
        tokenizer_json: Vec<u8>,
        chat_template: Option<String>,
        backend: String,
    ) -> Result<ModelLoader, JsError> {
        Self::build(&manifest_json, &tokenizer_json, chat_template, &backend)
            .await
            .map_err(to_js)
    }

    /// Routes bytes `offset..` of shard `index` (ranges in order, without gaps) to the
    /// tensors they complete; returns how many. Feeding a shard in ranges keeps wasm memory
    /// to one range plus the tensors being filled (the page holds the shard itself).
    #[wasm_bindgen(js_name = addShardRange)]
    pub fn add_shard_range(
        &mut self,
        index: usize,
        offset: f64,
        bytes: &[u8],
    ) -> Result<usize, JsError> {
        // NaN and infinities have a NaN fraction.
        if offset < 0.0 || offset.fract() != 0.0 || offset > 2f64.powi(53) {
            return Err(to_js(WebError::Input(format!(
                "shard offset {offset} is not a whole number of bytes"
            ))));
        }
        self.add(index, offset as u64, bytes).map_err(to_js)
    }

    /// Indices of shards not added yet.
    #[wasm_bindgen(js_name = missingShards)]
    pub fn missing_shards(&self) -> Vec<usize> {
        self.assembler.missing_shards()
    }

    /// The backend the model is being loaded for (`webgpu` or `cpu`).
    pub fn backend(&self) -> String {
        match self.sink {
            Sink::Cpu(_) => "cpu".into(),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Sink::Gpu(_) => "webgpu".into(),
        }
    }

    /// Finishes loading: every shard must have been added. `context_length` positions of
    /// key/value cache are allocated (0 means the model's own limit, capped at 4096).
    pub fn finish(self, context_length: usize) -> Result<WebEngine, JsError> {
        self.complete(context_length).map_err(to_js)
    }
}

impl ModelLoader {
    async fn build(
        manifest_json: &[u8],
        tokenizer_json: &[u8],
        chat_template: Option<String>,
        backend: &str,
    ) -> Result<Self, WebError> {
        let manifest = parse_manifest(manifest_json, "manifest.json")?;
        let (tokenizer, chat_template) = text_files_from(&manifest, tokenizer_json, chat_template)?;
        let (sink, fallback_reason) = match backend {
            "cpu" => (
                Sink::Cpu(ModelWeights::new()),
                Some("the CPU backend was asked for".into()),
            ),
            "webgpu" => (Self::gpu_sink(&manifest.config).await?, None),
            "auto" => match Self::gpu_sink(&manifest.config).await {
                Ok(sink) => (sink, None),
                Err(e) => (Sink::Cpu(ModelWeights::new()), Some(e.to_string())),
            },
            other => {
                return Err(WebError::Input(format!(
                    "backend '{other}' is not one of auto, webgpu, cpu"
                )))
            }
        };
        if matches!(sink, Sink::Cpu(_)) {
            // Failing only means the first prompt warms the kernels up instead.
            let embedding = manifest.embedding_quant.as_deref();
            let _ = crate::warm_up::warm_up_cpu(&manifest.quant, embedding);
        }
        Ok(Self {
            assembler: ExportAssembler::new(manifest),
            tokenizer,
            chat_template,
            sink,
            fallback_reason,
        })
    }

    #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
    async fn gpu_sink(config: &lmfast_core::config::ModelConfig) -> Result<Sink, WebError> {
        let gpu = crate::gpu::Gpu::request().await?;
        let builder = lmfast_core::decoder::wgsl::WgslDecoderBuilder::new(
            gpu.device.clone(),
            gpu.queue.clone(),
            config,
        )?;
        Ok(Sink::Gpu(Box::new(GpuSink { builder, gpu })))
    }

    #[cfg(not(all(target_arch = "wasm32", feature = "webgpu")))]
    async fn gpu_sink(_config: &lmfast_core::config::ModelConfig) -> Result<Sink, WebError> {
        Err(WebError::WebGpu(
            "WebGPU exists only in the browser build".into(),
        ))
    }

    /// Routes one range of a shard, then hands the tensors it completes to the sink: kept
    /// for the CPU, uploaded (and dropped) for the GPU.
    fn add(&mut self, index: usize, offset: u64, bytes: &[u8]) -> Result<usize, WebError> {
        let done = self.assembler.add_shard_range(index, offset, bytes)?;
        let count = done.len();
        for (name, entry) in done {
            match &mut self.sink {
                Sink::Cpu(weights) => match entry {
                    WeightEntry::Dense(t) => weights.insert(name, t),
                    WeightEntry::Packed(p) => weights.insert_packed(name, p),
                },
                #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
                Sink::Gpu(sink) => sink.builder.add_tensor(&name, entry)?,
            }
        }
        Ok(count)
    }

    fn complete(self, context_length: usize) -> Result<WebEngine, WebError> {
        let Self {
            assembler,
            tokenizer,
            chat_template,
            sink,
            fallback_reason,
        } = self;
        let config = assembler.manifest().config.clone();
        let manifest = assembler.manifest().clone();
        assembler.finish()?;
        let limit = config.max_position_embeddings.min(4096);
        let context_length = if context_length == 0 {
            limit
        } else {
            context_length.min(config.max_position_embeddings)
        };
        let (runner, adapter, lost) = match sink {
            Sink::Cpu(weights) => (
                Runner::Cpu(Arc::new(CpuDecoder::new(&config, weights)?)),
                None,
                None,
            ),
            #[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
            Sink::Gpu(sink) => {
                let GpuSink { builder, gpu } = *sink;
                (
                    Runner::wgsl(builder.finish()?),
                    Some(gpu.facts),
                    Some(gpu.lost),
                )
            }
        };
        let source = export_source(&manifest, manifest.name.as_deref().unwrap_or_default());
        let engine = Engine::from_parts(runner, tokenizer, chat_template, source, context_length)?;
        WebEngine::new(crate::engine::Parts {
            manifest,
            engine,
            adapter,
            lost,
            fallback_reason,
        })
    }
}

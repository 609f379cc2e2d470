//! The WGSL decoder (`gpu_model`) against the fused CPU decoder (`cpu_model`): every kernel
//! on its own, tiny random models (int4 and f32) logit by logit, and the real default export
//! token by token. Natively on Vulkan (lavapipe in CI).
#![cfg(feature = "webgpu")]

use lmfast_core::config::{Architecture, ModelConfig};
use lmfast_core::decoder::cpu::{CpuDecoder, CpuKvCache};
use lmfast_core::decoder::wgsl::{
    run_kernel_checks, wgpu, WgslDecoder, WgslDecoderBuilder, WgslKvCache,
};
use lmfast_core::decoder::DecoderCache;
use lmfast_core::quant::QuantScheme;
use lmfast_core::sampling::argmax;
use lmfast_core::weights::quantize_model_weights;
use lmfast_core::weights::{HostTensor, ModelWeights, WeightEntry};
use lmfast_tests::{repo_root, tiny_config};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// Natively the library waits inside `device.poll`, so futures finish on their first polls;
/// this parks the thread between polls anyway, should one not.
fn block_on<F: Future>(future: F) -> F::Output {
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

fn device() -> (wgpu::Device, wgpu::Queue) {
    let instance = wgpu::Instance::default();
    let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
        .expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    eprintln!("adapter: {:?}", adapter.get_info());
    block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).expect("a device")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "logit counts");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_kernel_matches_the_cpu() {
    let (device, queue) = device();
    let checks = block_on(run_kernel_checks(device, queue)).expect("kernel checks ran");
    for c in &checks {
        eprintln!(
            "{} {:<70} max |err| {:.3e} (tolerance {:.1e})",
            if c.passed { "ok  " } else { "FAIL" },
            c.name,
            c.max_abs_error,
            c.tolerance
        );
    }
    assert!(checks.len() >= 20, "only {} checks", checks.len());
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert!(failed.is_empty(), "failed: {failed:?}");
}

/// Logits of f32 models must agree to this much (absolute; the tiny models' logits are of
/// order 1): dense products sum in another order on each side.
const LOGIT_TOLERANCE: f32 = 2e-4;

/// Packed (int4/int8) models repeat the CPU's floating-point steps exactly (see
/// core/src/shared_math.rs), so their logits must be bit-identical.
fn tolerance(weights: &ModelWeights) -> f32 {
    let packed = weights
        .clone()
        .into_entries()
        .iter()
        .any(|(_, e)| matches!(e, WeightEntry::Packed(_)));
    if packed {
        0.0
    } else {
        LOGIT_TOLERANCE
    }
}

fn compare(name: &str, config: &ModelConfig, weights: ModelWeights, max_binding: Option<u64>) {
    let tol = tolerance(&weights);
    let (device, queue) = device();
    let cpu = CpuDecoder::new(config, weights.clone()).expect("cpu model");
    let mut builder = WgslDecoderBuilder::new(device, queue, config).expect("builder");
    if let Some(bytes) = max_binding {
        builder = builder.with_max_binding_bytes(bytes);
    }
    for (n, entry) in weights.into_entries() {
        builder.add_tensor(&n, entry).expect("upload");
    }
    let gpu = builder.finish().expect("gpu model");
    let mut cc = cpu.new_cache(64).unwrap();
    let mut gc = gpu.new_cache(64).unwrap();
    let prompt = [3u32, 14, 15, 92, 65, 35];
    let a = cpu.forward_all(&prompt, &mut cc).unwrap();
    let b = block_on(gpu.forward_all(&prompt, &mut gc)).unwrap();
    let d = max_diff(&a, &b);
    eprintln!("{name}: prefill max |Δlogit| {d:.2e}");
    assert!(d <= tol, "{name}: prefill differs by {d}");
    for (step, t) in [7u32, 42, 96].into_iter().enumerate() {
        let a = cpu.forward_last(&[t], &mut cc).unwrap();
        let b = block_on(gpu.forward_last(&[t], &mut gc)).unwrap();
        let d = max_diff(&a, &b);
        eprintln!("{name}: decode {step} max |Δlogit| {d:.2e}");
        assert!(d <= tol, "{name}: decode step {step} differs by {d}");
    }
    assert_eq!((cc.len(), gc.len()), (9, 9));

    let (cpu_tokens, gpu_tokens) = greedy(&cpu, &gpu, &prompt, 16, 64);
    assert_eq!(cpu_tokens, gpu_tokens, "{name}: greedy tokens");
}

/// `n` greedy tokens after `prompt` from each model (the GPU one chooses on the device).
fn greedy(
    cpu: &CpuDecoder,
    gpu: &WgslDecoder,
    prompt: &[u32],
    n: usize,
    capacity: usize,
) -> (Vec<u32>, Vec<u32>) {
    let mut cc: CpuKvCache = cpu.new_cache(capacity).unwrap();
    let mut next = argmax(&cpu.forward_last(prompt, &mut cc).unwrap());
    let mut cpu_tokens = vec![next];
    while cpu_tokens.len() < n {
        next = argmax(&cpu.forward_last(&[next], &mut cc).unwrap());
        cpu_tokens.push(next);
    }
    let mut gc: WgslKvCache = gpu.new_cache(capacity).unwrap();
    let mut next = block_on(gpu.forward_argmax(prompt, &mut gc)).unwrap();
    let mut gpu_tokens = vec![next];
    while gpu_tokens.len() < n {
        next = block_on(gpu.forward_argmax(&[next], &mut gc)).unwrap();
        gpu_tokens.push(next);
    }
    (cpu_tokens, gpu_tokens)
}

#[test]
fn tiny_models_match_the_cpu_decoder() {
    // Gemma 3's tiny model: layer 0 slides over 5 positions (the 6-token prompt and the
    // decode steps reach past it), layer 1 is global; GELU, q/k norms, sandwich norms, a
    // scaled embedding and a second rotary base all run.
    for architecture in [
        Architecture::Llama,
        Architecture::Qwen2,
        Architecture::Gemma3,
    ] {
        let config = tiny_config(architecture);
        let dense = ModelWeights::random(&config, 11);
        let mut q4 = dense.clone();
        quantize_model_weights(&mut q4, QuantScheme::DEFAULT, None, |_, _, _| {}).unwrap();
        let mut q4_sym = dense.clone();
        quantize_model_weights(
            &mut q4_sym,
            QuantScheme::parse("q4g128-sym").unwrap(),
            Some(QuantScheme::parse("q4g32-sym-f32").unwrap()),
            |_, _, _| {},
        )
        .unwrap();
        compare(&format!("{architecture:?} f32"), &config, dense, None);
        compare(
            &format!("{architecture:?} q4g32"),
            &config,
            q4.clone(),
            None,
        );
        compare(
            &format!("{architecture:?} q4g128-sym"),
            &config,
            q4_sym,
            None,
        );
        // Every matrix in several row chunks, as a large vocabulary needs in the browser.
        compare(
            &format!("{architecture:?} q4g32 chunked"),
            &config,
            q4,
            Some(1024),
        );
    }
}

/// A 300-token prompt goes through in chunks of 128: with int4 weights the logits are
/// bit-identical (an ulp anywhere upstream would move some activation across an int8
/// rounding boundary within these 300 tokens), with f32 weights they agree as tightly as
/// for short prompts.
#[test]
fn long_prompts_go_through_in_chunks() {
    // Gemma 3's sliding window then reaches back across chunk boundaries.
    for architecture in [Architecture::Llama, Architecture::Gemma3] {
        long_prompt(architecture);
    }
}

fn long_prompt(architecture: Architecture) {
    let config = ModelConfig {
        max_position_embeddings: 400,
        ..tiny_config(architecture)
    };
    let prompt: Vec<u32> = (0..300).map(|i| (i * 7 % 97) as u32).collect();
    for quantized in [false, true] {
        let mut weights = ModelWeights::random(&config, 3);
        if quantized {
            quantize_model_weights(&mut weights, QuantScheme::DEFAULT, None, |_, _, _| {}).unwrap();
        }
        let (device, queue) = device();
        let cpu = CpuDecoder::new(&config, weights.clone()).unwrap();
        let gpu = WgslDecoder::from_weights(device, queue, &config, weights).unwrap();
        let a = cpu
            .forward_all(&prompt, &mut cpu.new_cache(400).unwrap())
            .unwrap();
        let b = block_on(gpu.forward_all(&prompt, &mut gpu.new_cache(400).unwrap())).unwrap();
        let d = max_diff(&a, &b);
        eprintln!("{architecture:?} 300-token prompt, quantized {quantized}: max |Δlogit| {d:.2e}");
        let tol = if quantized { 0.0 } else { LOGIT_TOLERANCE };
        assert!(d <= tol, "300-token prompt differs by {d}");
        if quantized {
            let (a, b) = greedy(&cpu, &gpu, &prompt, 16, 400);
            assert_eq!(a, b, "greedy tokens after a 300-token prompt");
        }
    }
}

#[test]
fn the_default_export_decodes_the_same_tokens() {
    let path = repo_root().join("models/smollm2-135m-q4");
    if !path.join("manifest.json").is_file() {
        eprintln!("note: {} is missing; skipping", path.display());
        return;
    }
    let cp = lmfast_core::checkpoint::load(&path).expect("load the export");
    let prompt = cp
        .tokenizer
        .encode("The capital of France is", false)
        .unwrap();
    let cpu = CpuDecoder::new(&cp.config, cp.weights.clone()).unwrap();
    let (device, queue) = device();
    let started = Instant::now();
    let gpu = WgslDecoder::from_weights(device, queue, &cp.config, cp.weights).unwrap();
    eprintln!(
        "WgslDecoder on {} in {:.2?}",
        gpu.describe(),
        started.elapsed()
    );
    let a = cpu
        .forward_last(&prompt, &mut cpu.new_cache(64).unwrap())
        .unwrap();
    let b = block_on(gpu.forward_last(&prompt, &mut gpu.new_cache(64).unwrap())).unwrap();
    assert_eq!(
        max_diff(&a, &b),
        0.0,
        "the prompt's logits are bit-identical"
    );
    let (cpu_tokens, gpu_tokens) = greedy(&cpu, &gpu, &prompt, 32, 256);
    eprintln!(
        "greedy: {:?}",
        cp.tokenizer.decode(&gpu_tokens, false).unwrap_or_default()
    );
    assert_eq!(cpu_tokens, gpu_tokens, "32 greedy tokens");

    // Decode speed: 64 steps of forward_argmax after the prompt.
    let mut cache = gpu.new_cache(256).unwrap();
    let t = Instant::now();
    let mut next = block_on(gpu.forward_argmax(&prompt, &mut cache)).unwrap();
    let prefill = t.elapsed();
    let t = Instant::now();
    for _ in 0..64 {
        next = block_on(gpu.forward_argmax(&[next], &mut cache)).unwrap();
    }
    let decode = t.elapsed();
    eprintln!(
        "prefill {} tokens in {:.2?}; decode 64 tokens in {:.2?} = {:.1} tok/s",
        prompt.len(),
        prefill,
        decode,
        64.0 / decode.as_secs_f64()
    );
}

/// Gemma 3 270M greedy-decodes the same tokens on both decoders, with bit-identical prompt
/// logits: the lmfast export when there is one, else the GGUF file's config and weights
/// packed to int4 here (they load as f32, and only packed products repeat the CPU's steps
/// exactly; its SentencePiece tokenizer is not read, so the prompt is given as ids);
/// skipped when neither is present.
#[test]
fn the_gemma_export_decodes_the_same_tokens() {
    let models = repo_root().join("models");
    let export = models.join("gemma3-270m-q4");
    let gguf = models.join("gemma-3-270m-q4_k_m.gguf");
    // "<bos>The capital of France is" in Gemma 3's vocabulary.
    let mut prompt = vec![2u32, 818, 5279, 529, 7001, 563];
    let (config, weights) = if export.join("manifest.json").is_file() {
        let cp = lmfast_core::checkpoint::load(&export).expect("load the export");
        prompt = cp
            .tokenizer
            .encode("The capital of France is", true)
            .unwrap();
        (cp.config, cp.weights)
    } else if gguf.is_file() {
        use lmfast_core::checkpoint::{config_from_gguf, weights_from_gguf};
        let file = lmfast_core::format::gguf::GgufFile::open(&gguf).expect("open the GGUF file");
        let config = config_from_gguf(&file).unwrap();
        let mut weights = weights_from_gguf(&file, &config).unwrap();
        quantize_model_weights(&mut weights, QuantScheme::DEFAULT, None, |_, _, _| {}).unwrap();
        (config, weights)
    } else {
        eprintln!(
            "note: neither {} nor {} is present; skipping",
            export.display(),
            gguf.display()
        );
        return;
    };
    assert_eq!(config.architecture, Architecture::Gemma3);
    let cpu = CpuDecoder::new(&config, weights.clone()).unwrap();
    let (device, queue) = device();
    let gpu = WgslDecoder::from_weights(device, queue, &config, weights).unwrap();
    let a = cpu
        .forward_last(&prompt, &mut cpu.new_cache(64).unwrap())
        .unwrap();
    let b = block_on(gpu.forward_last(&prompt, &mut gpu.new_cache(64).unwrap())).unwrap();
    assert_eq!(
        max_diff(&a, &b),
        0.0,
        "the prompt's logits are bit-identical"
    );
    let (cpu_tokens, gpu_tokens) = greedy(&cpu, &gpu, &prompt, 16, 64);
    eprintln!("Gemma 3 greedy token ids: {gpu_tokens:?}");
    assert_eq!(cpu_tokens, gpu_tokens, "16 greedy tokens");
}

#[test]
fn bad_tensors_are_named() {
    let config = tiny_config(Architecture::Llama);
    let weights = ModelWeights::random(&config, 1);
    let (device, queue) = device();

    let mut builder = WgslDecoderBuilder::new(device.clone(), queue.clone(), &config).unwrap();
    for (n, entry) in weights.clone().into_entries() {
        if n != "blk.1.ffn_up.weight" && n != "output_norm.weight" {
            builder.add_tensor(&n, entry).unwrap();
        }
    }
    let err = builder
        .finish()
        .err()
        .expect("missing tensors must fail")
        .to_string();
    assert!(
        err.contains("blk.1.ffn_up.weight") && err.contains("output_norm.weight"),
        "{err}"
    );

    let mut builder = WgslDecoderBuilder::new(device.clone(), queue.clone(), &config).unwrap();
    let wrong = HostTensor::new("x", vec![10, 64], vec![0.0; 640]).unwrap();
    let err = builder
        .add_tensor("blk.0.attn_k.weight", WeightEntry::Dense(wrong))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blk.0.attn_k.weight") && err.contains("shape"),
        "{err}"
    );

    let entries = weights.into_entries();
    let (name, entry) = entries
        .iter()
        .find(|(n, _)| n == "blk.0.attn_q.weight")
        .unwrap();
    builder.add_tensor(name, entry.clone()).unwrap();
    let err = builder
        .add_tensor(name, entry.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("blk.0.attn_q.weight"), "{err}");
    let err = builder
        .add_tensor("blk.9.attn_q.weight", entry.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("blk.9.attn_q.weight"), "{err}");

    // A packed part stacked with a dense one.
    let mut packed = ModelWeights::random(&config, 1);
    quantize_model_weights(&mut packed, QuantScheme::DEFAULT, None, |_, _, _| {}).unwrap();
    let packed_k = packed
        .into_entries()
        .into_iter()
        .find(|(n, _)| n == "blk.0.attn_k.weight")
        .unwrap()
        .1;
    let err = builder
        .add_tensor("blk.0.attn_k.weight", packed_k)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blk.0.attn_k.weight") && err.contains("stacked"),
        "{err}"
    );

    // Tokens outside the vocabulary and a full context are errors, not panics.
    let gpu = WgslDecoder::from_weights(device, queue, &config, ModelWeights::random(&config, 1))
        .unwrap();
    let mut cache = gpu.new_cache(4).unwrap();
    assert!(block_on(gpu.forward_last(&[97], &mut cache)).is_err());
    assert!(block_on(gpu.forward_last(&[1, 2, 3, 4, 5], &mut cache)).is_err());
    assert!(block_on(gpu.forward_last(&[], &mut cache)).is_err());
    assert!(gpu.new_cache(0).is_err());
}

//! The same tiny model on burn's CPU device (flex) and on its wgpu device (Vulkan; lavapipe
//! in CI) must give the same logits: one model definition, every device.
#![cfg(feature = "wgpu")]

use burn::tensor::Device;
use lmfast_core::config::Architecture;
use lmfast_core::decoder::burn::BurnDecoder;
use lmfast_core::decoder::DecoderCache;
use lmfast_core::weights::ModelWeights;
use lmfast_tests::tiny_config;

#[test]
fn flex_and_wgpu_give_the_same_logits() {
    let gpu = Device::wgpu_options()
        .init()
        .expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    eprintln!("wgpu device: {gpu:?}");
    for architecture in [Architecture::Llama, Architecture::Qwen2] {
        let config = tiny_config(architecture);
        let weights = ModelWeights::random(&config, 5);
        let on_cpu = BurnDecoder::new(&config, weights.clone(), &Device::flex()).unwrap();
        let on_gpu = BurnDecoder::new(&config, weights, &gpu).unwrap();
        let tokens = [3u32, 14, 15, 92, 65, 35];
        let mut cpu_cache = on_cpu.new_cache(16).unwrap();
        let mut gpu_cache = on_gpu.new_cache(16).unwrap();
        let cpu = on_cpu.forward_all(&tokens, &mut cpu_cache).unwrap();
        let gpu_logits = on_gpu.forward_all(&tokens, &mut gpu_cache).unwrap();
        let diff = cpu
            .iter()
            .zip(&gpu_logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff < 1e-4,
            "{architecture:?} prefill: flex and wgpu differ by {diff}"
        );
        // And a decode step through each device's KV cache.
        let cpu = on_cpu.forward_last(&[7], &mut cpu_cache).unwrap();
        let gpu_logits = on_gpu.forward_last(&[7], &mut gpu_cache).unwrap();
        let diff = cpu
            .iter()
            .zip(&gpu_logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff < 1e-4,
            "{architecture:?} decode: flex and wgpu differ by {diff}"
        );
    }
}

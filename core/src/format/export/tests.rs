use super::*;
use crate::checkpoint::{load_export, Checkpoint, CheckpointSource};
use crate::config::{Architecture, ModelConfig};
use crate::decoder::cpu::CpuDecoder;
use crate::quant::QuantScheme;
use crate::tokenizer::{Tokenizer, TokenizerSpecials};
use crate::weights::quantize_model_weights;
use crate::weights::ModelWeights;
use std::path::{Path, PathBuf};

fn config(architecture: Architecture) -> ModelConfig {
    ModelConfig {
        architecture,
        vocab_size: 200,
        hidden_size: 64,
        intermediate_size: 96,
        num_layers: 2,
        num_heads: 4,
        num_kv_heads: 2,
        head_dim: 16,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        rope_scaling: None,
        max_position_embeddings: 64,
        tie_word_embeddings: architecture == Architecture::Llama,
        variant: Default::default(),
        attention_bias: architecture == Architecture::Qwen2,
    }
}

fn tokenizer(vocab: usize) -> Tokenizer {
    let words: std::collections::HashMap<String, u32> =
        (0..vocab as u32).map(|i| (format!("w{i}"), i)).collect();
    let model = tokenizers::models::wordlevel::WordLevel::builder()
        .vocab(words.into_iter().collect())
        .unk_token("w0".into())
        .build()
        .unwrap();
    let inner = tokenizers::Tokenizer::new(model);
    Tokenizer::new(
        inner,
        TokenizerSpecials {
            bos_id: Some(1),
            eos_ids: vec![2],
            add_bos: false,
            add_eos: false,
        },
    )
}

fn checkpoint(architecture: Architecture) -> Checkpoint {
    let config = config(architecture);
    Checkpoint {
        weights: ModelWeights::random(&config, 7),
        tokenizer: tokenizer(config.vocab_size),
        chat_template: Some(
            crate::chat_template::ChatTemplate::new(
                "{% for m in messages %}{{ m.content }}{% endfor %}",
                Some("w1".into()),
                Some("w2".into()),
            )
            .unwrap(),
        ),
        source: CheckpointSource {
            path: "memory".into(),
            format: "random".into(),
            ..CheckpointSource::default()
        },
        config,
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lmfast-export-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options(quant: &str, shard_size: u64) -> ExportOptions {
    ExportOptions {
        quant: QuantScheme::parse(quant).unwrap(),
        embedding: None,
        shard_size,
        force: false,
    }
}

fn logits(cp: Checkpoint, tokens: &[u32]) -> Vec<f32> {
    let model = CpuDecoder::new(&cp.config, cp.weights).unwrap();
    let mut cache = model.new_cache(16).unwrap();
    model.forward_all(tokens, &mut cache).unwrap()
}

#[test]
fn packed_export_loads_back_to_identical_logits_across_many_shards() {
    let tmp = TempDir::new("roundtrip");
    for arch in [Architecture::Llama, Architecture::Qwen2] {
        for quant in ["q4g32", "q4g64-sym", "q8g32", "f32", "f16"] {
            let out = tmp.0.join(format!("{arch:?}-{quant}"));
            // 4 KiB shards force tensors to be split across shards.
            let summary =
                write_export(checkpoint(arch), &out, &options(quant, 4096), &mut |_| {}).unwrap();
            assert!(summary.shards > 3, "{quant}: {} shards", summary.shards);
            let manifest = read_manifest(&out).unwrap();
            assert!(manifest.shards.iter().all(|s| s.bytes <= 4096));
            let split = manifest
                .tensors
                .iter()
                .flat_map(|t| &t.arrays)
                .any(|a| a.pieces.len() > 1);
            assert!(split, "{quant}: some array should span shards");
            verify_export(&out).unwrap();

            let mut expected = checkpoint(arch);
            let scheme = QuantScheme::parse(quant).unwrap();
            quantize_model_weights(&mut expected.weights, scheme, None, |_, _, _| {}).unwrap();
            if quant == "f16" {
                // The export rounds dense matrices to f16; compare against that rounding.
                let names: Vec<String> = expected
                    .weights
                    .names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                for name in names {
                    let t = expected.weights.get(&name).unwrap().clone();
                    if t.shape.len() == 2 && !name.contains("norm") {
                        let data = t
                            .data
                            .iter()
                            .map(|v| half::f16::from_f32(*v).to_f32())
                            .collect();
                        expected.weights.insert(
                            name.clone(),
                            crate::weights::HostTensor::new(&name, t.shape, data).unwrap(),
                        );
                    }
                }
            }
            let loaded = load_export(&out).unwrap();
            assert_eq!(loaded.config, expected.config);
            let tokens = [3, 9, 27, 1, 39];
            assert_eq!(
                logits(loaded, &tokens),
                logits(expected, &tokens),
                "{arch:?} {quant}"
            );
        }
    }
}

#[test]
fn verify_names_a_corrupted_shard() {
    let tmp = TempDir::new("corrupt");
    let out = tmp.0.join("m");
    write_export(
        checkpoint(Architecture::Llama),
        &out,
        &options("q4g32", 8192),
        &mut |_| {},
    )
    .unwrap();
    let shard = out.join("shard-00001.bin");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&shard, bytes).unwrap();
    let err = verify_export(&out).unwrap_err().to_string();
    assert!(
        err.contains("shard-00001.bin") && err.contains("sha256"),
        "{err}"
    );
}

#[test]
fn a_truncated_shard_or_bad_manifest_is_reported_before_loading() {
    let tmp = TempDir::new("bad");
    let out = tmp.0.join("m");
    write_export(
        checkpoint(Architecture::Llama),
        &out,
        &options("q4g32", 8192),
        &mut |_| {},
    )
    .unwrap();
    let manifest_path = out.join(MANIFEST_FILE);
    let original = std::fs::read_to_string(&manifest_path).unwrap();

    let mut m: Manifest = serde_json::from_str(&original).unwrap();
    m.tensors[0].arrays[0].pieces[0].offset = 1 << 40;
    std::fs::write(&manifest_path, serde_json::to_string(&m).unwrap()).unwrap();
    let err = load_export(&out).unwrap_err().to_string();
    assert!(
        err.contains(&m.tensors[0].name) && err.contains("past the end"),
        "{err}"
    );

    let mut m: Manifest = serde_json::from_str(&original).unwrap();
    m.version = 99;
    std::fs::write(&manifest_path, serde_json::to_string(&m).unwrap()).unwrap();
    let err = load_export(&out).unwrap_err().to_string();
    assert!(err.contains("version 99"), "{err}");

    let mut m: Manifest = serde_json::from_str(&original).unwrap();
    m.shards[0].file = "../../etc/passwd".into();
    std::fs::write(&manifest_path, serde_json::to_string(&m).unwrap()).unwrap();
    let err = load_export(&out).unwrap_err().to_string();
    assert!(err.contains("not a plain file name"), "{err}");

    let mut m: Manifest = serde_json::from_str(&original).unwrap();
    m.tensors[1].arrays[0].element = "i3".into();
    std::fs::write(&manifest_path, serde_json::to_string(&m).unwrap()).unwrap();
    let err = load_export(&out).unwrap_err().to_string();
    assert!(
        err.contains(&m.tensors[1].name) && err.contains("unknown element type 'i3'"),
        "{err}"
    );
    let err = verify_export(&out).unwrap_err().to_string();
    assert!(err.contains("unknown element type 'i3'"), "{err}");

    let unknown_dtype = original.replacen("\"dtype\": \"packed\"", "\"dtype\": \"q3k\"", 1);
    assert_ne!(unknown_dtype, original);
    std::fs::write(&manifest_path, unknown_dtype).unwrap();
    let err = load_export(&out).unwrap_err().to_string();
    assert!(
        err.contains("manifest.json") && err.contains("q3k"),
        "{err}"
    );
    assert!(verify_export(&out).is_err());

    std::fs::write(&manifest_path, &original).unwrap();
    let shard = out.join("shard-00000.bin");
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() - 1]).unwrap();
    let err = load_export(&out).unwrap_err().to_string();
    assert!(
        err.contains("shard-00000.bin") && err.contains("bytes"),
        "{err}"
    );
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial") || n.contains(".old"))
        .collect()
}

#[test]
fn a_failed_export_leaves_nothing_and_an_existing_folder_is_kept() {
    let tmp = TempDir::new("atomic");
    let out = tmp.0.join("m");
    // A matrix whose width is not a multiple of 32 cannot be packed: the export fails.
    let mut cp = checkpoint(Architecture::Llama);
    cp.config.hidden_size = 48;
    cp.config.head_dim = 12;
    cp.weights = ModelWeights::random(&cp.config, 1);
    let err = write_export(cp, &out, &options("q4g32", 1 << 20), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("multiple of 32"), "{err}");
    assert!(!out.exists());
    assert!(leftovers(&tmp.0).is_empty(), "{:?}", leftovers(&tmp.0));

    write_export(
        checkpoint(Architecture::Llama),
        &out,
        &options("q8g32", 1 << 20),
        &mut |_| {},
    )
    .unwrap();
    let err = write_export(
        checkpoint(Architecture::Llama),
        &out,
        &options("q4g32", 1 << 20),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(read_manifest(&out).unwrap().quant, "q8g32");

    let mut force = options("q4g32", 1 << 20);
    force.force = true;
    write_export(checkpoint(Architecture::Llama), &out, &force, &mut |_| {}).unwrap();
    assert_eq!(read_manifest(&out).unwrap().quant, "q4g32");
    assert!(leftovers(&tmp.0).is_empty(), "{:?}", leftovers(&tmp.0));
}

#[cfg(feature = "burn")]
#[test]
fn the_burn_decoder_runs_packed_weights_through_the_same_kernels() {
    let tmp = TempDir::new("burn");
    for arch in [Architecture::Llama, Architecture::Qwen2] {
        let out = tmp.0.join(format!("{arch:?}"));
        write_export(
            checkpoint(arch),
            &out,
            &options("q4g32", 1 << 20),
            &mut |_| {},
        )
        .unwrap();
        let cp = load_export(&out).unwrap();
        let burn = crate::decoder::burn::BurnDecoder::new(
            &cp.config,
            cp.weights.clone(),
            &burn::tensor::Device::flex(),
        )
        .unwrap();
        let tokens = [3, 9, 27, 1, 39];
        let mut cache = burn.new_cache(16).unwrap();
        let from_burn = burn.forward_all(&tokens, &mut cache).unwrap();
        let from_cpu = logits(cp, &tokens);
        for (a, b) in from_burn.iter().zip(&from_cpu) {
            assert!((a - b).abs() < 1e-3, "{arch:?}: burn {a} vs fused cpu {b}");
        }
    }
}

/// A q4g32 export of the tiny `architecture` model in 4 KiB shards (tensors straddle them), in
/// `tmp/m`: its folder, manifest and shard bytes.
fn small_shards(architecture: Architecture, tmp: &str) -> (TempDir, Manifest, Vec<Vec<u8>>) {
    let tmp = TempDir::new(tmp);
    let out = tmp.0.join("m");
    write_export(
        checkpoint(architecture),
        &out,
        &options("q4g32", 4096),
        &mut |_| {},
    )
    .unwrap();
    let bytes = std::fs::read(out.join(MANIFEST_FILE)).unwrap();
    let manifest = parse_manifest(&bytes, "manifest.json").unwrap();
    let shards = manifest
        .shards
        .iter()
        .map(|s| std::fs::read(out.join(&s.file)).unwrap())
        .collect();
    (tmp, manifest, shards)
}

#[test]
fn shards_added_in_any_order_give_the_same_model_and_gaps_are_named() {
    let (tmp, manifest, shards) = small_shards(Architecture::Qwen2, "assembler");
    let out = tmp.0.join("m");

    // Backwards: tensors split across shards must still come out whole and in place.
    let mut assembler = ExportAssembler::new(manifest.clone());
    let mut weights = ModelWeights::new();
    for index in (0..shards.len()).rev() {
        for (name, entry) in assembler.add_shard(index, &shards[index]).unwrap() {
            match entry {
                crate::weights::WeightEntry::Dense(t) => weights.insert(name, t),
                crate::weights::WeightEntry::Packed(p) => weights.insert_packed(name, p),
            }
        }
    }
    assembler.finish().unwrap();
    assert_eq!(weights.len(), manifest.tensors.len());
    let mut from_disk = load_export(&out).unwrap();
    from_disk.weights = weights;
    let tokens = [5, 8, 13, 21];
    assert_eq!(
        logits(from_disk, &tokens),
        logits(load_export(&out).unwrap(), &tokens)
    );

    let mut assembler = ExportAssembler::new(manifest.clone());
    assembler.add_shard(0, &shards[0]).unwrap();
    let twice = assembler.add_shard(0, &shards[0]).unwrap_err().to_string();
    assert!(
        twice.contains("shard-00000.bin") && twice.contains("twice"),
        "{twice}"
    );
    let short = assembler
        .add_shard(1, &shards[1][1..])
        .unwrap_err()
        .to_string();
    assert!(short.contains("shard-00001.bin"), "{short}");
    let gaps = assembler.finish().unwrap_err().to_string();
    assert!(gaps.contains("shard-00001.bin"), "{gaps}");
}

#[test]
fn shards_fed_in_byte_ranges_give_the_same_tensors_as_whole_shards() {
    let (_tmp, manifest, shards) = small_shards(Architecture::Llama, "assembler-ranges");
    assert!(
        shards.len() > 1,
        "the test needs tensors that straddle shards"
    );
    let collect = |ranges: &dyn Fn(usize) -> usize| {
        let mut assembler = ExportAssembler::new(manifest.clone());
        let mut all = Vec::new();
        for (index, shard) in shards.iter().enumerate().rev() {
            let mut offset = 0;
            let mut step = 0;
            while offset < shard.len() {
                let len = ranges(step).min(shard.len() - offset);
                all.extend(
                    assembler
                        .add_shard_range(index, offset as u64, &shard[offset..offset + len])
                        .unwrap(),
                );
                offset += len;
                step += 1;
            }
        }
        assembler.finish().unwrap();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let whole = collect(&|_| usize::MAX);
    assert_eq!(whole.len(), manifest.tensors.len());
    // Ranges of odd sizes cut pieces anywhere, including inside a tensor's scales.
    assert_eq!(collect(&|step| [1, 7, 100, 333, 4096][step % 5]), whole);

    let mut assembler = ExportAssembler::new(manifest.clone());
    assembler.add_shard_range(0, 0, &shards[0][..10]).unwrap();
    let gap = assembler
        .add_shard_range(0, 20, &shards[0][20..30])
        .unwrap_err()
        .to_string();
    assert!(
        gap.contains("shard-00000.bin") && gap.contains("from 20"),
        "{gap}"
    );
    let past = assembler
        .add_shard_range(0, 10, &vec![0; shards[0].len()])
        .unwrap_err()
        .to_string();
    assert!(past.contains("the manifest says"), "{past}");
}

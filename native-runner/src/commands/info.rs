//! `lmfast info`: what a checkpoint is, without loading its weights.

use crate::model_path;
use anyhow::Context;
use clap::Args;
use lmfast_core::chat_template::ChatTemplate;
use lmfast_core::checkpoint::config_from_gguf;
use lmfast_core::format::gguf::GgufFile;
use lmfast_core::tokenizer::Tokenizer;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `lmfast info`.
#[derive(Args)]
pub struct InfoArgs {
    /// The model file (GGUF); defaults to the default model.
    model: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints architecture, parameter count, tensor types, context length and tokenizer summary.
pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let path = model_path::resolve(args.model)?;
    if path.is_dir() {
        return export_info(&path, args.json);
    }
    let file = GgufFile::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let config = config_from_gguf(&file)?;
    let tokenizer = Tokenizer::from_gguf(&file)?;
    let template = ChatTemplate::from_gguf(&file)?;

    let mut types: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for info in file.tensors() {
        let entry = types.entry(format!("{:?}", info.ggml_type)).or_default();
        entry.0 += 1;
        entry.1 += info.element_count();
    }
    let eos: Vec<String> = tokenizer
        .eos_ids()
        .iter()
        .map(|&id| format!("{id} {:?}", tokenizer.id_to_piece(id).unwrap_or_default()))
        .collect();
    let bos = tokenizer
        .bos_id()
        .map(|id| format!("{id} {:?}", tokenizer.id_to_piece(id).unwrap_or_default()));

    if args.json {
        let value = serde_json::json!({
            "path": path.display().to_string(),
            "format": format!("GGUF v{}", file.version()),
            "name": file.get_str("general.name").ok(),
            "file_bytes": file.file_size(),
            "config": config,
            "parameters": config.parameter_count(),
            "tensor_types": types.iter().map(|(k, (n, e))| serde_json::json!({"type": k, "tensors": n, "elements": e})).collect::<Vec<_>>(),
            "tokenizer": {
                "vocab_size": tokenizer.vocab_size(),
                "bos": bos,
                "eos": eos,
            },
            "chat_template": template.is_some(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }

    println!("file          {}", path.display());
    println!(
        "format        GGUF v{} ({:.1} MiB)",
        file.version(),
        file.file_size() as f64 / (1024.0 * 1024.0)
    );
    if let Ok(name) = file.get_str("general.name") {
        println!("name          {name}");
    }
    println!("architecture  {}", config.architecture.name());
    println!(
        "parameters    {} ({:.1} M)",
        config.parameter_count(),
        config.parameter_count() as f64 / 1e6
    );
    println!(
        "shape         {} layers, hidden {}, MLP {}, {} heads / {} kv heads of {}, vocab {}",
        config.num_layers,
        config.hidden_size,
        config.intermediate_size,
        config.num_heads,
        config.num_kv_heads,
        config.head_dim,
        config.vocab_size
    );
    println!("context       {} tokens", config.max_position_embeddings);
    println!(
        "rope          theta {}, scaling {:?}; rms eps {:e}; tied embeddings {}",
        config.rope_theta, config.rope_scaling, config.rms_norm_eps, config.tie_word_embeddings
    );
    println!("tensors       {} in all", file.tensors().len());
    for (ty, (count, elements)) in &types {
        println!("  {ty:<10} {count:>4} tensors, {elements:>11} weights");
    }
    println!(
        "tokenizer     {} tokens; BOS {}; EOS/end of turn {}",
        tokenizer.vocab_size(),
        bos.unwrap_or_else(|| "none".into()),
        eos.join(", ")
    );
    println!(
        "chat template {}",
        if template.is_some() {
            "yes (tokenizer.chat_template)"
        } else {
            "none"
        }
    );
    Ok(())
}

/// Summarizes an export folder from its manifest.
fn export_info(dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    use lmfast_core::format::export::{manifest::TensorStorage, read_manifest};
    let m = read_manifest(dir).with_context(|| format!("reading {}", dir.display()))?;
    let bytes: u64 = m.shards.iter().map(|s| s.bytes).sum();
    let mut kinds: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for t in &m.tensors {
        let kind = match &t.storage {
            TensorStorage::F32 => "f32".to_owned(),
            TensorStorage::F16 => "f16".to_owned(),
            TensorStorage::Packed { scheme } => scheme.to_string(),
        };
        let e = kinds.entry(kind).or_default();
        e.0 += 1;
        e.1 += t.shape.iter().product::<usize>() as u64;
    }
    let weights: u64 = kinds.values().map(|k| k.1).sum();
    let bpw = bytes as f64 * 8.0 / weights.max(1) as f64;
    if json {
        let value = serde_json::json!({
            "path": dir.display().to_string(),
            "format": format!("lmfast export v{}", m.version),
            "name": m.name,
            "quant": m.quant,
            "embedding_quant": m.embedding_quant,
            "shard_bytes": bytes,
            "shards": m.shards.len(),
            "bits_per_weight": bpw,
            "config": m.config,
            "parameters": m.config.parameter_count(),
            "tensor_types": kinds.iter().map(|(k, (n, e))| serde_json::json!({"type": k, "tensors": n, "elements": e})).collect::<Vec<_>>(),
            "chat_template": m.chat_template.is_some(),
            "source": m.source,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let c = &m.config;
    println!("folder        {}", dir.display());
    println!(
        "format        lmfast export v{} ({}, embedding {}, {} shards, {:.1} MiB, {bpw:.2} bits per weight)",
        m.version,
        m.quant,
        m.embedding_quant.as_deref().unwrap_or("?"),
        m.shards.len(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    if let Some(name) = &m.name {
        println!("name          {name}");
    }
    println!("source        {} ({})", m.source.path, m.source.format);
    println!(
        "architecture  {}, {} layers, hidden {}, MLP {}, {} heads / {} kv heads of {}, vocab {}",
        c.architecture.name(),
        c.num_layers,
        c.hidden_size,
        c.intermediate_size,
        c.num_heads,
        c.num_kv_heads,
        c.head_dim,
        c.vocab_size
    );
    println!("context       {} tokens", c.max_position_embeddings);
    for (kind, (count, elements)) in &kinds {
        println!("  {kind:<12} {count:>4} tensors, {elements:>11} weights");
    }
    println!(
        "chat template {}",
        m.chat_template.as_ref().map_or("none", |t| t.file.as_str())
    );
    Ok(())
}

//! Reading a Hugging Face model folder: `config.json`, `*.safetensors` (one file, or shards
//! listed in `model.safetensors.index.json`), `tokenizer.json` and `tokenizer_config.json`.

use super::{Checkpoint, CheckpointSource};
use crate::arch;
use crate::chat_template::ChatTemplate;
use crate::config::{Architecture, ModelConfig, RopeScaling, Variant};
use crate::error::{Error, Result};
use crate::tokenizer::{Tokenizer, TokenizerSpecials};
use crate::weights::{HostTensor, ModelWeights};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Whether `dir` looks like a Hugging Face model folder.
pub fn is_hf_folder(dir: &Path) -> bool {
    dir.join("config.json").is_file()
}

/// Loads a Hugging Face folder of a family in [`crate::arch`] (f32, f16 or bf16 weights).
pub fn load_hf(dir: &Path) -> Result<Checkpoint> {
    let config_json = read_json(&dir.join("config.json"))?;
    let config = config_from_hf(&config_json)?;
    let spec = arch::spec(config.architecture);
    let tokenizer_config = read_json_optional(&dir.join("tokenizer_config.json"))?;
    let generation_config = read_json_optional(&dir.join("generation_config.json"))?;
    let tokenizer = tokenizer_from_hf(dir, &config_json, &tokenizer_config, &generation_config)?;
    let chat_template = chat_template_from_hf(&tokenizer_config)?;

    let files = safetensor_files(dir)?;
    let mut weights = ModelWeights::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut file_bytes = 0;
    for file in &files {
        let bytes = std::fs::read(file).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        file_bytes += bytes.len() as u64;
        let shown = file.display().to_string();
        let st =
            SafeTensors::deserialize(&bytes).map_err(|e| Error::format(&shown, e.to_string()))?;
        for (hf_name, view) in st.tensors() {
            let Some(name) = spec.canonical_from_hf(&hf_name) else {
                continue;
            };
            let Some((_, role)) = arch::parse_name(&name) else {
                continue;
            };
            if !role.present(&config) {
                continue;
            }
            let mut data = to_f32(&hf_name, view.dtype(), view.data())?;
            if role.is_norm() && spec.hf_norm_offset != 0.0 {
                data.iter_mut().for_each(|w| *w += spec.hf_norm_offset);
            }
            *counts.entry(format!("{:?}", view.dtype())).or_default() += 1;
            weights.insert(
                name.clone(),
                HostTensor::new(&name, view.shape().to_vec(), data)?,
            );
        }
    }
    Ok(Checkpoint {
        config,
        weights,
        tokenizer,
        chat_template,
        source: CheckpointSource {
            path: dir.display().to_string(),
            format: format!(
                "Hugging Face safetensors ({} file{})",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            ),
            name: config_json["_name_or_path"].as_str().map(str::to_owned),
            tensor_types: counts.into_iter().collect(),
            file_bytes,
        },
    })
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::format(path.display().to_string(), e.to_string()))
}

fn read_json_optional(path: &Path) -> Result<Value> {
    if path.is_file() {
        read_json(path)
    } else {
        Ok(Value::Null)
    }
}

/// The safetensors files: those named by the index, else every `*.safetensors` in `dir`.
fn safetensor_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let json = read_json(&index)?;
        let map = json["weight_map"].as_object().ok_or_else(|| {
            Error::format(
                index.display().to_string(),
                "weight_map is missing or not an object",
            )
        })?;
        let files: BTreeSet<&str> = map.values().filter_map(Value::as_str).collect();
        return files
            .into_iter()
            .map(|f| {
                if f.contains('/') || f.contains('\\') {
                    return Err(Error::format(
                        index.display().to_string(),
                        format!("shard '{f}' is not a file name in the folder"),
                    ));
                }
                Ok(dir.join(f))
            })
            .collect();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::format(
            dir.display().to_string(),
            "no *.safetensors file and no model.safetensors.index.json",
        ));
    }
    Ok(files)
}

fn to_f32(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>> {
    Ok(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(Error::tensor(
                name,
                format!("dtype {other:?} is not supported (f32, f16 and bf16 are)"),
            ))
        }
    })
}

/// Builds a validated [`ModelConfig`] from `config.json`.
pub fn config_from_hf(c: &Value) -> Result<ModelConfig> {
    let model_type = c["model_type"].as_str().unwrap_or_default();
    let spec = arch::from_hf_model_type(model_type).ok_or_else(|| {
        let known: Vec<&str> = arch::ALL
            .iter()
            .flat_map(|s| s.hf_model_types.iter().copied())
            .collect();
        Error::config(
            "model_type",
            format!("'{model_type}' is not supported ({} are)", known.join(", ")),
        )
    })?;
    let architecture = spec.architecture;
    let int = |key: &str| -> Result<usize> {
        c[key]
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| Error::config(key, "missing or not a non-negative integer"))
    };
    let float = |key: &str, default: f64| -> Result<f32> {
        match &c[key] {
            Value::Null => Ok(default as f32),
            v => v
                .as_f64()
                .map(|v| v as f32)
                .ok_or_else(|| Error::config(key, "not a number")),
        }
    };
    let hidden_size = int("hidden_size")?;
    let num_heads = int("num_attention_heads")?;
    let num_kv_heads = c["num_key_value_heads"]
        .as_u64()
        .map_or(num_heads, |v| v as usize);
    let head_dim = match c["head_dim"].as_u64() {
        Some(v) => v as usize,
        None if num_heads > 0 => hidden_size / num_heads,
        None => 0,
    };
    // transformers 5 writes `rope_parameters` (per layer kind for Gemma 3) where 4.x wrote
    // `rope_theta` and `rope_scaling`.
    let rope_parameters = match &c["rope_parameters"] {
        Value::Object(p) if p.contains_key("full_attention") => {
            &c["rope_parameters"]["full_attention"]
        }
        other => other,
    };
    let scaling_json = match (&c["rope_scaling"], rope_parameters) {
        (Value::Null, Value::Object(p))
            if p.get("rope_type").and_then(Value::as_str) != Some("default") =>
        {
            rope_parameters
        }
        (s, _) => s,
    };
    let rope_scaling = match scaling_json {
        Value::Null => None,
        s => {
            let kind = s["rope_type"]
                .as_str()
                .or(s["type"].as_str())
                .unwrap_or_default();
            let factor = s["factor"].as_f64().unwrap_or(1.0) as f32;
            match kind {
                "linear" => Some(RopeScaling::Linear { factor }),
                "llama3" => Some(RopeScaling::Llama3 {
                    factor,
                    low_freq_factor: s["low_freq_factor"].as_f64().unwrap_or(1.0) as f32,
                    high_freq_factor: s["high_freq_factor"].as_f64().unwrap_or(4.0) as f32,
                    original_max_position_embeddings: s["original_max_position_embeddings"]
                        .as_u64()
                        .unwrap_or(8192)
                        as usize,
                }),
                "default" => None,
                other => {
                    return Err(Error::config(
                        "rope_scaling",
                        format!("type '{other}' is not supported (linear and llama3 are)"),
                    ))
                }
            }
        }
    };
    let rope_theta = match rope_parameters["rope_theta"].as_f64() {
        Some(theta) => theta as f32,
        None => float("rope_theta", 10_000.0)?,
    };
    let mut config = ModelConfig {
        architecture,
        vocab_size: int("vocab_size")?,
        hidden_size,
        intermediate_size: int("intermediate_size")?,
        num_layers: int("num_hidden_layers")?,
        num_heads,
        num_kv_heads,
        head_dim,
        rms_norm_eps: float("rms_norm_eps", 1e-6)?,
        rope_theta,
        rope_scaling,
        max_position_embeddings: int("max_position_embeddings")?,
        tie_word_embeddings: c["tie_word_embeddings"].as_bool().unwrap_or(false),
        attention_bias: architecture == Architecture::Qwen2
            || c["attention_bias"].as_bool().unwrap_or(false),
        variant: Variant::default(),
    };
    (spec.variant_from_hf)(c, &mut config)?;
    if let Some(theta) = c["rope_parameters"]["sliding_attention"]["rope_theta"].as_f64() {
        config.variant.rope_local_theta = Some(theta as f32);
    }
    config.validate()?;
    Ok(config)
}

fn ids(value: &Value) -> Vec<u32> {
    match value {
        Value::Number(n) => n.as_u64().map(|v| vec![v as u32]).unwrap_or_default(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_u64)
            .map(|v| v as u32)
            .collect(),
        _ => Vec::new(),
    }
}

/// A special token's text from `tokenizer_config.json` (a string or `{"content": …}`).
fn token_text(value: &Value) -> Option<String> {
    value
        .as_str()
        .or_else(|| value["content"].as_str())
        .map(str::to_owned)
}

fn tokenizer_from_hf(
    dir: &Path,
    config: &Value,
    tokenizer_config: &Value,
    generation_config: &Value,
) -> Result<Tokenizer> {
    let path = dir.join("tokenizer.json");
    let bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let probe = Tokenizer::from_json_bytes(&bytes, TokenizerSpecials::default())?;
    let by_text = |key: &str| token_text(&tokenizer_config[key]).and_then(|t| probe.token_id(&t));
    let bos_id = ids(&config["bos_token_id"])
        .first()
        .copied()
        .or_else(|| by_text("bos_token"));
    let mut eos_ids = ids(&config["eos_token_id"]);
    for id in ids(&generation_config["eos_token_id"])
        .into_iter()
        .chain(by_text("eos_token"))
    {
        if !eos_ids.contains(&id) {
            eos_ids.push(id);
        }
    }
    let specials = TokenizerSpecials {
        bos_id,
        eos_ids,
        add_bos: tokenizer_config["add_bos_token"].as_bool().unwrap_or(false),
        add_eos: tokenizer_config["add_eos_token"].as_bool().unwrap_or(false),
    };
    Tokenizer::from_json_bytes(&bytes, specials)
}

fn chat_template_from_hf(tokenizer_config: &Value) -> Result<Option<ChatTemplate>> {
    let source = match &tokenizer_config["chat_template"] {
        Value::String(s) => s.clone(),
        // A list of named templates: use the one named "default".
        Value::Array(list) => match list
            .iter()
            .find(|t| t["name"].as_str() == Some("default"))
            .and_then(|t| t["template"].as_str())
        {
            Some(s) => s.to_owned(),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    ChatTemplate::new(
        source,
        token_text(&tokenizer_config["bos_token"]),
        token_text(&tokenizer_config["eos_token"]),
    )
    .map(Some)
}

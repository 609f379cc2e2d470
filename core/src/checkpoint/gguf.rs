//! Reading a model out of a GGUF file: the config from `{arch}.*` metadata, the weights by
//! walking the family's tensor table ([`crate::arch`]).
//!
//! llama.cpp's converter reorders the rows of llama's q and k projections so that rotary pairs
//! are adjacent; the decoders use Hugging Face's half-split pairs, so those rows are put back
//! in Hugging Face order while loading (families the table marks as not interleaved are
//! stored in that order already).

use super::{Checkpoint, CheckpointSource};
use crate::arch::{self, Role, ROPE_FACTORS};
use crate::chat_template::ChatTemplate;
use crate::config::{Architecture, ModelConfig, RopeScaling, Variant};
use crate::error::{Error, Result};
use crate::format::gguf::GgufFile;
use crate::tokenizer::Tokenizer;
use crate::weights::{HostTensor, ModelWeights};
use std::collections::BTreeMap;
use std::path::Path;

/// Opens the GGUF file at `path` and reads config, weights, tokenizer and chat template.
pub fn load_gguf(path: &Path) -> Result<Checkpoint> {
    let file = GgufFile::open(path)?;
    let config = config_from_gguf(&file)?;
    let tokenizer = Tokenizer::from_gguf(&file)?;
    let chat_template = ChatTemplate::from_gguf(&file)?;
    let weights = weights_from_gguf(&file, &config)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for info in file.tensors() {
        *counts.entry(format!("{:?}", info.ggml_type)).or_default() += 1;
    }
    let source = CheckpointSource {
        path: path.display().to_string(),
        format: format!("GGUF v{}", file.version()),
        name: file.get_str("general.name").ok().map(str::to_owned),
        tensor_types: counts.into_iter().collect(),
        file_bytes: file.file_size(),
    };
    Ok(Checkpoint {
        config,
        weights,
        tokenizer,
        chat_template,
        source,
    })
}

/// Builds a validated [`ModelConfig`] from a GGUF file's `{arch}.*` metadata.
pub fn config_from_gguf(file: &GgufFile) -> Result<ModelConfig> {
    let arch_name = file.get_str("general.architecture")?;
    let architecture = Architecture::from_name(arch_name).ok_or_else(|| {
        Error::format(
            file.name(),
            format!(
                "general.architecture `{arch_name}` is not supported ({} are)",
                arch::known_names()
            ),
        )
    })?;
    let key = |suffix: &str| format!("{arch_name}.{suffix}");
    let usize_of = |suffix: &str| -> Result<usize> {
        let value = file.get_u64(&key(suffix))?;
        usize::try_from(value).map_err(|_| {
            Error::format(
                file.name(),
                format!("{} = {value} is too large", key(suffix)),
            )
        })
    };

    let hidden_size = usize_of("embedding_length")?;
    let num_heads = usize_of("attention.head_count")?;
    let num_kv_heads = if file.get(&key("attention.head_count_kv")).is_some() {
        usize_of("attention.head_count_kv")?
    } else {
        num_heads
    };
    if num_heads == 0 {
        return Err(Error::format(
            file.name(),
            format!("{} is zero", key("attention.head_count")),
        ));
    }
    let head_dim = if file.get(&key("attention.key_length")).is_some() {
        usize_of("attention.key_length")?
    } else {
        hidden_size / num_heads
    };
    let embedding_name = Role::TokenEmbedding.global_name();
    let embedding = file
        .tensor(embedding_name)
        .ok_or_else(|| Error::format(file.name(), format!("tensor {embedding_name} is missing")))?;
    let vocab_size = match file.get(&key("vocab_size")) {
        Some(_) => usize_of("vocab_size")?,
        None => embedding.shape().first().copied().unwrap_or(0),
    };
    let rope_theta = match file.get(&key("rope.freq_base")) {
        Some(_) => file.get_f32(&key("rope.freq_base"))?,
        None => 10_000.0,
    };
    let rope_scaling = rope_scaling_from_gguf(file, arch_name)?;
    let rope_factors = match file.tensor(ROPE_FACTORS) {
        Some(_) => Some(file.dequantize(ROPE_FACTORS)?.data),
        None => None,
    };

    let mut config = ModelConfig {
        architecture,
        vocab_size,
        hidden_size,
        intermediate_size: usize_of("feed_forward_length")?,
        num_layers: usize_of("block_count")?,
        num_heads,
        num_kv_heads,
        head_dim,
        rms_norm_eps: file.get_f32(&key("attention.layer_norm_rms_epsilon"))?,
        rope_theta,
        rope_scaling,
        max_position_embeddings: usize_of("context_length")?,
        tie_word_embeddings: file.tensor(Role::Output.global_name()).is_none(),
        attention_bias: file.tensor(&arch::block_name(0, Role::AttnQBias)).is_some(),
        variant: Variant {
            rope_factors,
            ..Variant::default()
        },
    };
    (arch::spec(architecture).variant_from_gguf)(file, &mut config)?;
    config.validate()?;
    Ok(config)
}

fn rope_scaling_from_gguf(file: &GgufFile, arch: &str) -> Result<Option<RopeScaling>> {
    let type_key = format!("{arch}.rope.scaling.type");
    let Some(_) = file.get(&type_key) else {
        return Ok(None);
    };
    match file.get_str(&type_key)? {
        "none" => Ok(None),
        "linear" => Ok(Some(RopeScaling::Linear {
            factor: file.get_f32(&format!("{arch}.rope.scaling.factor"))?,
        })),
        other => Err(Error::format(
            file.name(),
            format!("{type_key} = `{other}` is not supported (none and linear are)"),
        )),
    }
}

/// Dequantizes every weight of `config`'s model from `file` into canonical names and layout.
///
/// The family's tensor table says which tensors to read; one the table lists and the file
/// lacks is an error naming it.
pub fn weights_from_gguf(file: &GgufFile, config: &ModelConfig) -> Result<ModelWeights> {
    let interleaved = arch::spec(config.architecture).gguf_rotary_interleaved;
    let mut weights = ModelWeights::new();
    for spec in arch::tensors(config) {
        if file.tensor(&spec.name).is_none() {
            return Err(Error::format(
                file.name(),
                format!("tensor {} is missing", spec.name),
            ));
        }
        let mut tensor = file.dequantize(&spec.name)?;
        if interleaved && spec.role.is_rotary_projection() {
            let heads = match spec.role {
                Role::AttnQ => config.num_heads,
                _ => config.num_kv_heads,
            };
            tensor = unpermute_rotary_rows(&spec.name, tensor, heads)?;
        }
        weights.insert(spec.name, tensor);
    }
    Ok(weights)
}

/// Undoes llama.cpp's rotary row interleaving of a q or k projection (`[heads * head_dim, in]`).
///
/// llama.cpp stores row `h*d + 2*i + j` what Hugging Face keeps at row `h*d + j*d/2 + i`.
pub fn unpermute_rotary_rows(name: &str, tensor: HostTensor, heads: usize) -> Result<HostTensor> {
    let [rows, cols] = tensor.shape[..] else {
        return Err(Error::tensor(
            name,
            format!("expected a matrix, found shape {:?}", tensor.shape),
        ));
    };
    if heads == 0 || rows % heads != 0 || !(rows / heads).is_multiple_of(2) {
        return Err(Error::tensor(
            name,
            format!("{rows} rows cannot be split into {heads} heads of even width"),
        ));
    }
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut data = vec![0.0f32; tensor.data.len()];
    for h in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let from = (h * head_dim + 2 * i + j) * cols;
                let to = (h * head_dim + j * half + i) * cols;
                data[to..to + cols].copy_from_slice(&tensor.data[from..from + cols]);
            }
        }
    }
    HostTensor::new(name, tensor.shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_puts_rotary_pairs_back_in_halves() {
        // One head of width 4, one column: llama.cpp order is [x0, x2, x1, x3] for HF [x0, x1, x2, x3].
        let stored = HostTensor::new("q", vec![4, 1], vec![0.0, 2.0, 1.0, 3.0]).unwrap();
        let hf = unpermute_rotary_rows("q", stored, 1).unwrap();
        assert_eq!(hf.data, vec![0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn unpermute_rejects_rows_that_do_not_split_into_heads() {
        let stored = HostTensor::new("q", vec![6, 1], vec![0.0; 6]).unwrap();
        let err = unpermute_rotary_rows("blk.0.attn_q.weight", stored, 4).unwrap_err();
        assert!(err.to_string().contains("blk.0.attn_q.weight"), "{err}");
    }
}

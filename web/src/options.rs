//! What a generation request from JavaScript may say, parsed from JSON.

use lmfast_core::generate::{fresh_seed, GenerateOptions, RequestKind, DEFAULTS};
use lmfast_core::sampling::SamplingParams;
use serde::Deserialize;

/// One generation's settings as the JavaScript face sends them (OpenAI's names; the
/// prompt itself is passed separately as token ids).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationRequest {
    /// Most tokens to generate (default 256).
    pub max_tokens: Option<usize>,
    /// 0 is greedy (default 0.7, as the CLI's chat).
    pub temperature: Option<f32>,
    /// Keep the smallest set of tokens whose probability reaches this (default 1 = off).
    pub top_p: Option<f32>,
    /// Keep the k most likely tokens (default 0 = all).
    pub top_k: Option<usize>,
    /// Drop tokens below this fraction of the best one's probability.
    pub min_p: Option<f32>,
    /// Penalise tokens already in the context (1 = off).
    pub repetition_penalty: Option<f32>,
    /// Random seed; the same seed and settings give the same text.
    pub seed: Option<u64>,
    /// Stop strings (not part of the output).
    pub stop: Option<Vec<String>>,
    /// Keep going past end-of-sequence tokens (benchmarks that need a fixed length).
    pub ignore_eos: Option<bool>,
}

impl GenerationRequest {
    /// Parses the JSON the worker sends (`{}` means every default).
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("generation options: {e}"))
    }

    /// The core options, with the model's end-of-sequence ids added as stop tokens.
    pub fn to_options(
        &self,
        eos_ids: &[u32],
        kind: RequestKind,
    ) -> Result<GenerateOptions, String> {
        let d = DEFAULTS;
        let sampling = SamplingParams {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_k: self.top_k.unwrap_or(d.top_k),
            top_p: self.top_p.unwrap_or(d.top_p),
            min_p: self.min_p.unwrap_or(d.min_p),
            repetition_penalty: self.repetition_penalty.unwrap_or(d.repetition_penalty),
            seed: self.seed.unwrap_or_else(fresh_seed),
        };
        sampling.validate().map_err(|e| e.to_string())?;
        Ok(GenerateOptions {
            max_tokens: self.max_tokens.unwrap_or(d.max_tokens(kind)),
            sampling,
            stop_strings: self.stop.clone().unwrap_or_default(),
            stop_token_ids: if self.ignore_eos == Some(true) {
                Vec::new()
            } else {
                eos_ids.to_vec()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_names_map_onto_the_core_options() {
        let r = GenerationRequest::from_json(
            r#"{"max_tokens": 5, "temperature": 0, "top_k": 3, "seed": 9, "stop": ["\n"]}"#,
        )
        .unwrap();
        let o = r.to_options(&[2], RequestKind::Text).unwrap();
        assert_eq!(o.max_tokens, 5);
        assert_eq!(o.sampling.temperature, 0.0);
        assert_eq!(o.sampling.top_k, 3);
        assert_eq!(o.sampling.seed, 9);
        assert_eq!(o.stop_strings, vec!["\n".to_owned()]);
        assert_eq!(o.stop_token_ids, vec![2]);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        let e = GenerationRequest::from_json(r#"{"temprature": 1}"#).unwrap_err();
        assert!(e.contains("temprature"), "{e}");
        let r = GenerationRequest::from_json(r#"{"temperature": -1}"#).unwrap();
        let e = r.to_options(&[], RequestKind::Chat).unwrap_err();
        assert!(e.contains("temperature"), "{e}");
    }
}

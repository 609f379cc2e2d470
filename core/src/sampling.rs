//! Choosing the next token from the model's logits: greedy, or sampled after the usual
//! filters, in the order Hugging Face applies its logits processors.

use crate::error::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How to pick tokens. `temperature == 0` means greedy; the filters then do nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// Softmax temperature; 0 picks the most likely token every time.
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (0 = no limit).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to `top_p` (1 = off).
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one (0 = off).
    pub min_p: f32,
    /// Divide positive (multiply negative) logits of tokens already seen (1 = off).
    pub repetition_penalty: f32,
    /// Seed of the random generator: the same seed gives the same tokens on every platform.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            seed: 0,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        Self::default()
    }

    /// Checks the ranges, naming the first bad parameter.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Generation(what.to_owned()));
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad(&format!(
                "temperature {} must be 0 or more",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(&format!("top_p {} must be in (0, 1]", self.top_p));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad(&format!("min_p {} must be in [0, 1]", self.min_p));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad(&format!(
                "repetition_penalty {} must be greater than 0",
                self.repetition_penalty
            ));
        }
        Ok(())
    }
}

/// Picks tokens according to [`SamplingParams`], with its own seeded random generator.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha8Rng,
    candidates: Vec<(u32, f32)>,
}

impl Sampler {
    /// A sampler for `params` (validated).
    pub fn new(params: SamplingParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(params.seed),
            params,
            candidates: Vec::new(),
        })
    }

    /// The parameters in use.
    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// The next token given `logits` (modified in place by the penalty) and the tokens so far.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        apply_repetition_penalty(logits, history, self.params.repetition_penalty);
        if self.params.temperature == 0.0 {
            return argmax(logits);
        }
        let inv_t = 1.0 / self.params.temperature;

        self.candidates.clear();
        self.candidates.extend(
            logits
                .iter()
                .enumerate()
                .map(|(i, &l)| (i as u32, l * inv_t)),
        );
        let by_logit_desc =
            |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let k = self.params.top_k;
        if k > 0 && k < self.candidates.len() {
            self.candidates.select_nth_unstable_by(k - 1, by_logit_desc);
            self.candidates.truncate(k);
        }
        self.candidates.sort_unstable_by(by_logit_desc);

        // Softmax over the survivors; probabilities are stored in place of the logits.
        let max = self.candidates.first().map_or(0.0, |c| c.1);
        let mut sum = 0.0f64;
        for c in &mut self.candidates {
            c.1 = (c.1 - max).exp();
            sum += f64::from(c.1);
        }
        for c in &mut self.candidates {
            c.1 = (f64::from(c.1) / sum) as f32;
        }
        if self.params.top_p < 1.0 {
            let mut cumulative = 0.0f32;
            let keep = self
                .candidates
                .iter()
                .position(|c| {
                    cumulative += c.1;
                    cumulative >= self.params.top_p
                })
                .map_or(self.candidates.len(), |i| i + 1);
            self.candidates.truncate(keep.max(1));
        }
        if self.params.min_p > 0.0 {
            let floor = self.params.min_p * self.candidates.first().map_or(0.0, |c| c.1);
            let keep = self.candidates.iter().take_while(|c| c.1 >= floor).count();
            self.candidates.truncate(keep.max(1));
        }

        let total: f32 = self.candidates.iter().map(|c| c.1).sum();
        let mut point = self.rng.random::<f32>() * total;
        for &(id, p) in &self.candidates {
            if point < p {
                return id;
            }
            point -= p;
        }
        self.candidates.last().map_or(0, |c| c.0)
    }
}

/// The index of the largest logit; ties go to the lowest id (as `torch.argmax` does).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Hugging Face's repetition penalty over the distinct tokens of `history`.
fn apply_repetition_penalty(logits: &mut [f32], history: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let mut seen = vec![false; logits.len()];
    for &id in history {
        let Some(logit) = logits.get_mut(id as usize) else {
            continue;
        };
        if std::mem::replace(&mut seen[id as usize], true) {
            continue;
        }
        *logit = if *logit > 0.0 {
            *logit / penalty
        } else {
            *logit * penalty
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(params: SamplingParams) -> Sampler {
        Sampler::new(params).unwrap()
    }

    #[test]
    fn greedy_takes_the_largest_and_breaks_ties_low() {
        let mut s = sampler(SamplingParams::greedy());
        assert_eq!(s.sample(&mut [0.1, 3.0, -1.0, 3.0], &[]), 1);
    }

    #[test]
    fn top_k_one_is_argmax_whatever_the_seed() {
        for seed in 0..20 {
            let params = SamplingParams {
                temperature: 1.5,
                top_k: 1,
                seed,
                ..Default::default()
            };
            assert_eq!(sampler(params).sample(&mut [0.5, 0.2, 2.0, 1.9], &[]), 2);
        }
    }

    #[test]
    fn top_p_keeps_only_the_smallest_nucleus() {
        // Probabilities ≈ [0.64, 0.24, 0.09, 0.03]: top_p 0.8 keeps ids 0 and 1 only.
        let logits = [3.0f32, 2.0, 1.0, 0.0];
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 0.8,
            ..Default::default()
        };
        let mut s = sampler(params);
        for _ in 0..500 {
            let id = s.sample(&mut logits.clone(), &[]);
            assert!(id <= 1, "sampled {id} outside the nucleus");
        }
    }

    #[test]
    fn min_p_cuts_unlikely_tokens() {
        let logits = [5.0f32, 4.9, 0.0, -1.0];
        let params = SamplingParams {
            temperature: 1.0,
            min_p: 0.5,
            ..Default::default()
        };
        let mut s = sampler(params);
        for _ in 0..500 {
            assert!(s.sample(&mut logits.clone(), &[]) <= 1);
        }
    }

    #[test]
    fn same_seed_same_tokens_other_seed_other_tokens() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = |seed| {
            let mut s = sampler(SamplingParams {
                temperature: 1.0,
                seed,
                ..Default::default()
            });
            (0..64)
                .map(|_| s.sample(&mut logits.clone(), &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn samples_follow_the_softmax() {
        let logits = [1.0f32, 0.0, -1.0];
        let mut s = sampler(SamplingParams {
            temperature: 1.0,
            seed: 3,
            ..Default::default()
        });
        let mut counts = [0usize; 3];
        let draws = 20_000;
        for _ in 0..draws {
            counts[s.sample(&mut logits.clone(), &[]) as usize] += 1;
        }
        let z: f32 = logits.iter().map(|l| l.exp()).sum();
        for (i, &c) in counts.iter().enumerate() {
            let want = logits[i].exp() / z;
            let got = c as f32 / draws as f32;
            assert!(
                (got - want).abs() < 0.015,
                "id {i}: {got} vs softmax {want}"
            );
        }
    }

    #[test]
    fn repetition_penalty_divides_positive_and_multiplies_negative() {
        let mut logits = [2.0f32, -2.0, 1.0];
        apply_repetition_penalty(&mut logits, &[0, 1, 0], 2.0);
        assert_eq!(logits, [1.0, -4.0, 1.0]);
    }

    #[test]
    fn bad_parameters_are_named() {
        let err = Sampler::new(SamplingParams {
            top_p: 0.0,
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("top_p"), "{err}");
        let err = Sampler::new(SamplingParams {
            temperature: -1.0,
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("temperature"), "{err}");
    }
}

//! The names and parameters of lmfast's own weight formats (`q4g32`, `q8g32`, `f16`, …).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the scale (and minimum) of each group is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleType {
    /// IEEE half precision: 16 bits per group (the default).
    F16,
    /// Single precision: 32 bits per group, for exactness studies.
    F32,
}

impl ScaleType {
    /// Bytes one stored scale takes.
    pub fn bytes(self) -> usize {
        match self {
            ScaleType::F16 => 2,
            ScaleType::F32 => 4,
        }
    }
}

/// How the int4 scale of a symmetric group is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleRule {
    /// Searches candidate scales and refits by least squares (lmfast's default).
    Search,
    /// llama.cpp's Q4_0 rule: the element of largest magnitude maps to -8.
    GgmlQ4_0,
}

/// A weight storage scheme for matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum QuantScheme {
    /// 4-bit integers in groups along the reduction dimension, 8 nibbles per `u32`.
    Q4 {
        /// Elements sharing one scale (32, 64 or 128).
        group: usize,
        /// `value = q·scale + min` when true; `value = (q − 8)·scale` when false.
        asymmetric: bool,
        /// How scales (and minimums) are stored.
        scale: ScaleType,
        /// How symmetric scales are chosen.
        rule: ScaleRule,
    },
    /// 8-bit integers in groups, 4 per `u32`, `value = q·scale`.
    Q8 {
        /// Elements sharing one scale.
        group: usize,
        /// How scales are stored.
        scale: ScaleType,
    },
    /// Dense half precision.
    F16,
    /// Dense single precision.
    F32,
}

impl QuantScheme {
    /// The default scheme of `lmfast export`: asymmetric int4 in groups of 32 (`q4g32`).
    pub const DEFAULT: QuantScheme = QuantScheme::Q4 {
        group: 32,
        asymmetric: true,
        scale: ScaleType::F16,
        rule: ScaleRule::Search,
    };

    /// The scheme the embedding (and an untied head) gets by default when the matrices use
    /// `self`: 8 bits under int4 (as llama.cpp's Q4 files keep it), otherwise the same.
    ///
    /// Measured on SmolLM2-135M (BENCHMARKS.md): a 4-bit embedding raises perplexity from
    /// 27.1 to 29.0 for 12 MiB less; the 8-bit one costs 0.3% over f32.
    pub fn default_embedding(self) -> QuantScheme {
        match self {
            QuantScheme::Q4 { .. } => QuantScheme::Q8 {
                group: 32,
                scale: ScaleType::F16,
            },
            other => other,
        }
    }

    /// Every scheme name `parse` accepts, for help texts and errors.
    pub const NAMES: &'static [&'static str] = &[
        "q4g32",
        "q4g64",
        "q4g128",
        "q4g32-sym",
        "q4g64-sym",
        "q4g128-sym",
        "q4g32-f32",
        "q4g32-sym-f32",
        "q4_0",
        "q8g32",
        "q8g64",
        "f16",
        "f32",
    ];

    /// Parses a scheme name: `q4g32`, `q4g64`, `q4g128` (asymmetric int4: scale and minimum
    /// per group; `-asym` may be spelled out), `q4g32-sym` (symmetric, scale only), a `-f32`
    /// suffix for f32 scales, `q4_0` (llama.cpp's Q4_0 rule in our layout), `q8g32`, `q8g64`,
    /// `f16` or `f32`.
    ///
    /// int4 is asymmetric unless asked otherwise because re-quantizing already-quantized
    /// asymmetric checkpoints (Q4_1 GGUFs) symmetrically loses far more quality; see
    /// BENCHMARKS.md for the measurements.
    pub fn parse(name: &str) -> Result<Self> {
        let bad = || {
            Error::config(
                "quant",
                format!(
                    "unknown scheme '{name}'; expected one of {}",
                    Self::NAMES.join(", ")
                ),
            )
        };
        match name {
            "f16" => return Ok(QuantScheme::F16),
            "f32" => return Ok(QuantScheme::F32),
            "q4_0" => {
                return Ok(QuantScheme::Q4 {
                    group: 32,
                    asymmetric: false,
                    scale: ScaleType::F16,
                    rule: ScaleRule::GgmlQ4_0,
                })
            }
            _ => {}
        }
        let (bits, rest) = if let Some(rest) = name.strip_prefix("q4g") {
            (4, rest)
        } else if let Some(rest) = name.strip_prefix("q8g") {
            (8, rest)
        } else {
            return Err(bad());
        };
        let mut parts = rest.split('-');
        let group: usize = parts
            .next()
            .and_then(|g| g.parse().ok())
            .filter(|g| [32, 64, 128].contains(g))
            .ok_or_else(bad)?;
        let (mut asymmetric, mut scale) = (bits == 4, ScaleType::F16);
        for part in parts {
            match part {
                "asym" if bits == 4 => asymmetric = true,
                "sym" if bits == 4 => asymmetric = false,
                "f32" => scale = ScaleType::F32,
                _ => return Err(bad()),
            }
        }
        Ok(if bits == 4 {
            QuantScheme::Q4 {
                group,
                asymmetric,
                scale,
                rule: ScaleRule::Search,
            }
        } else {
            QuantScheme::Q8 { group, scale }
        })
    }

    /// Storage bits per weight, scales and minimums included.
    pub fn bits_per_weight(&self) -> f64 {
        match *self {
            QuantScheme::Q4 {
                group,
                asymmetric,
                scale,
                ..
            } => {
                let per_group = scale.bytes() * 8 * if asymmetric { 2 } else { 1 };
                4.0 + per_group as f64 / group as f64
            }
            QuantScheme::Q8 { group, scale } => 8.0 + (scale.bytes() * 8) as f64 / group as f64,
            QuantScheme::F16 => 16.0,
            QuantScheme::F32 => 32.0,
        }
    }

    /// Elements per group for the integer schemes.
    pub fn group(&self) -> Option<usize> {
        match *self {
            QuantScheme::Q4 { group, .. } | QuantScheme::Q8 { group, .. } => Some(group),
            _ => None,
        }
    }
}

impl fmt::Display for QuantScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            QuantScheme::Q4 {
                rule: ScaleRule::GgmlQ4_0,
                ..
            } => write!(f, "q4_0"),
            QuantScheme::Q4 {
                group,
                asymmetric,
                scale,
                ..
            } => {
                write!(f, "q4g{group}")?;
                if !asymmetric {
                    write!(f, "-sym")?;
                }
                if scale == ScaleType::F32 {
                    write!(f, "-f32")?;
                }
                Ok(())
            }
            QuantScheme::Q8 { group, scale } => {
                write!(f, "q8g{group}")?;
                if scale == ScaleType::F32 {
                    write!(f, "-f32")?;
                }
                Ok(())
            }
            QuantScheme::F16 => write!(f, "f16"),
            QuantScheme::F32 => write!(f, "f32"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_display() {
        for name in QuantScheme::NAMES {
            let scheme = QuantScheme::parse(name).unwrap();
            assert_eq!(&scheme.to_string(), name);
        }
    }

    #[test]
    fn bits_per_weight_counts_scales_and_minimums() {
        let bits = |name: &str| QuantScheme::parse(name).unwrap().bits_per_weight();
        assert_eq!(bits("q4g32-sym"), 4.5);
        assert_eq!(bits("q4g32"), 5.0);
        assert_eq!(bits("q4_0"), 4.5);
        assert_eq!(bits("q4g128-sym"), 4.125);
        assert_eq!(bits("q8g32"), 8.5);
        assert_eq!(
            QuantScheme::parse("q4g32-asym").unwrap(),
            QuantScheme::DEFAULT
        );
    }

    #[test]
    fn unknown_names_are_rejected_with_the_list() {
        let err = QuantScheme::parse("q4g48").unwrap_err().to_string();
        assert!(err.contains("q4g48") && err.contains("q4g32"), "{err}");
        assert!(QuantScheme::parse("q8g32-asym").is_err());
        assert!(QuantScheme::parse("q8g32-sym").is_err());
    }
}

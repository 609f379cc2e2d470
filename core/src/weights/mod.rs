//! Model weights on the host, by canonical name, before they are moved to a compute device.
//!
//! Canonical names and layouts are the tensor table's ([`crate::arch`]): matrices row-major
//! `[out_features, in_features]`, q/k projection rows in Hugging Face's order (rotary pairs
//! are `(i, i + head_dim/2)`), whatever the checkpoint's format was.

mod by_role;
mod quantize;

pub use by_role::{LayerWeights, ModelParts};
pub use quantize::quantize_model_weights;

use crate::error::{Error, Result};
use crate::quant::PackedMatrix;
use std::collections::HashMap;

/// One dense f32 tensor in host memory, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first (`[rows, cols]` for a matrix).
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// A tensor of `shape` holding `data`; fails when the lengths disagree.
    pub fn new(name: &str, shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let want: usize = shape.iter().product();
        if want != data.len() {
            return Err(Error::tensor(
                name,
                format!("shape {shape:?} needs {want} values, got {}", data.len()),
            ));
        }
        Ok(Self { shape, data })
    }
}

/// A weight matrix as stored: dense f32, or packed integers that the kernels read directly.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightMatrix {
    /// Dense `[rows, cols]` values.
    Dense(HostTensor),
    /// Grouped int4/int8 (from an export).
    Packed(PackedMatrix),
}

impl WeightMatrix {
    /// `[rows, cols]`.
    pub fn shape(&self) -> [usize; 2] {
        match self {
            WeightMatrix::Dense(t) => [t.shape[0], t.shape[1]],
            WeightMatrix::Packed(p) => [p.rows(), p.cols()],
        }
    }
}

/// All weights of a model by canonical name; the model takes (moves out) what it needs.
///
/// Dense tensors and packed matrices live side by side: an export's matrices stay packed
/// until a device that cannot use them asks for a dense copy.
#[derive(Debug, Default, Clone)]
pub struct ModelWeights {
    tensors: HashMap<String, HostTensor>,
    packed: HashMap<String, PackedMatrix>,
}

impl ModelWeights {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces tensor `name`.
    pub fn insert(&mut self, name: impl Into<String>, tensor: HostTensor) {
        self.tensors.insert(name.into(), tensor);
    }

    /// Adds or replaces packed matrix `name`.
    pub fn insert_packed(&mut self, name: impl Into<String>, matrix: PackedMatrix) {
        self.packed.insert(name.into(), matrix);
    }

    /// Whether tensor `name` is present (dense or packed).
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name) || self.packed.contains_key(name)
    }

    /// Borrows packed matrix `name`.
    pub fn get_packed(&self, name: &str) -> Option<&PackedMatrix> {
        self.packed.get(name)
    }

    /// Moves matrix `name` out as stored (packed stays packed), checking its shape.
    pub fn take_matrix(&mut self, name: &str, shape: [usize; 2]) -> Result<WeightMatrix> {
        if let Some(p) = self.packed.remove(name) {
            if [p.rows(), p.cols()] != shape {
                return Err(Error::tensor(
                    name,
                    format!("expected shape {shape:?}, found {:?}", [p.rows(), p.cols()]),
                ));
            }
            return Ok(WeightMatrix::Packed(p));
        }
        self.take(name, &shape).map(WeightMatrix::Dense)
    }

    /// Borrows tensor `name`.
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.get(name)
    }

    /// Moves tensor `name` out, checking its shape; a missing tensor or wrong shape names it.
    ///
    /// A packed matrix asked for this way is dequantized (for devices without our kernels).
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<HostTensor> {
        if let Some(p) = self.packed.remove(name) {
            let tensor = HostTensor::new(name, vec![p.rows(), p.cols()], p.dequantize())?;
            self.tensors.insert(name.to_owned(), tensor);
        }
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::tensor(name, "missing from the checkpoint"))?;
        if tensor.shape != shape {
            return Err(Error::tensor(
                name,
                format!("expected shape {shape:?}, found {:?}", tensor.shape),
            ));
        }
        Ok(tensor)
    }

    /// Names of the tensors still held, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .tensors
            .keys()
            .chain(self.packed.keys())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    /// Number of tensors held.
    pub fn len(&self) -> usize {
        self.tensors.len() + self.packed.len()
    }

    /// Whether no tensor is held.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty() && self.packed.is_empty()
    }

    /// Iterates over the dense tensors.
    pub fn dense(&self) -> impl Iterator<Item = (&str, &HostTensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Moves every dense tensor and packed matrix out, sorted by name.
    pub fn into_entries(self) -> Vec<(String, WeightEntry)> {
        let mut all: Vec<(String, WeightEntry)> = self
            .tensors
            .into_iter()
            .map(|(k, v)| (k, WeightEntry::Dense(v)))
            .chain(
                self.packed
                    .into_iter()
                    .map(|(k, v)| (k, WeightEntry::Packed(v))),
            )
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// One stored weight, dense or packed (any rank for dense).
#[derive(Debug, Clone, PartialEq)]
pub enum WeightEntry {
    /// Dense f32 values.
    Dense(HostTensor),
    /// Packed integers.
    Packed(PackedMatrix),
}

impl ModelWeights {
    /// Quantizes every matrix that `choose` gives a packed scheme (`None` keeps it dense).
    pub fn quantize_with(
        &mut self,
        mut choose: impl FnMut(&str, &HostTensor) -> Option<crate::quant::QuantScheme>,
        mut progress: impl FnMut(&str),
    ) -> Result<()> {
        let mut names: Vec<String> = self.tensors.keys().cloned().collect();
        names.sort_unstable();
        for name in names {
            let Some(tensor) = self.tensors.get(&name) else {
                continue;
            };
            let Some(scheme) = choose(&name, tensor) else {
                continue;
            };
            let [rows, cols] = tensor.shape[..] else {
                return Err(Error::tensor(&name, "only matrices can be packed"));
            };
            let packed = PackedMatrix::quantize(&name, &tensor.data, rows, cols, scheme)?;
            self.tensors.remove(&name);
            self.packed.insert(name.clone(), packed);
            progress(&name);
        }
        Ok(())
    }
}

impl ModelWeights {
    /// Deterministic random weights for `config`'s model, for tests and benchmarks.
    ///
    /// Matrices are uniform in ±1/√in (so activations keep their scale through the layers),
    /// norm scales are near 1; the same seed gives the same weights on every platform.
    pub fn random(config: &crate::config::ModelConfig, seed: u64) -> Self {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut weights = ModelWeights::new();
        let mut add = |name: String, shape: Vec<usize>, rng: &mut rand_chacha::ChaCha8Rng| {
            let count: usize = shape.iter().product();
            let data: Vec<f32> = if shape.len() == 1 && name.contains("norm") {
                (0..count)
                    .map(|_| 1.0 + rng.random_range(-0.1f32..0.1))
                    .collect()
            } else {
                let fan_in = *shape.last().unwrap_or(&1) as f32;
                let bound = if name.ends_with(".bias") {
                    0.1
                } else {
                    1.0 / fan_in.sqrt()
                };
                (0..count)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect()
            };
            weights.insert(name, HostTensor { shape, data });
        };
        for spec in crate::arch::tensors(config) {
            add(spec.name, spec.shape, &mut rng);
        }
        weights
    }
}

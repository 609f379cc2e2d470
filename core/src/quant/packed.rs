//! A matrix in lmfast's packed integer format: what an export stores and the kernels read.
//!
//! Layout (row-major `[rows, cols]`, groups run along a row, i.e. the reduction dimension):
//! - `q`: int4 values 8 per little-endian `u32` (element `c` of a row in nibble `c % 8` of
//!   word `c / 8`), or int8 values 4 per `u32` (byte `c % 4`, two's complement);
//! - `scales`: one per group, row by row (`rows × groups_per_row`);
//! - `mins`: the same shape, for asymmetric int4 only.
//!
//! The last group of a row may be shorter than the group size (still a multiple of 32), so
//! a 576-wide row splits into 128+128+128+128+64 with `q4g128`.

use super::rules;
use super::scheme::{QuantScheme, ScaleRule, ScaleType};
use crate::error::{Error, Result};
use crate::parallel;
use half::f16;

/// Per-group scales or minimums in their stored precision.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupValues {
    /// Half precision.
    F16(Vec<f16>),
    /// Single precision.
    F32(Vec<f32>),
}

impl GroupValues {
    fn from_f32(values: Vec<f32>, ty: ScaleType) -> Self {
        match ty {
            ScaleType::F16 => GroupValues::F16(values.into_iter().map(f16::from_f32).collect()),
            ScaleType::F32 => GroupValues::F32(values),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            GroupValues::F16(v) => v.len(),
            GroupValues::F32(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies values `start..start + out.len()` into `out` as f32.
    pub fn read_into(&self, start: usize, out: &mut [f32]) {
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        use half::slice::HalfFloatSliceExt;
        match self {
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            GroupValues::F16(v) => crate::quant::kernels::simd128::f16_to_f32(
                bytemuck::cast_slice(&v[start..start + out.len()]),
                out,
            ),
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            GroupValues::F16(v) => v[start..start + out.len()].convert_to_f32_slice(out),
            GroupValues::F32(v) => out.copy_from_slice(&v[start..start + out.len()]),
        }
    }

    /// The values as little-endian bytes, as an export stores them.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            GroupValues::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            GroupValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Reads `count` values of `ty` from little-endian `bytes`.
    pub fn from_le_bytes(bytes: &[u8], ty: ScaleType, count: usize) -> Option<Self> {
        if bytes.len() != count * ty.bytes() {
            return None;
        }
        Some(match ty {
            ScaleType::F16 => GroupValues::F16(
                bytes
                    .chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]))
                    .collect(),
            ),
            ScaleType::F32 => GroupValues::F32(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
        })
    }
}

/// A `[rows, cols]` matrix stored as grouped int4 or int8.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedMatrix {
    scheme: QuantScheme,
    rows: usize,
    cols: usize,
    q: Vec<u32>,
    scales: GroupValues,
    mins: Option<GroupValues>,
}

/// The parts of a packed matrix, for building one from stored arrays.
#[derive(Debug, Clone)]
pub struct PackedParts {
    /// The scheme (must be `Q4` or `Q8`).
    pub scheme: QuantScheme,
    /// Output features.
    pub rows: usize,
    /// Input features (the reduction dimension).
    pub cols: usize,
    /// The packed integers.
    pub q: Vec<u32>,
    /// Group scales.
    pub scales: GroupValues,
    /// Group minimums (asymmetric int4 only).
    pub mins: Option<GroupValues>,
}

impl PackedMatrix {
    /// Quantizes row-major `values` of shape `[rows, cols]` with `scheme` (`name` is used in
    /// errors). Rows are quantized in parallel.
    pub fn quantize(
        name: &str,
        values: &[f32],
        rows: usize,
        cols: usize,
        scheme: QuantScheme,
    ) -> Result<Self> {
        check_shape(name, scheme, rows, cols, values.len())?;
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::tensor(
                name,
                format!("value {bad} is not finite; cannot quantize"),
            ));
        }
        let gpr = groups_per_row(cols, scheme);
        let words_per_row = words_per_row(cols, scheme);
        let mut q = vec![0u32; rows * words_per_row];
        let mut scales = vec![0f32; rows * gpr];
        let asymmetric = matches!(
            scheme,
            QuantScheme::Q4 {
                asymmetric: true,
                ..
            }
        );
        let mut mins = vec![0f32; if asymmetric { rows * gpr } else { 0 }];
        let group = scheme.group().unwrap_or(32);
        let scale_type = match scheme {
            QuantScheme::Q4 { scale, .. } | QuantScheme::Q8 { scale, .. } => scale,
            _ => ScaleType::F32,
        };
        let round_scale = |s: f32| match scale_type {
            ScaleType::F16 => f16::from_f32(s).to_f32(),
            ScaleType::F32 => s,
        };
        let min_rows: Box<dyn Iterator<Item = &mut [f32]>> = if asymmetric {
            Box::new(mins.chunks_mut(gpr))
        } else {
            Box::new(std::iter::repeat_with(|| -> &mut [f32] { &mut [] }))
        };
        let mut row_out: Vec<(&mut [u32], &mut [f32], &mut [f32])> = q
            .chunks_mut(words_per_row)
            .zip(scales.chunks_mut(gpr))
            .zip(min_rows)
            .map(|((a, b), c)| (a, b, c))
            .collect();
        parallel::for_each_indexed(&mut row_out, |row, (words, row_scales, row_mins)| {
            let src = &values[row * cols..(row + 1) * cols];
            let mut nibbles = vec![0u8; cols];
            for (g, chunk) in src.chunks(group).enumerate() {
                let out = &mut nibbles[g * group..g * group + chunk.len()];
                match scheme {
                    QuantScheme::Q4 {
                        asymmetric: true, ..
                    } => {
                        let (d, m) = rules::q4_asymmetric(chunk, out, round_scale);
                        row_scales[g] = d;
                        row_mins[g] = m;
                    }
                    QuantScheme::Q4 {
                        rule: ScaleRule::GgmlQ4_0,
                        ..
                    } => row_scales[g] = rules::q4_ggml(chunk, out, round_scale),
                    QuantScheme::Q4 { .. } => {
                        row_scales[g] = rules::q4_symmetric_search(chunk, out, round_scale)
                    }
                    _ => row_scales[g] = rules::q8_symmetric(chunk, out, round_scale),
                }
            }
            pack_row(&nibbles, matches!(scheme, QuantScheme::Q4 { .. }), words);
        });
        drop(row_out);
        Ok(Self {
            scheme,
            rows,
            cols,
            q,
            scales: GroupValues::from_f32(scales, scale_type),
            mins: asymmetric.then(|| GroupValues::from_f32(mins, scale_type)),
        })
    }

    /// Rebuilds a matrix from stored arrays, checking every length (`name` is used in errors).
    pub fn from_parts(name: &str, parts: PackedParts) -> Result<Self> {
        let PackedParts {
            scheme,
            rows,
            cols,
            q,
            scales,
            mins,
        } = parts;
        check_shape(name, scheme, rows, cols, rows * cols)?;
        let want_words = rows * words_per_row(cols, scheme);
        let want_groups = rows * groups_per_row(cols, scheme);
        let asymmetric = matches!(
            scheme,
            QuantScheme::Q4 {
                asymmetric: true,
                ..
            }
        );
        if q.len() != want_words {
            return Err(Error::tensor(
                name,
                format!("{} packed words, expected {want_words}", q.len()),
            ));
        }
        if scales.len() != want_groups {
            return Err(Error::tensor(
                name,
                format!("{} scales, expected {want_groups}", scales.len()),
            ));
        }
        match (&mins, asymmetric) {
            (Some(m), true) if m.len() == want_groups => {}
            (None, false) => {}
            _ => {
                return Err(Error::tensor(
                    name,
                    format!(
                        "minimums {} for a scheme that {} them",
                        if mins.is_some() { "present" } else { "missing" },
                        if asymmetric {
                            "needs"
                        } else {
                            "has no use for"
                        }
                    ),
                ))
            }
        }
        if matches!(scheme, QuantScheme::Q8 { .. }) {
            // Every quantizer here rounds into -127..=127; the kernels (the browser's relaxed
            // SIMD dot product among them) rely on it, so a stored -128 is refused.
            if let Some(at) = q.iter().position(|w| w.to_le_bytes().contains(&0x80)) {
                return Err(Error::tensor(
                    name,
                    format!(
                        "int8 code -128 in packed word {at}: codes must lie in -127..=127 (re-export the model with lmfast)"
                    ),
                ));
            }
        }
        Ok(Self {
            scheme,
            rows,
            cols,
            q,
            scales,
            mins,
        })
    }

    /// The same matrix with f16 group scales and minimums widened to f32 (exactly). The
    /// browser's CPU path does this once at load: wasm has no f16 instructions, and widening
    /// a row's scales before each dot product cost a sixth of a decoded token there.
    pub fn with_f32_scales(mut self) -> Self {
        let widen = |v: &mut GroupValues| {
            if let GroupValues::F16(h) = v {
                let mut out = vec![0f32; h.len()];
                GroupValues::F16(std::mem::take(h)).read_into(0, &mut out);
                *v = GroupValues::F32(out);
            }
        };
        widen(&mut self.scales);
        if let Some(m) = &mut self.mins {
            widen(m);
        }
        self
    }

    /// The storage scheme.
    pub fn scheme(&self) -> QuantScheme {
        self.scheme
    }

    /// Output features.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The packed integers.
    pub fn q(&self) -> &[u32] {
        &self.q
    }

    /// The group scales.
    pub fn scales(&self) -> &GroupValues {
        &self.scales
    }

    /// The group minimums (asymmetric int4 only).
    pub fn mins(&self) -> Option<&GroupValues> {
        self.mins.as_ref()
    }

    /// Groups in one row.
    pub fn groups_per_row(&self) -> usize {
        groups_per_row(self.cols, self.scheme)
    }

    /// `u32` words in one row.
    pub fn words_per_row(&self) -> usize {
        words_per_row(self.cols, self.scheme)
    }

    /// Elements sharing one scale.
    pub fn group(&self) -> usize {
        self.scheme.group().unwrap_or(32)
    }

    /// Bytes the matrix takes in memory and on disk.
    pub fn storage_bytes(&self) -> usize {
        self.q.len() * 4
            + self.scales.len() * self.scale_type().bytes()
            + self
                .mins
                .as_ref()
                .map_or(0, |m| m.len() * self.scale_type().bytes())
    }

    /// How scales are stored.
    pub fn scale_type(&self) -> ScaleType {
        match self.scales {
            GroupValues::F16(_) => ScaleType::F16,
            GroupValues::F32(_) => ScaleType::F32,
        }
    }

    /// Dequantizes row `row` into `out` (`cols` values).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let gpr = self.groups_per_row();
        let group = self.group();
        let mut scales = vec![0f32; gpr];
        self.scales.read_into(row * gpr, &mut scales);
        let mut mins = vec![0f32; if self.mins.is_some() { gpr } else { 0 }];
        if let Some(m) = &self.mins {
            m.read_into(row * gpr, &mut mins);
        }
        let words = &self.q[row * self.words_per_row()..(row + 1) * self.words_per_row()];
        let is_q4 = matches!(self.scheme, QuantScheme::Q4 { .. });
        for (c, y) in out.iter_mut().enumerate().take(self.cols) {
            let g = c / group;
            *y = if is_q4 {
                let q = ((words[c / 8] >> (4 * (c % 8))) & 0xF) as f32;
                if mins.is_empty() {
                    (q - 8.0) * scales[g]
                } else {
                    q * scales[g] + mins[g]
                }
            } else {
                let q = (words[c / 4] >> (8 * (c % 4))) as u8 as i8;
                q as f32 * scales[g]
            };
        }
    }

    /// The whole matrix as f32, row-major (for checks and for devices without our kernels).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        for (row, chunk) in out.chunks_mut(self.cols).enumerate() {
            self.dequantize_row(row, chunk);
        }
        out
    }
}

fn check_shape(
    name: &str,
    scheme: QuantScheme,
    rows: usize,
    cols: usize,
    values: usize,
) -> Result<()> {
    if !matches!(scheme, QuantScheme::Q4 { .. } | QuantScheme::Q8 { .. }) {
        return Err(Error::tensor(
            name,
            format!("{scheme} is not a packed integer scheme"),
        ));
    }
    if rows == 0 || cols == 0 || !cols.is_multiple_of(32) {
        return Err(Error::tensor(
            name,
            format!("shape [{rows}, {cols}] cannot be packed: the row width must be a positive multiple of 32"),
        ));
    }
    if rows.checked_mul(cols) != Some(values) {
        return Err(Error::tensor(
            name,
            format!("shape [{rows}, {cols}] does not match {values} values"),
        ));
    }
    Ok(())
}

fn groups_per_row(cols: usize, scheme: QuantScheme) -> usize {
    cols.div_ceil(scheme.group().unwrap_or(32))
}

fn words_per_row(cols: usize, scheme: QuantScheme) -> usize {
    match scheme {
        QuantScheme::Q4 { .. } => cols / 8,
        _ => cols / 4,
    }
}

/// Packs one row of unsigned nibbles (int4) or two's-complement bytes (int8) into words.
fn pack_row(values: &[u8], int4: bool, words: &mut [u32]) {
    if int4 {
        for (w, chunk) in words.iter_mut().zip(values.chunks_exact(8)) {
            *w = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (k, &v)| acc | (u32::from(v & 0xF) << (4 * k)));
        }
    } else {
        for (w, chunk) in words.iter_mut().zip(values.chunks_exact(4)) {
            *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
    }
}

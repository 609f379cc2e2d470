//! A weight matrix in GPU buffers, in the packed layout of `quant::packed` (or dense f32).
//!
//! Rows are split into chunks whose arrays each fit one storage binding (a 151936-row int8
//! head is larger than WebGPU's 128 MiB default); each chunk is one dispatch. Stacked
//! projections (q|k|v, gate|up) are one matrix whose parts are written at their row offsets.

use super::kernels::Kernels;
use crate::error::{Error, Result};
use crate::quant::{GroupValues, PackedMatrix, QuantScheme, ScaleType};
use crate::weights::HostTensor;

/// How a matrix is stored on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    Dense,
    Q4 { asym: bool, f16: bool, group: usize },
    Q8 { f16: bool, group: usize },
}

impl Storage {
    pub(crate) fn of_packed(p: &PackedMatrix) -> Storage {
        let f16 = p.scale_type() == ScaleType::F16;
        match p.scheme() {
            QuantScheme::Q4 { asymmetric, .. } => Storage::Q4 {
                asym: asymmetric,
                f16,
                group: p.group(),
            },
            _ => Storage::Q8 {
                f16,
                group: p.group(),
            },
        }
    }

    fn describe(self) -> String {
        let scale = |f16| if f16 { "f16" } else { "f32" };
        match self {
            Storage::Dense => "dense f32".into(),
            Storage::Q4 { asym, f16, group } => format!(
                "int4 groups of {group} ({}, {} scales)",
                if asym { "asymmetric" } else { "symmetric" },
                scale(f16)
            ),
            Storage::Q8 { f16, group } => format!("int8 groups of {group} ({} scales)", scale(f16)),
        }
    }
}

/// Rows `row0..row0 + rows` of a matrix.
pub(crate) struct Chunk {
    pub(crate) row0: usize,
    pub(crate) rows: usize,
    /// Packed words, or f32 values for a dense matrix.
    pub(crate) q: wgpu::Buffer,
    pub(crate) scales: Option<wgpu::Buffer>,
    pub(crate) mins: Option<wgpu::Buffer>,
}

/// One matrix (possibly stacked projections) on the device.
pub(crate) struct GpuMatrix {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) storage: Storage,
    /// Scale (and minimum) values per row in the buffers: groups per row, rounded up to
    /// even for f16 so that every row starts on a whole u32 word.
    pub(crate) scale_stride: usize,
    pub(crate) chunks: Vec<Chunk>,
}

/// One part to write into a matrix: what `add_tensor` received.
pub(crate) enum Part<'a> {
    Dense(&'a HostTensor),
    Packed(&'a PackedMatrix),
}

impl Part<'_> {
    pub(crate) fn storage(&self) -> Storage {
        match self {
            Part::Dense(_) => Storage::Dense,
            Part::Packed(p) => Storage::of_packed(p),
        }
    }
}

impl GpuMatrix {
    /// Allocates a `[rows, cols]` matrix of `storage`, split so every array fits a binding.
    pub(crate) fn allocate(
        k: &Kernels,
        name: &str,
        rows: usize,
        cols: usize,
        storage: Storage,
        max_binding: u64,
    ) -> Result<Self> {
        let (q_row, scale_stride, scale_bytes) = match storage {
            Storage::Dense => (cols * 4, 0, 0),
            Storage::Q4 { f16, group, .. } | Storage::Q8 { f16, group } => {
                let gpr = cols.div_ceil(group);
                let q_row = if matches!(storage, Storage::Q4 { .. }) {
                    cols / 2
                } else {
                    cols
                };
                if f16 {
                    (q_row, gpr.next_multiple_of(2), 2)
                } else {
                    (q_row, gpr, 4)
                }
            }
        };
        let row_bytes = q_row.max(scale_stride * scale_bytes) as u64;
        let per_chunk = (max_binding / row_bytes.max(1)) as usize;
        if per_chunk == 0 {
            return Err(Error::tensor(
                name,
                format!(
                    "one row of {row_bytes} bytes exceeds the device's largest storage binding"
                ),
            ));
        }
        let mut chunks = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = per_chunk.min(rows - row0);
            let q = k.storage(name, (n * q_row) as u64, wgpu::BufferUsages::empty())?;
            let (scales, mins) = match storage {
                Storage::Dense => (None, None),
                Storage::Q4 { asym, .. } => {
                    let bytes = (n * scale_stride * scale_bytes) as u64;
                    let s = k.storage(name, bytes, wgpu::BufferUsages::empty())?;
                    let m = if asym {
                        Some(k.storage(name, bytes, wgpu::BufferUsages::empty())?)
                    } else {
                        None
                    };
                    (Some(s), m)
                }
                Storage::Q8 { .. } => {
                    let bytes = (n * scale_stride * scale_bytes) as u64;
                    (
                        Some(k.storage(name, bytes, wgpu::BufferUsages::empty())?),
                        None,
                    )
                }
            };
            chunks.push(Chunk {
                row0,
                rows: n,
                q,
                scales,
                mins,
            });
            row0 += n;
        }
        Ok(Self {
            rows,
            cols,
            storage,
            scale_stride,
            chunks,
        })
    }

    /// Writes `part` at rows `row0..` (`name` is the part's tensor, for errors).
    pub(crate) fn write(&self, k: &Kernels, name: &str, row0: usize, part: Part<'_>) -> Result<()> {
        if part.storage() != self.storage {
            return Err(Error::tensor(
                name,
                format!(
                    "is stored as {} but the projections stacked with it as {}",
                    part.storage().describe(),
                    self.storage.describe()
                ),
            ));
        }
        match part {
            Part::Dense(t) => {
                let rows = t.shape[0];
                self.write_rows(
                    k,
                    row0,
                    rows,
                    bytemuck::cast_slice(&t.data),
                    self.cols * 4,
                    |c| &c.q,
                );
            }
            Part::Packed(p) => {
                let rows = p.rows();
                self.write_rows(
                    k,
                    row0,
                    rows,
                    bytemuck::cast_slice(p.q()),
                    p.words_per_row() * 4,
                    |c| &c.q,
                );
                let scales = self.scale_bytes(p.scales(), p.groups_per_row());
                let stride_bytes = scales.len() / rows;
                self.write_rows(k, row0, rows, &scales, stride_bytes, |c| {
                    c.scales.as_ref().unwrap_or(&k.unused_binding)
                });
                if let Some(m) = p.mins() {
                    let mins = self.scale_bytes(m, p.groups_per_row());
                    self.write_rows(k, row0, rows, &mins, stride_bytes, |c| {
                        c.mins.as_ref().unwrap_or(&k.unused_binding)
                    });
                }
            }
        }
        Ok(())
    }

    /// Scales or minimums as the buffers hold them: f16 rows padded to an even count.
    fn scale_bytes(&self, values: &GroupValues, gpr: usize) -> Vec<u8> {
        match values {
            GroupValues::F32(v) => bytemuck::cast_slice(v).to_vec(),
            GroupValues::F16(v) if gpr == self.scale_stride => bytemuck::cast_slice(v).to_vec(),
            GroupValues::F16(v) => {
                let mut out = Vec::with_capacity(v.len() / gpr * self.scale_stride * 2);
                for row in v.chunks_exact(gpr) {
                    out.extend_from_slice(bytemuck::cast_slice(row));
                    out.resize(out.len() + (self.scale_stride - gpr) * 2, 0);
                }
                out
            }
        }
    }

    /// Copies `rows` rows of `row_bytes` each from `data` into the chunks they fall in.
    fn write_rows<'b>(
        &'b self,
        k: &'b Kernels,
        row0: usize,
        rows: usize,
        data: &[u8],
        row_bytes: usize,
        buffer: impl Fn(&'b Chunk) -> &'b wgpu::Buffer,
    ) {
        for c in &self.chunks {
            let lo = row0.max(c.row0);
            let hi = (row0 + rows).min(c.row0 + c.rows);
            if lo >= hi {
                continue;
            }
            let src = &data[(lo - row0) * row_bytes..(hi - row0) * row_bytes];
            k.queue
                .write_buffer(buffer(c), ((lo - c.row0) * row_bytes) as u64, src);
        }
    }
}

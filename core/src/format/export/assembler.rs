//! Turning shards into tensors as they arrive, without any file access: the native loader
//! feeds it files, the browser feeds it fetched (or cached) shard bytes.
//!
//! Each tensor is handed out as soon as its last byte has arrived and the assembler keeps
//! no copy. A shard may come whole or as consecutive byte ranges, so a consumer that
//! uploads tensors to a GPU as they complete holds one range plus the tensors still being
//! filled, never a whole shard, let alone the model.

use super::manifest::{element_bytes, Manifest, TensorEntry, TensorStorage};
use crate::error::{Error, Result};
use crate::quant::{GroupValues, PackedMatrix, PackedParts, ScaleType};
use crate::weights::{HostTensor, WeightEntry};

/// Collects the pieces of every tensor of a manifest, shard by shard.
pub struct ExportAssembler {
    manifest: Manifest,
    /// Per tensor, per array: the bytes received so far (allocated on the first piece), in
    /// `u32` words so that packed codes become the matrix's words without another copy.
    buffers: Vec<Vec<Vec<u32>>>,
    /// Per tensor: pieces still missing.
    missing: Vec<usize>,
    /// Per shard: bytes received so far (ranges come in order).
    received: Vec<u64>,
    /// Per shard: whether all of it has been added.
    added: Vec<bool>,
}

impl ExportAssembler {
    /// An assembler for `manifest` (parsed and checked by `parse_manifest`).
    pub fn new(manifest: Manifest) -> Self {
        let buffers = manifest
            .tensors
            .iter()
            .map(|t| t.arrays.iter().map(|_| Vec::new()).collect())
            .collect();
        let missing = manifest
            .tensors
            .iter()
            .map(|t| t.arrays.iter().map(|a| a.pieces.len()).sum())
            .collect();
        Self {
            received: vec![0; manifest.shards.len()],
            added: vec![false; manifest.shards.len()],
            manifest,
            buffers,
            missing,
        }
    }

    /// Routes shard `index`'s bytes to the arrays it holds and returns the tensors that are
    /// now complete, by name. Shards may come in any order; each only once.
    pub fn add_shard(&mut self, index: usize, data: &[u8]) -> Result<Vec<(String, WeightEntry)>> {
        let shard = self.shard(index)?;
        if !self.added[index] && data.len() as u64 != shard.bytes {
            return Err(Error::format(
                &shard.file,
                format!("{} bytes, the manifest says {}", data.len(), shard.bytes),
            ));
        }
        self.add_shard_range(index, 0, data)
    }

    /// Routes bytes `offset..offset + data.len()` of shard `index` and returns the tensors
    /// that are now complete. A shard's ranges must come in order, without gaps or overlaps
    /// (shards themselves in any order); the range that reaches its end completes it.
    pub fn add_shard_range(
        &mut self,
        index: usize,
        offset: u64,
        data: &[u8],
    ) -> Result<Vec<(String, WeightEntry)>> {
        let shard = self.shard(index)?;
        if self.added[index] {
            return Err(Error::format(&shard.file, "this shard was added twice"));
        }
        let received = self.received[index];
        if offset != received {
            return Err(Error::format(
                &shard.file,
                format!("bytes from {offset} arrived when those from {received} were expected"),
            ));
        }
        let end = offset + data.len() as u64;
        if end > shard.bytes {
            return Err(Error::format(
                &shard.file,
                format!("{end} bytes, the manifest says {}", shard.bytes),
            ));
        }
        let last = end == shard.bytes;
        self.received[index] = end;
        self.added[index] = last;
        let m = &self.manifest;
        let mut done = Vec::new();
        for (ti, t) in m.tensors.iter().enumerate() {
            let mut touched = false;
            for (ai, a) in t.arrays.iter().enumerate() {
                let width = element_bytes(&a.element).unwrap_or(4);
                let mut before = 0u64;
                for p in &a.pieces {
                    // Pieces of one array lie in increasing shards, but shards may arrive
                    // out of order: each piece goes to its offset within the array.
                    let at = before;
                    before += p.length;
                    if p.shard != index {
                        continue;
                    }
                    let (piece_start, piece_end) = (p.offset, p.offset + p.length);
                    let (from, to) = (piece_start.max(offset), piece_end.min(end));
                    if from < to {
                        let buffer = &mut self.buffers[ti][ai];
                        if buffer.is_empty() {
                            buffer.resize((a.count * width).div_ceil(4), 0);
                        }
                        let bytes: &mut [u8] = bytemuck::cast_slice_mut(buffer);
                        let dst = (at + from - piece_start) as usize;
                        bytes[dst..dst + (to - from) as usize].copy_from_slice(
                            &data[(from - offset) as usize..(to - offset) as usize],
                        );
                    }
                    // A piece is complete in the range holding its last byte (an empty
                    // piece: the range holding its offset, or the last one).
                    let complete = if p.length == 0 {
                        offset <= piece_start && (piece_start < end || last)
                    } else {
                        offset < piece_end && piece_end <= end
                    };
                    if complete {
                        self.missing[ti] -= 1;
                        touched = true;
                    }
                }
            }
            if touched && self.missing[ti] == 0 {
                let arrays = std::mem::take(&mut self.buffers[ti]);
                done.push((t.name.clone(), build_tensor(t, arrays)?));
            }
        }
        Ok(done)
    }

    fn shard(&self, index: usize) -> Result<super::manifest::ShardEntry> {
        let m = &self.manifest;
        m.shards.get(index).cloned().ok_or_else(|| {
            Error::format(
                "manifest.json",
                format!("shard {index} does not exist ({} shards)", m.shards.len()),
            )
        })
    }

    /// The manifest being assembled.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Shards not added yet, by index.
    pub fn missing_shards(&self) -> Vec<usize> {
        (0..self.added.len()).filter(|&i| !self.added[i]).collect()
    }

    /// Checks that every shard has been added (and so every tensor handed out).
    pub fn finish(self) -> Result<()> {
        let missing: Vec<&str> = self
            .manifest
            .shards
            .iter()
            .zip(&self.added)
            .filter(|(_, added)| !**added)
            .map(|(s, _)| s.file.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::format(
                "manifest.json",
                format!("shards never added: {}", missing.join(", ")),
            ))
        }
    }
}

/// Builds one tensor from its arrays' little-endian bytes held in `u32` words (in the
/// manifest's array order).
fn build_tensor(t: &TensorEntry, arrays: Vec<Vec<u32>>) -> Result<WeightEntry> {
    let mut by_role: Vec<(&str, Vec<u32>, &str, usize)> = t
        .arrays
        .iter()
        .zip(arrays)
        .map(|(a, words)| (a.role.as_str(), words, a.element.as_str(), a.count))
        .collect();
    let mut take = |role: &str| {
        by_role
            .iter()
            .position(|(r, ..)| *r == role)
            .map(|i| by_role.swap_remove(i))
            .map(|(_, bytes, element, count)| (bytes, element, count))
    };
    match &t.storage {
        TensorStorage::F32 | TensorStorage::F16 => {
            let (words, element, count) =
                take("data").ok_or_else(|| Error::tensor(&t.name, "array 'data' is missing"))?;
            let data = to_f32(&t.name, words, element, count)?;
            Ok(WeightEntry::Dense(HostTensor::new(
                &t.name,
                t.shape.clone(),
                data,
            )?))
        }
        TensorStorage::Packed { scheme } => {
            let [rows, cols] = t.shape[..] else {
                return Err(Error::tensor(
                    &t.name,
                    format!("a packed tensor must be a matrix, not {:?}", t.shape),
                ));
            };
            let (mut q, _, _) =
                take("q").ok_or_else(|| Error::tensor(&t.name, "array 'q' is missing"))?;
            // The words as stored are little-endian: a no-op on every target we build for.
            q.iter_mut().for_each(|w| *w = u32::from_le(*w));
            let values = |(words, element, count): (Vec<u32>, &str, usize)| {
                let ty = match element {
                    "f16" => ScaleType::F16,
                    _ => ScaleType::F32,
                };
                let bytes: &[u8] = bytemuck::cast_slice(&words);
                let width = if ty == ScaleType::F16 { 2 } else { 4 };
                GroupValues::from_le_bytes(&bytes[..count * width], ty, count)
                    .ok_or_else(|| Error::tensor(&t.name, "scale array has the wrong size"))
            };
            let scales = values(
                take("scales")
                    .ok_or_else(|| Error::tensor(&t.name, "array 'scales' is missing"))?,
            )?;
            let mins = take("mins").map(values).transpose()?;
            Ok(WeightEntry::Packed(PackedMatrix::from_parts(
                &t.name,
                PackedParts {
                    scheme: *scheme,
                    rows,
                    cols,
                    q,
                    scales,
                    mins,
                },
            )?))
        }
    }
}

fn to_f32(name: &str, words: Vec<u32>, element: &str, count: usize) -> Result<Vec<f32>> {
    match element {
        // Reinterpreted in place (same size and alignment): no copy of large dense matrices.
        "f32" => Ok(bytemuck::cast_vec::<u32, f32>(words)
            .into_iter()
            .map(|v| f32::from_bits(u32::from_le(v.to_bits())))
            .collect()),
        "f16" => Ok(bytemuck::cast_slice::<u32, u8>(&words)[..count * 2]
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()),
        other => Err(Error::tensor(
            name,
            format!("dense data cannot be '{other}'"),
        )),
    }
}

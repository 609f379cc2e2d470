//! Parsing a GGUF file: header, metadata, tensor index and tensor data, every bound checked.

use super::metadata::MetadataValue;
use super::types::GgmlType;
use crate::error::{Error, Result};
use crate::weights::HostTensor;
use std::collections::BTreeMap;
use std::path::Path;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Deeper arrays than this are refused: real files nest at most once.
const MAX_ARRAY_DEPTH: usize = 4;
/// Tensors have at most this many dimensions in ggml.
const MAX_DIMS: u32 = 4;

/// One tensor's entry in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in GGUF order: `dims[0]` is the innermost (contiguous) one.
    pub dims: Vec<u64>,
    /// How the elements are stored.
    pub ggml_type: GgmlType,
    /// Byte offset of the data, relative to the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn element_count(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Bytes the data takes (checked when the file was read, so this cannot fail then).
    pub fn byte_len(&self) -> Result<u64> {
        self.ggml_type
            .bytes_for(self.element_count())
            .ok_or_else(|| {
                Error::tensor(
                    &self.name,
                    format!(
                        "{} elements are not a whole number of {:?} blocks",
                        self.element_count(),
                        self.ggml_type
                    ),
                )
            })
    }

    /// Dimensions outermost first (`[rows, cols]` for a matrix), as row-major code expects.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

enum Storage {
    #[cfg(not(target_arch = "wasm32"))]
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Storage::Mapped(map) => map,
            Storage::Owned(bytes) => bytes,
        }
    }
}

/// A parsed GGUF file: metadata and tensor index in memory, tensor data mapped or owned.
pub struct GgufFile {
    name: String,
    storage: Storage,
    version: u32,
    metadata: BTreeMap<String, MetadataValue>,
    tensors: Vec<TensorInfo>,
    by_name: BTreeMap<String, usize>,
    data_start: u64,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("metadata_keys", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Memory-maps and parses the file at `path` (natively), or reads it (wasm).
    pub fn open(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let name = path.display().to_string();
        #[cfg(not(target_arch = "wasm32"))]
        {
            let file = std::fs::File::open(path).map_err(io)?;
            // SAFETY: the map is read-only and private to this process; if another process
            // truncates the file while it is mapped, reads may fault — the same contract as
            // every memory-mapped model loader, and the reason we never write through it.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
            Self::parse(name, Storage::Mapped(map))
        }
        #[cfg(target_arch = "wasm32")]
        {
            let bytes = std::fs::read(path).map_err(io)?;
            Self::parse(name, Storage::Owned(bytes))
        }
    }

    /// Parses a GGUF file held in memory; `name` stands for it in error messages.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self> {
        Self::parse(name.into(), Storage::Owned(bytes))
    }

    fn parse(name: String, storage: Storage) -> Result<Self> {
        let bytes = storage.bytes();
        let mut cur = Cursor {
            bytes,
            pos: 0,
            file: &name,
        };
        let magic = cur.take(4, "magic")?;
        if magic != MAGIC {
            return Err(Error::format(
                &name,
                format!("not a GGUF file (magic {magic:02x?}, expected \"GGUF\")"),
            ));
        }
        let version = cur.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(Error::format(
                &name,
                format!("GGUF version {version} is not supported (2 and 3 are)"),
            ));
        }
        let tensor_count = cur.u64("tensor count")?;
        let kv_count = cur.u64("metadata count")?;

        let mut metadata = BTreeMap::new();
        for index in 0..kv_count {
            let key = cur.string(&format!("metadata key #{index}"))?;
            let ty = cur.u32(&format!("type of metadata {key}"))?;
            let value = cur.value(ty, &key, 0)?;
            metadata.insert(key, value);
        }

        let mut tensors = Vec::new();
        let mut by_name = BTreeMap::new();
        for index in 0..tensor_count {
            let tname = cur.string(&format!("tensor name #{index}"))?;
            let n_dims = cur.u32(&format!("tensor {tname}: dimension count"))?;
            if n_dims > MAX_DIMS {
                return Err(Error::format(
                    &name,
                    format!("tensor {tname}: {n_dims} dimensions (at most {MAX_DIMS})"),
                ));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(cur.u64(&format!("tensor {tname}: dimensions"))?);
            }
            let ty = cur.u32(&format!("tensor {tname}: type"))?;
            let ggml_type = GgmlType::from_id(ty, &name, &tname)?;
            let offset = cur.u64(&format!("tensor {tname}: offset"))?;
            let elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
            let Some(elements) = elements else {
                return Err(Error::format(
                    &name,
                    format!("tensor {tname}: dimensions {dims:?} overflow"),
                ));
            };
            if ggml_type.bytes_for(elements).is_none() {
                return Err(Error::format(
                    &name,
                    format!(
                        "tensor {tname}: {elements} elements are not a whole number of {ggml_type:?} blocks"
                    ),
                ));
            }
            if by_name.insert(tname.clone(), tensors.len()).is_some() {
                return Err(Error::format(
                    &name,
                    format!("tensor {tname} appears twice"),
                ));
            }
            tensors.push(TensorInfo {
                name: tname,
                dims,
                ggml_type,
                offset,
            });
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(value) => match value.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => {
                    return Err(Error::format(
                        &name,
                        format!("general.alignment {value:?} is not a power of two"),
                    ))
                }
            },
        };
        let data_start = (cur.pos as u64).div_ceil(alignment) * alignment;
        let file_len = bytes.len() as u64;
        for info in &tensors {
            let len = info.byte_len()?;
            let start = data_start.checked_add(info.offset);
            let end = start.and_then(|s| s.checked_add(len));
            match (start, end) {
                (Some(_), Some(end)) if end <= file_len => {}
                _ => {
                    return Err(Error::format(
                        &name,
                        format!(
                            "tensor {}: data at offset {} + {len} bytes lies past the end of the \
                             file ({file_len} bytes; truncated?)",
                            info.name,
                            data_start.saturating_add(info.offset)
                        ),
                    ))
                }
            }
            if info.offset % alignment != 0 {
                return Err(Error::format(
                    &name,
                    format!(
                        "tensor {}: offset {} is not aligned to {alignment}",
                        info.name, info.offset
                    ),
                ));
            }
        }

        Ok(GgufFile {
            name,
            storage,
            version,
            metadata,
            tensors,
            by_name,
            data_start,
        })
    }

    /// The name used for this file in error messages (its path, or the name given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Size of the whole file in bytes.
    pub fn file_size(&self) -> u64 {
        self.storage.bytes().len() as u64
    }

    /// All metadata, by key.
    pub fn metadata(&self) -> &BTreeMap<String, MetadataValue> {
        &self.metadata
    }

    /// The metadata value under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata.get(key)
    }

    fn require(&self, key: &str) -> Result<&MetadataValue> {
        self.get(key)
            .ok_or_else(|| Error::format(&self.name, format!("metadata key {key} is missing")))
    }

    fn wrong_type(&self, key: &str, want: &str, value: &MetadataValue) -> Error {
        Error::format(
            &self.name,
            format!(
                "metadata key {key} should be {want}, found {}",
                value.type_name()
            ),
        )
    }

    /// The string under `key`; errors name the file and key when missing or not a string.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        let value = self.require(key)?;
        value
            .as_str()
            .ok_or_else(|| self.wrong_type(key, "a string", value))
    }

    /// The non-negative integer (of any width) under `key`.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        let value = self.require(key)?;
        value
            .as_u64()
            .ok_or_else(|| self.wrong_type(key, "a non-negative integer", value))
    }

    /// The integer under `key`, which must fit in `u32`.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        let value = self.get_u64(key)?;
        u32::try_from(value).map_err(|_| {
            Error::format(
                &self.name,
                format!("metadata key {key} = {value} is too large"),
            )
        })
    }

    /// The float (f32 or f64) under `key`.
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        let value = self.require(key)?;
        match value {
            MetadataValue::F32(v) => Ok(*v),
            MetadataValue::F64(v) => Ok(*v as f32),
            other => Err(self.wrong_type(key, "a float", other)),
        }
    }

    /// The bool under `key`.
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        let value = self.require(key)?;
        value
            .as_bool()
            .ok_or_else(|| self.wrong_type(key, "a bool", value))
    }

    /// The array under `key`.
    pub fn get_array(&self, key: &str) -> Result<&[MetadataValue]> {
        let value = self.require(key)?;
        value
            .as_array()
            .ok_or_else(|| self.wrong_type(key, "an array", value))
    }

    /// The array of strings under `key`.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        self.get_array(key)?
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| self.wrong_type(key, "an array of strings", v))
            })
            .collect()
    }

    /// The array of integers under `key`, each of which must fit in `i32`.
    pub fn get_i32_array(&self, key: &str) -> Result<Vec<i32>> {
        self.get_array(key)?
            .iter()
            .map(|v| {
                v.as_i64()
                    .and_then(|i| i32::try_from(i).ok())
                    .ok_or_else(|| self.wrong_type(key, "an array of 32-bit integers", v))
            })
            .collect()
    }

    /// The array of numbers under `key`, as f32.
    pub fn get_f32_array(&self, key: &str) -> Result<Vec<f32>> {
        self.get_array(key)?
            .iter()
            .map(|v| {
                v.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| self.wrong_type(key, "an array of numbers", v))
            })
            .collect()
    }

    /// The tensor index, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The index entry of tensor `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name.get(name).and_then(|&i| self.tensors.get(i))
    }

    /// The raw stored bytes of tensor `name`.
    pub fn tensor_data(&self, name: &str) -> Result<&[u8]> {
        let info = self.tensor(name).ok_or_else(|| {
            Error::format(&self.name, format!("tensor {name} is not in the file"))
        })?;
        let len = info.byte_len()?;
        // Bounds were checked when parsing; recheck rather than trust arithmetic twice.
        let start = self.data_start + info.offset;
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(start + len).ok())
            .and_then(|(s, e)| self.storage.bytes().get(s..e))
            .ok_or_else(|| {
                Error::format(&self.name, format!("tensor {name}: data lies past the end"))
            })
    }

    /// Tensor `name` converted to f32, shaped outermost first.
    pub fn dequantize(&self, name: &str) -> Result<HostTensor> {
        let info = self.tensor(name).ok_or_else(|| {
            Error::format(&self.name, format!("tensor {name} is not in the file"))
        })?;
        let bytes = self.tensor_data(name)?;
        let count = usize::try_from(info.element_count())
            .map_err(|_| Error::tensor(name, "too many elements for this platform"))?;
        let mut out = vec![0.0f32; count];
        crate::quant::ggml::dequantize(info.ggml_type, bytes, &mut out)
            .map_err(|e| Error::tensor(name, format!("in {}: {e}", self.name)))?;
        HostTensor::new(name, info.shape(), out)
    }
}

/// A bounds-checked little-endian reader over the file's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    file: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(Error::format(
                self.file,
                format!(
                    "truncated: {what} needs {n} bytes at offset {} but the file has {}",
                    self.pos,
                    self.bytes.len()
                ),
            ));
        };
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn length(&mut self, what: &str) -> Result<usize> {
        let len = self.u64(what)?;
        usize::try_from(len)
            .map_err(|_| Error::format(self.file, format!("{what}: length {len} is too large")))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.length(what)?;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| Error::format(self.file, format!("{what}: not valid UTF-8")))
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<MetadataValue> {
        Ok(match ty {
            0 => MetadataValue::U8(self.array::<1>(key)?[0]),
            1 => MetadataValue::I8(i8::from_le_bytes(self.array(key)?)),
            2 => MetadataValue::U16(u16::from_le_bytes(self.array(key)?)),
            3 => MetadataValue::I16(i16::from_le_bytes(self.array(key)?)),
            4 => MetadataValue::U32(self.u32(key)?),
            5 => MetadataValue::I32(i32::from_le_bytes(self.array(key)?)),
            6 => MetadataValue::F32(f32::from_le_bytes(self.array(key)?)),
            7 => match self.array::<1>(key)?[0] {
                0 => MetadataValue::Bool(false),
                1 => MetadataValue::Bool(true),
                other => {
                    return Err(Error::format(
                        self.file,
                        format!("metadata {key}: bool byte {other} is neither 0 nor 1"),
                    ))
                }
            },
            8 => MetadataValue::String(self.string(&format!("metadata {key}"))?),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(Error::format(
                        self.file,
                        format!("metadata {key}: arrays nested too deeply"),
                    ));
                }
                let item_ty = self.u32(&format!("metadata {key}: array type"))?;
                let len = self.length(&format!("metadata {key}: array length"))?;
                // Every item takes at least one byte, so a length beyond the bytes left is a
                // corrupt file; checking first keeps a bogus length from allocating gigabytes.
                let left = self.bytes.len() - self.pos;
                if len > left {
                    return Err(Error::format(
                        self.file,
                        format!(
                            "metadata {key}: array of {len} items cannot fit in the {left} bytes left"
                        ),
                    ));
                }
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.value(item_ty, key, depth + 1)?);
                }
                MetadataValue::Array(items)
            }
            10 => MetadataValue::U64(self.u64(key)?),
            11 => MetadataValue::I64(i64::from_le_bytes(self.array(key)?)),
            12 => MetadataValue::F64(f64::from_le_bytes(self.array(key)?)),
            other => {
                return Err(Error::format(
                    self.file,
                    format!("metadata {key}: unknown value type {other}"),
                ))
            }
        })
    }
}

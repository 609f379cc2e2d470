//! GGUF, llama.cpp's checkpoint format: a header of typed metadata, a tensor index, then
//! aligned tensor data. [`GgufFile`] reads versions 2 and 3; [`GgufWriter`] writes version 3.

mod metadata;
mod reader;
mod types;
mod writer;

pub use metadata::MetadataValue;
pub use reader::{GgufFile, TensorInfo};
pub use types::GgmlType;
pub use writer::GgufWriter;

//! lmfast's export folder: `manifest.json`, `tokenizer.json`, the chat template and shards
//! of packed weights that a browser streams and a native binary maps.
//!
//! The layout is documented for other implementers in `docs/export-format.md`.

mod assembler;
pub mod manifest;
mod reader;
mod shard_writer;
mod writer;

pub use assembler::ExportAssembler;
pub use manifest::{Manifest, MANIFEST_FILE};
pub use reader::{
    parse_manifest, read_manifest, read_text_files, text_files_from, verify_export, VerifyReport,
};
pub use shard_writer::hex;
pub use writer::{write_export, ExportOptions, ExportProgress, ExportSummary};

#[cfg(test)]
mod tests;

//! The one error type of `lmfast-core`: every failure names the file, tensor or field at fault.

use std::path::PathBuf;

/// Everything that can go wrong in `lmfast-core`.
///
/// Variants carry the name of what was being read (a file, a tensor, a metadata key) so a user
/// can tell which input is bad without a debugger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file that could not be read or written.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A model file (GGUF, safetensors, manifest) is malformed.
    #[error("{file}: {message}")]
    Format {
        /// The file (or a name standing for in-memory bytes) that is malformed.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// A model configuration value is missing or out of range.
    #[error("model config: {field}: {message}")]
    Config {
        /// The configuration field or metadata key at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A weight tensor is missing or has the wrong shape or type.
    #[error("tensor {name}: {message}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// Building or running the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Rendering the chat template failed.
    #[error("chat template: {0}")]
    Template(String),
    /// A generation request is invalid (empty prompt, bad sampling parameter, context overflow).
    #[error("generation: {0}")]
    Generation(String),
    /// The compute backend failed (device lost, readback failed).
    #[error("backend: {0}")]
    Backend(String),
    /// The WebGPU/wgpu device refused or failed an operation (validation, memory, readback).
    #[error("gpu: {0}")]
    Gpu(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::Format`] for `file` with `message`.
    pub fn format(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Format {
            file: file.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Config`] for `field` with `message`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Tensor`] for tensor `name` with `message`.
    pub fn tensor(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Tensor {
            name: name.into(),
            message: message.into(),
        }
    }
}

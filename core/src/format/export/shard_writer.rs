//! Writes arrays into numbered shard files no larger than a limit, hashing as it goes.

use super::manifest::{Piece, ShardEntry};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Arrays start at multiples of this many bytes inside a shard (GPU copies like alignment).
pub const ARRAY_ALIGN: u64 = 64;

struct OpenShard {
    path: PathBuf,
    file: BufWriter<File>,
    hasher: Sha256,
    written: u64,
}

/// Appends arrays to shards, starting a new shard when the next array would not fit and
/// splitting arrays that are larger than a shard.
pub struct ShardWriter {
    dir: PathBuf,
    limit: u64,
    shards: Vec<ShardEntry>,
    current: Option<OpenShard>,
}

impl ShardWriter {
    /// Writes shards into `dir`, each at most `limit` bytes.
    pub fn new(dir: &Path, limit: u64) -> Self {
        Self {
            dir: dir.to_path_buf(),
            limit,
            shards: Vec::new(),
            current: None,
        }
    }

    /// Appends `bytes` as one array and returns where its pieces landed.
    pub fn write_array(&mut self, mut bytes: &[u8]) -> Result<Vec<Piece>> {
        let mut pieces = Vec::new();
        loop {
            let (written, index) = self.open()?;
            let pad = (ARRAY_ALIGN - written % ARRAY_ALIGN) % ARRAY_ALIGN;
            let room = self.limit.saturating_sub(written + pad);
            let len = bytes.len() as u64;
            if len <= room {
                self.put(&vec![0u8; pad as usize])?;
                self.put(bytes)?;
                pieces.push(Piece {
                    shard: index,
                    offset: written + pad,
                    length: len,
                });
                return Ok(pieces);
            }
            // A whole array that fits in a fresh shard is not split.
            let take = room / ARRAY_ALIGN * ARRAY_ALIGN;
            if (len <= self.limit && written > 0) || take == 0 {
                self.close()?;
                continue;
            }
            self.put(&vec![0u8; pad as usize])?;
            self.put(&bytes[..take as usize])?;
            pieces.push(Piece {
                shard: index,
                offset: written + pad,
                length: take,
            });
            bytes = &bytes[take as usize..];
            self.close()?;
        }
    }

    /// Closes the last shard and returns the list of every shard written.
    pub fn finish(mut self) -> Result<Vec<ShardEntry>> {
        self.close()?;
        Ok(self.shards)
    }

    fn open(&mut self) -> Result<(u64, usize)> {
        if self.current.is_none() {
            let file_name = format!("shard-{:05}.bin", self.shards.len());
            let path = self.dir.join(&file_name);
            let file = File::create(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            self.current = Some(OpenShard {
                path,
                file: BufWriter::with_capacity(1 << 20, file),
                hasher: Sha256::new(),
                written: 0,
            });
        }
        let written = self.current.as_ref().map_or(0, |s| s.written);
        Ok((written, self.shards.len()))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(shard) = self.current.as_mut() else {
            return Ok(());
        };
        shard.file.write_all(bytes).map_err(|source| Error::Io {
            path: shard.path.clone(),
            source,
        })?;
        shard.hasher.update(bytes);
        shard.written += bytes.len() as u64;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        let Some(shard) = self.current.take() else {
            return Ok(());
        };
        let OpenShard {
            path,
            file,
            hasher,
            written,
        } = shard;
        let file = file.into_inner().map_err(|e| Error::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        self.shards.push(ShardEntry {
            file: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: written,
            sha256: hex(&hasher.finalize()),
        });
        Ok(())
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! `lmfast verify`: check an export folder completely.

use clap::Args;
use lmfast_core::format::export::verify_export;
use std::path::PathBuf;

/// Arguments of `lmfast verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The export folder.
    dir: PathBuf,
}

/// Verifies and reports; a problem is an error naming the file at fault.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let report = verify_export(&args.dir)?;
    println!(
        "{}: ok ({} tensors, {} shards, {:.1} MiB hashed)",
        args.dir.display(),
        report.tensors,
        report.shards,
        report.bytes as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

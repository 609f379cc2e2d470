//! The models served: every export folder under `--models`, found at start-up, each loaded
//! on first use and then shared by every worker.

use super::openai_types::{ModelDetails, ModelObject};
use lmfast_core::engine::Engine;
use lmfast_core::format::export::{read_manifest, Manifest, MANIFEST_FILE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use tokio::sync::OnceCell;

/// One export folder.
pub struct ModelEntry {
    /// The folder's name: the model's id in the API and its URL under `/models/`.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
    /// The manifest's modification time (Unix seconds), OpenAI's `created`.
    pub created: u64,
    /// What `/v1/models` says about it, computed once (the manifest is large).
    summary: Summary,
    /// The loaded model. Weights are read-only during generation, so one copy serves
    /// every worker; each generation makes its own KV cache.
    engine: OnceCell<Arc<Engine>>,
}

struct Summary {
    display_name: Option<String>,
    quant: String,
    embedding_quant: Option<String>,
    bytes: u64,
    chat: bool,
    config: serde_json::Value,
}

/// Every model served, by name.
pub struct Models {
    entries: BTreeMap<String, ModelEntry>,
}

impl Models {
    /// Finds the export folders (subfolders holding `manifest.json`) directly under `dir`.
    ///
    /// A folder whose manifest cannot be read is left out with a warning rather than
    /// stopping the server: the others still work.
    pub fn discover(dir: &Path) -> anyhow::Result<Self> {
        let listing = std::fs::read_dir(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the models folder {}: {e} (pass --models DIR)",
                dir.display()
            )
        })?;
        let mut entries = BTreeMap::new();
        for item in listing.flatten() {
            let path = item.path();
            if !path.join(MANIFEST_FILE).is_file() {
                continue;
            }
            // Names become URL segments and API ids: keep to plain UTF-8 names.
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            match read_manifest(&path) {
                Ok(manifest) => {
                    let created = std::fs::metadata(path.join(MANIFEST_FILE))
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs());
                    let summary = Summary::of(&manifest);
                    entries.insert(
                        name.clone(),
                        ModelEntry {
                            name,
                            dir: path,
                            created,
                            summary,
                            engine: OnceCell::new(),
                        },
                    );
                }
                Err(err) => eprintln!("lmfast serve: skipping {}: {err}", path.display()),
            }
        }
        Ok(Self { entries })
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Option<&ModelEntry> {
        self.entries.get(name)
    }

    /// Every model, by name.
    pub fn iter(&self) -> impl Iterator<Item = &ModelEntry> {
        self.entries.values()
    }

    /// Names, for the start-up line.
    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }
}

impl Summary {
    fn of(manifest: &Manifest) -> Self {
        Self {
            display_name: manifest.name.clone(),
            quant: manifest.quant.clone(),
            embedding_quant: manifest.embedding_quant.clone(),
            bytes: manifest.shards.iter().map(|s| s.bytes).sum(),
            chat: manifest.chat_template.is_some(),
            // Through text: `to_value` would widen f32 fields (1e-5 → 9.99999974e-6).
            config: serde_json::to_string(&manifest.config)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

impl ModelEntry {
    /// The `/v1/models` entry.
    pub fn object(&self) -> ModelObject {
        ModelObject {
            id: self.name.clone(),
            object: "model",
            created: self.created,
            owned_by: "lmfast",
            lmfast: ModelDetails {
                url: format!("/models/{}/", self.name),
                name: self.summary.display_name.clone(),
                quant: self.summary.quant.clone(),
                embedding_quant: self.summary.embedding_quant.clone(),
                bytes: self.summary.bytes,
                chat: self.summary.chat,
                config: self.summary.config.clone(),
            },
        }
    }

    /// The loaded model, loading it on first use (concurrent first requests wait for one
    /// load; a failed load is retried by the next request).
    pub async fn engine(&self) -> Result<Arc<Engine>, String> {
        let dir = self.dir.clone();
        self.engine
            .get_or_try_init(|| async move {
                let loaded = tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let checkpoint = super::super::load_checkpoint(&dir)?;
                    let engine = Engine::new_cpu(checkpoint, None)?;
                    eprintln!(
                        "lmfast serve: loaded {} in {:.2} s on {}",
                        dir.display(),
                        started.elapsed().as_secs_f64(),
                        engine.runner().describe()
                    );
                    anyhow::Ok(Arc::new(engine))
                })
                .await;
                match loaded {
                    Ok(Ok(engine)) => Ok(engine),
                    Ok(Err(err)) => Err(format!("{err:#}")),
                    Err(join) => Err(format!("loading the model failed: {join}")),
                }
            })
            .await
            .cloned()
    }
}

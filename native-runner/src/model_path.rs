//! Where the model comes from when the user names none.

use std::path::{Path, PathBuf};

/// The default model's file name inside the repository's `models/` folder.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The model to use: the one given, else `$LMFAST_MODEL`, else the default model found in
/// `./models/` or in the `models/` folder of the checkout this binary was built in.
pub fn resolve(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os("LMFAST_MODEL") {
        return Ok(PathBuf::from(path));
    }
    let mut candidates = vec![Path::new("models").join(DEFAULT_MODEL_FILE)];
    // target/release/lmfast -> the checkout's models/ folder.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(root) = exe.ancestors().nth(3) {
            candidates.push(root.join("models").join(DEFAULT_MODEL_FILE));
        }
    }
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no model given and the default model {DEFAULT_MODEL_FILE} was not found in ./models/; \
                 run `lmfast pull smollm2-135m` or pass --model"
            )
        })
}

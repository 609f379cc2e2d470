//! The `lmfast` binary end to end on the real models (skipped when they are absent).

use std::path::PathBuf;
use std::process::Command;

/// `models/FILE`, or `None` (with a note) when it has not been fetched; a missing file fails
/// instead under `LMFAST_REQUIRE_MODEL`, as CI sets it.
fn real_model(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(file);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("LMFAST_REQUIRE_MODEL").is_none(),
        "LMFAST_REQUIRE_MODEL is set but {} is missing",
        path.display()
    );
    eprintln!("note: {} missing; skipping", path.display());
    None
}

fn default_model() -> Option<PathBuf> {
    real_model("SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn lmfast(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lmfast"))
        .args(args)
        .output()
        .expect("run lmfast")
}

#[test]
fn generate_json_answers_paris() {
    let Some(model) = default_model() else { return };
    let out = lmfast(&[
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--prompt",
        "The capital of France is",
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert!(
        value["text"].as_str().unwrap().starts_with(" Paris."),
        "{value}"
    );
    assert_eq!(
        value["prompt_ids"],
        serde_json::json!([504, 3575, 282, 4649, 314])
    );
    assert_eq!(value["tokens"].as_array().unwrap().len(), 8);
}

#[test]
fn seeded_sampling_is_reproducible() {
    let Some(model) = default_model() else { return };
    let run = |seed: &str| {
        let out = lmfast(&[
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--chat",
            "--prompt",
            "Tell me a story.",
            "--max-tokens",
            "12",
            "--temperature",
            "1.0",
            "--seed",
            seed,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        value["tokens"].clone()
    };
    assert_eq!(run("42"), run("42"));
    assert_ne!(run("42"), run("43"));
}

#[test]
fn info_describes_the_model() {
    let Some(model) = default_model() else { return };
    let out = lmfast(&["info", model.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["config"]["num_layers"], 30);
    assert_eq!(value["config"]["num_kv_heads"], 3);
    assert_eq!(value["parameters"], 134_515_008);
    assert_eq!(value["tokenizer"]["vocab_size"], 49152);
    assert_eq!(value["chat_template"], true);
}

#[test]
fn chat_streams_a_reply_and_obeys_commands() {
    let Some(model) = default_model() else { return };
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmfast"))
        .args([
            "chat",
            "--model",
            model.to_str().unwrap(),
            "--temperature",
            "0",
            "--max-tokens",
            "20",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"What is the capital of France?\n/reset\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("Paris"), "stdout: {stdout}");
    assert!(stderr.contains("tok/s"), "stderr: {stderr}");
    assert!(stderr.contains("conversation cleared"), "stderr: {stderr}");
}

#[test]
fn chat_refuses_a_base_model_before_the_first_message() {
    let Some(gemma) = real_model("gemma-3-270m-q4_k_m.gguf") else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_lmfast"))
        .args(["chat", "--model", gemma.to_str().unwrap()])
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("base model"), "stderr: {stderr}");
    assert!(
        !stderr.contains("/reset"),
        "the chat loop started: {stderr}"
    );
}

#[test]
fn a_bad_model_file_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("lmfast-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("not-a-model.gguf");
    std::fs::write(&bad, b"this is not a gguf file at all").unwrap();
    let out = lmfast(&[
        "generate",
        "--model",
        bad.to_str().unwrap(),
        "--prompt",
        "hi",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not-a-model.gguf") && stderr.contains("not a GGUF file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tokenizer_json_is_written_and_encodes_the_same() {
    let Some(model) = default_model() else { return };
    let dir = std::env::temp_dir().join(format!("lmfast-tok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("tokenizer.json");
    let out = lmfast(&[
        "tokenizer",
        model.to_str().unwrap(),
        "--encode",
        "The capital of France is",
        "--write-json",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["ids"], serde_json::json!([504, 3575, 282, 4649, 314]));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(written["model"]["type"], "BPE");
    assert_eq!(written["pre_tokenizer"]["type"], "Sequence");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A scratch folder removed at the end of the test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lmfast-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "lmfast failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn export_verify_and_run_the_int4_folder() {
    let Some(model) = default_model() else { return };
    let scratch = Scratch::new("export");
    let dir = scratch.0.join("q4");
    let dir_s = dir.to_str().unwrap();
    let out = lmfast(&[
        "export",
        model.to_str().unwrap(),
        "--out",
        dir_s,
        "--quant",
        "q4g32",
        "--shard-size",
        "16MiB",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shards = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("shard-")
        })
        .count();
    assert!(
        shards >= 6,
        "92 MB in 16 MiB shards should need at least 6, got {shards}"
    );

    let out = lmfast(&["verify", dir_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let info = json_of(&lmfast(&["info", dir_s, "--json"]));
    assert_eq!(info["quant"], "q4g32");
    let bpw = info["bits_per_weight"].as_f64().unwrap();
    assert_eq!(info["embedding_quant"], "q8g32");
    // int4 blocks (5.0 bits) and an 8.5-bit embedding.
    assert!((5.6..5.9).contains(&bpw), "bits per weight {bpw}");

    let gen = json_of(&lmfast(&[
        "generate",
        "--model",
        dir_s,
        "--prompt",
        "The capital of France is",
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--json",
    ]));
    let text = gen["text"].as_str().unwrap();
    assert!(text.contains("Paris"), "int4 answer: {text:?}");

    let bench = json_of(&lmfast(&[
        "bench",
        dir_s,
        "--runs",
        "1",
        "--prompt-tokens",
        "16",
        "--gen-tokens",
        "8",
        "--json",
    ]));
    assert_eq!(bench["prompt_tokens"], 16);
    assert_eq!(bench["tokens"].as_array().unwrap().len(), 8);
    for key in [
        "load_s",
        "ttft_s",
        "prefill_tok_s",
        "decode_tok_s",
        "peak_rss_mib",
    ] {
        assert!(bench[key].as_f64().unwrap() > 0.0, "{key}: {}", bench[key]);
    }
    // The packed model stays packed: far below the ~600 MB an f32 copy would take.
    assert!(
        bench["peak_rss_mib"].as_f64().unwrap() < 250.0,
        "{}",
        bench["peak_rss_mib"]
    );

    // A second export to the same folder is refused, and the folder is intact.
    let out = lmfast(&[
        "export",
        model.to_str().unwrap(),
        "--out",
        dir_s,
        "--quant",
        "q8g32",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = lmfast(&["verify", dir_s]);
    assert!(out.status.success());
}

#[test]
fn perplexity_of_english_is_low_and_of_noise_is_high() {
    let Some(model) = default_model() else { return };
    let scratch = Scratch::new("ppl");
    let english = scratch.0.join("english.txt");
    let paragraph = "The Library of Congress holds millions of books, recordings, photographs, maps and manuscripts. \
        Scholars from around the world visit its reading rooms to study the collections, and many of its \
        materials are now available online, so that students and teachers can use them in their own classrooms. ";
    std::fs::write(&english, paragraph.repeat(8)).unwrap();
    let noise = scratch.0.join("noise.txt");
    // Random lowercase "words" from a fixed xorshift sequence: nothing to predict.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let words: Vec<String> = (0..300)
        .map(|_| {
            let len = 3 + (next() % 6) as usize;
            (0..len)
                .map(|_| (b'a' + (next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    std::fs::write(&noise, words.join(" ")).unwrap();
    let ppl = |file: &std::path::Path| {
        let v = json_of(&lmfast(&[
            "eval",
            "perplexity",
            model.to_str().unwrap(),
            "--text",
            file.to_str().unwrap(),
            "--ctx",
            "128",
            "--max-chunks",
            "2",
            "--json",
        ]));
        v["perplexity"].as_f64().unwrap()
    };
    let (good, bad) = (ppl(&english), ppl(&noise));
    // The repeated English paragraph is nearly memorized in the second half of each window.
    assert!(good < 5.0, "English perplexity {good}");
    assert!(
        bad > 20.0 * good,
        "noise perplexity {bad} vs English {good}"
    );
}

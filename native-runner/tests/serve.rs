//! `lmfast serve` end to end: a tiny export the test makes itself, a real server process on a
//! free port, and plain HTTP/1.1 over a socket (so odd paths reach the server unnormalised).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TINY_LLAMA: &str = "../tests/reference/fixtures/tiny-hf/llama";
const SECRET: &str = "not for the web";

fn lmfast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lmfast"))
}

/// A scratch tree shared by every test: `models/tiny` (an export), `models/plain/` (a folder
/// without a manifest), `www/` (a fake built page) and `secret.txt` beside them.
fn fixture() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_fixtures(&tmp);
        let root = tmp.join(format!("serve-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("models/plain")).unwrap();
        std::fs::create_dir_all(root.join("www/js")).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(TINY_LLAMA);
        let out = lmfast()
            .args(["export", source.to_str().unwrap(), "--out"])
            .arg(root.join("models/tiny"))
            .args(["--quant", "q4g32"])
            .output()
            .expect("run lmfast export");
        assert!(
            out.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(root.join("models/plain/readme.txt"), SECRET).unwrap();
        std::fs::write(root.join("secret.txt"), SECRET).unwrap();
        std::fs::write(
            root.join("www/index.html"),
            "<!doctype html><title>chat</title>",
        )
        .unwrap();
        std::fs::write(root.join("www/js/app.js"), "export {};").unwrap();
        std::fs::write(root.join("www/js/worker.mjs"), "export {};").unwrap();
        std::fs::write(root.join("www/app.wasm"), b"\0asm\x01\0\0\0").unwrap();
        root
    })
}

/// Removes the scratch trees of earlier test runs (the statics that own them never drop).
fn remove_stale_fixtures(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("serve-test-")) else {
            continue;
        };
        // Only runs that have ended: another test process may be using its own tree.
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn tiny_model_dir() -> PathBuf {
    fixture().join("models/tiny")
}

/// `lmfast generate --temperature 0 --json` on the tiny export: the reference text.
fn generate_text(prompt: &str, max_tokens: usize, chat: bool) -> (String, usize) {
    let mut cmd = lmfast();
    cmd.args(["generate", "--model"])
        .arg(tiny_model_dir())
        .args(["--prompt", prompt, "--temperature", "0", "--json"])
        .args(["--max-tokens", &max_tokens.to_string()]);
    if chat {
        cmd.arg("--chat");
    }
    let out = cmd.output().expect("run lmfast generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        value["text"].as_str().unwrap().to_owned(),
        value["prompt_ids"].as_array().unwrap().len(),
    )
}

/// A running `lmfast serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        Self::start_with_www(&fixture().join("www"), extra)
    }

    fn start_with_www(www: &Path, extra: &[&str]) -> Self {
        let mut child = lmfast()
            .args(["serve", "--port", "0", "--models"])
            .arg(fixture().join("models"))
            .arg("--www")
            .arg(www)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start lmfast serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        match read_address(&mut stdout) {
            Some(addr) => Self {
                child,
                addr,
                _stdout: stdout,
            },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("lmfast serve exited before printing its URL");
            }
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut stream = self.connect();
        stream
            .write_all(raw_request(method, path, headers, body).as_bytes())
            .unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        Resp::parse(&bytes)
    }

    fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], "")
    }

    fn post(&self, path: &str, body: &Value) -> Resp {
        self.request("POST", path, &[], &body.to_string())
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream
    }

    fn metrics(&self) -> String {
        self.get("/metrics").text()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `host:port` of the start-up line `lmfast serve: http://ADDR/ (models: ...)`.
fn read_address(stdout: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(rest) = line.trim().strip_prefix("lmfast serve: http://") {
            assert!(rest.ends_with("(models: tiny)"), "{line}");
            return rest.split('/').next().map(str::to_owned);
        }
    }
}

fn raw_request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        text.push_str("Content-Type: application/json\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    text
}

/// A parsed response.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn parse(bytes: &[u8]) -> Self {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = std::str::from_utf8(&bytes[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = bytes[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Self {
            status: status.parse().unwrap(),
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The `data:` payloads of a server-sent event stream.
    fn events(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|event| {
                event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                    .map(str::to_owned)
            })
            .collect()
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// Joins a stream's text and checks its frame: chunk objects, then `[DONE]` last.
fn streamed_text(resp: &Resp, chat: bool) -> (String, Vec<Value>) {
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let events = resp.events();
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let mut text = String::new();
    for chunk in &chunks {
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        if chat {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            text.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
        } else {
            assert_eq!(chunk["object"], "text_completion");
            text.push_str(choice["text"].as_str().unwrap());
        }
    }
    (text, chunks)
}

fn chat_body(prompt: &str, max_tokens: usize, stream: bool) -> Value {
    json!({
        "model": "tiny",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    })
}

#[test]
fn lists_models_and_serves_files_safely() {
    let server = Server::start(&[]);

    let list = server.get("/v1/models");
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list["object"], "list");
    let model = &list["data"][0];
    assert_eq!(model["id"], "tiny");
    assert_eq!(model["object"], "model");
    assert_eq!(model["owned_by"], "lmfast");
    assert_eq!(model["lmfast"]["url"], "/models/tiny/");
    assert_eq!(model["lmfast"]["quant"], "q4g32");
    assert_eq!(model["lmfast"]["config"]["hidden_size"], 64);
    assert!(model["lmfast"]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");

    // The page and its assets, with the types browsers insist on.
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>chat</title>"));
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    for (path, mime) in [
        ("/js/app.js", "text/javascript"),
        ("/js/worker.mjs", "text/javascript"),
        ("/app.wasm", "application/wasm"),
        ("/models/tiny/manifest.json", "application/json"),
        ("/models/tiny/shard-00000.bin", "application/octet-stream"),
    ] {
        let resp = server.get(path);
        assert_eq!(resp.status, 200, "{path}");
        assert!(
            resp.header("content-type").unwrap().starts_with(mime),
            "{path}: {:?}",
            resp.header("content-type")
        );
    }
    assert_eq!(
        server
            .get("/models/tiny/manifest.json")
            .header("cache-control"),
        Some("no-cache")
    );
    assert_eq!(
        server
            .get("/models/tiny/shard-00000.bin")
            .header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    // A byte range of a shard.
    let shard = std::fs::read(tiny_model_dir().join("shard-00000.bin")).unwrap();
    let part = server.request(
        "GET",
        "/models/tiny/shard-00000.bin",
        &[("Range", "bytes=100-163")],
        "",
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &shard[100..164]);
    assert_eq!(
        part.header("content-range").unwrap(),
        format!("bytes 100-163/{}", shard.len())
    );

    // Cross-origin isolation on every response, errors included.
    for path in [
        "/",
        "/v1/models",
        "/metrics",
        "/nothing-here",
        "/models/tiny/x.bin",
    ] {
        let resp = server.get(path);
        assert_eq!(
            resp.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            resp.header("cross-origin-embedder-policy"),
            Some("require-corp"),
            "{path}"
        );
        assert_eq!(
            resp.header("cross-origin-resource-policy"),
            Some("same-origin"),
            "{path}"
        );
    }

    // Nothing outside the export folders and the page, however the path is spelled.
    for path in [
        "/models/../secret.txt",
        "/models/%2e%2e/secret.txt",
        "/models/tiny/../../secret.txt",
        "/models/tiny/%2e%2e/%2e%2e/secret.txt",
        "/models/tiny/..%2f..%2fsecret.txt",
        "/models/tiny/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/models/tiny/..\\..\\secret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/models/plain/readme.txt",
        "/models/tiny//etc/passwd",
        "/models/tiny/%2fetc%2fpasswd",
    ] {
        let resp = server.get(path);
        assert!(
            resp.status == 404 || resp.status == 400,
            "{path}: {}",
            resp.status
        );
        assert!(!resp.text().contains(SECRET), "{path} leaked the file");
        assert!(!resp.text().contains("root:"), "{path} leaked /etc/passwd");
    }

    let metrics = server.metrics();
    assert!(
        metrics.contains("lmfast_http_requests_total{route=\"/v1/models\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("lmfast_queue_depth"), "{metrics}");
}

#[test]
fn completions_match_lmfast_generate() {
    let server = Server::start(&[]);
    let (chat_expected, chat_prompt_tokens) = generate_text("Hello there", 12, true);
    let (text_expected, text_prompt_tokens) = generate_text("Once upon a time", 12, false);
    assert!(!chat_expected.is_empty() && !text_expected.is_empty());

    // Whole replies.
    let chat = server.post("/v1/chat/completions", &chat_body("Hello there", 12, false));
    assert_eq!(chat.status, 200, "{}", chat.text());
    let chat = chat.json();
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["model"], "tiny");
    assert!(chat["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(chat["choices"][0]["message"]["role"], "assistant");
    assert_eq!(chat["choices"][0]["message"]["content"], chat_expected);
    assert_eq!(chat["usage"]["prompt_tokens"], chat_prompt_tokens);
    let completion_tokens = chat["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=12).contains(&completion_tokens));
    assert_eq!(
        chat["usage"]["total_tokens"].as_u64().unwrap(),
        chat_prompt_tokens as u64 + completion_tokens
    );

    let text_body =
        json!({"model": "tiny", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0});
    let text = server.post("/v1/completions", &text_body);
    assert_eq!(text.status, 200, "{}", text.text());
    let text = text.json();
    assert_eq!(text["object"], "text_completion");
    assert_eq!(text["choices"][0]["text"], text_expected);
    assert_eq!(text["usage"]["prompt_tokens"], text_prompt_tokens);

    // Streamed: the chunks join to the same text.
    let streamed = server.post("/v1/chat/completions", &chat_body("Hello there", 12, true));
    let (joined, chunks) = streamed_text(&streamed, true);
    assert_eq!(joined, chat_expected);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let last = chunks.last().unwrap();
    assert!(last["choices"][0]["finish_reason"].is_string(), "{last}");

    let mut body = text_body.clone();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let streamed = server.post("/v1/completions", &body);
    let (joined, chunks) = streamed_text(&streamed, false);
    assert_eq!(joined, text_expected);
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], text_prompt_tokens);

    // A stop string cuts the reply where generate cuts it.
    let stop: String = text_expected.chars().skip(3).take(2).collect();
    if !stop.trim().is_empty() {
        let mut body = text_body.clone();
        body["stop"] = json!([stop]);
        let cut = server.post("/v1/completions", &body).json();
        let expected = &text_expected[..text_expected.find(&stop).unwrap()];
        assert_eq!(cut["choices"][0]["text"], expected);
        assert_eq!(cut["choices"][0]["finish_reason"], "stop");
    }

    let metrics = server.metrics();
    for needle in [
        "lmfast_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2",
        "lmfast_generated_tokens_total",
        "lmfast_prompt_tokens_total",
        "lmfast_time_to_first_token_seconds_bucket",
        "lmfast_request_duration_seconds_count{route=\"/v1/completions\"}",
        "lmfast_active_generations 0",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
}

#[test]
fn bad_requests_get_openai_errors() {
    let server = Server::start(&[]);
    let error_of = |resp: &Resp, status: u16| -> Value {
        assert_eq!(resp.status, status, "{}", resp.text());
        let body = resp.json();
        assert!(body["error"]["message"].is_string(), "{body}");
        assert!(body["error"]["type"].is_string(), "{body}");
        body["error"].clone()
    };

    let resp = server.request("POST", "/v1/chat/completions", &[], "{\"model\": ");
    let error = error_of(&resp, 400);
    assert_eq!(error["code"], "invalid_json");

    let resp = server.post(
        "/v1/chat/completions",
        &json!({"model": "nope", "messages": [{"role": "user", "content": "hi"}]}),
    );
    let error = error_of(&resp, 404);
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(error["param"], "model");

    for (body, param) in [
        (json!({"model": "tiny"}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "model",
        ),
        (json!({"model": "tiny", "messages": "hi"}), "messages"),
        (
            json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "temperature": -1}),
            "temperature",
        ),
        (
            json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}),
            "max_tokens",
        ),
        (
            json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stop": 3}),
            "stop",
        ),
        (
            json!({"model": "tiny", "messages": [{"role": "user"}], "top_p": 2.0}),
            "top_p",
        ),
    ] {
        let resp = server.post("/v1/chat/completions", &body);
        let error = error_of(&resp, 400);
        assert_eq!(error["param"], param, "{body} -> {error}");
    }
    let resp = server.post("/v1/completions", &json!({"model": "tiny"}));
    assert_eq!(error_of(&resp, 400)["param"], "prompt");

    // The tiny model's context holds 64 tokens.
    let long = "word ".repeat(200);
    let resp = server.post(
        "/v1/completions",
        &json!({"model": "tiny", "prompt": long, "max_tokens": 4}),
    );
    let error = error_of(&resp, 400);
    assert_eq!(error["code"], "context_length_exceeded");
    let resp = server.post(
        "/v1/chat/completions",
        &json!({"model": "tiny", "messages": [{"role": "user", "content": long}], "stream": true}),
    );
    assert_eq!(error_of(&resp, 400)["code"], "context_length_exceeded");

    // The server is still healthy after all that.
    let ok = server.post("/v1/chat/completions", &chat_body("hi", 4, false));
    assert_eq!(ok.status, 200, "{}", ok.text());

    // Without a built page, `/` says how to build it.
    let empty = fixture().join("no-www");
    let bare = Server::start_with_www(&empty, &[]);
    let page = bare.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("scripts/run.sh"), "{}", page.text());
}

#[test]
fn api_key_guards_the_api_only() {
    let server = Server::start(&["--api-key", "sk-test-123"]);
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "sk-test-123")],
    ] {
        let resp = server.request("GET", "/v1/models", &headers, "");
        assert_eq!(resp.status, 401, "{headers:?}");
        assert_eq!(resp.json()["error"]["code"], "invalid_api_key");
    }
    let body = chat_body("hi", 4, false).to_string();
    let resp = server.request("POST", "/v1/chat/completions", &[], &body);
    assert_eq!(resp.status, 401);
    let auth = [("Authorization", "Bearer sk-test-123")];
    assert_eq!(server.request("GET", "/v1/models", &auth, "").status, 200);
    let resp = server.request("POST", "/v1/chat/completions", &auth, &body);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(server.get("/").status, 200);
    assert_eq!(server.get("/metrics").status, 200);
    assert_eq!(server.get("/models/tiny/manifest.json").status, 200);
}

#[test]
fn thirty_two_concurrent_streams_all_finish_correctly() {
    let server = Server::start(&[]);
    let prompts = [
        "Hello there",
        "What is two plus two?",
        "Tell me a story",
        "Hi",
    ];
    let expected: Vec<String> = prompts
        .iter()
        .map(|p| generate_text(p, 16, true).0)
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let server = &server;
                let prompt = prompts[i % prompts.len()];
                scope.spawn(move || {
                    let resp = server.post("/v1/chat/completions", &chat_body(prompt, 16, true));
                    streamed_text(&resp, true).0
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let text = handle.join().expect("a client thread");
            assert_eq!(text, expected[i % prompts.len()], "request {i}");
        }
    });
    eprintln!(
        "32 concurrent streams (16 tokens each, tiny model): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            "lmfast_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 32"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("lmfast_queue_depth 0"), "{metrics}");
}

#[test]
fn a_full_queue_answers_429() {
    // One worker and one waiting place; each reply takes ~0.8 s (50 ms a token).
    let server = Server::start(&["--parallel", "1", "--queue", "1", "--token-delay-ms", "50"]);
    let (expected, _) = generate_text("Hello there", 16, true);
    // Load the model first, so the requests below meet a busy worker, not a loading model.
    assert_eq!(
        server
            .post("/v1/chat/completions", &chat_body("hi", 1, false))
            .status,
        200
    );
    let statuses: Vec<(u16, Resp)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let server = &server;
                scope.spawn(move || {
                    let resp =
                        server.post("/v1/chat/completions", &chat_body("Hello there", 16, false));
                    (resp.status, resp)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|(s, _)| *s == 200).count();
    let busy = statuses.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!(ok + busy, 8, "only 200 or 429 expected");
    assert!(ok >= 1 && busy >= 1, "{ok} answered, {busy} refused");
    for (status, resp) in &statuses {
        if *status == 429 {
            assert_eq!(resp.json()["error"]["code"], "rate_limit_exceeded");
        } else {
            assert_eq!(resp.json()["choices"][0]["message"]["content"], expected);
        }
    }
    assert!(server.metrics().contains("status=\"429\""));
}

#[test]
fn sigint_lets_a_stream_finish_then_exits_zero() {
    let mut server = Server::start(&["--token-delay-ms", "40"]);
    let (expected, _) = generate_text("Once upon a time", 24, false);
    let body = json!({"model": "tiny", "prompt": "Once upon a time", "max_tokens": 24, "temperature": 0, "stream": true})
        .to_string();
    let mut stream = server.connect();
    stream
        .write_all(raw_request("POST", "/v1/completions", &[], &body).as_bytes())
        .unwrap();
    // Wait for the first token, then interrupt the server mid-stream.
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains("data: ") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the stream closed before its first event");
        received.extend_from_slice(&buf[..n]);
    }
    let interrupted_at = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stream.read_to_end(&mut received).unwrap();
    let resp = Resp::parse(&received);
    let (text, _) = streamed_text(&resp, false);
    assert_eq!(text, expected);
    // ~24 tokens at 40 ms: the stream really was in flight when the signal came.
    assert!(
        interrupted_at.elapsed() > Duration::from_millis(200),
        "the stream ended {:?} after the signal",
        interrupted_at.elapsed()
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "lmfast serve did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit}");
    assert!(TcpStream::connect(&server.addr).is_err());
}

#[test]
fn a_client_that_leaves_cancels_its_generation() {
    // One worker at 100 ms a token: a 30-token reply would hold it for three seconds.
    let server = Server::start(&["--parallel", "1", "--token-delay-ms", "100"]);
    let body = json!({"model": "tiny", "prompt": "Once upon a time", "max_tokens": 30, "temperature": 0, "stream": true})
        .to_string();
    let mut stream = server.connect();
    stream
        .write_all(raw_request("POST", "/v1/completions", &[], &body).as_bytes())
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut received = Vec::new();
    while !String::from_utf8_lossy(&received).contains("data: ") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buf[..n]);
    }
    drop(stream);
    // The worker notices at its next token and is free for this request at once.
    let started = Instant::now();
    let resp = server.post("/v1/chat/completions", &chat_body("hi", 2, false));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "waited {:?} behind an abandoned generation",
        started.elapsed()
    );
    assert!(server.metrics().contains("lmfast_active_generations 0"));
}

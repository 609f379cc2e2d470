//! Static files: the chat page from `--www` and the export folders under `/models/<name>/`.
//!
//! tower-http's `ServeDir` does the file work (ranges, conditional requests, refusing `..`
//! after percent-decoding); this module picks the folder, fixes the MIME types the browser
//! is strict about (`application/wasm` for streaming compilation, JavaScript for modules),
//! and sets caching: shards never change under a name, everything else is revalidated.

use super::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use std::path::Path as FsPath;
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::services::ServeDir;

const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// What `/` answers when `--www` holds no built page.
const NOT_BUILT: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>lmfast</title></head>\n\
<body><h1>lmfast serve</h1>\n<p>The chat page is not built. Run <code>scripts/run.sh</code> (or build \
<code>www/</code>) and reload; or pass <code>--www DIR</code>.</p>\n\
<p>The API is up: <a href=\"/v1/models\">/v1/models</a>, <code>POST /v1/chat/completions</code>, \
<a href=\"/metrics\">/metrics</a>.</p></body></html>\n";

/// `GET /`: the page's `index.html`, or how to build it.
pub async fn index(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if !state.www.join("index.html").is_file() {
        let mut response = Html(NOT_BUILT).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, NO_CACHE);
        return response;
    }
    serve_from(&state.www, request, false).await
}

/// Every other path outside `/v1`, `/models` and `/metrics`: the page's assets.
pub async fn www(State(state): State<Arc<AppState>>, request: Request) -> Response {
    serve_from(&state.www, request, false).await
}

/// `/models/<name>/<path>`: a file of an export folder. Only folders found at start-up
/// are served, so nothing else under `--models` (GGUF files, text) is exposed.
pub async fn model_file(
    State(state): State<Arc<AppState>>,
    Path((name, _)): Path<(String, String)>,
    mut request: Request,
) -> Response {
    let Some(entry) = state.models.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Hand ServeDir the rest of the path still percent-encoded, so its own decoding and
    // traversal checks see exactly what the client sent.
    let raw = request.uri().path();
    let rest = raw
        .strip_prefix("/models/")
        .and_then(|r| r.split_once('/'))
        .map_or("", |(_, rest)| rest);
    let mut target = format!("/{rest}");
    if let Some(query) = request.uri().query() {
        target.push('?');
        target.push_str(query);
    }
    match target.parse::<Uri>() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    }
    serve_from(&entry.dir, request, true).await
}

/// Serves `request`'s path from `dir`, with our MIME types and caching headers; `shards`
/// marks an export folder, whose `.bin` files are immutable (a new export is a new folder).
async fn serve_from(dir: &FsPath, request: Request, shards: bool) -> Response {
    let path = request.uri().path().to_owned();
    let served = ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        if let Some(mime) = content_type_for(&path) {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        }
        let cache = if shards && path.ends_with(".bin") {
            IMMUTABLE
        } else {
            NO_CACHE
        };
        headers.insert(header::CACHE_CONTROL, cache);
    }
    response
}

/// The MIME types browsers insist on, by extension (`None`: keep ServeDir's guess).
fn content_type_for(path: &str) -> Option<&'static str> {
    if path.ends_with('/') {
        // A folder's index.html.
        return Some("text/html; charset=utf-8");
    }
    let ext = path.rsplit_once('.').map(|(_, ext)| ext)?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "bin" => "application/octet-stream",
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "jinja" | "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::content_type_for;

    #[test]
    fn browser_critical_types() {
        assert_eq!(content_type_for("/a/b.wasm"), Some("application/wasm"));
        assert_eq!(
            content_type_for("/x.mjs"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type_for("/manifest.json"), Some("application/json"));
        assert_eq!(
            content_type_for("/shard-00000.bin"),
            Some("application/octet-stream")
        );
        assert_eq!(content_type_for("/"), Some("text/html; charset=utf-8"));
        assert_eq!(content_type_for("/noext"), None);
    }
}

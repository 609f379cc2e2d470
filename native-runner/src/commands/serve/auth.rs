//! `--api-key`: the `/v1` routes answer only requests carrying `Authorization: Bearer KEY`.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Middleware: 401 (OpenAI-shaped) unless the request presents the key, when one is set.
pub async fn require_key(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(key) = &state.api_key {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !presented.is_some_and(|p| same_key(p.as_bytes(), key.as_bytes())) {
            return ApiError::unauthorized().into_response();
        }
    }
    next.run(request).await
}

/// Compares in time independent of where the keys differ, so the key cannot be guessed
/// byte by byte from response times.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn keys_compare_exactly() {
        assert!(same_key(b"sk-1", b"sk-1"));
        assert!(!same_key(b"sk-1", b"sk-2"));
        assert!(!same_key(b"sk-1", b"sk-12"));
        assert!(!same_key(b"", b"sk"));
    }
}

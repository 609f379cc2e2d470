//! Errors as OpenAI's API spells them: a status code and `{"error": {message, type, param, code}}`.
//!
//! Every failure a client can cause ends up here, so clients written for OpenAI (which read
//! `error.message` and `error.code`) show our messages as they show OpenAI's.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A failed API request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub message: String,
    /// OpenAI's error class (`invalid_request_error`, `server_error`, …).
    pub kind: &'static str,
    /// The request field at fault, when there is one.
    pub param: Option<String>,
    /// A stable code for programs (`model_not_found`, `rate_limit_exceeded`, …).
    pub code: Option<&'static str>,
}

/// The JSON body of an error response.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    /// The error itself.
    pub error: ErrorDetail<'a>,
}

/// The fields OpenAI's clients read.
#[derive(Serialize)]
pub struct ErrorDetail<'a> {
    /// What went wrong.
    pub message: &'a str,
    /// The error class.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The field at fault.
    pub param: Option<&'a str>,
    /// The stable code.
    pub code: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
        }
    }

    fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// 400: a field is missing or has a value we cannot use.
    pub fn invalid_field(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).with_param(param)
    }

    /// 400: the body is not JSON at all.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
            .with_code("invalid_json")
    }

    /// 404: no export folder of that name.
    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("The model `{model}` does not exist; GET /v1/models lists the models served."),
        )
        .with_param("model")
        .with_code("model_not_found")
    }

    /// 400: the prompt leaves no room in the model's context.
    pub fn context_length_exceeded(param: &str, prompt_tokens: usize, context: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!(
                "This model's context holds {context} tokens; the prompt has {prompt_tokens}, \
                 leaving no room for a reply. Shorten the {param}."
            ),
        )
        .with_param(param)
        .with_code("context_length_exceeded")
    }

    /// 401: `--api-key` is set and the request did not present it.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Missing or invalid API key: send `Authorization: Bearer <key>`.",
        )
        .with_code("invalid_api_key")
    }

    /// 429: the waiting queue is full.
    pub fn queue_full(capacity: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            format!("The server is busy ({capacity} requests already waiting); retry shortly."),
        )
        .with_code("rate_limit_exceeded")
    }

    /// 503: the server is shutting down.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "The server is shutting down.",
        )
        .with_code("server_shutting_down")
    }

    /// 500: our fault (a model that fails to load, a generation error).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    /// The JSON body (also sent as an SSE event when a stream fails midway).
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorDetail {
                message: &self.message,
                kind: self.kind,
                param: self.param.as_deref(),
                code: self.code,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

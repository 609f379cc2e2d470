//! `GET /metrics`: Prometheus (OpenMetrics) text, kept by `prometheus-client`.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern (`/v1/chat/completions`), `static` for files.
    pub route: String,
    /// The HTTP status code.
    pub status: u16,
}

/// Labels of the per-route histograms.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route pattern.
    pub route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Prompt tokens of the generations run.
    pub prompt_tokens: Counter,
    /// Tokens generated.
    pub generated_tokens: Counter,
    /// Seconds from a completion request's arrival to its last token.
    pub request_duration: HistogramFamily,
    /// Seconds from a completion request's arrival to its first token (queueing included).
    pub time_to_first_token: HistogramFamily,
    /// Requests waiting for a worker.
    pub queue_depth: Gauge,
    /// Generations running now.
    pub active_generations: Gauge,
}

fn latency_histogram() -> Histogram {
    // 5 ms … ~80 s: a token on a small model to a long reply on a busy server.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lmfast");
        let requests = Family::<RequestLabels, Counter>::default();
        let prompt_tokens = Counter::default();
        let generated_tokens = Counter::default();
        let request_duration = HistogramFamily::new_with_constructor(latency_histogram);
        let time_to_first_token = HistogramFamily::new_with_constructor(latency_histogram);
        let queue_depth = Gauge::default();
        let active_generations = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "prompt_tokens",
            "Prompt tokens of completion requests",
            prompt_tokens.clone(),
        );
        registry.register(
            "generated_tokens",
            "Tokens generated",
            generated_tokens.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Seconds from a completion request's arrival to its last token",
            request_duration.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "Seconds from a completion request's arrival to its first token, queueing included",
            time_to_first_token.clone(),
        );
        registry.register(
            "queue_depth",
            "Requests waiting for a generation worker",
            queue_depth.clone(),
        );
        registry.register(
            "active_generations",
            "Generations running now",
            active_generations.clone(),
        );
        Self {
            registry,
            requests,
            prompt_tokens,
            generated_tokens,
            request_duration,
            time_to_first_token,
            queue_depth,
            active_generations,
        }
    }

    /// The metrics in the text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `GET /metrics`.
pub async fn metrics_handler(State(state): State<Arc<AppState>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Middleware counting every response by route and status.
pub async fn count_requests(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    // The matched pattern, not the path: label values must not grow with every URL.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "static".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

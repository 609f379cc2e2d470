//! `lmfast serve`: the chat page, the export folders it loads, and an OpenAI-compatible API
//! that runs the same exports natively on the fused CPU decoder.
//!
//! Routes: `/` and the page's assets (`--www`), `/models/<name>/…` (export folders under
//! `--models`), `/v1/models`, `/v1/chat/completions`, `/v1/completions`, `/metrics`.
//! Generations run on `--parallel` worker threads behind a queue of `--queue` requests
//! (`queue`); the async side (axum on tokio) only parses, streams and serves files.

mod api;
mod auth;
mod error;
mod metrics;
mod models;
pub(crate) mod openai_types;
mod queue;
mod static_files;

use super::{Backend, RunArgs};
use anyhow::Context;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post};
use axum::{middleware, Router};
use clap::Args;
use metrics::Metrics;
use models::Models;
use queue::WorkQueue;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

/// Arguments of `lmfast serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Folder whose subfolders are export folders (each with a manifest.json).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Folder of the built chat page.
    #[arg(long, default_value = "www/dist")]
    www: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0: any free port; the one chosen is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Require `Authorization: Bearer KEY` on the /v1 routes.
    #[arg(long)]
    api_key: Option<String>,
    /// Generations run at the same time.
    #[arg(long, default_value_t = 2)]
    parallel: usize,
    /// Requests that may wait for a worker; more get 429.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// CPU threads for the kernels (default: every core); concurrent generations share them.
    #[arg(long)]
    threads: Option<usize>,
    /// Sleep this many milliseconds after every token (tests use it to keep requests in flight).
    #[arg(long, default_value_t = 0, hide = true)]
    token_delay_ms: u64,
}

/// What every handler shares.
pub struct AppState {
    models: Models,
    queue: WorkQueue,
    metrics: Arc<Metrics>,
    www: PathBuf,
    api_key: Option<String>,
    shutting_down: AtomicBool,
    next_id: AtomicU64,
}

impl AppState {
    /// Whether SIGINT/SIGTERM has arrived (new generations then get 503).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }
}

/// Runs the server until SIGINT or SIGTERM, then finishes the requests in flight.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.parallel > 0, "--parallel must be at least 1");
    // An empty key would silently turn authentication off.
    anyhow::ensure!(
        args.api_key.as_ref().is_none_or(|k| !k.trim().is_empty()),
        "--api-key must not be empty"
    );
    RunArgs {
        backend: Backend::Cpu,
        threads: args.threads,
    }
    .init_threads()?;
    let models = Models::discover(&args.models)?;
    if models.names().is_empty() {
        eprintln!(
            "lmfast serve: no export folders (subfolders with manifest.json) in {}; \
             make one with `lmfast export MODEL --out {}/NAME`",
            args.models.display(),
            args.models.display()
        );
    }
    let metrics = Arc::new(Metrics::new());
    let queue = WorkQueue::start(
        args.parallel,
        args.queue,
        Duration::from_millis(args.token_delay_ms),
        Arc::clone(&metrics),
    )?;
    let state = Arc::new(AppState {
        models,
        queue,
        metrics,
        www: args.www,
        api_key: args.api_key,
        shutting_down: AtomicBool::new(false),
        next_id: AtomicU64::new(api::random_u64() >> 16),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(Arc::clone(&state), &args.host, args.port))?;
    // Every connection is closed; let the workers finish anything still queued.
    state.queue.shutdown();
    eprintln!("lmfast serve: stopped");
    Ok(())
}

async fn serve(state: Arc<AppState>, host: &str, port: u16) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    let address = listener.local_addr()?;
    // Scripts and tests read this line for the URL (with --port 0, the port chosen).
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "lmfast serve: http://{address}/ (models: {})",
        state.models.names().join(", ")
    )?;
    stdout.flush()?;
    axum::serve(listener, router(Arc::clone(&state)))
        .with_graceful_shutdown(shutdown_signal(state))
        .await
        .context("serving")
}

/// Every route, with the headers every response carries.
fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/models", get(api::list_models))
        .route("/v1/chat/completions", post(api::chat_completions))
        .route("/v1/completions", post(api::completions))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_key,
        ));
    // Cross-origin isolation: the page's wasm threads need SharedArrayBuffer, which browsers
    // allow only when every response says so.
    let isolation = [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-resource-policy", "same-origin"),
    ];
    let mut router = Router::new()
        .route("/", get(static_files::index))
        .route("/models/{name}/{*path}", get(static_files::model_file))
        .route("/metrics", get(metrics::metrics_handler))
        .merge(v1)
        .fallback(static_files::www)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics::count_requests,
        ));
    for (name, value) in isolation {
        router = router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router.with_state(state)
}

/// Resolves on SIGINT or SIGTERM; from then on new generations get 503 while axum stops
/// accepting connections and waits for the open ones (streams included) to finish.
async fn shutdown_signal(state: Arc<AppState>) {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    state.shutting_down.store(true, Ordering::Relaxed);
    eprintln!("lmfast serve: shutting down after the requests in flight");
}

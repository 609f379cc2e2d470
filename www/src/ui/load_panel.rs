//! The download progress bar: in total and per shard, speed, time left, cache hits.

use leptos::prelude::*;

use super::state::{AppState, LoadState};
use crate::conversation::format_seconds;

/// Shown while a model loads, and as a one-line summary once it has.
#[component]
pub fn LoadPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let percent = move || {
        state
            .progress
            .with(|p| (p.fraction() * 100.0).floor() as u32)
    };
    view! {
        <Show when=move || state.load_state.get() == LoadState::Loading>
            <section class="load" aria-label="Model download">
                <div class="load-title">
                    {move || format!("Loading {}", short_name(&state.model_url.get()))}
                    <span class="load-percent" data-testid="load-percent">{move || format!("{}%", percent())}</span>
                </div>
                <div
                    class="bar"
                    role="progressbar"
                    aria-valuemin="0"
                    aria-valuemax="100"
                    aria-valuenow=move || percent().to_string()
                    data-testid="progress"
                >
                    <div class="bar-fill" style:width=move || format!("{}%", percent())></div>
                </div>
                <div class="load-status" data-testid="load-status">
                    {move || {
                        let p = state.progress.get();
                        if p.total == 0.0 { "reading the manifest…".to_string() }
                        else if p.done { format!("{} · building the engine…", p.status_line()) }
                        else { p.status_line() }
                    }}
                </div>
                <ul class="shards">
                    {move || state.progress.with(|p| p.shards.iter().enumerate().map(|(i, s)| {
                        let label = if s.file.is_empty() { format!("shard {i}") } else { s.file.clone() };
                        let tag = if s.from_cache { "cache" } else if s.refetched { "re-fetched" } else if s.verified { "checked" } else { "" };
                        let width = format!("{}%", (s.fraction() * 100.0).floor());
                        view! {
                            <li class="shard">
                                <span class="shard-name">{label}</span>
                                <span class="shard-bar"><span class="bar-fill" style:width=width></span></span>
                                <span class="shard-tag">{tag}</span>
                            </li>
                        }
                    }).collect_view())}
                </ul>
            </section>
        </Show>
        <Show when=move || state.load_state.get() == LoadState::Ready>
            <div class="loaded" data-testid="loaded">
                {move || {
                    let p = state.progress.get();
                    let how = if p.all_from_cache() {
                        "from cache".to_string()
                    } else {
                        match p.megabytes_per_second() {
                            Some(rate) => format!("downloaded at {rate:.1} MB/s"),
                            None => "downloaded".to_string(),
                        }
                    };
                    let seconds = state.load_seconds.get().map(format_seconds).unwrap_or_default();
                    format!("{} ready · {:.1} MB {} · loaded in {}", short_name(&state.model_url.get()), p.total / 1e6, how, seconds)
                }}
            </div>
        </Show>
    }
}

/// The last path segment of a model URL ("smollm2-135m-q4").
fn short_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/').trim_end_matches("/manifest.json");
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

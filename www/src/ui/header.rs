//! The top bar: the model picker, the backend in use, the theme toggle and settings.

use leptos::prelude::*;

use super::state::{AppState, LoadState};
use crate::settings::Theme;

/// The custom-URL entry of the model list.
const OTHER: &str = "__other__";

/// The top bar.
#[component]
pub fn Header() -> impl IntoView {
    let state = expect_context::<AppState>();
    let custom = RwSignal::new(false);
    let listed = move |url: &str| state.models.with(|m| m.iter().any(|x| x.url == url));
    let on_pick = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if value == OTHER {
            custom.set(true);
        } else {
            custom.set(false);
            state.model_url.set(value);
            state.load_model();
        }
    };
    let theme_label = move || match state.settings.with(|s| s.theme) {
        Theme::System => "◐",
        Theme::Light => "☀",
        Theme::Dark => "☾",
    };
    view! {
        <header class="header">
            <div class="brand">"lmfast"<span class="brand-sub">" chat"</span></div>
            <div class="picker">
                <select
                    aria-label="Model"
                    data-testid="model-select"
                    on:change=on_pick
                    prop:value=move || {
                        let url = state.model_url.get();
                        if custom.get() || !listed(&url) { OTHER.to_string() } else { url }
                    }
                >
                    <For each=move || state.models.get() key=|m| m.url.clone() let:m>
                        <option value=m.url.clone()>
                            {format!("{} · {} · {:.0} MB", m.id, m.quant, m.bytes / 1e6)}
                        </option>
                    </For>
                    <option value=OTHER>"Other URL…"</option>
                </select>
                <Show when=move || custom.get() || !listed(&state.model_url.get())>
                    <form class="url-form" on:submit=move |ev| {
                        ev.prevent_default();
                        state.load_model();
                    }>
                        <input
                            type="url"
                            placeholder="https://…/my-export/ (folder with manifest.json)"
                            aria-label="Model URL"
                            prop:value=move || state.model_url.get()
                            on:input=move |ev| state.model_url.set(event_target_value(&ev))
                        />
                        <button type="submit">"Load"</button>
                    </form>
                </Show>
            </div>
            <div class="status" data-testid="backend" title=move || state.backend_label.get()>
                {move || match state.load_state.get() {
                    LoadState::Ready => state.backend_label.get(),
                    LoadState::Loading => "loading…".to_string(),
                    LoadState::Failed => "not loaded".to_string(),
                    LoadState::Idle => String::new(),
                }}
            </div>
            <button
                class="icon"
                title="Theme: system, light or dark"
                aria-label="Toggle theme"
                on:click=move |_| state.settings.update(|s| s.theme = s.theme.next())
            >
                {theme_label}
            </button>
            <button
                class="icon"
                title="Settings"
                aria-label="Settings"
                data-testid="settings-button"
                on:click=move |_| state.show_settings.update(|v| *v = !*v)
            >
                "⚙"
            </button>
        </header>
    }
}

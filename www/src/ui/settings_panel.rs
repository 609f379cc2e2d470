//! The settings drawer: system prompt, sampling, backend, theme, stored models.

use leptos::prelude::*;

use super::state::AppState;
use crate::settings::{BackendChoice, Settings, Theme, MAX_REPLY_TOKENS, MAX_TEMPERATURE};

/// Applies one form field's text to the settings.
type FieldSetter = Box<dyn Fn(&mut Settings, &str)>;

/// The settings drawer.
#[component]
pub fn SettingsPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let s = state.settings;
    // Numbers are applied as typed; `clamped` keeps them in the engine's ranges.
    let set = move |f: FieldSetter| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            s.update(|s| {
                f(s, &value);
                *s = s.clone().clamped();
            });
        }
    };
    let loaded_backend = StoredValue::new(state.backend());
    view! {
        <aside class="settings" aria-label="Settings" data-testid="settings">
            <div class="settings-head">
                <h2>"Settings"</h2>
                <button class="icon" aria-label="Close settings" on:click=move |_| state.show_settings.set(false)>"✕"</button>
            </div>
            <label>"System prompt"
                <textarea
                    rows="3"
                    placeholder="Empty: the model's default"
                    data-testid="system-prompt"
                    prop:value=move || s.with(|s| s.system_prompt.clone())
                    on:change=set(Box::new(|s, v| s.system_prompt = v.to_string()))
                ></textarea>
            </label>
            <label>{move || format!("Temperature {:.2}", s.with(|s| s.temperature))}
                <input type="range" min="0" max=MAX_TEMPERATURE.to_string() step="0.05" data-testid="temperature"
                    prop:value=move || s.with(|s| s.temperature.to_string())
                    on:input=set(Box::new(|s, v| if let Ok(t) = v.parse() { s.temperature = t }))/>
            </label>
            <label>{move || format!("Top-p {:.2}", s.with(|s| s.top_p))}
                <input type="range" min="0.05" max="1" step="0.05"
                    prop:value=move || s.with(|s| s.top_p.to_string())
                    on:input=set(Box::new(|s, v| if let Ok(p) = v.parse() { s.top_p = p }))/>
            </label>
            <div class="row">
                <label>"Top-k (0: off)"
                    <input type="number" min="0" max="1000"
                        prop:value=move || s.with(|s| s.top_k.to_string())
                        on:change=set(Box::new(|s, v| if let Ok(k) = v.parse() { s.top_k = k }))/>
                </label>
                <label>"Max tokens"
                    <input type="number" min="1" max=MAX_REPLY_TOKENS.to_string() data-testid="max-tokens"
                        prop:value=move || s.with(|s| s.max_tokens.to_string())
                        on:change=set(Box::new(|s, v| if let Ok(n) = v.parse() { s.max_tokens = n }))/>
                </label>
                <label>"Seed (empty: random)"
                    <input type="number" min="0" data-testid="seed"
                        prop:value=move || s.with(|s| s.seed.map(|x| x.to_string()).unwrap_or_default())
                        on:change=set(Box::new(|s, v| s.seed = v.trim().parse().ok()))/>
                </label>
            </div>
            <label>"Backend"
                <select data-testid="backend-select"
                    prop:value=move || s.with(|s| s.backend.as_str())
                    on:change=set(Box::new(|s, v| if let Some(b) = BackendChoice::parse(v) { s.backend = b }))>
                    <option value="auto">"Auto: WebGPU, else CPU"</option>
                    <option value="webgpu">"WebGPU only"</option>
                    <option value="cpu">"CPU (wasm)"</option>
                </select>
            </label>
            <Show when=move || s.with(|s| s.backend) != loaded_backend.get_value()>
                <button class="primary" data-testid="reload-backend" on:click=move |_| {
                    loaded_backend.set_value(state.backend());
                    state.load_model();
                }>"Reload the model on this backend"</button>
            </Show>
            <label>"Theme"
                <select
                    prop:value=move || s.with(|s| match s.theme { Theme::System => "system", Theme::Light => "light", Theme::Dark => "dark" })
                    on:change=set(Box::new(|s, v| s.theme = match v { "light" => Theme::Light, "dark" => Theme::Dark, _ => Theme::System }))>
                    <option value="system">"System"</option>
                    <option value="light">"Light"</option>
                    <option value="dark">"Dark"</option>
                </select>
            </label>
            <div class="settings-foot">
                <button class="ghost" on:click=move |_| s.set(Settings { theme: s.with_untracked(|s| s.theme), ..Settings::default() })>
                    "Reset sampling"
                </button>
                <button class="ghost danger" on:click=move |_| state.clear_stored_models()>"Delete stored models"</button>
            </div>
        </aside>
    }
}

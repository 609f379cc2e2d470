//! The page's UI (wasm32 only): the app shell and its parts.

mod bridge;
mod chat_view;
mod composer;
mod error_banner;
mod header;
mod load_panel;
mod settings_panel;
mod state;
mod storage;

use leptos::prelude::*;

use state::AppState;

/// Replaces the loading placeholder in `index.html` with the app.
pub fn mount() {
    console_error_panic_hook_lite();
    if let Some(el) = document().get_element_by_id("boot") {
        el.remove();
    }
    leptos::mount::mount_to_body(App);
}

/// Panics (bugs) reach the browser console with their message instead of "unreachable".
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys_console_error(&info.to_string());
    }));
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn web_sys_console_error(message: &str);
}

/// The whole page.
#[component]
fn App() -> impl IntoView {
    let state = AppState::provide();
    // The theme lives on <html> so the CSS variables apply to the whole document.
    Effect::new(move |_| {
        let theme = state.settings.with(|s| s.theme);
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme.attribute());
        }
    });
    // Esc stops a streaming reply wherever the focus is.
    let _esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && state.generating.get_untracked() {
            ev.prevent_default();
            state.stop();
        }
    });
    state.start();
    view! {
        <div class="app">
            <header::Header />
            <main class="main">
                <error_banner::ErrorBanner />
                <load_panel::LoadPanel />
                <chat_view::ChatView />
            </main>
            <composer::Composer />
            <Show when=move || state.show_settings.get()>
                <settings_panel::SettingsPanel />
            </Show>
        </div>
    }
}

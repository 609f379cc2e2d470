//! The message box: Enter sends, Shift+Enter adds a line; Send turns into Stop while a
//! reply streams.

use leptos::html::Textarea;
use leptos::prelude::*;

use super::state::{AppState, LoadState};

/// The message box and its buttons.
#[component]
pub fn Composer() -> impl IntoView {
    let state = expect_context::<AppState>();
    let draft = RwSignal::new(String::new());
    let input: NodeRef<Textarea> = NodeRef::new();
    let ready = move || state.load_state.get() == LoadState::Ready;
    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() || !ready() || state.generating.get_untracked() {
            return;
        }
        draft.set(String::new());
        if let Some(el) = input.get_untracked() {
            el.set_value("");
        }
        state.send(text);
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // While an IME composes, Enter confirms the composition, not the message.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <footer class="composer">
            <textarea
                node_ref=input
                rows="1"
                data-testid="prompt"
                aria-label="Message"
                placeholder=move || match (ready(), state.base_model.get()) {
                    (false, _) => "Waiting for the model…",
                    (true, false) => "Message the model…",
                    (true, true) => "Text for this base model to continue…",
                }
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            <Show
                when=move || state.generating.get()
                fallback=move || view! {
                    <button
                        class="primary"
                        data-testid="send"
                        disabled=move || !ready() || draft.with(|d| d.trim().is_empty())
                        on:click=move |_| send()
                    >"Send"</button>
                }
            >
                <button class="stop" data-testid="stop" title="Stop (Esc)" on:click=move |_| state.stop()>"Stop"</button>
            </Show>
            <button
                class="ghost"
                data-testid="clear"
                title="Clear the conversation"
                disabled=move || state.generating.get() || state.conversation.with(|c| c.messages.is_empty())
                on:click=move |_| state.clear()
            >"Clear"</button>
        </footer>
    }
}

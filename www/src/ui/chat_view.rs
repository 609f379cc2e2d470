//! The conversation: questions (editable), replies as Markdown with their figures.

use leptos::html::Div;
use leptos::prelude::*;

use super::state::{AppState, LoadState};
use crate::conversation::Role;
use crate::markdown::render_markdown;

/// Every message, scrolled to the newest while a reply streams.
#[component]
pub fn ChatView() -> impl IntoView {
    let state = expect_context::<AppState>();
    let list: NodeRef<Div> = NodeRef::new();
    // Follow the stream unless the visitor scrolled up to read.
    Effect::new(move |_| {
        state.conversation.track();
        if let Some(el) = list.get() {
            let near_bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 120;
            if near_bottom || state.generating.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    let count = move || state.conversation.with(|c| c.messages.len());
    view! {
        <div class="messages" node_ref=list data-testid="messages">
            <Show when=move || count() == 0 && state.load_state.get() == LoadState::Ready>
                <div class="empty">
                    <p>"The model runs in this browser tab: nothing you type leaves your machine."</p>
                    <p class="keys">"Enter sends · Shift+Enter adds a line · Esc stops"</p>
                </div>
            </Show>
            <For each=move || 0..count() key=|i| *i let:index>
                <MessageRow index=index />
            </For>
        </div>
    }
}

/// One message; its content is memoised so a streaming reply re-renders only itself.
#[component]
fn MessageRow(index: usize) -> impl IntoView {
    let state = expect_context::<AppState>();
    let message = Memo::new(move |_| state.conversation.with(|c| c.messages.get(index).cloned()));
    let editing = RwSignal::new(None::<String>);
    let is_last = move || state.conversation.with(|c| c.messages.len() == index + 1);
    move || {
        let Some(m) = message.get() else {
            return ().into_any();
        };
        match m.role {
            Role::User => match editing.get() {
                Some(draft) => view! {
                    <div class="msg user editing">
                        <textarea
                            class="edit-box"
                            prop:value=draft
                            on:input=move |ev| editing.set(Some(event_target_value(&ev)))
                        ></textarea>
                        <div class="msg-actions">
                            <button on:click=move |_| editing.set(None)>"Cancel"</button>
                            <button class="primary" on:click=move |_| {
                                let text = editing.get_untracked().unwrap_or_default();
                                editing.set(None);
                                state.edit_and_resend(index, text);
                            }>"Save & send"</button>
                        </div>
                    </div>
                }
                .into_any(),
                None => {
                    let content = m.content.clone();
                    view! {
                        <div class="msg user" data-testid="user-message">
                            <div class="bubble">{m.content.clone()}</div>
                            <div class="msg-actions">
                                <button
                                    class="link"
                                    disabled=move || state.generating.get()
                                    on:click=move |_| editing.set(Some(content.clone()))
                                >"Edit"</button>
                            </div>
                        </div>
                    }
                    .into_any()
                }
            },
            Role::Assistant => {
                let streaming = move || is_last() && state.generating.get();
                let stats = m.stats.as_ref().map(|s| s.summary());
                view! {
                    <div class="msg assistant" data-testid="reply" data-done=move || (!streaming()).to_string()>
                        <div class="markdown" inner_html=render_markdown(&m.content)></div>
                        <Show when=streaming>
                            <span class="cursor" aria-hidden="true"></span>
                        </Show>
                        <div class="msg-foot">
                            <span class="stats" data-testid="reply-stats">{stats}</span>
                            <Show when=move || is_last() && !state.generating.get()>
                                <button class="link" data-testid="regenerate" on:click=move |_| state.regenerate()>
                                    "Regenerate"
                                </button>
                            </Show>
                        </div>
                    </div>
                }
                .into_any()
            }
        }
    }
}

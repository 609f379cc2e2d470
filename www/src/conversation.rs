//! The conversation: its messages, the figures under each reply, and how it is stored.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The localStorage key of the conversation.
pub const CONVERSATION_KEY: &str = "lmfast.conversation.v1";

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The visitor.
    User,
    /// The model.
    Assistant,
}

/// Measured figures of one reply, shown under it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplyStats {
    /// Seconds from sending to the first streamed token.
    pub time_to_first_token: f64,
    /// Tokens of the reply.
    pub tokens: u32,
    /// Decode speed (tokens after the first, per second).
    pub tokens_per_second: f64,
    /// Prompt tokens processed (not taken from the cache).
    pub prompt_tokens: u32,
    /// Prompt speed, tokens per second.
    pub prefill_tokens_per_second: f64,
    /// "WebGPU · adapter" or "CPU (wasm) · reason".
    pub backend: String,
    /// Why the reply ended: stop, length or cancelled.
    pub finish_reason: String,
}

impl ReplyStats {
    /// The one-line summary under a reply.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("first token {}", format_seconds(self.time_to_first_token)),
            format!("{:.1} tok/s", self.tokens_per_second),
            format!("{} tokens", self.tokens),
        ];
        if self.prompt_tokens > 0 {
            parts.push(format!(
                "prompt {} tok at {:.0} tok/s",
                self.prompt_tokens, self.prefill_tokens_per_second
            ));
        }
        if !self.backend.is_empty() {
            parts.push(self.backend.clone());
        }
        match self.finish_reason.as_str() {
            "length" => parts.push("stopped at max tokens".into()),
            "cancelled" => parts.push("stopped".into()),
            _ => {}
        }
        parts.join(" · ")
    }
}

/// "0.42 s" under ten seconds, "12 s" above.
pub fn format_seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.0} s")
    }
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (Markdown for replies).
    pub content: String,
    /// The reply's figures, once it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<ReplyStats>,
}

impl Message {
    /// A message by the visitor.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
            stats: None,
        }
    }

    /// An empty reply that streamed text will fill.
    pub fn pending_reply() -> Self {
        Message {
            role: Role::Assistant,
            content: String::new(),
            stats: None,
        }
    }
}

/// Every message, oldest first.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Conversation {
    /// The messages.
    pub messages: Vec<Message>,
}

impl Conversation {
    /// Reads a stored conversation; an unreadable one starts empty.
    pub fn from_json(text: Option<&str>) -> Self {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"messages\":[]}".into())
    }

    /// The index of the last message by the visitor, if any.
    pub fn last_user_index(&self) -> Option<usize> {
        self.messages.iter().rposition(|m| m.role == Role::User)
    }

    /// Drops the last reply (and anything after the last user message) so it can be
    /// generated again; returns whether there is a user message to answer.
    pub fn prepare_regenerate(&mut self) -> bool {
        match self.last_user_index() {
            Some(i) => {
                self.messages.truncate(i + 1);
                true
            }
            None => false,
        }
    }

    /// Replaces the user message at `index` with `text` and forgets everything after it
    /// (edit and resend). Returns false when `index` is not a user message.
    pub fn edit_user_message(&mut self, index: usize, text: &str) -> bool {
        match self.messages.get(index) {
            Some(m) if m.role == Role::User => {
                self.messages.truncate(index);
                self.messages.push(Message::user(text));
                true
            }
            _ => false,
        }
    }

    /// The messages to send for the next reply, in the npm package's chat shape: the
    /// system prompt first when set, and no empty trailing reply.
    pub fn chat_messages(&self, system_prompt: &str) -> Vec<Value> {
        let mut out = Vec::with_capacity(self.messages.len() + 1);
        if !system_prompt.trim().is_empty() {
            out.push(json!({"role": "system", "content": system_prompt}));
        }
        for m in &self.messages {
            if m.role == Role::Assistant && m.content.is_empty() {
                continue;
            }
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            out.push(json!({"role": role, "content": m.content}));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Conversation {
        let mut reply = Message::pending_reply();
        reply.content = "Paris.".into();
        Conversation {
            messages: vec![
                Message::user("Capital of France?"),
                reply,
                Message::user("And Spain?"),
                Message::pending_reply(),
            ],
        }
    }

    #[test]
    fn chat_messages_put_the_system_prompt_first_and_skip_an_empty_reply() {
        let c = sample();
        let m = c.chat_messages("Be terse.");
        assert_eq!(m.len(), 4);
        assert_eq!(m[0]["role"], "system");
        assert_eq!(m[2]["content"], "Paris.");
        assert_eq!(m[3]["content"], "And Spain?");
        assert_eq!(c.chat_messages("  ").len(), 3);
    }

    #[test]
    fn regenerate_keeps_the_conversation_up_to_the_last_question() {
        let mut c = sample();
        c.messages[3].content = "Madrid.".into();
        assert!(c.prepare_regenerate());
        assert_eq!(c.messages.len(), 3);
        assert_eq!(c.messages[2].content, "And Spain?");
        assert!(!Conversation::default().prepare_regenerate());
    }

    #[test]
    fn editing_a_question_drops_what_came_after_it() {
        let mut c = sample();
        assert!(c.edit_user_message(0, "Capital of Italy?"));
        assert_eq!(c.messages, vec![Message::user("Capital of Italy?")]);
        let mut c = sample();
        assert!(
            !c.edit_user_message(1, "not a question"),
            "index 1 is a reply"
        );
        assert!(!c.edit_user_message(9, "out of range"));
        assert_eq!(c, sample());
    }

    #[test]
    fn storage_round_trips_and_survives_garbage() {
        let mut c = sample();
        c.messages[1].stats = Some(ReplyStats {
            tokens: 3,
            backend: "CPU (wasm)".into(),
            ..ReplyStats::default()
        });
        assert_eq!(Conversation::from_json(Some(&c.to_json())), c);
        assert_eq!(
            Conversation::from_json(Some("[1,2")),
            Conversation::default()
        );
    }

    #[test]
    fn the_summary_names_speed_tokens_and_backend() {
        let s = ReplyStats {
            time_to_first_token: 0.4213,
            tokens: 20,
            tokens_per_second: 17.84,
            prompt_tokens: 31,
            prefill_tokens_per_second: 50.2,
            backend: "WebGPU · swiftshader".into(),
            finish_reason: "length".into(),
        };
        assert_eq!(
            s.summary(),
            "first token 0.42 s · 17.8 tok/s · 20 tokens · prompt 31 tok at 50 tok/s · WebGPU · swiftshader · stopped at max tokens"
        );
        assert_eq!(format_seconds(12.4), "12 s");
    }
}

//! What the visitor chooses in the settings panel, kept in localStorage between visits.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The localStorage key of the settings (versioned: a change of shape starts afresh).
pub const SETTINGS_KEY: &str = "lmfast.settings.v1";

/// Which engine backend the page asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// WebGPU when the browser gives a device, else the wasm CPU path.
    #[default]
    Auto,
    /// WebGPU or an error.
    Webgpu,
    /// The wasm CPU path.
    Cpu,
}

impl BackendChoice {
    /// The value the npm package's `backend` option takes.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Webgpu => "webgpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    /// Parses a `backend` value (settings form, `?backend=` query), ignoring case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(BackendChoice::Auto),
            "webgpu" | "gpu" => Some(BackendChoice::Webgpu),
            "cpu" | "wasm" => Some(BackendChoice::Cpu),
            _ => None,
        }
    }
}

/// The page's colour theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the operating system (`prefers-color-scheme`).
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// The next theme of the header's toggle: system → light → dark → system.
    pub fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    /// The `data-theme` attribute value (empty for system: the CSS media query decides).
    pub fn attribute(self) -> &'static str {
        match self {
            Theme::System => "",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// Sampling settings, system prompt, backend and theme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Sent as the first message when not empty (else the chat template's default applies).
    pub system_prompt: String,
    /// 0 is greedy decoding.
    pub temperature: f32,
    /// Nucleus sampling: the smallest set of tokens whose probability reaches this.
    pub top_p: f32,
    /// Only the k most likely tokens (0: no limit).
    pub top_k: u32,
    /// Longest reply in tokens.
    pub max_tokens: u32,
    /// A fixed seed makes sampling repeatable; `None` draws a new one per reply.
    pub seed: Option<u64>,
    /// Which backend to load the model on.
    pub backend: BackendChoice,
    /// The colour theme.
    pub theme: Theme,
}

/// The page starts from the generation defaults the CLI, the server and the JS API share.
const D: lmfast_core::generate::GenerationDefaults = lmfast_core::generate::DEFAULTS;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            system_prompt: String::new(),
            temperature: D.temperature,
            top_p: D.top_p,
            top_k: D.top_k as u32,
            max_tokens: D.chat_max_tokens as u32,
            seed: None,
            backend: BackendChoice::Auto,
            theme: Theme::System,
        }
    }
}

/// Limits of the settings form, also applied to stored values (a hand-edited
/// localStorage entry must not produce a request the engine rejects).
pub const MAX_TEMPERATURE: f32 = 2.0;
/// Longest reply the form allows.
pub const MAX_REPLY_TOKENS: u32 = 4096;

impl Settings {
    /// Reads stored settings; anything unreadable gives the defaults (never an error page).
    pub fn from_json(text: Option<&str>) -> Self {
        text.and_then(|t| serde_json::from_str::<Settings>(t).ok())
            .map(Settings::clamped)
            .unwrap_or_default()
    }

    /// The settings with every number inside the range the engine accepts.
    pub fn clamped(mut self) -> Self {
        let finite_or = |v: f32, d: f32| if v.is_finite() { v } else { d };
        self.temperature = finite_or(self.temperature, D.temperature).clamp(0.0, MAX_TEMPERATURE);
        self.top_p = finite_or(self.top_p, D.top_p).clamp(0.01, 1.0);
        self.max_tokens = self.max_tokens.clamp(1, MAX_REPLY_TOKENS);
        self
    }

    /// The sampling part of a chat request (the npm package's option names).
    pub fn sampling_json(&self) -> Value {
        let mut v = json!({
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "max_tokens": self.max_tokens,
        });
        if let Some(seed) = self.seed {
            v["seed"] = json!(seed);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_settings_round_trip_and_bad_ones_fall_back_to_defaults() {
        let s = Settings {
            temperature: 0.0,
            seed: Some(7),
            backend: BackendChoice::Cpu,
            ..Settings::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(Settings::from_json(Some(&text)), s);
        assert_eq!(Settings::from_json(Some("{not json")), Settings::default());
        assert_eq!(Settings::from_json(None), Settings::default());
        // A field of the wrong type must not lose the others' defaults into a panic.
        assert_eq!(
            Settings::from_json(Some(r#"{"temperature":"hot"}"#)),
            Settings::default()
        );
    }

    #[test]
    fn out_of_range_values_are_clamped() {
        let s = Settings::from_json(Some(r#"{"temperature": 9.5, "top_p": 0, "max_tokens": 0}"#));
        assert_eq!(s.temperature, MAX_TEMPERATURE);
        assert_eq!(s.top_p, 0.01);
        assert_eq!(s.max_tokens, 1);
        let partial = Settings::from_json(Some(r#"{"max_tokens": 64}"#));
        assert_eq!(partial.max_tokens, 64);
        assert_eq!(partial.temperature, Settings::default().temperature);
    }

    #[test]
    fn the_request_carries_a_seed_only_when_one_is_set() {
        let mut s = Settings {
            temperature: 0.0,
            ..Settings::default()
        };
        assert!(s.sampling_json().get("seed").is_none());
        assert_eq!(s.sampling_json()["temperature"], 0.0);
        s.seed = Some(42);
        assert_eq!(s.sampling_json()["seed"], 42);
    }

    #[test]
    fn backend_names_parse_loosely() {
        assert_eq!(BackendChoice::parse(" CPU "), Some(BackendChoice::Cpu));
        assert_eq!(BackendChoice::parse("webgpu"), Some(BackendChoice::Webgpu));
        assert_eq!(BackendChoice::parse("tpu"), None);
        assert_eq!(Theme::Dark.next(), Theme::System);
    }
}

//! Chat templates: the Jinja program stored with a model that lays out a conversation.
//!
//! Rendered with minijinja, configured the way `transformers`' `apply_chat_template` sets up
//! Jinja (trim_blocks, lstrip_blocks, Python string methods, `raise_exception`,
//! `strftime_now`), so prompts are byte-for-byte what the model was trained on.

use crate::error::{Error, Result};
use crate::format::gguf::GgufFile;
use minijinja::{context, Environment, ErrorKind};
use serde::{Deserialize, Serialize};

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant` (templates may know others, e.g. `tool`).
    pub role: String,
    /// The turn's text.
    pub content: String,
}

impl ChatMessage {
    /// A turn with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A system prompt.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An assistant turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

const TEMPLATE_NAME: &str = "chat_template";

/// A compiled chat template with the BOS/EOS strings it may refer to.
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source", &self.source)
            .finish()
    }
}

impl ChatTemplate {
    /// Compiles `source`; a syntax error is reported here, with its line.
    pub fn new(
        source: impl Into<String>,
        bos_token: Option<String>,
        eos_token: Option<String>,
    ) -> Result<Self> {
        let source = source.into();
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| Error::Template(e.to_string()))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(TEMPLATE_NAME, source.clone())
            .map_err(|e| Error::Template(describe(&e)))?;
        Ok(Self {
            env,
            source,
            bos_token: bos_token.unwrap_or_default(),
            eos_token: eos_token.unwrap_or_default(),
        })
    }

    /// The template stored in a GGUF file's `tokenizer.chat_template`, if it has one.
    pub fn from_gguf(file: &GgufFile) -> Result<Option<Self>> {
        if file.get("tokenizer.chat_template").is_none() {
            return Ok(None);
        }
        let source = file.get_str("tokenizer.chat_template")?;
        let tokens = file
            .get_str_array("tokenizer.ggml.tokens")
            .unwrap_or_default();
        let piece = |key: &str| {
            file.get_u64(key)
                .ok()
                .and_then(|id| tokens.get(usize::try_from(id).ok()?))
                .map(|s| (*s).to_owned())
        };
        let template = Self::new(
            source,
            piece("tokenizer.ggml.bos_token_id"),
            piece("tokenizer.ggml.eos_token_id"),
        )
        .map_err(|e| Error::Template(format!("{}: tokenizer.chat_template: {e}", file.name())))?;
        Ok(Some(template))
    }

    /// The beginning-of-sequence text the template may write.
    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }

    /// The end-of-sequence text the template may write.
    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    /// The template's Jinja source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Lays out `messages`; with `add_generation_prompt` the text ends by opening the
    /// assistant's turn, ready for the model to answer.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| Error::Template(describe(&e)))?;
        template
            .render(context! {
                messages => minijinja::Value::from(minijinja::value::Serde(messages)),
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(|e| Error::Template(describe(&e)))
    }
}

/// The error with its source line, when minijinja knows it.
fn describe(error: &minijinja::Error) -> String {
    match error.line() {
        Some(line) => format!("{error} (template line {line})"),
        None => error.to_string(),
    }
}

/// `raise_exception(message)`: how Hugging Face templates reject a conversation.
fn raise_exception(message: String) -> std::result::Result<String, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

/// `strftime_now(format)`: the current UTC date and time, for templates that print it.
/// (`web_time` is `std::time` natively and the page's clock in a browser.)
fn strftime_now(format: String) -> std::result::Result<String, minijinja::Error> {
    let seconds = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?
        .as_secs();
    Ok(format_utc(seconds, &format))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Formats Unix time `seconds` (UTC) with the strftime codes chat templates use.
fn format_utc(seconds: u64, format: &str) -> String {
    let days = (seconds / 86_400) as i64;
    let secs = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let month_name = MONTHS[(month - 1) as usize];

    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('e') => out.push_str(&format!("{day:>2}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year % 100)),
            Some('B') => out.push_str(month_name),
            Some('b') => out.push_str(&month_name[..3]),
            Some('H') => out.push_str(&format!("{:02}", secs / 3600)),
            Some('M') => out.push_str(&format!("{:02}", secs / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", secs % 60)),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_like_strftime() {
        // 2024-07-26 13:25:09 UTC
        assert_eq!(
            format_utc(1_722_000_309, "%d %b %Y %H:%M:%S"),
            "26 Jul 2024 13:25:09"
        );
        assert_eq!(format_utc(0, "%d %B %Y"), "01 January 1970");
    }

    #[test]
    fn syntax_error_names_the_problem() {
        let err = ChatTemplate::new("{% for m in messages %}", None, None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("chat template") && text.contains("line"),
            "{text}"
        );
    }

    #[test]
    fn raise_exception_surfaces_its_message() {
        let template = ChatTemplate::new(
            "{% if messages[0].role != 'user' %}{{ raise_exception('first turn must be the user') }}{% endif %}",
            None,
            None,
        )
        .unwrap();
        let err = template
            .render(&[ChatMessage::assistant("hi")], true)
            .unwrap_err();
        assert!(
            err.to_string().contains("first turn must be the user"),
            "{err}"
        );
    }

    #[test]
    fn python_string_methods_work() {
        let template = ChatTemplate::new(
            "{% for m in messages %}{{ m.content.strip().upper() }}{% endfor %}",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            template
                .render(&[ChatMessage::user("  hi  ")], false)
                .unwrap(),
            "HI"
        );
    }
}

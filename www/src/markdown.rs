//! Replies rendered as Markdown, safely: the model's text never becomes live HTML.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

/// Renders `text` (a whole or still-streaming reply) as HTML.
///
/// Raw HTML in the text is shown as text, and links and images keep only http(s) and
/// mailto targets: a reply is untrusted input, and it is inserted with `inner_html`.
/// An unclosed code fence (a reply still streaming) renders as a code block up to the end.
pub fn render_markdown(text: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    html::push_html(&mut out, events);
    out
}

/// Keeps a link target only when its scheme cannot run script (`javascript:`, `data:` ...).
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim_start().to_ascii_lowercase();
    let has_scheme = lower.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let allowed = ["http:", "https:", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s));
    if has_scheme && !allowed {
        CowStr::Borrowed("#")
    } else {
        url
    }
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    #[test]
    fn code_blocks_keep_their_language_and_escape_their_text() {
        let html = render_markdown("Try:\n\n```rust\nfn main() { let a = 1 < 2; }\n```\n");
        assert!(
            html.contains(r#"<pre><code class="language-rust">"#),
            "{html}"
        );
        assert!(html.contains("1 &lt; 2"), "{html}");
    }

    #[test]
    fn an_unclosed_fence_still_renders_as_code_while_streaming() {
        let html = render_markdown("Here:\n```python\nprint('hi')");
        assert!(
            html.contains(r#"<code class="language-python">print('hi')"#),
            "{html}"
        );
    }

    #[test]
    fn raw_html_from_the_model_is_shown_as_text() {
        let html = render_markdown("hello <script>alert(1)</script> <img src=x onerror=alert(1)>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let block = render_markdown("<div onclick=\"x()\">block</div>\n");
        assert!(!block.contains("<div"), "{block}");
    }

    #[test]
    fn script_links_are_defused_and_web_links_kept() {
        let html = render_markdown(
            "[a](javascript:alert(1)) [b](https://example.org/x) [c](Data:text/html,x) [d](/local)",
        );
        assert!(!html.to_lowercase().contains("javascript:"), "{html}");
        assert!(!html.to_lowercase().contains("data:"), "{html}");
        assert!(html.contains(r#"href="https://example.org/x""#), "{html}");
        assert!(html.contains(r##"href="#""##), "{html}");
        assert!(html.contains(r#"href="/local""#), "{html}");
    }

    #[test]
    fn lists_emphasis_and_tables() {
        let html = render_markdown(
            "**bold** and *it*\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }
}

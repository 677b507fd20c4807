//! The shell of a static HTML page every app's export shares: escaping (with
//! the terminal's definition of unsafe text), the page with its strict
//! Content-Security-Policy (no scripts, styles from the site only), and times.

use chrono::{DateTime, Utc};

use crate::ui;

/// Text as HTML text or as a quoted attribute value: `& < > " '` become references,
/// and what [`ui::unsafe_char`] names (controls other than tab and newline, bidi
/// formatting, line separators) becomes U+FFFD: one definition for both views.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let text = ui::clean(text);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `root` is the relative way back to the site's root (`""` or
/// `"../"`), `stylesheet` the site's one stylesheet there, `generator` what
/// made it (`git mr export`). No script may run, nothing is fetched from
/// elsewhere, no referrer leaves.
pub fn page(title: &str, root: &str, stylesheet: &str, generator: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'self'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"generator\" content=\"{}\">\n\
<title>{}</title>\n<link rel=\"stylesheet\" href=\"{root}{stylesheet}\">\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(generator),
        escape(title)
    )
}

/// `<time datetime="2026-11-26T11:00:00Z">2026-11-26T11:00:00Z</time>`
pub fn time(date: &DateTime<Utc>) -> String {
    let d = gitapps_core::clock::format(date);
    format!("<time datetime=\"{d}\">{d}</time>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_the_shell() {
        assert_eq!(
            escape("<a href='x'>&\u{202E}</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;\u{FFFD}&lt;/a&gt;"
        );
        let p = page("A <b>", "../", "style.css", "git x export", "<p>hi</p>\n");
        assert!(p.contains("<title>A &lt;b&gt;</title>"), "{p}");
        assert!(p.contains("href=\"../style.css\""), "{p}");
        assert!(p.contains("default-src 'none'"), "{p}");
        assert!(!p.contains("<script"), "{p}");
    }
}

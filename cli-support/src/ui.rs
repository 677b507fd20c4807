//! Presentation every app's command line shares: colours (off with NO_COLOR or
//! when not a terminal), warnings and errors with hints, dates, and the one
//! definition of text that must not reach a reader as it is.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Utc};

pub struct Ui {
    color: bool,
    err_color: bool,
}

impl Default for Ui {
    fn default() -> Ui {
        Ui::new()
    }
}

impl Ui {
    pub fn new() -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            color: !no_color && std::io::stdout().is_terminal(),
            err_color: !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// Everything painted is data from the branch (titles, names, labels):
    /// it is cleaned of terminal controls first, and kept on one line.
    fn paint(on: bool, code: &str, text: &str) -> String {
        let text = clean_line(text);
        if on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.into_owned()
        }
    }

    /// Whether stdout gets colors (a terminal, and no NO_COLOR).
    pub fn is_color(&self) -> bool {
        self.color
    }

    /// `text` on one line, painted with the SGR `code` when stdout gets colors.
    pub fn paint_code(&self, code: &str, text: &str) -> String {
        Self::paint(self.color, code, text)
    }

    pub fn bold(&self, text: &str) -> String {
        Self::paint(self.color, "1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        Self::paint(self.color, "2", text)
    }

    pub fn warn(&self, message: &str) {
        eprintln!(
            "{} {}",
            Self::paint(self.err_color, "33", "warning:"),
            clean(message)
        );
    }

    pub fn note(&self, message: &str) {
        eprintln!("{}", clean(message));
    }

    /// Errors quote names, titles and the server's words: cleaned too.
    pub fn error(&self, message: &str, hints: &[String]) {
        eprintln!(
            "{} {}",
            Self::paint(self.err_color, "31;1", "error:"),
            clean(message)
        );
        for h in hints {
            eprintln!(
                "{} {}",
                Self::paint(self.err_color, "36", "hint:"),
                clean(h)
            );
        }
    }

    /// Pretty JSON on stdout, in one write (stdout is line-buffered, and a
    /// big listing has many lines).
    pub fn json(&self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let mut text = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
        text.push(b'\n');
        std::io::stdout().lock().write_all(&text)
    }
}

/// "3 days ago".
pub fn age(date: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - date).num_seconds();
    let (n, unit) = match secs {
        s if s < 60 => return "just now".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86400 => (s / 3600, "hour"),
        s if s < 86400 * 30 => (s / 86400, "day"),
        s if s < 86400 * 365 => (s / (86400 * 30), "month"),
        s => (s / (86400 * 365), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Whether a character of untrusted text must not reach a reader as it is.
/// Titles, names, labels and comments are written by anyone: escape sequences
/// could hide text, move the cursor or retitle the window; bidirectional
/// controls could make text read other than it is (`exe.txt` shown for
/// `txt.exe`); line and paragraph separators could break a line where no line
/// ends. So: every control character (C0, DEL, C1) but newline and tab, every
/// bidirectional formatting character (embeddings, overrides, isolates and the
/// implicit marks LRM, RLM, ALM), U+2028 and U+2029. The one definition for the
/// terminal and the HTML export.
pub fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` made safe for a terminal: each [`unsafe_char`] becomes U+FFFD (but
/// the carriage return of a `\r\n` line end, which is only dropped).
pub fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        return clean(&text.replace("\r\n", "\n")).into_owned().into();
    }
    if text.chars().any(unsafe_char) {
        text.chars()
            .map(|c| if unsafe_char(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// [`clean`], for text that must stay on one line (titles, names, labels):
/// newlines and tabs become spaces too.
pub fn clean_line(text: &str) -> std::borrow::Cow<'_, str> {
    match clean(text) {
        t if t.contains(['\n', '\t']) => t.replace(['\n', '\t'], " ").into(),
        t => t,
    }
}

/// A fingerprint as people paste it (`9A3F 1C2B …`, as gpg prints it) without
/// its spaces; anything else as it is.
pub fn spaceless(who: &str) -> String {
    let joined: String = who.chars().filter(|c| !c.is_whitespace()).collect();
    if gitapps_core::Fingerprint::parse(&joined).is_ok() {
        joined
    } else {
        who.to_owned()
    }
}

/// Print text in one write.
pub fn print(text: &str) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_terminal_controls_and_bidi_overrides() {
        assert_eq!(clean("plain text\n\twith tab"), "plain text\n\twith tab");
        assert_eq!(
            clean("\x1b]0;pwned\x07title"),
            "\u{FFFD}]0;pwned\u{FFFD}title"
        );
        assert_eq!(clean("a\x1b[8mhidden"), "a\u{FFFD}[8mhidden");
        assert_eq!(clean("abc\u{202E}fed"), "abc\u{FFFD}fed");
        for c in [
            '\u{7f}', '\u{85}', '\u{9b}', '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}',
            '\u{202D}', '\u{2066}', '\u{2069}', '\u{2028}', '\u{2029}',
        ] {
            assert_eq!(clean(&format!("a{c}b")), "a\u{FFFD}b", "{:?}", c);
        }
        assert_eq!(clean_line("two\nlines\tand tab"), "two lines and tab");
        assert_eq!(clean("naïve café"), "naïve café");
    }

    #[test]
    fn painting_cleans_what_it_paints() {
        assert_eq!(Ui::paint(false, "1", "x\x1by"), "x\u{FFFD}y");
        assert_eq!(Ui::paint(true, "1", "x\x1by"), "\x1b[1mx\u{FFFD}y\x1b[0m");
    }
}

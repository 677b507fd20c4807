//! Presentation: colors (off with NO_COLOR or when not a terminal), warnings,
//! errors with hints, dates, people, and messages from -m, -F or the editor.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use git_mr::people::People;
use git_mr::{Fingerprint, Forge, MergeRequest, State};

use super::{CommandError, CommandResult};

pub struct Ui {
    color: bool,
    err_color: bool,
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

    pub fn state(&self, state: State) -> String {
        let code = match state {
            State::Open => "32",
            State::Closed => "31",
            State::Merged => "35",
        };
        Self::paint(self.color, code, state.as_str())
    }

    pub fn ci(&self, status: Option<&str>) -> String {
        match status {
            Some("pass") => Self::paint(self.color, "32", "ci:pass"),
            Some(other) => Self::paint(self.color, "31", &format!("ci:{other}")),
            None => String::new(),
        }
    }

    /// `approved:2` (green), `(1 by maintainers)` when not all are.
    pub fn approvals(&self, all: usize, maintainers: usize) -> String {
        let mut text = Self::paint(self.color, "32", &format!("approved:{all}"));
        if maintainers != all {
            text.push_str(&format!(" ({maintainers} by maintainers)"));
        }
        text
    }

    pub fn changes_requested(&self) -> String {
        Self::paint(self.color, "33", "changes-requested")
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
    pub fn error(&self, e: &CommandError) {
        eprintln!(
            "{} {}",
            Self::paint(self.err_color, "31;1", "error:"),
            clean(&e.message)
        );
        for h in &e.hints {
            eprintln!(
                "{} {}",
                Self::paint(self.err_color, "36", "hint:"),
                clean(h)
            );
        }
    }

    pub fn json(&self, value: &impl serde::Serialize) -> CommandResult {
        // One write: stdout is line-buffered, and a big listing has many lines.
        let mut text = serde_json::to_vec_pretty(value)
            .map_err(|e| CommandError::from(std::io::Error::other(e)))?;
        text.push(b'\n');
        std::io::stdout().lock().write_all(&text)?;
        Ok(())
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

/// The short name of a merge request: `9A3F1C2B/3`.
pub fn short_id(mr: &MergeRequest) -> String {
    format!("{}/{}", mr.id.author.short(), mr.id.number)
}

/// `Bob (ABCD1234) · comment ABCD1234/3 · 2026-11-26T11:00:00Z`: a comment's
/// header line begins so in every view.
pub fn comment_meta(people: &People, c: &git_mr::Comment) -> String {
    format!(
        "{} · comment {}/{} · {}",
        people.display(&c.author),
        c.author.short(),
        c.index,
        git_mr::clock::format(&c.date)
    )
}

/// Names of people in JSON: the name from the key, if any.
pub fn name_json(people: &People, who: &Fingerprint) -> serde_json::Value {
    people
        .name(who)
        .map(|n| serde_json::Value::String(n.to_owned()))
        .unwrap_or(serde_json::Value::Null)
}

/// A message from `-m`, `-F` or the editor.
#[derive(Debug)]
pub struct Message {
    pub text: String,
    /// The file the editor wrote, kept until the change is pushed (see
    /// [`Message::keep_on_error`]).
    pub draft: Option<PathBuf>,
}

impl Message {
    /// The change is done: the draft is no longer needed.
    pub fn done(&self) {
        if let Some(d) = &self.draft {
            let _ = std::fs::remove_file(d);
        }
    }

    /// The change failed: the draft stays, and the error says where.
    pub fn keep_on_error(&self, e: CommandError) -> CommandError {
        match &self.draft {
            Some(d) => e.hint(format!(
                "your text is kept in {}: pass it again with -F {}",
                d.display(),
                d.display()
            )),
            None => e,
        }
    }
}

/// The message from `-m` (several are paragraphs), `-F FILE` (`-` is stdin), or the
/// editor (`git var GIT_EDITOR`) on a draft file under `<git-dir>/git-mr/drafts/`
/// starting with `template`; lines starting with `#` are dropped from the editor's
/// text. `None` when the editor left nothing, or left the template as it was.
pub fn message(
    forge: &Forge,
    messages: &[String],
    file: Option<&PathBuf>,
    template: &str,
) -> CommandResult<Option<Message>> {
    let given = |text: String| Ok(Some(Message { text, draft: None }));
    if !messages.is_empty() {
        return given(messages.join("\n\n"));
    }
    if let Some(file) = file {
        let text = if file.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            s
        } else {
            std::fs::read_to_string(file)
                .map_err(|e| CommandError::user(format!("cannot read {}: {e}", file.display())))?
        };
        return given(text);
    }
    let editor = forge
        .git()
        .run(["var", "GIT_EDITOR"])
        .map_err(CommandError::from)?
        .trim()
        .to_owned();
    // One draft per invocation: a failed push leaves it for the next try,
    // and no other command overwrites it.
    let dir = forge.cache_dir().join("drafts");
    std::fs::create_dir_all(&dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("{stamp}-{}.txt", std::process::id()));
    std::fs::write(&path, template)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(&editor)
        .arg(&path)
        .status()?;
    if !status.success() {
        let _ = std::fs::remove_file(&path);
        return Err(CommandError::user(format!("the editor ({editor}) failed")));
    }
    let raw = std::fs::read_to_string(&path)?;
    let text: Vec<&str> = raw.lines().filter(|l| !l.starts_with('#')).collect();
    let text = text.join("\n").trim().to_owned();
    if text.is_empty() || raw == template {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    Ok(Some(Message {
        text: format!("{text}\n"),
        draft: Some(path),
    }))
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
    if git_mr::Fingerprint::parse(&joined).is_ok() {
        joined
    } else {
        who.to_owned()
    }
}

/// Print text in one write.
pub fn print(text: &str) -> CommandResult {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
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

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
    /// it is cleaned of terminal controls first.
    fn paint(on: bool, code: &str, text: &str) -> String {
        let text = clean(text);
        if on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.into_owned()
        }
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

    pub fn warn(&self, message: &str) {
        eprintln!(
            "{} {message}",
            Self::paint(self.err_color, "33", "warning:")
        );
    }

    pub fn note(&self, message: &str) {
        eprintln!("{message}");
    }

    pub fn error(&self, e: &CommandError) {
        eprintln!(
            "{} {}",
            Self::paint(self.err_color, "31;1", "error:"),
            e.message
        );
        for h in &e.hints {
            eprintln!("{} {h}", Self::paint(self.err_color, "36", "hint:"));
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

/// Names of people in JSON: the name from the key, if any.
pub fn name_json(people: &People, who: &Fingerprint) -> serde_json::Value {
    people
        .name(who)
        .map(|n| serde_json::Value::String(n.to_owned()))
        .unwrap_or(serde_json::Value::Null)
}

/// The message from `-m` (several are paragraphs), `-F FILE` (`-` is stdin), or the
/// editor (`git var GIT_EDITOR`) with `template`; lines starting with `#` are dropped
/// from the editor's text. `None` when the editor left nothing.
pub fn message(
    forge: &Forge,
    messages: &[String],
    file: Option<&PathBuf>,
    template: &str,
) -> CommandResult<Option<String>> {
    if !messages.is_empty() {
        return Ok(Some(messages.join("\n\n")));
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
        return Ok(Some(text));
    }
    let editor = forge
        .git()
        .run(["var", "GIT_EDITOR"])
        .map_err(CommandError::from)?
        .trim()
        .to_owned();
    let dir = forge.cache_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("MESSAGE");
    std::fs::write(&path, template)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(&editor)
        .arg(&path)
        .status()?;
    if !status.success() {
        return Err(CommandError::user(format!("the editor ({editor}) failed")));
    }
    let text = std::fs::read_to_string(&path)?;
    let text: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let text = text.join("\n").trim().to_owned();
    Ok((!text.is_empty()).then(|| format!("{text}\n")))
}

/// `text` made safe for a terminal. Titles, names and comments are written
/// by anyone: escape sequences could hide text, move the cursor or retitle
/// the window, and bidirectional overrides could make text read other than
/// it is. Control characters (but newline and tab) and those overrides
/// become U+FFFD.
pub fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if text.chars().any(unsafe_char) {
        text.chars()
            .map(|c| if unsafe_char(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
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
        assert_eq!(clean("naïve café"), "naïve café");
    }

    #[test]
    fn painting_cleans_what_it_paints() {
        assert_eq!(Ui::paint(false, "1", "x\x1by"), "x\u{FFFD}y");
        assert_eq!(Ui::paint(true, "1", "x\x1by"), "\x1b[1mx\u{FFFD}y\x1b[0m");
    }
}

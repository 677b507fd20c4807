//! `git mr`'s presentation: the shared parts are `gitapps_cli::ui` (colours,
//! warnings, errors, cleaning of untrusted text) and `gitapps_cli::editor`;
//! here are the merge requests' own (states, CI, approvals, names of comments).

use std::path::PathBuf;

use git_mr::people::People;
use git_mr::{Fingerprint, Forge, MergeRequest, State};
pub use gitapps_cli::editor::Message;
pub use gitapps_cli::ui::{age, clean, clean_line, spaceless, Ui};

use super::{CommandError, CommandResult};

/// How the merge requests' states and reviews are painted.
pub trait MrUi {
    fn state(&self, state: State) -> String;
    fn ci(&self, status: Option<&str>) -> String;
    /// `approved:2` (green), `(1 by maintainers)` when not all are.
    fn approvals(&self, all: usize, maintainers: usize) -> String;
    fn changes_requested(&self) -> String;
}

impl MrUi for Ui {
    fn state(&self, state: State) -> String {
        let code = match state {
            State::Open => "32",
            State::Closed => "31",
            State::Merged => "35",
        };
        self.paint_code(code, state.as_str())
    }

    fn ci(&self, status: Option<&str>) -> String {
        match status {
            Some("pass") => self.paint_code("32", "ci:pass"),
            Some(other) => self.paint_code("31", &format!("ci:{other}")),
            None => String::new(),
        }
    }

    fn approvals(&self, all: usize, maintainers: usize) -> String {
        let mut text = self.paint_code("32", &format!("approved:{all}"));
        if maintainers != all {
            text.push_str(&format!(" ({maintainers} by maintainers)"));
        }
        text
    }

    fn changes_requested(&self) -> String {
        self.paint_code("33", "changes-requested")
    }
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

/// The message from `-m` (several are paragraphs), `-F FILE` (`-` is stdin), or the
/// editor on a draft under `<git-dir>/git-mr/drafts/` (see [`gitapps_cli::editor::message`]).
pub fn message(
    forge: &Forge,
    messages: &[String],
    file: Option<&PathBuf>,
    template: &str,
) -> CommandResult<Option<Message>> {
    Ok(gitapps_cli::editor::message(
        forge, messages, file, template,
    )?)
}

/// Print text in one write.
pub fn print(text: &str) -> CommandResult {
    Ok(gitapps_cli::ui::print(text)?)
}

/// A draft kept when the change fails.
pub trait Draft {
    /// The change failed: the draft stays, and the error says where.
    fn keep_on_error(&self, e: CommandError) -> CommandError;
}

impl Draft for Message {
    fn keep_on_error(&self, e: CommandError) -> CommandError {
        match self.kept_hint() {
            Some(hint) => e.hint(hint),
            None => e,
        }
    }
}

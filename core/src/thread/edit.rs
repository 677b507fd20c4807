//! Edits without rewriting history. Nobody changes a file once pushed (the policy
//! lets each user create files only): a new version of a text is a new file, under
//! its author's own id, whose path names the text it replaces.
//!
//! ```text
//! <thread>/edits/<who>/<k>/<v>       version v (from 1) of comment <who>/<k>
//! <thread>/edits/<who>/title/<v>     version v of the title (the thread's author only)
//! ```
//!
//! An edit file is a message (header lines, a blank line, the body):
//!
//! ```text
//! Date: 2026-11-26T12:00:00Z
//!
//! The new text.
//! ```
//!
//! A retraction has the header `Retracted: yes` and no body. The newest version
//! (the highest `v`) is the text; the comment's headers (its revision, its line,
//! what it answers) stay as first written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::comment::Version;
use super::header;
use super::message::Message;
use crate::clock;
use crate::Fingerprint;

/// The directory of edits in a thread.
pub const EDITS_DIR: &str = "edits";
/// The name that stands for the title where a comment index would.
pub const TITLE: &str = "title";

/// What an edit replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The comment `<who>/<k>` of the edit's author.
    Comment(u32),
    /// The thread's title (its author's only).
    Title,
}

impl Target {
    /// The path component: `<k>` or `title`.
    pub fn component(self) -> String {
        match self {
            Target::Comment(k) => k.to_string(),
            Target::Title => TITLE.to_owned(),
        }
    }

    pub fn parse(component: &str) -> Option<Target> {
        if component == TITLE {
            Some(Target::Title)
        } else {
            crate::refs::parse_number(component).map(Target::Comment)
        }
    }
}

/// One edit, as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub author: Fingerprint,
    pub target: Target,
    /// From 1.
    pub version: u32,
    pub date: DateTime<Utc>,
    /// The new text; `None` when the author retracted it.
    pub text: Option<String>,
}

/// `<thread>/edits/<who>/<target>`: the versions of one text.
pub fn dir(thread: &str, who: &Fingerprint, target: Target) -> String {
    format!("{thread}/{EDITS_DIR}/{who}/{}", target.component())
}

/// `<thread>/edits/<who>/<target>/<v>`
pub fn path(thread: &str, who: &Fingerprint, target: Target, version: u32) -> String {
    format!("{}/{version}", dir(thread, who, target))
}

impl Edit {
    /// Render an edit file: the new text, or a retraction (`None`).
    pub fn render(date: &DateTime<Utc>, text: Option<&str>) -> String {
        let mut headers = vec![(header::DATE.to_owned(), clock::format(date))];
        match text {
            Some(text) => Message::render(&headers, text),
            None => {
                headers.push((header::RETRACTED.to_owned(), "yes".to_owned()));
                Message::render(&headers, "")
            }
        }
    }

    /// Parse an edit file found at `edits/<author>/<target>/<version>`.
    pub fn parse(
        author: Fingerprint,
        target: Target,
        version: u32,
        data: &[u8],
    ) -> Result<Edit, String> {
        if version == 0 {
            return Err("version 0 is the text as written: edits count from 1".to_owned());
        }
        let m = Message::parse(data)?;
        let date = m
            .header(header::DATE)
            .ok_or_else(|| "no Date: header".to_owned())?;
        let date = clock::parse(date).ok_or_else(|| format!("bad Date: {date:?}"))?;
        let text = match m.header(header::RETRACTED) {
            Some(_) if target == Target::Title => {
                return Err("a title is edited, never retracted".to_owned())
            }
            Some(v) if v.eq_ignore_ascii_case("yes") => None,
            Some(v) => return Err(format!("bad Retracted: {v:?} (only `yes`)")),
            None if target == Target::Title => Some(first_line(&m.body)),
            None => Some(m.body),
        };
        if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err("an edit without text (a retraction says `Retracted: yes`)".to_owned());
        }
        Ok(Edit {
            author,
            target,
            version,
            date,
            text,
        })
    }
}

/// The first line, trimmed: what a title is.
pub fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// A text and its edits (those of its author, of this text, in any order):
/// the newest text (empty when retracted) and every version oldest first, or no
/// history at all when there is no edit.
pub fn apply(original: &str, written: DateTime<Utc>, edits: &[&Edit]) -> (String, Vec<Version>) {
    if edits.is_empty() {
        return (original.to_owned(), Vec::new());
    }
    let mut sorted: Vec<&&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.version);
    let mut history = vec![Version {
        version: 0,
        date: written,
        text: Some(original.to_owned()),
    }];
    history.extend(sorted.iter().map(|e| Version {
        version: e.version,
        date: e.date,
        text: e.text.clone(),
    }));
    let newest = history
        .last()
        .and_then(|v| v.text.clone())
        .unwrap_or_default();
    (newest, history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr() -> Fingerprint {
        Fingerprint::parse(&"AB".repeat(20)).unwrap()
    }

    fn date(s: &str) -> DateTime<Utc> {
        clock::parse(s).unwrap()
    }

    #[test]
    fn edits_and_retractions_round_trip() {
        let d = date("2026-11-26T12:00:00Z");
        let text = Edit::render(&d, Some("better"));
        assert_eq!(text, "Date: 2026-11-26T12:00:00Z\n\nbetter\n");
        let e = Edit::parse(fpr(), Target::Comment(2), 1, text.as_bytes()).unwrap();
        assert_eq!(e.text.as_deref(), Some("better\n"));
        let gone = Edit::render(&d, None);
        assert_eq!(gone, "Date: 2026-11-26T12:00:00Z\nRetracted: yes\n\n");
        let e = Edit::parse(fpr(), Target::Comment(2), 2, gone.as_bytes()).unwrap();
        assert_eq!(e.text, None);
        let t = Edit::parse(
            fpr(),
            Target::Title,
            1,
            b"Date: 2026-11-26T12:00:00Z\n\n  New title \nmore\n",
        )
        .unwrap();
        assert_eq!(t.text.as_deref(), Some("New title"));
    }

    #[test]
    fn malformed_edits_say_why() {
        let d = "Date: 2026-11-26T12:00:00Z\n";
        for (version, data, needle) in [
            (0, format!("{d}\nx"), "version 0"),
            (1, "\nx".to_owned(), "Date"),
            (1, format!("{d}Retracted: no\n\n"), "Retracted"),
            (1, format!("{d}\n  \n"), "without text"),
        ] {
            let err = Edit::parse(fpr(), Target::Comment(0), version, data.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{data:?}: {err}");
        }
    }

    #[test]
    fn the_highest_version_wins() {
        let e = |v: u32, text: Option<&str>| Edit {
            author: fpr(),
            target: Target::Comment(0),
            version: v,
            date: date("2026-11-26T12:00:00Z"),
            text: text.map(str::to_owned),
        };
        let written = date("2026-11-26T11:00:00Z");
        assert_eq!(apply("a", written, &[]), ("a".to_owned(), Vec::new()));
        let (e1, e2, e3) = (e(1, Some("b")), e(2, None), e(3, Some("c")));
        let (text, history) = apply("a", written, &[&e3, &e1, &e2]);
        assert_eq!(text, "c");
        let versions: Vec<(u32, Option<&str>)> = history
            .iter()
            .map(|v| (v.version, v.text.as_deref()))
            .collect();
        assert_eq!(
            versions,
            [(0, Some("a")), (1, Some("b")), (2, None), (3, Some("c"))]
        );
        let (text, _) = apply("a", written, &[&e1, &e2]);
        assert_eq!(text, "", "retracted");
    }
}

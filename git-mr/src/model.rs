//! The data model: merge requests, their comments, labels and revisions.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock;

/// A user id: the full upper-case hex fingerprint of a primary key. The
/// policy language's own type: one definition for the hook and the apps.
pub use gitapps_policy::Fingerprint;

/// A merge request's name: its author and the author's running number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MrId {
    pub author: Fingerprint,
    pub number: u32,
}

impl fmt::Display for MrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.author, self.number)
    }
}

/// A merge request's state, derived from its labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
    Merged,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Merged => "merged",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One revision: the commit that the tag `<id>/<n>-v<k>` points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub number: u32,
    pub commit: String,
}

/// Header names the tools write.
pub mod header {
    pub const DATE: &str = "Date";
    pub const REVISION: &str = "Revision";
    pub const IN_REPLY_TO: &str = "In-Reply-To";
    pub const CI_STATUS: &str = "CI-Status";
    pub const CI_COMMAND: &str = "CI-Command";
    pub const MERGE_COMMIT: &str = "Merge-Commit";
}

/// One comment: `merge-reqs/<id>/<n>/comments/<author>/<index>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub author: Fingerprint,
    pub index: u32,
    pub date: DateTime<Utc>,
    /// Every header, in file order (including `Date`).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Comment {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The revision the comment was written against.
    pub fn revision(&self) -> Option<u32> {
        self.header(header::REVISION)?.trim().parse().ok()
    }

    /// `<author>/<index>`, as `In-Reply-To` names a comment.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.author, self.index)
    }

    /// Parse a comment file; the error says what is wrong.
    pub fn parse(author: Fingerprint, index: u32, data: &[u8]) -> Result<Comment, String> {
        let text = String::from_utf8_lossy(data);
        let (head, body) = match text.find("\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None if text.starts_with('\n') => ("", &text[1..]),
            None => (text.as_ref(), ""),
        };
        let mut headers = Vec::new();
        for line in head.lines() {
            let Some((k, v)) = line.split_once(':') else {
                return Err(format!("header line without a colon: {line:?}"));
            };
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let date = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(header::DATE))
            .ok_or_else(|| "no Date: header".to_owned())?;
        let date = clock::parse(&date.1).ok_or_else(|| format!("bad Date: {:?}", date.1))?;
        Ok(Comment {
            author,
            index,
            date,
            headers,
            body: body.to_owned(),
        })
    }

    /// Render a comment file from its headers (Date first) and body.
    pub fn render(date: &DateTime<Utc>, headers: &[(String, String)], body: &str) -> String {
        let mut out = format!("{}: {}\n", header::DATE, clock::format(date));
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case(header::DATE) {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        out.push('\n');
        out.push_str(body);
        if !body.is_empty() && !body.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// A merge request as read from the data branch and the revision tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    pub id: MrId,
    pub title: String,
    pub target: String,
    /// Sorted label names.
    pub labels: Vec<String>,
    /// In date order (then author, then index).
    pub comments: Vec<Comment>,
    /// Sorted by number.
    pub revisions: Vec<Revision>,
}

impl MergeRequest {
    /// `merged` wins over `closed`, which wins over open.
    pub fn state(&self) -> State {
        if self.has_label("merged") {
            State::Merged
        } else if self.has_label("closed") {
            State::Closed
        } else {
            State::Open
        }
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }

    /// The author's comment 0.
    pub fn description(&self) -> Option<&Comment> {
        self.comments
            .iter()
            .find(|c| c.index == 0 && c.author == self.id.author)
    }

    /// When it was opened: the description's date.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        self.description().map(|c| c.date)
    }

    /// The newest revision.
    pub fn latest_revision(&self) -> Option<&Revision> {
        self.revisions.iter().max_by_key(|r| r.number)
    }

    pub fn revision(&self, k: u32) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == k)
    }

    /// `pass`/`fail` from the `ci-*` labels.
    pub fn ci_status(&self) -> Option<&'static str> {
        if self.has_label("ci-fail") {
            Some("fail")
        } else if self.has_label("ci-pass") {
            Some("pass")
        } else {
            None
        }
    }

    /// The next free comment index of `who`.
    pub fn next_comment_index(&self, who: &Fingerprint) -> u32 {
        self.comments
            .iter()
            .filter(|c| &c.author == who)
            .map(|c| c.index + 1)
            .max()
            .unwrap_or(0)
    }

    /// Headers and bodies of comments, grouped by author (for lookups).
    pub fn comments_by_author(&self) -> BTreeMap<&Fingerprint, Vec<&Comment>> {
        let mut map: BTreeMap<&Fingerprint, Vec<&Comment>> = BTreeMap::new();
        for c in &self.comments {
            map.entry(&c.author).or_default().push(c);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr() -> Fingerprint {
        Fingerprint::parse(&"9a3f".repeat(10)).unwrap()
    }

    #[test]
    fn comments_round_trip() {
        let date = clock::parse("2026-11-26T11:00:00Z").unwrap();
        let text = Comment::render(
            &date,
            &[
                ("Revision".into(), "2".into()),
                ("In-Reply-To".into(), format!("{}/0", fpr())),
            ],
            "hello\n\nworld",
        );
        assert_eq!(
            text,
            format!(
                "Date: 2026-11-26T11:00:00Z\nRevision: 2\nIn-Reply-To: {}/0\n\nhello\n\nworld\n",
                fpr()
            )
        );
        let c = Comment::parse(fpr(), 1, text.as_bytes()).unwrap();
        assert_eq!(c.date, date);
        assert_eq!(c.revision(), Some(2));
        assert_eq!(c.body, "hello\n\nworld\n");
        assert_eq!(
            c.header("in-reply-to"),
            Some(format!("{}/0", fpr()).as_str())
        );
    }

    #[test]
    fn comment_without_date_is_an_error() {
        let err = Comment::parse(fpr(), 0, b"Revision: 1\n\nbody\n").unwrap_err();
        assert!(err.contains("Date"), "{err}");
        assert!(Comment::parse(fpr(), 0, b"Date: yesterday\n\nx").is_err());
    }

    #[test]
    fn empty_body() {
        let c = Comment::parse(fpr(), 0, b"Date: 2026-11-26T11:00:00Z\n\n").unwrap();
        assert_eq!(c.body, "");
        let c = Comment::parse(fpr(), 0, b"Date: 2026-11-26T11:00:00Z\n").unwrap();
        assert_eq!(c.body, "");
    }
}

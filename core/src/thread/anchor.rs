//! Line anchors: what a line comment is about, as three headers of an ordinary
//! comment (`File:`, `Line:`, `Side:`), next to its `Revision:`.
//!
//! ```text
//! Date: 2026-11-26T11:00:00Z
//! Revision: 2
//! File: src/parse.rs
//! Line: 42
//! Side: new
//!
//! This unwrap panics on empty input.
//! ```
//!
//! `Side: new` is the line in the revision's version of the file, `old` the line
//! in the version it changes. An anchor is bound to the revision it was written
//! on: lines move between revisions, so nobody moves the comment.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::header;

/// Which version of the file a line number counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The version before the change (a removed or unchanged line).
    Old,
    /// The version after the change (an added or unchanged line).
    New,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Old => "old",
            Side::New => "new",
        }
    }

    pub fn parse(s: &str) -> Option<Side> {
        match s.trim() {
            "old" => Some(Side::Old),
            "new" => Some(Side::New),
            _ => None,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line of a file, on one side of a change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Anchor {
    /// The path from the tree's root, `/`-separated, as git names it.
    pub path: String,
    /// From 1.
    pub line: u32,
    pub side: Side,
}

/// The longest path an anchor names (git's own limit on most systems).
pub const MAX_PATH: usize = 4096;

impl Anchor {
    /// A checked anchor: the path must be one a header can hold and git can
    /// name (no line breaks or other control characters, no empty, `.` or `..`
    /// component, no leading `/`), the line from 1.
    pub fn new(path: &str, line: u32, side: Side) -> Result<Anchor, String> {
        check_path(path)?;
        if line == 0 {
            return Err("line numbers start at 1".to_owned());
        }
        Ok(Anchor {
            path: path.to_owned(),
            line,
            side,
        })
    }

    /// The anchor in `headers`: `None` when there is no `File:` header (an
    /// ordinary comment), an error naming the problem when it is malformed.
    pub fn from_headers(headers: &[(String, String)]) -> Option<Result<Anchor, String>> {
        let path = super::message::header(headers, header::FILE)?;
        Some((|| {
            let line = super::message::header(headers, header::LINE)
                .ok_or_else(|| "a File: header without Line:".to_owned())?;
            let line = crate::refs::parse_number(line.trim())
                .ok_or_else(|| format!("bad Line: {line:?}"))?;
            let side = match super::message::header(headers, header::SIDE) {
                None => Side::New,
                Some(s) => Side::parse(s).ok_or_else(|| format!("bad Side: {s:?}"))?,
            };
            Anchor::new(path, line, side)
        })())
    }

    /// The headers that carry it.
    pub fn headers(&self) -> Vec<(String, String)> {
        vec![
            (header::FILE.to_owned(), self.path.clone()),
            (header::LINE.to_owned(), self.line.to_string()),
            (header::SIDE.to_owned(), self.side.as_str().to_owned()),
        ]
    }
}

impl fmt::Display for Anchor {
    /// `src/parse.rs:42` (new side) or `src/parse.rs:42 (old)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.side {
            Side::New => write!(f, "{}:{}", self.path, self.line),
            Side::Old => write!(f, "{}:{} (old)", self.path, self.line),
        }
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("an empty path".to_owned());
    }
    if path.len() > MAX_PATH {
        return Err(format!(
            "a path of {} bytes (at most {MAX_PATH})",
            path.len()
        ));
    }
    if path.trim() != path {
        return Err(format!(
            "the path {path:?} starts or ends with white space, which a header cannot keep"
        ));
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the path {path:?} holds the control character {c:?}"
        ));
    }
    if path.starts_with('/')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!(
            "`{path}` is not a path git names: paths are relative to the tree's root, \
             without empty, `.` or `..` components"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn anchors_round_trip_through_headers() {
        let a = Anchor::new("src/a b.rs", 3, Side::Old).unwrap();
        assert_eq!(Anchor::from_headers(&a.headers()), Some(Ok(a.clone())));
        assert_eq!(a.to_string(), "src/a b.rs:3 (old)");
        assert!(Anchor::from_headers(&headers(&[("Revision", "1")])).is_none());
        let default_side = Anchor::from_headers(&headers(&[("File", "x"), ("Line", "1")]));
        assert_eq!(default_side.unwrap().unwrap().side, Side::New);
    }

    #[test]
    fn malformed_anchors_say_why() {
        for (pairs, needle) in [
            (&[("File", "x")][..], "without Line"),
            (&[("File", "x"), ("Line", "0")][..], "start at 1"),
            (&[("File", "x"), ("Line", "01")][..], "bad Line"),
            (
                &[("File", "x"), ("Line", "1"), ("Side", "left")][..],
                "bad Side",
            ),
            (&[("File", "/etc/passwd"), ("Line", "1")][..], "not a path"),
            (&[("File", "a/../b"), ("Line", "1")][..], "not a path"),
            (&[("File", "a\u{1b}[2J"), ("Line", "1")][..], "control"),
        ] {
            let err = Anchor::from_headers(&headers(pairs)).unwrap().unwrap_err();
            assert!(err.contains(needle), "{pairs:?}: {err}");
        }
        assert!(Anchor::new("a\nFile: b", 1, Side::New).is_err());
    }
}

//! One comment: `<thread>/comments/<author>/<index>`, with the versions its
//! author wrote since (see [`super::edit`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::anchor::Anchor;
use super::header;
use super::message::Message;
use crate::clock;
use crate::Fingerprint;

/// One version of a text its author edited: the text as written (`version` 0)
/// or an edit (`version` 1, 2 …); `text` is `None` for a retraction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub version: u32,
    pub date: DateTime<Utc>,
    pub text: Option<String>,
}

/// One comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub author: Fingerprint,
    pub index: u32,
    /// When it was first written.
    pub date: DateTime<Utc>,
    /// Every header of the file as first written, in file order (including `Date`).
    /// Edits change the text, never the headers.
    pub headers: Vec<(String, String)>,
    /// The newest text: as written, or as last edited; empty when retracted.
    pub body: String,
    /// Every version, oldest first, when the author edited or retracted the
    /// comment; empty when it stands as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Version>,
}

impl Comment {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::message::header(&self.headers, name)
    }

    /// The revision the comment was written against.
    pub fn revision(&self) -> Option<u32> {
        self.header(header::REVISION)?.trim().parse().ok()
    }

    /// `<author>/<index>`, as `In-Reply-To` names a comment.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.author, self.index)
    }

    /// Whether its author changed it since it was written.
    pub fn is_edited(&self) -> bool {
        !self.history.is_empty()
    }

    /// Whether its author took it back (its newest version has no text).
    pub fn is_retracted(&self) -> bool {
        self.history.last().is_some_and(|v| v.text.is_none())
    }

    /// The line it is about, when it is a line comment: `None` for an ordinary
    /// comment, an error when its anchor headers are malformed.
    pub fn anchor(&self) -> Option<Result<Anchor, String>> {
        Anchor::from_headers(&self.headers)
    }

    /// The text as first written.
    pub fn original(&self) -> &str {
        match self.history.first() {
            Some(v) => v.text.as_deref().unwrap_or(""),
            None => &self.body,
        }
    }

    /// Parse a comment file; the error says what is wrong.
    pub fn parse(author: Fingerprint, index: u32, data: &[u8]) -> Result<Comment, String> {
        let Message { headers, body } = Message::parse(data)?;
        let date = super::message::header(&headers, header::DATE)
            .ok_or_else(|| "no Date: header".to_owned())?;
        let date = clock::parse(date).ok_or_else(|| format!("bad Date: {date:?}"))?;
        Ok(Comment {
            author,
            index,
            date,
            headers,
            body,
            history: Vec::new(),
        })
    }

    /// Render a comment file from its headers (Date first) and body.
    pub fn render(date: &DateTime<Utc>, headers: &[(String, String)], body: &str) -> String {
        let mut all = vec![(header::DATE.to_owned(), clock::format(date))];
        all.extend(
            headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case(header::DATE))
                .cloned(),
        );
        Message::render(&all, body)
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
        assert!(!c.is_edited() && !c.is_retracted());
        assert!(c.anchor().is_none());
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

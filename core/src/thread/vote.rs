//! Votes: `<thread>/votes/<who>/<j>` (`j` from 0 per voter), each a message
//! bound to the revision it judges. A voter's newest file (the highest `j`) is
//! their vote; `Vote: none` withdraws it. Nobody changes a vote file: a new
//! vote is a new file.
//!
//! ```text
//! Date: 2026-11-26T12:00:00Z
//! Revision: 2
//! Vote: approve
//!
//! Looks good to me.
//! ```
//!
//! A vote on an older revision than the newest is *stale*: it is shown as such,
//! and counts for nothing.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::header;
use super::message::Message;
use crate::clock;
use crate::Fingerprint;

/// The directory of votes in a thread.
pub const VOTES_DIR: &str = "votes";

/// What a voter says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Approve,
    RequestChanges,
    /// The voter withdrew their vote.
    None,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::RequestChanges => "request-changes",
            Verdict::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        match s.trim() {
            "approve" => Some(Verdict::Approve),
            "request-changes" => Some(Verdict::RequestChanges),
            "none" => Some(Verdict::None),
            _ => None,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One vote file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub voter: Fingerprint,
    pub index: u32,
    pub date: DateTime<Utc>,
    /// The revision judged.
    pub revision: u32,
    pub verdict: Verdict,
    /// What the voter wrote with it (may be empty).
    pub body: String,
}

/// `<thread>/votes/<who>`
pub fn dir(thread: &str, who: &Fingerprint) -> String {
    format!("{thread}/{VOTES_DIR}/{who}")
}

/// `<thread>/votes/<who>/<j>`
pub fn path(thread: &str, who: &Fingerprint, index: u32) -> String {
    format!("{}/{index}", dir(thread, who))
}

impl Vote {
    pub fn render(date: &DateTime<Utc>, revision: u32, verdict: Verdict, body: &str) -> String {
        Message::render(
            &[
                (header::DATE.to_owned(), clock::format(date)),
                (header::REVISION.to_owned(), revision.to_string()),
                (header::VOTE.to_owned(), verdict.as_str().to_owned()),
            ],
            body,
        )
    }

    pub fn parse(voter: Fingerprint, index: u32, data: &[u8]) -> Result<Vote, String> {
        let m = Message::parse(data)?;
        let date = m
            .header(header::DATE)
            .ok_or_else(|| "no Date: header".to_owned())?;
        let date = clock::parse(date).ok_or_else(|| format!("bad Date: {date:?}"))?;
        let revision = m
            .header(header::REVISION)
            .ok_or_else(|| "no Revision: header (a vote judges one revision)".to_owned())?;
        let revision = crate::refs::parse_number(revision)
            .filter(|k| *k > 0)
            .ok_or_else(|| format!("bad Revision: {revision:?}"))?;
        let verdict = m
            .header(header::VOTE)
            .ok_or_else(|| "no Vote: header".to_owned())?;
        let verdict = Verdict::parse(verdict)
            .ok_or_else(|| format!("bad Vote: {verdict:?} (approve, request-changes or none)"))?;
        Ok(Vote {
            voter,
            index,
            date,
            revision,
            verdict,
            body: m.body,
        })
    }
}

/// A voter's vote as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing<'v> {
    pub vote: &'v Vote,
    /// Cast on an older revision than the newest.
    pub stale: bool,
}

/// Each voter's newest vote (highest index), withdrawn ones left out, in the
/// order they were cast; stale unless on `newest`.
pub fn standing(votes: &[Vote], newest: Option<u32>) -> Vec<Standing<'_>> {
    let mut latest: BTreeMap<&Fingerprint, &Vote> = BTreeMap::new();
    for v in votes {
        let slot = latest.entry(&v.voter).or_insert(v);
        if v.index > slot.index {
            *slot = v;
        }
    }
    let mut out: Vec<Standing<'_>> = latest
        .into_values()
        .filter(|v| v.verdict != Verdict::None)
        .map(|vote| Standing {
            vote,
            stale: Some(vote.revision) != newest,
        })
        .collect();
    out.sort_by(|a, b| (a.vote.date, &a.vote.voter).cmp(&(b.vote.date, &b.vote.voter)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    #[test]
    fn votes_round_trip() {
        let d = clock::parse("2026-11-26T12:00:00Z").unwrap();
        let text = Vote::render(&d, 2, Verdict::RequestChanges, "Not yet.");
        assert_eq!(
            text,
            "Date: 2026-11-26T12:00:00Z\nRevision: 2\nVote: request-changes\n\nNot yet.\n"
        );
        let v = Vote::parse(fpr('A'), 3, text.as_bytes()).unwrap();
        assert_eq!(
            (v.revision, v.verdict, v.index),
            (2, Verdict::RequestChanges, 3)
        );
        for (data, needle) in [
            ("Date: 2026-11-26T12:00:00Z\nVote: approve\n", "Revision"),
            (
                "Date: 2026-11-26T12:00:00Z\nRevision: 0\nVote: approve\n",
                "Revision",
            ),
            (
                "Date: 2026-11-26T12:00:00Z\nRevision: 1\nVote: +2\n",
                "bad Vote",
            ),
            ("Revision: 1\nVote: approve\n", "Date"),
        ] {
            let err = Vote::parse(fpr('A'), 0, data.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{data}: {err}");
        }
    }

    #[test]
    fn the_newest_vote_of_each_voter_stands() {
        let d = |s: &str| clock::parse(s).unwrap();
        let v = |who: char, index: u32, revision: u32, verdict: Verdict, at: &str| Vote {
            voter: fpr(who),
            index,
            date: d(at),
            revision,
            verdict,
            body: String::new(),
        };
        let votes = vec![
            v('A', 0, 1, Verdict::RequestChanges, "2026-11-26T10:00:00Z"),
            v('A', 1, 2, Verdict::Approve, "2026-11-26T12:00:00Z"),
            v('B', 0, 1, Verdict::Approve, "2026-11-26T11:00:00Z"),
            v('C', 0, 2, Verdict::Approve, "2026-11-26T11:30:00Z"),
            v('C', 1, 2, Verdict::None, "2026-11-26T13:00:00Z"),
        ];
        let s = standing(&votes, Some(2));
        let summary: Vec<(Fingerprint, Verdict, bool)> = s
            .iter()
            .map(|s| (s.vote.voter.clone(), s.vote.verdict, s.stale))
            .collect();
        assert_eq!(
            summary,
            [
                (fpr('B'), Verdict::Approve, true),
                (fpr('A'), Verdict::Approve, false)
            ]
        );
    }
}

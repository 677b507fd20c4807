//! What a merge needs: the project's merge settings (`settings/merge` on the data
//! branch, maintainers' to change), the maintainers' votes and the CI result of the
//! revision, and what is missing.
//!
//! The server runs no application code, so none of this is enforced by it: a
//! maintainer who may push the target branch can merge by hand, or with
//! `git mr merge --force` (which says so in its merge comment). The requirements
//! keep honest people from merging by mistake.
//!
//! `settings/merge` is a message (header lines, a blank line, a body for people):
//!
//! ```text
//! Required-Approvals: 2
//! Required-CI: pass
//!
//! What `git mr merge` requires (maintainers change it with `git mr settings`).
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{header, Fingerprint, MergeRequest};
use crate::people::{People, Roles};
use crate::thread::message::Message;
use crate::thread::{vote, Verdict};

/// The settings file on the data branch.
pub const SETTINGS_PATH: &str = "settings/merge";
/// Its directory.
pub const SETTINGS_DIR: &str = "settings";

/// Header names of the settings file.
pub const REQUIRED_APPROVALS: &str = "Required-Approvals";
pub const REQUIRED_CI: &str = "Required-CI";

/// What `git mr merge` requires. No file: nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Approvals of the merged revision by maintainers other than the author.
    pub approvals: u32,
    /// A `pass` from the `ci` group on the merged revision.
    pub ci_pass: bool,
    /// Requirements this version does not know (`Name: value`): a merge fails
    /// closed on them, naming them, unless forced; a change keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<(String, String)>,
    /// Why the file could not be read, when it could not: a merge fails closed
    /// on that too, and the next change writes a good file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<String>,
}

impl Settings {
    /// Parse the file; a malformed value is an error naming it.
    pub fn parse(data: &[u8]) -> Result<Settings, String> {
        let m = Message::parse(data)?;
        let mut s = Settings::default();
        for (k, v) in &m.headers {
            if k.eq_ignore_ascii_case(REQUIRED_APPROVALS) {
                s.approvals = crate::layout::parse_number(v)
                    .ok_or_else(|| format!("bad {REQUIRED_APPROVALS}: {v:?} (a number)"))?;
            } else if k.eq_ignore_ascii_case(REQUIRED_CI) {
                s.ci_pass = match v.as_str() {
                    "pass" => true,
                    "none" => false,
                    _ => return Err(format!("bad {REQUIRED_CI}: {v:?} (pass or none)")),
                };
            } else if !k.eq_ignore_ascii_case(header::DATE) {
                s.unknown.push((k.clone(), v.clone()));
            }
        }
        Ok(s)
    }

    pub fn render(&self) -> String {
        let mut headers = vec![(REQUIRED_APPROVALS.to_owned(), self.approvals.to_string())];
        headers.push((
            REQUIRED_CI.to_owned(),
            if self.ci_pass { "pass" } else { "none" }.to_owned(),
        ));
        headers.extend(self.unknown.iter().cloned());
        Message::render(
            &headers,
            "What `git mr merge` requires before it merges a revision: approvals of that\n\
             revision by maintainers other than its author (a maintainer's standing\n\
             request for changes blocks too), and CI's pass on it. Maintainers change\n\
             this file with `git mr settings`; the server does not enforce it.\n",
        )
    }

    /// Whether it asks for anything.
    pub fn requires_anything(&self) -> bool {
        self.approvals > 0 || self.ci_pass || !self.unknown.is_empty() || self.malformed.is_some()
    }
}

/// A CI result: the newest `CI-Status:` comment of a member of the `ci` group
/// on one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CiResult {
    pub status: String,
    pub revision: u32,
    pub author: Fingerprint,
    pub index: u32,
}

/// The CI result of revision `k`, from the `ci` group's comments only (not from
/// the `ci-*` labels, which maintainers may set too).
pub fn ci_result(mr: &MergeRequest, people: &People, k: u32) -> Option<CiResult> {
    mr.comments
        .iter()
        .filter(|c| people.is_ci(&c.author) && c.revision() == Some(k))
        .filter_map(|c| {
            Some(CiResult {
                status: c.header(header::CI_STATUS)?.trim().to_owned(),
                revision: k,
                author: c.author.clone(),
                index: c.index,
            })
        })
        .next_back()
}

/// The CI result of the newest revision.
pub fn newest_ci_result(mr: &MergeRequest, people: &People) -> Option<CiResult> {
    ci_result(mr, people, mr.latest_revision()?.number)
}

/// Votes on one merge request, as they stand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Standing approvals of the newest revision, the author's left out.
    pub approvals: Vec<Fingerprint>,
    /// Those of them by maintainers.
    pub maintainer_approvals: Vec<Fingerprint>,
    /// Standing requests for changes on the newest revision, the author's left out.
    pub changes_requested: Vec<Fingerprint>,
}

/// The votes on revision `k` that stand (each voter's newest, cast on `k`),
/// the author's own left out: nobody approves their own work.
pub fn tally(mr: &MergeRequest, people: &People, k: u32) -> Tally {
    let mut t = Tally::default();
    for s in vote::standing(&mr.votes, Some(k)) {
        let v = s.vote;
        if s.stale || v.voter == mr.id.author {
            continue;
        }
        match v.verdict {
            Verdict::Approve => {
                if people.is_maintainer(&v.voter) {
                    t.maintainer_approvals.push(v.voter.clone());
                }
                t.approvals.push(v.voter.clone());
            }
            Verdict::RequestChanges => t.changes_requested.push(v.voter.clone()),
            Verdict::None => {}
        }
    }
    t
}

/// One thing a merge lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Missing {
    /// Fewer maintainers' approvals of the revision than required.
    Approvals { required: u32, have: u32 },
    /// Maintainers asked for changes on the revision, and still do.
    ChangesRequested { by: Vec<Fingerprint> },
    /// No `pass` from CI on the revision (its result, if any).
    CiPass {
        revision: u32,
        status: Option<String>,
    },
    /// A requirement this version of git mr does not know.
    Unknown { requirement: String },
    /// Settings that cannot be read.
    Readable { problem: String },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Approvals { required, have } => write!(
                f,
                "{required} approval{} by maintainers, {have} so far",
                if *required == 1 { "" } else { "s" }
            ),
            Missing::ChangesRequested { by } => write!(
                f,
                "changes requested by {}",
                by.iter().map(|b| b.short()).collect::<Vec<_>>().join(", ")
            ),
            Missing::CiPass {
                revision,
                status: None,
            } => write!(f, "CI's pass on revision {revision} (no result yet)"),
            Missing::CiPass {
                revision,
                status: Some(s),
            } => write!(f, "CI's pass on revision {revision} (it says {s})"),
            Missing::Unknown { requirement } => write!(
                f,
                "`{requirement}` in {SETTINGS_PATH}, which this git mr does not know (update it)"
            ),
            Missing::Readable { problem } => write!(
                f,
                "a readable {SETTINGS_PATH} ({problem}; a maintainer rewrites it with `git mr settings`)"
            ),
        }
    }
}

/// What merging revision `k` of `mr` lacks under `settings` (nothing without settings).
pub fn missing(
    settings: Option<&Settings>,
    mr: &MergeRequest,
    people: &People,
    k: u32,
) -> Vec<Missing> {
    let Some(settings) = settings else {
        return Vec::new();
    };
    let mut out: Vec<Missing> = settings
        .unknown
        .iter()
        .map(|(k, v)| Missing::Unknown {
            requirement: format!("{k}: {v}"),
        })
        .collect();
    if let Some(problem) = &settings.malformed {
        out.push(Missing::Readable {
            problem: problem.clone(),
        });
    }
    let tally = tally(mr, people, k);
    if settings.approvals > 0 {
        let have = tally.maintainer_approvals.len() as u32;
        if have < settings.approvals {
            out.push(Missing::Approvals {
                required: settings.approvals,
                have,
            });
        }
        let by: Vec<Fingerprint> = tally
            .changes_requested
            .into_iter()
            .filter(|v| people.is_maintainer(v))
            .collect();
        if !by.is_empty() {
            out.push(Missing::ChangesRequested { by });
        }
    }
    if settings.ci_pass {
        let result = ci_result(mr, people, k);
        if result.as_ref().is_none_or(|r| r.status != "pass") {
            out.push(Missing::CiPass {
                revision: k,
                status: result.map(|r| r.status),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MrId, Revision};
    use crate::thread::{Comment, Vote};

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn vote(who: char, index: u32, revision: u32, verdict: Verdict) -> Vote {
        Vote {
            voter: fpr(who),
            index,
            date: crate::clock::parse("2026-11-26T11:00:00Z").unwrap(),
            revision,
            verdict,
            body: String::new(),
        }
    }

    fn ci(who: char, index: u32, revision: u32, status: &str) -> Comment {
        let text = format!(
            "Date: 2026-11-26T11:00:0{index}Z\nRevision: {revision}\nCI-Status: {status}\n\n"
        );
        Comment::parse(fpr(who), index, text.as_bytes()).unwrap()
    }

    /// A (the author), D and F maintainers, C the ci group, E anyone.
    fn people() -> People {
        let mut p = People::default();
        p.groups
            .entry(crate::policy::MAINTAINERS_GROUP.into())
            .or_default()
            .users
            .extend([fpr('A'), fpr('D'), fpr('F')]);
        p.groups
            .entry(crate::policy::CI_GROUP.into())
            .or_default()
            .users
            .insert(fpr('C'));
        p
    }

    fn mr(votes: Vec<Vote>, comments: Vec<Comment>) -> MergeRequest {
        MergeRequest {
            id: MrId {
                author: fpr('A'),
                number: 1,
            },
            title: "t".into(),
            target: "main".into(),
            labels: vec!["ci-pass".into()],
            comments,
            revisions: [1, 2]
                .map(|number| Revision {
                    number,
                    commit: gix::ObjectId::null(gix::hash::Kind::Sha1),
                })
                .to_vec(),
            title_history: Vec::new(),
            votes,
            fixes: Vec::new(),
        }
    }

    #[test]
    fn what_a_merge_lacks() {
        let people = people();
        let settings = Settings {
            approvals: 2,
            ci_pass: true,
            ..Settings::default()
        };
        // The author's vote, a stale one, anyone's: none counts; the ci-pass label
        // is no CI result, nor is a CI-Status from outside the ci group.
        let m = mr(
            vec![
                vote('A', 0, 2, Verdict::Approve),
                vote('D', 0, 1, Verdict::Approve),
                vote('E', 0, 2, Verdict::Approve),
            ],
            vec![ci('E', 0, 2, "pass"), ci('C', 0, 1, "pass")],
        );
        assert_eq!(
            missing(Some(&settings), &m, &people, 2),
            [
                Missing::Approvals {
                    required: 2,
                    have: 0
                },
                Missing::CiPass {
                    revision: 2,
                    status: None
                }
            ]
        );
        assert_eq!(tally(&m, &people, 2).approvals, [fpr('E')]);
        assert!(missing(None, &m, &people, 2).is_empty());
        // Two maintainers approve v2, CI's newest result on it passes: met; a
        // maintainer's standing request for changes blocks.
        let mut votes = m.votes.clone();
        votes.push(vote('D', 1, 2, Verdict::Approve));
        votes.push(vote('F', 0, 2, Verdict::Approve));
        let comments = vec![ci('C', 1, 2, "fail"), ci('C', 2, 2, "pass")];
        let ok = mr(votes.clone(), comments.clone());
        assert_eq!(missing(Some(&settings), &ok, &people, 2), []);
        votes.push(vote('F', 1, 2, Verdict::RequestChanges));
        let blocked = mr(votes, comments);
        assert_eq!(
            missing(Some(&settings), &blocked, &people, 2),
            [
                Missing::Approvals {
                    required: 2,
                    have: 1
                },
                Missing::ChangesRequested { by: vec![fpr('F')] }
            ]
        );
        let failed = mr(
            ok.votes.clone(),
            vec![ci('C', 1, 2, "pass"), ci('C', 2, 2, "timeout")],
        );
        assert_eq!(
            missing(Some(&settings), &failed, &people, 2),
            [Missing::CiPass {
                revision: 2,
                status: Some("timeout".into())
            }]
        );
    }

    #[test]
    fn settings_round_trip_and_fail_closed() {
        let s = Settings {
            approvals: 2,
            ci_pass: true,
            ..Settings::default()
        };
        let text = s.render();
        assert!(
            text.starts_with("Required-Approvals: 2\nRequired-CI: pass\n\n"),
            "{text}"
        );
        assert_eq!(Settings::parse(text.as_bytes()).unwrap(), s);
        let odd = Settings::parse(b"Required-Approvals: 1\nRequired-Signoff: yes\n").unwrap();
        assert_eq!(
            odd.unknown,
            [("Required-Signoff".to_owned(), "yes".to_owned())]
        );
        assert!(odd.requires_anything());
        // A change keeps what a newer version asks for.
        assert!(
            odd.render().contains("\nRequired-Signoff: yes\n"),
            "{}",
            odd.render()
        );
        assert!(Settings::parse(b"Required-Approvals: two\n").is_err());
        assert!(Settings::parse(b"Required-CI: maybe\n").is_err());
        assert!(
            !Settings::parse(b"Required-Approvals: 0\nRequired-CI: none\n")
                .unwrap()
                .requires_anything()
        );
    }
}

//! Claims with leases: a worker (a CI bot) claims a piece of work by creating a
//! file `<dir>/claim-<attempt>` (attempt from 1) that only one push can create
//! (the policy lets the workers create it and nobody change it). A claim holds
//! for a lease; a stale one is taken over by creating `claim-<attempt+1>`.
//!
//! A claim file:
//!
//! ```text
//! Bot: <FPR>
//! Instance: <host>/<pid>/<start>
//! Date: 2026-11-26T11:00:00Z
//! Expires: 2026-11-26T11:10:00Z
//! ```
//!
//! The app supplies the directory (`merge-reqs/<id>/<n>/ci/v<k>`) and says
//! which claims its results closed ([`Claim::closed`]).

use chrono::{DateTime, Utc};
use gix::ObjectId;

use crate::error::GitResultExt;
use crate::refs::parse_number;
use crate::thread::header;
use crate::{clock, Fingerprint, Result};

/// The header names of a claim file.
pub const BOT: &str = "Bot";
pub const INSTANCE: &str = "Instance";
/// Until when the claim holds: its date plus the claiming bot's lease.
pub const EXPIRES: &str = "Expires";

/// `<dir>/claim-<attempt>`
pub fn path(dir: &str, attempt: u32) -> String {
    format!("{dir}/claim-{attempt}")
}

/// One claim, as read back. Fields a hand-made file lacks stay `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub attempt: u32,
    pub bot: Option<Fingerprint>,
    pub instance: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    /// A result was posted under it, or under a later one: it holds nothing.
    pub closed: bool,
}

impl Claim {
    /// The file's content.
    pub fn render(
        bot: &Fingerprint,
        instance: &str,
        date: &DateTime<Utc>,
        lease_secs: u64,
    ) -> String {
        let mut text = format!(
            "{BOT}: {bot}\n{INSTANCE}: {instance}\n{}: {}\n",
            header::DATE,
            clock::format(date),
        );
        if let Some(expires) = plus(date, lease_secs) {
            text.push_str(&format!("{EXPIRES}: {}\n", clock::format(&expires)));
        }
        text
    }

    pub fn parse(attempt: u32, data: &[u8]) -> Claim {
        let mut claim = Claim {
            attempt,
            bot: None,
            instance: None,
            date: None,
            expires: None,
            closed: false,
        };
        for line in String::from_utf8_lossy(data).lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            if k.trim().eq_ignore_ascii_case(BOT) {
                claim.bot = Fingerprint::parse(v).ok();
            } else if k.trim().eq_ignore_ascii_case(INSTANCE) {
                claim.instance = Some(v.to_owned());
            } else if k.trim().eq_ignore_ascii_case(header::DATE) {
                claim.date = clock::parse(v);
            } else if k.trim().eq_ignore_ascii_case(EXPIRES) {
                claim.expires = clock::parse(v);
            }
        }
        claim
    }
}

/// The claims in `dir` of the data commit `commit`, by attempt. Entries that
/// are not `claim-<n>` files are skipped.
pub fn read(repo: &gix::Repository, commit: Option<ObjectId>, dir: &str) -> Result<Vec<Claim>> {
    let tree = match commit {
        Some(commit) => Some(repo.find_commit(commit).git()?.tree_id().git()?.detach()),
        None => None,
    };
    let Some(dir) = crate::tree_reader::subtree(repo, tree, dir)? else {
        return Ok(Vec::new());
    };
    let mut claims = Vec::new();
    for e in dir.iter() {
        let e = e.git()?;
        let name = e.filename().to_string();
        let Some(attempt) = name
            .strip_prefix("claim-")
            .and_then(parse_number)
            .filter(|a| *a > 0)
        else {
            continue;
        };
        if !e.mode().is_blob() {
            continue;
        }
        let blob = e.object().git()?;
        claims.push(Claim::parse(attempt, &blob.data));
    }
    claims.sort_by_key(|c| c.attempt);
    Ok(claims)
}

/// What to do about a revision that has no result yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Create `claim-<attempt>`.
    Claim { attempt: u32, takeover: bool },
    /// This very process holds `claim-<attempt>` already.
    Resume { attempt: u32 },
    /// Another bot holds a live claim.
    Busy {
        bot: Option<Fingerprint>,
        age_secs: i64,
    },
}

/// Decide from the claims (by attempt) on a revision without a result.
///
/// The newest claim rules. Closed (a result was posted under it): a new run claims
/// the next attempt. Ours from this process: resume. Ours from another process
/// (this bot's earlier life, which was killed: one bot per key and workdir, see the
/// workdir lock): take over at once. Another bot's: busy while younger than the
/// lease, else take over. The lease is the claiming bot's (`Expires:`), else
/// `lease_secs` after its date; a claim without either counts as expired.
pub fn decide(
    claims: &[Claim],
    me: &Fingerprint,
    instance: &str,
    now: DateTime<Utc>,
    lease_secs: u64,
) -> Decision {
    let Some(newest) = claims.iter().max_by_key(|c| c.attempt) else {
        return Decision::Claim {
            attempt: 1,
            takeover: false,
        };
    };
    if newest.closed {
        return Decision::Claim {
            attempt: newest.attempt + 1,
            takeover: false,
        };
    }
    let next = Decision::Claim {
        attempt: newest.attempt + 1,
        takeover: true,
    };
    if newest.bot.as_ref() == Some(me) {
        return if newest.instance.as_deref() == Some(instance) {
            Decision::Resume {
                attempt: newest.attempt,
            }
        } else {
            next
        };
    }
    let expires = newest
        .expires
        .or_else(|| newest.date.and_then(|d| plus(&d, lease_secs)));
    match expires {
        Some(expires) => {
            let age_secs = newest.date.map(|d| (now - d).num_seconds()).unwrap_or(0);
            if now < expires {
                Decision::Busy {
                    bot: newest.bot.clone(),
                    age_secs,
                }
            } else {
                next
            }
        }
        None => next,
    }
}

/// `date` plus `secs` seconds, `None` past chrono's range.
fn plus(date: &DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
    let secs = chrono::Duration::try_seconds(i64::try_from(secs).ok()?)?;
    date.checked_add_signed(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        clock::parse(s).unwrap()
    }

    fn claim(attempt: u32, bot: char, instance: &str, date: &str) -> Claim {
        Claim::parse(
            attempt,
            Claim::render(&fpr(bot), instance, &at(date), 600).as_bytes(),
        )
    }

    #[test]
    fn claims_round_trip() {
        let c = claim(2, 'A', "host/1/ff", "2026-11-26T11:00:00Z");
        assert_eq!(c.attempt, 2);
        assert_eq!(c.bot, Some(fpr('A')));
        assert_eq!(c.instance.as_deref(), Some("host/1/ff"));
        assert_eq!(c.date, Some(at("2026-11-26T11:00:00Z")));
        assert_eq!(c.expires, Some(at("2026-11-26T11:10:00Z")));
        let junk = Claim::parse(1, b"whatever\n");
        assert_eq!(junk.bot, None);
    }

    #[test]
    fn decisions() {
        let me = fpr('A');
        let now = at("2026-11-26T12:00:00Z");
        let d = |claims: &[Claim]| decide(claims, &me, "me/1/a", now, 600);
        assert_eq!(
            d(&[]),
            Decision::Claim {
                attempt: 1,
                takeover: false
            }
        );
        // Ours, this process.
        assert_eq!(
            d(&[claim(1, 'A', "me/1/a", "2026-11-26T11:59:00Z")]),
            Decision::Resume { attempt: 1 }
        );
        // Ours, an earlier life.
        assert_eq!(
            d(&[claim(1, 'A', "me/0/b", "2026-11-26T11:59:00Z")]),
            Decision::Claim {
                attempt: 2,
                takeover: true
            }
        );
        // Another bot's, live.
        assert!(matches!(
            d(&[claim(1, 'B', "b/1/a", "2026-11-26T11:59:00Z")]),
            Decision::Busy { age_secs: 60, .. }
        ));
        // Another bot's, expired, and the newest one rules.
        assert_eq!(
            d(&[
                claim(1, 'B', "b/1/a", "2026-11-26T10:00:00Z"),
                claim(2, 'C', "c/1/a", "2026-11-26T11:00:00Z"),
            ]),
            Decision::Claim {
                attempt: 3,
                takeover: true
            }
        );
        // The claiming bot's own lease rules, not ours.
        let long = Claim::parse(
            1,
            Claim::render(&fpr('B'), "b", &at("2026-11-26T10:00:00Z"), 86_400).as_bytes(),
        );
        assert!(matches!(d(&[long]), Decision::Busy { .. }));
        let short = Claim::parse(
            1,
            Claim::render(&fpr('B'), "b", &at("2026-11-26T11:59:00Z"), 30).as_bytes(),
        );
        assert!(matches!(d(&[short]), Decision::Claim { attempt: 2, .. }));
        // Unreadable: expired.
        assert_eq!(
            d(&[Claim::parse(4, b"")]),
            Decision::Claim {
                attempt: 5,
                takeover: true
            }
        );
    }

    #[test]
    fn paths() {
        assert_eq!(path("x/ci/v2", 1), "x/ci/v2/claim-1");
    }
}

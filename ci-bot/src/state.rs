//! What the data branch says about a revision's CI: its claims, its results and the
//! maintainers' requests to run it again.
//!
//! A claim is a file `merge-reqs/<id>/<n>/ci/v<k>/claim-<attempt>` (attempt from 1)
//! that only one push can create: the policy lets the `ci` group create it and
//! nobody change it. A result is a comment with `Revision: <k>` and `CI-Status:`; it
//! names the claim it ran under (`CI-Claim:`), which closes that claim and every
//! earlier one, and the re-run requests it answers (`CI-Retry:`).

use chrono::{DateTime, Utc};
use git_mr::ci_retry::{self, Request};
use git_mr::layout;
use git_mr::model::header;
use git_mr::{Comment, Fingerprint, MergeRequest, MrId};
use gix::ObjectId;

/// The header names of a claim file.
pub const BOT: &str = "Bot";
pub const INSTANCE: &str = "Instance";
/// Until when the claim holds: its date plus the claiming bot's `lease_secs`.
pub const EXPIRES: &str = "Expires";
/// The header of a result naming the claim (attempt) it ran under.
pub const CI_CLAIM: &str = "CI-Claim";

/// `merge-reqs/<id>/<n>/ci/v<k>`
pub fn claims_dir(id: &MrId, k: u32) -> String {
    format!("{}/ci/v{k}", layout::mr_dir(id))
}

/// `merge-reqs/<id>/<n>/ci/v<k>/claim-<attempt>`
pub fn claim_path(id: &MrId, k: u32, attempt: u32) -> String {
    format!("{}/claim-{attempt}", claims_dir(id, k))
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
            git_mr::clock::format(date),
        );
        if let Some(expires) = plus(date, lease_secs) {
            text.push_str(&format!("{EXPIRES}: {}\n", git_mr::clock::format(&expires)));
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
                claim.date = git_mr::clock::parse(v);
            } else if k.trim().eq_ignore_ascii_case(EXPIRES) {
                claim.expires = git_mr::clock::parse(v);
            }
        }
        claim
    }
}

/// The claims on revision `k` of `id` in the data commit `commit`, by attempt.
pub fn read_claims(
    repo: &gix::Repository,
    commit: Option<&str>,
    id: &MrId,
    k: u32,
) -> Result<Vec<Claim>, String> {
    let Some(commit) = commit else {
        return Ok(Vec::new());
    };
    let commit = ObjectId::from_hex(commit.as_bytes()).map_err(|e| e.to_string())?;
    let tree = repo
        .find_commit(commit)
        .map_err(|e| e.to_string())?
        .tree()
        .map_err(|e| e.to_string())?;
    let Some(entry) = tree
        .lookup_entry_by_path(claims_dir(id, k))
        .map_err(|e| e.to_string())?
    else {
        return Ok(Vec::new());
    };
    if !entry.mode().is_tree() {
        return Ok(Vec::new());
    }
    let dir = entry
        .object()
        .map_err(|e| e.to_string())?
        .try_into_tree()
        .map_err(|e| e.to_string())?;
    let mut claims = Vec::new();
    for e in dir.iter() {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.filename().to_string();
        let Some(attempt) = name
            .strip_prefix("claim-")
            .and_then(layout::parse_number)
            .filter(|a| *a > 0)
        else {
            continue;
        };
        if !e.mode().is_blob() {
            continue;
        }
        let blob = e.object().map_err(|e| e.to_string())?;
        claims.push(Claim::parse(attempt, &blob.data));
    }
    claims.sort_by_key(|c| c.attempt);
    Ok(claims)
}

/// The CI results for revision `k`: comments with `Revision: k` and `CI-Status:` by
/// this bot, a member of the `ci` group, or a bot that claimed `k`.
pub fn results<'m>(
    mr: &'m MergeRequest,
    k: u32,
    me: &Fingerprint,
    ci: &[Fingerprint],
    claims: &[Claim],
) -> Vec<&'m Comment> {
    mr.comments
        .iter()
        .filter(|c| {
            c.header(header::CI_STATUS).is_some()
                && c.revision() == Some(k)
                && (&c.author == me
                    || ci.contains(&c.author)
                    || claims.iter().any(|cl| cl.bot.as_ref() == Some(&c.author)))
        })
        .collect()
}

/// Mark the claims the `results` closed: a result closes the claim it names and
/// every earlier one; a result that names none (an older bot's) closes the claims
/// dated no later than itself.
pub fn close_claims(claims: &mut [Claim], results: &[&Comment]) {
    for claim in claims.iter_mut() {
        claim.closed = results.iter().any(|r| {
            match r
                .header(CI_CLAIM)
                .and_then(|a| layout::parse_number(a.trim()))
            {
                Some(attempt) => attempt >= claim.attempt,
                None => claim.date.is_some_and(|d| d <= r.date),
            }
        });
    }
}

/// The maintainers' requests to run revision `k` again that no result answers yet.
/// A result answers a maintainer's requests up to the index it names in `CI-Retry`.
pub fn unanswered(
    requests: &[Request],
    results: &[&Comment],
    maintainers: &[Fingerprint],
    k: u32,
) -> Vec<Request> {
    let answered: Vec<(Fingerprint, u32)> = results
        .iter()
        .filter_map(|r| r.header(ci_retry::CI_RETRY))
        .flat_map(ci_retry::parse_answered)
        .collect();
    requests
        .iter()
        .filter(|r| r.revision == Some(k) && maintainers.contains(&r.who))
        .filter(|r| {
            !answered
                .iter()
                .any(|(who, j)| *who == r.who && *j >= r.index)
        })
        .cloned()
        .collect()
}

/// The `CI-Retry` value answering `requests`: each maintainer's newest one.
pub fn answer(requests: &[Request]) -> String {
    let mut newest: Vec<(Fingerprint, u32)> = Vec::new();
    for r in requests {
        match newest.iter_mut().find(|(who, _)| *who == r.who) {
            Some((_, j)) => *j = (*j).max(r.index),
            None => newest.push((r.who.clone(), r.index)),
        }
    }
    newest
        .iter()
        .map(|(who, j)| format!("{who}/{j}"))
        .collect::<Vec<_>>()
        .join(" ")
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
        git_mr::clock::parse(s).unwrap()
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
    fn results_count_from_ci_members_and_claimers_only() {
        let id = MrId {
            author: fpr('E'),
            number: 1,
        };
        let comment =
            |author: char, text: &str| Comment::parse(fpr(author), 0, text.as_bytes()).unwrap();
        let ci = "Date: 2026-11-26T11:00:00Z\nRevision: 2\nCI-Status: pass\n\nok\n";
        let mr = MergeRequest {
            id,
            title: "t".into(),
            target: "main".into(),
            labels: vec![],
            comments: vec![
                comment('E', ci),
                comment(
                    'B',
                    "Date: 2026-11-26T11:00:00Z\nRevision: 1\nCI-Status: fail\n\n",
                ),
            ],
            revisions: vec![],
            title_history: vec![],
            votes: vec![],
        };
        let me = fpr('A');
        // The author's fake result does not count.
        assert!(results(&mr, 2, &me, &[fpr('B')], &[]).is_empty());
        assert_eq!(results(&mr, 2, &me, &[fpr('E')], &[]).len(), 1);
        assert_eq!(results(&mr, 1, &me, &[fpr('B')], &[]).len(), 1);
        assert!(results(&mr, 1, &me, &[], &[]).is_empty());
        let claims = [claim(1, 'B', "b", "2026-11-26T11:00:00Z")];
        assert_eq!(results(&mr, 1, &me, &[], &claims).len(), 1);
    }

    #[test]
    fn results_close_claims_and_answer_requests() {
        let result = |text: &str| Comment::parse(fpr('B'), 0, text.as_bytes()).unwrap();
        let mut claims = vec![
            claim(1, 'B', "b", "2026-11-26T10:00:00Z"),
            claim(2, 'B', "b", "2026-11-26T12:00:00Z"),
        ];
        // An older bot's result, without CI-Claim: by date.
        let old = result("Date: 2026-11-26T11:00:00Z\nRevision: 1\nCI-Status: pass\n\n");
        close_claims(&mut claims, &[&old]);
        assert_eq!(
            claims.iter().map(|c| c.closed).collect::<Vec<_>>(),
            [true, false]
        );
        let new =
            result("Date: 2026-11-26T11:00:00Z\nRevision: 1\nCI-Status: pass\nCI-Claim: 2\n\n");
        close_claims(&mut claims, &[&new]);
        assert!(claims.iter().all(|c| c.closed));
        // A closed newest claim: a new run takes the next attempt, without a takeover.
        let now = at("2026-11-26T12:01:00Z");
        assert_eq!(
            decide(&claims, &fpr('A'), "a", now, 600),
            Decision::Claim {
                attempt: 3,
                takeover: false
            }
        );

        let (carol, dave, eve) = (fpr('C'), fpr('D'), fpr('E'));
        let req = |who: &Fingerprint, index: u32, revision: u32| Request {
            who: who.clone(),
            index,
            revision: Some(revision),
            date: None,
        };
        let requests = vec![
            req(&carol, 0, 1),
            req(&carol, 1, 1),
            req(&dave, 0, 1),
            req(&dave, 1, 2),
            req(&eve, 0, 1),
        ];
        let maintainers = [carol.clone(), dave.clone()];
        // Eve is no maintainer; Dave's second request is for revision 2.
        let open = unanswered(&requests, &[&new], &maintainers, 1);
        assert_eq!(
            open,
            vec![req(&carol, 0, 1), req(&carol, 1, 1), req(&dave, 0, 1)]
        );
        assert_eq!(answer(&open), format!("{carol}/1 {dave}/0"));
        let answered = result(&format!(
            "Date: 2026-11-26T13:00:00Z\nRevision: 1\nCI-Status: fail\nCI-Retry: {}\n\n",
            answer(&open)
        ));
        assert!(unanswered(&requests, &[&new, &answered], &maintainers, 1).is_empty());
        let partly = result(&format!(
            "Date: 2026-11-26T13:00:00Z\nRevision: 1\nCI-Status: fail\nCI-Retry: {carol}/0\n\n"
        ));
        assert_eq!(
            unanswered(&requests, &[&partly], &maintainers, 1),
            vec![req(&carol, 1, 1), req(&dave, 0, 1)]
        );
    }

    #[test]
    fn paths() {
        let id = MrId {
            author: fpr('E'),
            number: 3,
        };
        assert_eq!(
            claim_path(&id, 2, 1),
            format!("merge-reqs/{}/3/ci/v2/claim-1", fpr('E'))
        );
    }
}

//! What the data branch says about a revision's CI: its claims, its results and the
//! maintainers' requests to run it again.
//!
//! A claim is a file `merge-reqs/<id>/<n>/ci/v<k>/claim-<attempt>` (attempt from 1)
//! that only one push can create: the policy lets the `ci` group create it and
//! nobody change it (the core's [`gitapps_core::claim`]: leases and decisions). A result is a comment with `Revision: <k>` and `CI-Status:`; it
//! names the claim it ran under (`CI-Claim:`), which closes that claim and every
//! earlier one, and the re-run requests it answers (`CI-Retry:`).

use git_mr::ci_retry::{self, Request};
use git_mr::layout;
use git_mr::model::header;
use git_mr::{Comment, Fingerprint, MergeRequest, MrId};
use gitapps_core::claim;
pub use gitapps_core::claim::{decide, Claim, Decision};
use gix::ObjectId;

/// The header of a result naming the claim (attempt) it ran under.
pub const CI_CLAIM: &str = "CI-Claim";

/// `merge-reqs/<id>/<n>/ci/v<k>`
pub fn claims_dir(id: &MrId, k: u32) -> String {
    format!("{}/ci/v{k}", layout::mr_dir(id))
}

/// `merge-reqs/<id>/<n>/ci/v<k>/claim-<attempt>`
pub fn claim_path(id: &MrId, k: u32, attempt: u32) -> String {
    claim::path(&claims_dir(id, k), attempt)
}

/// The claims on revision `k` of `id` in the data commit `commit`, by attempt.
pub fn read_claims(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    id: &MrId,
    k: u32,
) -> git_mr::Result<Vec<Claim>> {
    Ok(claim::read(repo, commit, &claims_dir(id, k))?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

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
            fixes: Vec::new(),
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

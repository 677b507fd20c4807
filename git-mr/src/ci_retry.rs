//! Requests to run CI again: `merge-reqs/<id>/<n>/ci/retry/<who>/<j>` (`j` from 0 per
//! maintainer), written by maintainers with `git mr ci-retry` and honoured by ci-bot,
//! which answers them with a new result comment naming them (`CI-Retry:`).
//!
//! A request file:
//! ```text
//! Date: 2026-11-26T11:00:00Z
//! Revision: 2
//! ```

use chrono::{DateTime, Utc};
use gix::ObjectId;

use crate::error::GitResultExt;
use crate::forge::Committed;
use crate::model::header;
use crate::people::Roles;
use crate::store::Depth;
use crate::{clock, layout, Error, Fingerprint, Forge, MrId, Result, State};

/// The header of a result comment that lists the requests it answers:
/// `<who>/<j>` for each maintainer, space-separated (`j`: their newest request answered).
pub const CI_RETRY: &str = "CI-Retry";

/// `merge-reqs/<id>/<n>/ci/retry`
pub fn dir(id: &MrId) -> String {
    format!("{}/ci/retry", layout::mr_dir(id))
}

/// `merge-reqs/<id>/<n>/ci/retry/<who>/<j>`
pub fn path(id: &MrId, who: &Fingerprint, j: u32) -> String {
    format!("{}/{who}/{j}", dir(id))
}

/// One request, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub who: Fingerprint,
    pub index: u32,
    pub revision: Option<u32>,
    pub date: Option<DateTime<Utc>>,
}

impl Request {
    /// `<who>/<j>`
    pub fn reference(&self) -> String {
        format!("{}/{}", self.who, self.index)
    }

    pub fn render(date: &DateTime<Utc>, revision: u32) -> String {
        format!(
            "{}: {}\n{}: {revision}\n",
            header::DATE,
            clock::format(date),
            header::REVISION
        )
    }

    fn parse(who: Fingerprint, index: u32, data: &[u8]) -> Request {
        let mut r = Request {
            who,
            index,
            revision: None,
            date: None,
        };
        for line in String::from_utf8_lossy(data).lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case(header::REVISION) {
                r.revision = layout::parse_number(v.trim());
            } else if k.trim().eq_ignore_ascii_case(header::DATE) {
                r.date = clock::parse(v.trim());
            }
        }
        r
    }
}

/// Every request on `id` in the data tree `tree`, by maintainer and index.
/// Entries that are not `<FPR>/<number>` files are skipped.
pub fn read(repo: &gix::Repository, tree: Option<ObjectId>, id: &MrId) -> Result<Vec<Request>> {
    let Some(by_who) = crate::tree_reader::subtree(repo, tree, &dir(id))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for who in by_who.iter() {
        let who = who.git()?;
        let Some(fpr) = Fingerprint::parse(&who.filename().to_string()).ok() else {
            continue;
        };
        if !who.mode().is_tree() {
            continue;
        }
        let files = who.object().git()?.try_into_tree().git()?;
        for f in files.iter() {
            let f = f.git()?;
            let Some(j) = layout::parse_number(&f.filename().to_string()) else {
                continue;
            };
            if !f.mode().is_blob() {
                continue;
            }
            let blob = f.object().git()?;
            out.push(Request::parse(fpr.clone(), j, &blob.data));
        }
    }
    out.sort_by(|a, b| (&a.who, a.index).cmp(&(&b.who, b.index)));
    Ok(out)
}

/// The `CI-Retry` value of a result: `(who, j)` pairs.
pub fn parse_answered(value: &str) -> Vec<(Fingerprint, u32)> {
    value
        .split_whitespace()
        .filter_map(|r| {
            let (who, j) = r.split_once('/')?;
            Some((Fingerprint::parse(who).ok()?, layout::parse_number(j)?))
        })
        .collect()
}

/// `git mr ci-retry`: ask CI to test the newest revision of `id` again, as `me`, a
/// maintainer. One signed push of one new file.
pub fn request(forge: &Forge, id: &MrId) -> Result<Committed<Request>> {
    let me = forge.me()?;
    let people = forge.people()?;
    if !people.is_maintainer(&me) {
        return Err(Error::Invalid(format!(
            "only maintainers ask CI to run again, and {me} is not in the group \
             `maintainers` on apps/access-control"
        )));
    }
    forge.transact_on(id, Depth::Summary, &[], |forge, snapshot, tx| {
        let mr = snapshot
            .get(id)
            .ok_or_else(|| Error::NoSuchMr(id.to_string()))?;
        if mr.state() != State::Open {
            return Err(Error::Invalid(format!(
                "{id} is {}: CI tests open merge requests only",
                mr.state()
            )));
        }
        let revision = mr
            .latest_revision()
            .map(|r| r.number)
            .ok_or_else(|| Error::Invalid(format!("{id} has no revision to test")))?;
        let mine = read(forge.repo(), snapshot.tree, id)?
            .into_iter()
            .filter(|r| r.who == me)
            .map(|r| r.index + 1)
            .max()
            .unwrap_or(0);
        let date = clock::now()?;
        tx.message = format!("git mr ci-retry {id} v{revision}\n");
        tx.file(path(id, &me, mine), Request::render(&date, revision));
        Ok(Request {
            who: me.clone(),
            index: mine,
            revision: Some(revision),
            date: Some(date),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers() {
        let who = Fingerprint::parse(&"C".repeat(40)).unwrap();
        let date = clock::parse("2026-11-26T11:00:00Z").unwrap();
        let text = Request::render(&date, 3);
        assert_eq!(text, "Date: 2026-11-26T11:00:00Z\nRevision: 3\n");
        let r = Request::parse(who.clone(), 2, text.as_bytes());
        assert_eq!(r.revision, Some(3));
        assert_eq!(r.date, Some(date));
        assert_eq!(r.reference(), format!("{who}/2"));
        let answered = parse_answered(&format!("{who}/2 junk {}/x", "D".repeat(40)));
        assert_eq!(answered, vec![(who, 2)]);
    }
}

//! The merge-request operations. Each change is one signed push made by
//! [`Forge::transact`], so it is re-applied on the new tip when it loses a race.

use gix::ObjectId;

use crate::error::GitResultExt;
use crate::forge::{Committed, Forge};
use crate::layout::{self, STANDARD_LABELS};
use crate::model::{header, Comment, Fingerprint, Item, MergeRequest, MrId, State};
use crate::people::{People, Roles};
use crate::store::{Depth, Names, Snapshot};
use crate::thread::{self, Anchor};
use crate::tx::{self, Tx};
use crate::{diff, policy, review, Error, Result};
use gitapps_core::id::Lookup;

/// Find the merge request `spec` names: `<who>/<n>` or `<n>` when unique.
pub fn resolve_mr(
    names: &Names<'_>,
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
) -> Result<MrId> {
    match names.resolve(people, me, spec)? {
        Lookup::Found(id) => Ok(id),
        Lookup::BadName => Err(Error::BadMrName(spec.to_owned())),
        Lookup::NotFound => Err(Error::NoSuchMr(spec.to_owned())),
    }
}

/// What `git mr init` did.
pub use gitapps_core::setup::Initialised;

/// `git mr init`: add the merge-requests policies and groups to `apps/access-control`
/// and create the data branch with the standard labels, in one signed atomic push;
/// run again, repair (the core's [`gitapps_core::setup::init`]).
pub fn init(forge: &Forge, maintainers: &[Fingerprint], ci: &[Fingerprint]) -> Result<Initialised> {
    let me = forge.me()?;
    Ok(gitapps_core::setup::init(
        forge.core(),
        |repair| {
            policy::files(
                &gitapps_core::setup::maintainers(&me, repair, maintainers),
                ci,
            )
        },
        STANDARD_LABELS,
        &policy::retired_lines(),
    )?)
}

/// Add a comment file for `me` on `mr` to `tx`; returns its index.
pub fn add_comment(
    tx: &mut Tx,
    snapshot: &Snapshot,
    mr: &MrId,
    me: &Fingerprint,
    headers: &[(String, String)],
    body: &str,
) -> Result<u32> {
    let index = snapshot.next_comment_index(mr, me);
    thread::write::add_comment(tx, &layout::mr_dir(mr), me, index, headers, body)?;
    Ok(index)
}

fn revision_header(mr: Option<&MergeRequest>) -> Vec<(String, String)> {
    mr.and_then(|m| m.latest_revision())
        .map(|r| vec![(header::REVISION.to_owned(), r.number.to_string())])
        .unwrap_or_default()
}

/// Check that `label` exists. New label names are made on purpose
/// ([`create_label`]), never by a typo on the way.
fn ensure_label(snapshot: &Snapshot, label: &str) -> Result<()> {
    if !layout::valid_label(label) {
        return Err(Error::BadLabel(label.to_owned()));
    }
    if snapshot.label_exists(label) {
        Ok(())
    } else {
        Err(Error::UnknownLabel(label.to_owned()))
    }
}

/// `git mr labels --create`: a new label name with its description (maintainers).
pub fn create_label(forge: &Forge, label: &str, description: &str) -> Result<Committed<()>> {
    if !layout::valid_label(label) {
        return Err(Error::BadLabel(label.to_owned()));
    }
    let me = forge.me()?;
    let people = forge.people()?;
    if !people.is_maintainer(&me) {
        return Err(Error::NotMaintainer(
            "only maintainers create label names".to_owned(),
        ));
    }
    forge.transact(|_, snapshot, tx| {
        if snapshot.label_exists(label) {
            return Err(Error::Invalid(format!("label `{label}` exists already")));
        }
        tx.message = format!("git mr labels --create {label}\n");
        gitapps_core::label::create(tx, label, description);
        Ok(())
    })
}

/// Put `label` on the merge request (both links).
pub fn link_label(tx: &mut Tx, id: &MrId, label: &str) {
    gitapps_core::label::link(tx, layout::MERGE_REQS_DIR, id, label);
}

/// Take `label` off the merge request (both links).
pub fn unlink_label(tx: &mut Tx, id: &MrId, label: &str) {
    gitapps_core::label::unlink(tx, layout::MERGE_REQS_DIR, id, label);
}

/// What to create.
#[derive(Clone, Debug)]
pub struct NewMergeRequest {
    pub title: String,
    pub description: String,
    pub target: String,
    pub labels: Vec<String>,
    pub revision: ObjectId,
    /// Issues it fixes (resolved by the caller): its merge closes them.
    pub fixes: Vec<MrId>,
}

/// `git mr create`: title, target, description (comment 0), `open` plus the labels,
/// and the `v1` tag, in one signed atomic push.
pub fn create(forge: &Forge, new: &NewMergeRequest) -> Result<Committed<MrId>> {
    let me = forge.me()?;
    let title = new.title.lines().next().unwrap_or("").trim().to_owned();
    if title.is_empty() {
        return Err(Error::Invalid("a merge request needs a title".to_owned()));
    }
    if new.target.trim().is_empty() || new.target.contains(char::is_whitespace) {
        return Err(Error::Invalid(format!(
            "invalid target branch `{}`",
            new.target
        )));
    }
    forge.transact_new(&me, |_, snapshot, tx| {
        let id = MrId {
            author: me.clone(),
            number: snapshot.next_number(&me),
        };
        tx.message = format!("git mr create {id}\n");
        tx.file(layout::title_path(&id), format!("{title}\n"));
        tx.file(layout::target_path(&id), format!("{}\n", new.target.trim()));
        add_comment(
            tx,
            snapshot,
            &id,
            &me,
            &[(header::REVISION.to_owned(), "1".to_owned())],
            &new.description,
        )?;
        let mut labels = vec!["open".to_owned()];
        for l in &new.labels {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        for l in &labels {
            ensure_label(snapshot, l)?;
            link_label(tx, &id, l);
        }
        for issue in &new.fixes {
            tx.file(
                gitapps_core::link::fixes_path(layout::MERGE_REQS_DIR, &id, issue),
                Vec::new(),
            );
        }
        tx.update_ref(layout::revision_tag(&id, 1), new.revision);
        Ok(id)
    })
}

fn get<'s>(snapshot: &'s Snapshot, id: &MrId) -> Result<&'s MergeRequest> {
    snapshot
        .get(id)
        .ok_or_else(|| Error::NoSuchMr(id.to_string()))
}

/// Where a line comment goes: a line of a file, on a revision (the newest
/// when `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTarget {
    pub anchor: Anchor,
    pub revision: Option<u32>,
}

/// `git mr comment`: returns the new comment's index. `reply_to` is `<who>/<k>`,
/// `<who>` naming one key as for merge requests (a fingerprint prefix of 8 hex
/// digits or more, a name, an e-mail, `me`). An empty comment is refused.
/// With `line`, a line comment: bound to that revision, on a line its diff
/// shows a file of (see [`diff::check_anchor`]).
pub fn comment(
    forge: &Forge,
    id: &MrId,
    body: &str,
    reply_to: Option<&str>,
    line: Option<&LineTarget>,
) -> Result<Committed<u32>> {
    let me = forge.me()?;
    let depth = if reply_to.is_some() {
        Depth::Full
    } else {
        Depth::Summary
    };
    if body.trim().is_empty() {
        return Err(Error::Invalid("a comment needs some text".to_owned()));
    }
    forge.transact_on(id, depth, &[], |forge, snapshot, tx| {
        let mr = get(snapshot, id)?;
        let mut headers = revision_header(Some(mr));
        if let Some(line) = line {
            let k = match line.revision {
                Some(k) => k,
                None => newest_revision(mr)?,
            };
            let head = diff::revision_commit(forge, mr, k)?;
            let base = diff::revision_base(forge, mr, &forge.people()?, head)?;
            diff::check_anchor(forge, base, head, &line.anchor)?;
            headers = vec![(header::REVISION.to_owned(), k.to_string())];
            headers.extend(line.anchor.headers());
        }
        if let Some(r) = reply_to {
            let people = forge.people()?;
            let target = find_comment(mr, &people, Some(&me), r)?;
            headers.push((header::IN_REPLY_TO.to_owned(), target.reference()));
        }
        tx.message = format!("git mr comment {id}\n");
        add_comment(tx, snapshot, id, &me, &headers, body)
    })
}

fn newest_revision(mr: &MergeRequest) -> Result<u32> {
    mr.latest_revision()
        .map(|r| r.number)
        .ok_or_else(|| Error::Invalid(format!("{} has no revision", mr.id)))
}

/// The comment `<who>/<k>` of `mr`: `<who>` one key (see [`People::find`]; the
/// commenters count as keys even when their key is gone).
pub fn find_comment<'m>(
    mr: &'m MergeRequest,
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
) -> Result<&'m Comment> {
    let (who, k) = spec
        .rsplit_once('/')
        .ok_or_else(|| Error::Invalid(format!("`{spec}` is not <who>/<k>")))?;
    let k = layout::parse_number(k)
        .ok_or_else(|| Error::Invalid(format!("`{spec}` is not <who>/<k>")))?;
    let author = people.find(who, me, mr.comments.iter().map(|c| &c.author))?;
    mr.comments
        .iter()
        .find(|c| c.author == author && c.index == k)
        .ok_or_else(|| Error::Invalid(format!("{} has no comment {author}/{k}", mr.id)))
}

/// Labels added and removed by a change.
pub use gitapps_core::label::Change as LabelChange;

fn plan_labels(
    tx: &mut Tx,
    snapshot: &Snapshot,
    mr: &MergeRequest,
    add: &[String],
    remove: &[String],
) -> Result<LabelChange> {
    for l in add {
        ensure_label(snapshot, l)?;
    }
    gitapps_core::label::plan(tx, layout::MERGE_REQS_DIR, &mr.id, &mr.labels, add, remove)
        .map_err(|l| Error::Invalid(format!("label `{l}` is both added and removed")))
}

/// `git mr label`.
pub fn label(
    forge: &Forge,
    id: &MrId,
    add: &[String],
    remove: &[String],
) -> Result<Committed<LabelChange>> {
    forge.transact_on(id, Depth::Summary, &[], |_, snapshot, tx| {
        let mr = get(snapshot, id)?;
        tx.message = format!("git mr label {id}\n");
        plan_labels(tx, snapshot, mr, add, remove)
    })
}

/// `git mr close`: `closed` on, `open` and `needs-review` off.
pub fn close(forge: &Forge, id: &MrId) -> Result<Committed<LabelChange>> {
    forge.transact_on(id, Depth::Summary, &[], |_, snapshot, tx| {
        let mr = get(snapshot, id)?;
        if mr.state() != State::Open {
            return Err(Error::Invalid(format!("{id} is already {}", mr.state())));
        }
        tx.message = format!("git mr close {id}\n");
        plan_labels(
            tx,
            snapshot,
            mr,
            &["closed".to_owned()],
            &["open".to_owned(), "needs-review".to_owned()],
        )
    })
}

/// `git mr reopen`: `open` on, `closed` off (a merged merge request stays merged).
pub fn reopen(forge: &Forge, id: &MrId) -> Result<Committed<LabelChange>> {
    forge.transact_on(id, Depth::Summary, &[], |_, snapshot, tx| {
        let mr = get(snapshot, id)?;
        match mr.state() {
            State::Merged => {
                return Err(Error::Invalid(format!(
                    "{id} is merged: it cannot be reopened"
                )))
            }
            State::Open if mr.has_label("open") => {
                return Err(Error::Invalid(format!("{id} is already open")))
            }
            _ => {}
        }
        tx.message = format!("git mr reopen {id}\n");
        plan_labels(
            tx,
            snapshot,
            mr,
            &["open".to_owned()],
            &["closed".to_owned()],
        )
    })
}

/// A new revision.
#[derive(Clone, Debug)]
pub struct Revised {
    pub revision: u32,
    pub comment: u32,
}

/// The first line of a commit's message.
pub fn commit_subject(repo: &gix::Repository, id: ObjectId) -> Result<String> {
    let commit = repo.find_commit(id).git()?;
    let message = commit.message_raw_sloppy().to_string();
    Ok(message.lines().next().unwrap_or("").trim().to_owned())
}

/// `git mr revise`: tag `v<k+1>` on `commit`, with a comment saying what changed.
pub fn revise(
    forge: &Forge,
    id: &MrId,
    commit: ObjectId,
    message: Option<&str>,
) -> Result<Committed<Revised>> {
    let me = forge.me()?;
    if id.author != me {
        return Err(Error::Invalid(format!(
            "only the author of {id} may revise it"
        )));
    }
    forge.transact_on(id, Depth::Summary, &[], |forge, snapshot, tx| {
        let mr = get(snapshot, id)?;
        if mr.state() != State::Open {
            return Err(Error::Invalid(format!("{id} is {}", mr.state())));
        }
        let previous = mr.latest_revision();
        if previous.is_some_and(|p| commit == p.commit) {
            return Err(Error::Invalid(format!(
                "revision {} of {id} is already {}",
                previous.map(|p| p.number).unwrap_or(0),
                commit
            )));
        }
        let k = previous.map(|p| p.number).unwrap_or(0) + 1;
        let short = &commit.to_string()[..12];
        let body = match message {
            Some(m) if !m.trim().is_empty() => m.to_owned(),
            _ => format!(
                "Revision {k}: {short} {}\n",
                commit_subject(forge.repo(), commit).unwrap_or_default()
            ),
        };
        tx.message = format!("git mr revise {id} v{k}\n");
        tx.update_ref(layout::revision_tag(id, k), commit);
        let comment = add_comment(
            tx,
            snapshot,
            id,
            &me,
            &[(header::REVISION.to_owned(), k.to_string())],
            &body,
        )?;
        Ok(Revised {
            revision: k,
            comment,
        })
    })
}

/// What a merge did.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The author of what was merged (named in full by the caller).
    pub author: Fingerprint,
    pub revision: u32,
    /// The newest revision on the remote (greater than `revision` only when
    /// an older one was asked for).
    pub newest: u32,
    pub target: String,
    pub commit: ObjectId,
    pub fast_forward: bool,
    /// What the merge requirements lacked, when forced past them.
    pub forced: Vec<review::Missing>,
    /// The issues it fixes that the same push closed.
    pub closed_issues: Vec<MrId>,
    /// The issues it fixes that stayed open, each with why.
    pub open_issues: Vec<(MrId, String)>,
}

/// `git mr merge`: merge a revision into the target branch `target` (fast-forward
/// when possible, else a merge commit), label `merged`+`closed`, drop `open` and
/// `needs-review`, comment with the merge commit: one atomic signed push.
///
/// Without `revision`, the newest revision on the remote (its tags are fetched with
/// the data branch, in one fetch); should the author push a newer one while the
/// merge is retried, the merge stops rather than merge what nobody looked at.
///
/// The project's merge settings ([`review::Settings`]) must be met by the merged
/// revision, else [`Error::NotMergeable`] names what is missing; `force` merges
/// all the same, and the merge comment says what was missing (`Merge-Forced:`).
pub fn merge(
    forge: &Forge,
    id: &MrId,
    target: &str,
    revision: Option<u32>,
    force: bool,
) -> Result<Committed<Merged>> {
    let me = forge.me()?;
    let people = forge.people()?;
    let mut seen_newest: Option<u32> = None;
    // The issues' branch comes in the same fetch: a merge closes what it fixes.
    let branches = [target.to_owned(), git_issue::APP.data_branch()];
    forge.transact_on(id, Depth::Summary, &branches, |forge, snapshot, tx| {
        let mr = get(snapshot, id)?;
        if mr.state() != State::Open {
            return Err(Error::Invalid(format!("{id} is {}", mr.state())));
        }
        if mr.target != target {
            return Err(Error::Invalid(format!(
                "{id} targets {}, not {target}",
                mr.target
            )));
        }
        let newest =
            mr.latest_revision()
                .map(|r| r.number)
                .ok_or_else(|| Error::NoSuchRevision {
                    mr: id.to_string(),
                    revision: revision.unwrap_or(1),
                })?;
        match seen_newest.replace(newest) {
            Some(before) if before != newest && revision.is_none() => {
                return Err(Error::Invalid(format!(
                    "{id} got revision {newest} while merging revision {before}: nothing was \
                     merged; look at it (git mr diff {id} --since {before}) and merge again"
                )))
            }
            _ => {}
        }
        let k = revision.unwrap_or(newest);
        let rev = mr.revision(k).ok_or_else(|| Error::NoSuchRevision {
            mr: id.to_string(),
            revision: k,
        })?;
        let missing = review::missing(snapshot.settings.as_ref(), mr, &people, rev.number);
        if !missing.is_empty() && !force {
            return Err(Error::NotMergeable {
                mr: id.to_string(),
                revision: rev.number,
                missing: missing.iter().map(|m| m.to_string()).collect(),
            });
        }
        let head = peel_commit(forge, &rev.commit.to_string())?;
        let target_ref = format!("refs/heads/{}", mr.target);
        let target_tip = forge.branch_tip(&mr.target)?;
        let mut merge_base = None;
        let (new, fast_forward) = match target_tip {
            None => (head, true),
            Some(tip) => {
                let base = forge
                    .repo()
                    .merge_base(tip, head)
                    .ok()
                    .flatten()
                    .map(|b| b.detach());
                merge_base = base;
                if base == Some(tip) {
                    (head, true)
                } else if base == Some(head) {
                    return Err(Error::Invalid(format!(
                        "revision {} of {id} is already in {}",
                        rev.number, mr.target
                    )));
                } else {
                    let tree = merge_tree(forge, id, &mr.target, tip, head)?;
                    let message = format!(
                        "Merge merge request {id} (v{}) into {}\n\n{}\n",
                        rev.number, mr.target, mr.title
                    );
                    let commit = tx::write_commit(
                        forge.repo(),
                        tree,
                        &[tip, head],
                        &message,
                        forge.signature()?,
                    )?;
                    (commit, false)
                }
            }
        };
        tx.message = format!("git mr merge {id}\n");
        tx.update_ref(target_ref, new);
        plan_labels(
            tx,
            snapshot,
            mr,
            &["merged".to_owned(), "closed".to_owned()],
            &["open".to_owned(), "needs-review".to_owned()],
        )?;
        let how = if fast_forward {
            "fast-forward"
        } else {
            "merge commit"
        };
        let mut headers = vec![
            (header::REVISION.to_owned(), rev.number.to_string()),
            (header::MERGE_COMMIT.to_owned(), new.to_string()),
        ];
        // What the revision was reviewed against: `git mr diff` of a merged
        // merge request diffs against it (see diff::revision_base).
        if let Some(base) = merge_base {
            headers.push((header::BASE.to_owned(), base.to_string()));
        }
        if !missing.is_empty() {
            let what: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
            headers.push((header::MERGE_FORCED.to_owned(), what.join("; ")));
        }
        add_comment(
            tx,
            snapshot,
            id,
            &me,
            &headers,
            &format!(
                "Merged revision {} into {} as {} ({how}).\n",
                rev.number, mr.target, new
            ),
        )?;
        let (closed_issues, open_issues) = close_fixed(forge, tx, mr, &me, &people, new)?;
        Ok(Merged {
            author: id.author.clone(),
            revision: rev.number,
            newest,
            target: mr.target.clone(),
            commit: new,
            fast_forward,
            forced: missing,
            closed_issues,
            open_issues,
        })
    })
}

/// The issues a merge closed, and those that stayed open with why.
type FixedIssues = (Vec<MrId>, Vec<(MrId, String)>);

/// Close the issues `mr` fixes in the same push (the merge's Tx moves the
/// issues' branch too) where `me` may close them: the issue's author and the
/// maintainers, as the issue tracker's policy says. The others stay open,
/// each with why; an issue closed already is neither.
fn close_fixed(
    forge: &Forge,
    tx: &mut Tx,
    mr: &MergeRequest,
    me: &Fingerprint,
    people: &People,
    merge_commit: ObjectId,
) -> Result<FixedIssues> {
    let (mut closed, mut open) = (Vec::new(), Vec::new());
    if mr.fixes.is_empty() {
        return Ok((closed, open));
    }
    let issue_error = |e: git_issue::Error| match e {
        git_issue::Error::Core(e) => Error::Core(e),
        other => Error::Invalid(other.to_string()),
    };
    let Some(tip) = forge.branch_tip(&git_issue::APP.data_branch())? else {
        for fixed in &mr.fixes {
            open.push((fixed.clone(), "the remote has no issues".to_owned()));
        }
        return Ok((closed, open));
    };
    // The issues it fixes alone, not every issue.
    let fixed: std::collections::BTreeSet<MrId> = mr.fixes.iter().cloned().collect();
    let summary = git_issue::store::Depth::Summary;
    let issues = git_issue::store::read_only(forge.repo(), Some(tip), summary, &fixed)
        .map_err(issue_error)?;
    let mut changes = Tx::default();
    for fixed in &mr.fixes {
        let Some(issue) = issues.get(fixed) else {
            open.push((fixed.clone(), "no such issue".to_owned()));
            continue;
        };
        if issue.state() == git_issue::State::Closed {
            continue;
        }
        if *me != issue.id.author && !people.is_member(git_issue::policy::MAINTAINERS_GROUP, me) {
            open.push((
                fixed.clone(),
                "only its author and maintainers close it".to_owned(),
            ));
            continue;
        }
        let headers = [
            (
                git_issue::model::header::FIXED_BY.to_owned(),
                mr.id.to_string(),
            ),
            (
                git_issue::model::header::MERGE_COMMIT.to_owned(),
                merge_commit.to_string(),
            ),
        ];
        let reason = format!(
            "Fixed by merge request {} (merged into {} as {merge_commit}).\n",
            mr.id, mr.target
        );
        git_issue::ops::state_edits(
            &mut changes,
            &issues,
            issue,
            me,
            git_issue::State::Closed,
            Some(&reason),
            &headers,
        )
        .map_err(issue_error)?;
        closed.push(fixed.clone());
    }
    if !changes.edits.is_empty() {
        let tree = tx::write_tree(forge.repo(), issues.tree, &changes.edits)?;
        let message = format!("git mr merge {}: close the issues it fixes\n", mr.id);
        let commit = tx::write_commit(forge.repo(), tree, &[tip], &message, forge.signature()?)?;
        tx.update_ref(git_issue::APP.data_ref(), commit);
    }
    Ok((closed, open))
}

/// The commit a revision names (peeling annotated tags).
pub fn peel_commit(forge: &Forge, rev: &str) -> Result<ObjectId> {
    let spec = format!("{rev}^{{commit}}");
    let id = forge
        .repo()
        .rev_parse_single(spec.as_str())
        .map_err(|_| Error::BadRevision(rev.to_owned()))?;
    Ok(id.detach())
}

fn merge_tree(
    forge: &Forge,
    id: &MrId,
    target: &str,
    ours: ObjectId,
    theirs: ObjectId,
) -> Result<ObjectId> {
    let out = forge.git().output([
        "merge-tree".to_owned(),
        "--write-tree".to_owned(),
        "--messages".to_owned(),
        ours.to_string(),
        theirs.to_string(),
    ])?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(Error::MergeConflict {
            mr: id.to_string(),
            target: target.to_owned(),
            detail: stdout.lines().skip(1).collect::<Vec<_>>().join("\n"),
        });
    }
    let first = stdout.lines().next().unwrap_or("").trim();
    ObjectId::from_hex(first.as_bytes()).map_err(|_| {
        gitapps_core::Error::Command {
            command: "git merge-tree --write-tree".to_owned(),
            detail: stdout.clone(),
        }
        .into()
    })
}

//! Every change `git issue` makes: one signed push each, re-applied on the
//! newest data commit when somebody else pushed first (the core's transaction).

use std::path::Path;

use gitapps_core::forge::Committed;
use std::collections::BTreeSet;

use gitapps_core::id::Lookup;
use gitapps_core::items::names;
use gitapps_core::thread::edit::Target;
use gitapps_core::thread::{write as thread_write, Comment};
use gitapps_core::{label, Fingerprint, Forge, ItemId, People, Tx};
use gix::ObjectId;

use crate::layout::{self, ISSUES_DIR};
use crate::model::{header, Issue, State};
use crate::policy::MAINTAINERS_GROUP;
use crate::store::{self, Depth, Snapshot};
use crate::{Error, Result, APP};

/// The repository containing `dir`, with the issues of `remote`.
pub fn open(dir: &Path, remote: &str) -> Result<Forge> {
    Ok(Forge::discover(dir, remote, APP)?)
}

/// The issues on the data branch as last fetched: from the cache when it
/// holds that commit (summaries), else read (and cached).
pub fn snapshot(forge: &Forge, depth: Depth) -> Result<Snapshot> {
    let Some(tip) = forge.data_tip()? else {
        return Ok(Snapshot::default());
    };
    snapshot_at(forge, tip, depth)
}

/// [`snapshot`] of the data commit `tip`.
pub fn snapshot_at(forge: &Forge, tip: ObjectId, depth: Depth) -> Result<Snapshot> {
    if depth == Depth::Summary {
        if let Some(mut cached) =
            forge.cache_load::<Snapshot>("summary", store::READER_VERSION, tip)
        {
            // The tree is never taken from a file: a bad id would be a wrong base.
            cached.tree = Some(store::tree_of(forge.repo(), tip)?);
            return Ok(cached);
        }
    }
    let snapshot = store::read(forge.repo(), Some(tip), depth)?;
    if depth == Depth::Summary {
        forge.cache_snapshot("summary", store::READER_VERSION, tip, &snapshot);
    }
    Ok(snapshot)
}

/// The issue `spec` names (`<who>/<n>` or `<n>` when unique) on the data
/// commit `tip`, resolved through the authors' directories: no issue is
/// read. A directory named like an issue is a name taken even when the issue
/// in it cannot be read ([`one`] then says it is not there).
pub fn resolve(
    repo: &gix::Repository,
    tip: Option<ObjectId>,
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
) -> Result<ItemId> {
    match names::resolve(repo, tip, ISSUES_DIR, people, me, spec)? {
        Lookup::Found(id) => Ok(id),
        Lookup::BadName => Err(Error::Invalid(format!(
            "`{spec}` is not an issue's name: <who>/<n> (a fingerprint prefix, a name or `me`), or <n>"
        ))),
        Lookup::NotFound => Err(Error::NotFound(spec.to_owned())),
    }
}

/// The issue `id` on the data commit `tip`, read alone to `depth` (with the
/// label names): what a verb on one issue reads, never cached. Its warnings
/// are about that issue (and the labels) only.
pub fn one(
    repo: &gix::Repository,
    tip: Option<ObjectId>,
    id: &ItemId,
    depth: Depth,
) -> Result<Snapshot> {
    store::read_only(repo, tip, depth, &BTreeSet::from([id.clone()]))
}

/// The comment `spec` (`<who>/<k>`) of `issue`.
pub fn find_comment<'i>(
    issue: &'i Issue,
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
) -> Result<&'i Comment> {
    let bad = || Error::Invalid(format!("`{spec}` is not <who>/<k>"));
    let (who, k) = spec.rsplit_once('/').ok_or_else(bad)?;
    let k = gitapps_core::refs::parse_number(k).ok_or_else(bad)?;
    let author = people.find(who, me, issue.comments.iter().map(|c| &c.author))?;
    issue
        .comments
        .iter()
        .find(|c| c.author == author && c.index == k)
        .ok_or_else(|| Error::Invalid(format!("{} has no comment {author}/{k}", issue.id)))
}

/// Run `change` on the issue `id` alone, read in full on the newest data
/// commit (each attempt reads it again), and push it.
fn transact_on<T>(
    forge: &Forge,
    id: &ItemId,
    change: impl FnMut(&Snapshot, &mut Tx) -> Result<T>,
) -> Result<Committed<T>> {
    forge.transact(
        &[],
        |tip| one(forge.repo(), Some(tip), id, Depth::Full),
        change,
    )
}

fn get<'s>(snapshot: &'s Snapshot, id: &ItemId) -> Result<&'s Issue> {
    snapshot
        .get(id)
        .ok_or_else(|| Error::NotFound(id.to_string()))
}

fn check_labels(snapshot: &Snapshot, labels: &[String]) -> Result<()> {
    for l in labels {
        if !label::valid(l) {
            return Err(Error::Invalid(format!("`{l}` is not a label name")));
        }
        if !snapshot.label_exists(l) {
            let known: Vec<&str> = snapshot.labels.keys().map(String::as_str).collect();
            return Err(Error::UnknownLabel {
                label: l.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok(())
}

fn one_line(what: &str, text: &str) -> Result<String> {
    let line = text.trim();
    if line.is_empty() {
        return Err(Error::Invalid(format!("{what} is empty")));
    }
    if line.contains('\n') {
        return Err(Error::Invalid(format!("{what} must be one line")));
    }
    Ok(line.to_owned())
}

/// Open an issue: its title, its description (comment 0) and labels (`open`
/// plus `labels`). Returns its name.
pub fn create(
    forge: &Forge,
    title: &str,
    body: &str,
    labels: &[String],
) -> Result<Committed<ItemId>> {
    let me = forge.me()?;
    let title = one_line("the title", title)?;
    // No issue is read: the label names and the numbers its author used.
    let read = |tip| store::read_for_new(forge.repo(), Some(tip), &me);
    forge.transact(&[], read, |snapshot, tx| {
        let mut all = vec!["open".to_owned()];
        all.extend(labels.iter().filter(|l| *l != "open").cloned());
        check_labels(snapshot, &all)?;
        if all.iter().any(|l| l == "closed") {
            return Err(Error::Invalid(
                "a new issue is open: no `closed` label".to_owned(),
            ));
        }
        let id = ItemId {
            author: me.clone(),
            number: snapshot.next_number(&me),
        };
        tx.message = format!("git issue create {id}\n");
        tx.file(layout::title_path(&id), format!("{title}\n"));
        thread_write::add_comment(tx, &layout::issue_dir(&id), &me, 0, &[], body)?;
        for l in &all {
            label::link(tx, ISSUES_DIR, &id, l);
        }
        Ok(id)
    })
}

/// Comment on an issue (a reply when `reply_to` names a comment). Returns the
/// comment's index.
pub fn comment(
    forge: &Forge,
    spec_id: &ItemId,
    body: &str,
    reply_to: Option<&str>,
) -> Result<Committed<u32>> {
    let me = forge.me()?;
    if body.trim().is_empty() {
        return Err(Error::Invalid("a comment needs some text".to_owned()));
    }
    transact_on(forge, spec_id, |snapshot, tx| {
        let issue = get(snapshot, spec_id)?;
        let mut headers = Vec::new();
        if let Some(r) = reply_to {
            let people = forge.people()?;
            let target = find_comment(issue, &people, Some(&me), r)?;
            headers.push((header::IN_REPLY_TO.to_owned(), target.reference()));
        }
        let k = snapshot.next_comment_index(&issue.id, &me);
        tx.message = format!("git issue comment {}\n", issue.id);
        thread_write::add_comment(tx, &layout::issue_dir(&issue.id), &me, k, &headers, body)?;
        Ok(k)
    })
}

/// New versions of the title and description (the author's only).
pub fn edit(
    forge: &Forge,
    id: &ItemId,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<Committed<()>> {
    let me = forge.me()?;
    if me != id.author {
        return Err(Error::NotAllowed(format!(
            "only the author of {id} edits its title and description; comment instead"
        )));
    }
    let title = title.map(|t| one_line("the title", t)).transpose()?;
    if title.is_none() && body.is_none() {
        return Err(Error::Invalid(
            "nothing to edit: give -t, -m or -F".to_owned(),
        ));
    }
    transact_on(forge, id, |snapshot, tx| {
        let issue = get(snapshot, id)?;
        let dir = layout::issue_dir(id);
        tx.message = format!("git issue edit {id}\n");
        if let Some(t) = &title {
            if *t != issue.title {
                thread_write::add_edit(
                    tx,
                    forge.repo(),
                    snapshot.tree,
                    &dir,
                    &me,
                    Target::Title,
                    Some(t),
                )?;
            }
        }
        if let Some(b) = body {
            thread_write::add_edit(
                tx,
                forge.repo(),
                snapshot.tree,
                &dir,
                &me,
                Target::Comment(0),
                Some(b),
            )?;
        }
        Ok(())
    })
}

/// A new version of one's own comment `k` (`None`: retract it).
pub fn edit_comment(
    forge: &Forge,
    id: &ItemId,
    spec: &str,
    text: Option<&str>,
) -> Result<Committed<Fingerprint>> {
    let me = forge.me()?;
    transact_on(forge, id, |snapshot, tx| {
        let issue = get(snapshot, id)?;
        let people = forge.people()?;
        let c = find_comment(issue, &people, Some(&me), spec)?;
        if c.author != me {
            return Err(Error::NotAllowed(format!(
                "{} is {}'s comment: only its author edits or retracts it",
                c.reference(),
                people.display(&c.author)
            )));
        }
        tx.message = format!("git issue comment {id} (edit)\n");
        thread_write::add_edit(
            tx,
            forge.repo(),
            snapshot.tree,
            &layout::issue_dir(id),
            &me,
            Target::Comment(c.index),
            text,
        )?;
        Ok(me.clone())
    })
}

/// Labels added and removed by a change.
pub use gitapps_core::label::Change as LabelChange;

fn may_triage(people: &People, me: &Fingerprint, issue: &Issue) -> bool {
    *me == issue.id.author || people.is_member(MAINTAINERS_GROUP, me)
}

fn plan_labels(
    tx: &mut Tx,
    issue: &Issue,
    add: &[String],
    remove: &[String],
) -> Result<LabelChange> {
    label::plan(tx, ISSUES_DIR, &issue.id, &issue.labels, add, remove)
        .map_err(|l| Error::Invalid(format!("label `{l}` is both added and removed")))
}

/// Add and remove labels (the author and maintainers).
pub fn label(
    forge: &Forge,
    id: &ItemId,
    add: &[String],
    remove: &[String],
) -> Result<Committed<LabelChange>> {
    let me = forge.me()?;
    transact_on(forge, id, |snapshot, tx| {
        let issue = get(snapshot, id)?;
        check_labels(snapshot, add)?;
        let people = forge.people()?;
        if !may_triage(&people, &me, issue) {
            return Err(Error::NotAllowed(format!(
                "only the author of {id} and maintainers label it"
            )));
        }
        let open_closed = |l: &String| l == "open" || l == "closed";
        if add.iter().any(open_closed) || remove.iter().any(open_closed) {
            return Err(Error::Invalid(
                "open and closed say the state: use `git issue close` or `git issue reopen`"
                    .to_owned(),
            ));
        }
        tx.message = format!("git issue label {id}\n");
        plan_labels(tx, issue, add, remove)
    })
}

/// The edits that set `issue`'s state, with a comment of `me` saying so
/// (`reason`, and `headers`) when there is a reason: none when it is in that
/// state already. For [`set_state`] and a merge that closes the issue.
pub fn state_edits(
    tx: &mut Tx,
    snapshot: &Snapshot,
    issue: &Issue,
    me: &Fingerprint,
    state: State,
    reason: Option<&str>,
    extra_headers: &[(String, String)],
) -> Result<bool> {
    if issue.state() == state {
        return Ok(false);
    }
    let (add, remove) = match state {
        State::Closed => ("closed", "open"),
        State::Open => ("open", "closed"),
    };
    check_labels(snapshot, &[add.to_owned()])?;
    plan_labels(tx, issue, &[add.to_owned()], &[remove.to_owned()])?;
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        let mut headers = vec![(header::STATE.to_owned(), state.as_str().to_owned())];
        headers.extend_from_slice(extra_headers);
        let k = snapshot.next_comment_index(&issue.id, me);
        thread_write::add_comment(tx, &layout::issue_dir(&issue.id), me, k, &headers, reason)?;
    }
    Ok(true)
}

/// Close or reopen an issue (the author and maintainers), saying why when
/// `reason` is given. `Ok(false)`: it was in that state already.
pub fn set_state(
    forge: &Forge,
    id: &ItemId,
    state: State,
    reason: Option<&str>,
) -> Result<Committed<bool>> {
    let me = forge.me()?;
    transact_on(forge, id, |snapshot, tx| {
        let issue = get(snapshot, id)?;
        let people = forge.people()?;
        if !may_triage(&people, &me, issue) {
            return Err(Error::NotAllowed(format!(
                "only the author of {id} and maintainers close and reopen it"
            )));
        }
        tx.message = match state {
            State::Closed => format!("git issue close {id}\n"),
            State::Open => format!("git issue reopen {id}\n"),
        };
        state_edits(tx, snapshot, issue, &me, state, reason, &[])
    })
}

/// Assign (or, with `assign` false, unassign) `who`: anyone themselves,
/// maintainers anyone. Returns who changed.
pub fn assign(
    forge: &Forge,
    id: &ItemId,
    who: &[Fingerprint],
    assign: bool,
) -> Result<Committed<Vec<Fingerprint>>> {
    let me = forge.me()?;
    transact_on(forge, id, |snapshot, tx| {
        let issue = get(snapshot, id)?;
        let people = forge.people()?;
        let maintainer = people.is_member(MAINTAINERS_GROUP, &me);
        let mut changed = Vec::new();
        for w in who {
            if *w != me && !maintainer {
                return Err(Error::NotAllowed(format!(
                    "only maintainers assign others: you may {} only yourself (`me`)",
                    if assign { "assign" } else { "unassign" }
                )));
            }
            if assign && !people.has_key(w) {
                return Err(Error::Invalid(format!(
                    "{w} has no key on apps/access-control: nobody to assign"
                )));
            }
            if issue.is_assigned(w) != assign && !changed.contains(w) {
                let path = layout::assignee_path(id, w);
                if assign {
                    tx.file(path, Vec::new());
                } else {
                    tx.remove(path);
                }
                changed.push(w.clone());
            }
        }
        tx.message = format!(
            "git issue {} {id}\n",
            if assign { "assign" } else { "unassign" }
        );
        Ok(changed)
    })
}

/// What `git issue init` did.
pub use gitapps_core::setup::Initialised;

/// Write the issue tracker's policies and groups to `apps/access-control`
/// and create its data branch (the owner, once); run again, repair.
pub fn init(forge: &Forge, maintainers: &[Fingerprint]) -> Result<Initialised> {
    let me = forge.me()?;
    Ok(gitapps_core::setup::init(
        forge,
        |repair| crate::policy::files(&gitapps_core::setup::maintainers(&me, repair, maintainers)),
        layout::STANDARD_LABELS,
        &[],
    )?)
}

//! Reading the data branch: one pass over its tree through gix's object database.
//!
//! Malformed data (a comment without `Date:`, a dangling symlink, a non-numeric
//! directory …) becomes a [`Warning`] naming the path and is skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gitapps_core::items::read::{first_line, read_data, read_item, At, Common};
use gitapps_core::items::{self, Counters, Kind, Selection};
use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::error::GitResultExt;
use crate::layout::{self, MERGE_REQS_DIR};
use crate::model::{Fingerprint, MergeRequest, MrId, Revision};
use crate::review::{self, Settings};
use crate::tree_reader::{Entry, TreeReader};
use crate::Result;

pub use crate::tree_reader::Warning;

/// What the reader makes of a data commit. Caches are keyed to the data
/// commit *and* to this (and the package version): bump it whenever the
/// reader reads the same tree differently, or an old cache would be served.
pub const READER_VERSION: u32 = 7;

/// Merge requests, as the core's readers know them.
pub const KIND: Kind = Kind {
    dir: MERGE_REQS_DIR,
    noun: "merge request",
};

/// How much to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Titles, targets, labels, votes, and of the comments only each description
    /// (comment 0 of the author) and those of the commenters asked for (the `ci`
    /// group's, for CI results).
    Summary,
    /// Everything, every comment included.
    Full,
}

/// The merge requests on one commit of the data branch.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The data branch's commit, `None` when there is no data branch.
    #[serde(with = "gitapps_core::forge::oid_serde")]
    pub commit: Option<ObjectId>,
    /// Its tree.
    #[serde(with = "gitapps_core::forge::oid_serde")]
    pub tree: Option<ObjectId>,
    /// Sorted by id.
    pub mrs: Vec<MergeRequest>,
    /// Label names and their descriptions.
    pub labels: BTreeMap<String, String>,
    pub warnings: Vec<Warning>,
    /// The numbers and comment indexes in use (malformed ones included).
    pub counters: Counters,
    /// What `git mr merge` requires (`settings/merge`), when there is such a file.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// The commenters whose every comment a [`Depth::Summary`] read holds.
    #[serde(default)]
    pub comments_of: BTreeSet<Fingerprint>,
    /// `Some`: a read of these merge requests alone ([`read_only`]), for a
    /// command on one of them: `mrs` holds no others, and the numbers only
    /// their authors'. Never cached, never listed.
    #[serde(default)]
    pub only: Option<BTreeSet<MrId>>,
}

impl gitapps_core::DataSnapshot for Snapshot {
    fn tree(&self) -> Option<ObjectId> {
        self.tree
    }

    fn is_partial(&self) -> bool {
        self.only.is_some()
    }
}

impl Snapshot {
    pub fn get(&self, id: &MrId) -> Option<&MergeRequest> {
        items::find(&self.mrs, id)
    }

    /// The number a new merge request of `author` gets.
    pub fn next_number(&self, author: &Fingerprint) -> u32 {
        self.counters.next_number(author)
    }

    /// The index `who`'s next comment on `id` gets.
    pub fn next_comment_index(&self, id: &MrId, who: &Fingerprint) -> u32 {
        self.counters.next_comment_index(id, who, self.get(id))
    }

    pub fn label_exists(&self, label: &str) -> bool {
        self.labels.contains_key(label)
    }
}

/// Read the merge requests on the data branch commit `commit` (or nothing when `None`),
/// with revisions from the tags under `refs/tags/apps/merge-reqs/`.
pub fn read(repo: &gix::Repository, commit: Option<ObjectId>, depth: Depth) -> Result<Snapshot> {
    let mut snapshot = read_tree(repo, commit, depth, &BTreeSet::new())?;
    attach_revisions(repo, &mut snapshot)?;
    Ok(snapshot)
}

/// Read the tree part of a snapshot (everything but revisions); a
/// [`Depth::Summary`] also holds every comment of `comments_of`.
pub fn read_tree(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    depth: Depth,
    comments_of: &BTreeSet<Fingerprint>,
) -> Result<Snapshot> {
    read_selected(repo, commit, depth, comments_of, &Selection::all())
}

/// [`read_tree`] of the merge requests `only` alone (with the labels and
/// settings, and their authors' numbers): what a command on one merge request
/// reads, the same in a project of 50 or 50,000 of them. Those that do not
/// exist are not in it.
pub fn read_only(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    depth: Depth,
    comments_of: &BTreeSet<Fingerprint>,
    only: &BTreeSet<MrId>,
) -> Result<Snapshot> {
    let selection = Selection::only(only.clone());
    read_selected(repo, commit, depth, comments_of, &selection)
}

/// A read of no merge request: the label names, the settings, and the
/// numbers `author` has used: what a new merge request of theirs needs, the
/// same among 50 or 50,000.
pub fn read_for_new(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    author: &Fingerprint,
) -> Result<Snapshot> {
    let selection = Selection::for_new(author);
    read_selected(repo, commit, Depth::Summary, &BTreeSet::new(), &selection)
}

/// The snapshot of the merge requests `selection` holds.
fn read_selected(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    depth: Depth,
    comments_of: &BTreeSet<Fingerprint>,
    selection: &Selection,
) -> Result<Snapshot> {
    let full = depth == Depth::Full;
    let mut data = read_data(
        repo,
        commit,
        &KIND,
        selection,
        full,
        |reader, counters, at| read_mr(reader, counters, at, full, comments_of),
    )?;
    let settings = match data.entry(review::SETTINGS_DIR).cloned() {
        Some(dir) => read_settings(&mut data.reader, &dir)?,
        None => None,
    };
    Ok(Snapshot {
        commit: data.commit,
        tree: data.tree,
        warnings: data.warnings(),
        settings,
        comments_of: match depth {
            Depth::Summary if data.commit.is_some() => comments_of.clone(),
            _ => BTreeSet::new(),
        },
        mrs: data.items,
        labels: data.labels,
        counters: data.counters,
        only: data.only,
    })
}

/// `settings/merge`: a malformed file is a warning, and then the strictest
/// reading holds: a requirement nobody can meet, so that no merge goes through
/// on settings nobody can read (unless forced).
fn read_settings(reader: &mut TreeReader<'_>, dir: &Entry) -> Result<Option<Settings>> {
    if !dir.mode.is_tree() {
        reader.warn(review::SETTINGS_DIR, "not a directory");
        return Ok(None);
    }
    let mut settings = None;
    for e in reader.tree(&dir.id)? {
        let path = format!("{}/{}", review::SETTINGS_DIR, e.name);
        if path != review::SETTINGS_PATH || !e.mode.is_blob() {
            reader.warn(path, "unexpected entry");
            continue;
        }
        let data = reader.blob(&e.id)?;
        settings = Some(Settings::parse(&data).unwrap_or_else(|problem| {
            reader.warn(
                path,
                format!("{problem}: merges require what cannot be met"),
            );
            Settings {
                malformed: Some(problem),
                ..Settings::default()
            }
        }));
    }
    Ok(settings)
}

/// One merge request's directory: the core's title, thread and labels, and
/// what is a merge request's own (its target, its links to issues).
fn read_mr(
    reader: &mut TreeReader<'_>,
    counters: &mut Counters,
    at: At<'_>,
    full: bool,
    comments_of: &BTreeSet<Fingerprint>,
) -> Result<Option<MergeRequest>> {
    let mut target = None;
    let mut fixes = Vec::new();
    let common = read_item(reader, counters, &at, full, comments_of, |reader, e| {
        match e.name.as_str() {
            "target" if e.mode.is_blob() => target = Some(first_line(&reader.blob(&e.id)?)),
            // CI bots' claims on revisions (`ci/v<k>/claim-<attempt>`): the
            // bots' business; the results they post are comments.
            "ci" if e.mode.is_tree() => {}
            gitapps_core::link::FIXES_DIR if e.mode.is_tree() => {
                let path = format!("{}/{}", at.path, e.name);
                fixes = gitapps_core::link::read_item(reader, &path, e)?;
            }
            _ => return Ok(false),
        }
        Ok::<_, crate::Error>(true)
    })?;
    let Some(Common { thread, labels }) = common else {
        return Ok(None);
    };
    let target = target.unwrap_or_else(|| {
        reader.warn(format!("{}/target", at.path), "missing");
        String::new()
    });
    Ok(Some(MergeRequest {
        id: at.id,
        title: thread.title,
        target,
        labels,
        comments: thread.comments,
        revisions: Vec::new(),
        title_history: thread.title_history,
        votes: thread.votes,
        fixes,
    }))
}

/// A Full snapshot cut down to what [`Depth::Summary`] reads (descriptions,
/// and the comments of `comments_of`).
pub fn summarize(full: &Snapshot, comments_of: &BTreeSet<Fingerprint>) -> Snapshot {
    let mut s = full.clone();
    s.comments_of = comments_of.clone();
    for mr in &mut s.mrs {
        let author = mr.id.author.clone();
        mr.comments
            .retain(|c| (c.index == 0 && c.author == author) || comments_of.contains(&c.author));
    }
    s
}

/// The names of the merge requests on a data commit, read as a name needs
/// them (the core's, on `merge-reqs/`): see [`Names::read`].
pub use gitapps_core::items::Names;

/// Attach the revisions (from the tags `refs/tags/apps/merge-reqs/<id>/<n>-v<k>`);
/// of a read of some merge requests, only their authors' tags are looked at.
pub fn attach_revisions(repo: &gix::Repository, snapshot: &mut Snapshot) -> Result<()> {
    let mut revisions: HashMap<MrId, Vec<Revision>> = HashMap::new();
    let platform = repo.references().git()?;
    let prefixes: Vec<String> = match &snapshot.only {
        None => vec![layout::REVISION_TAG_PREFIX.to_owned()],
        Some(only) => only
            .iter()
            .map(|id| format!("{}{}/", layout::REVISION_TAG_PREFIX, id.author))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    for prefix in &prefixes {
        for r in platform.prefixed(prefix.as_str()).git()? {
            let r = r.git()?;
            let name = r.name().as_bstr().to_string();
            let Some((id, k)) = layout::parse_revision_tag(&name) else {
                continue;
            };
            let Some(target) = r.target().try_id().map(|id| id.to_owned()) else {
                continue;
            };
            revisions.entry(id).or_default().push(Revision {
                number: k,
                commit: target,
            });
        }
    }
    for mr in &mut snapshot.mrs {
        if let Some(mut revs) = revisions.remove(&mr.id) {
            revs.sort_by_key(|r| r.number);
            mr.revisions = revs;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Item;
    use crate::tx::{write_tree, TreeEdit};
    use gitapps_core::testing::{self, file, fpr, link};

    fn commit(repo: &gix::Repository, edits: &[TreeEdit]) -> ObjectId {
        testing::commit(repo, None, edits).unwrap()
    }

    /// A commit of `parent`'s tree with `edits` (no parent: the reader needs none).
    fn commit_on(repo: &gix::Repository, parent: ObjectId, edits: &[TreeEdit]) -> ObjectId {
        testing::commit(repo, Some(parent), edits).unwrap()
    }

    #[test]
    fn reads_merge_requests_and_warns_about_malformed_data() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let a = fpr('A');
        let b = fpr('B');
        let mr = format!("merge-reqs/{a}/1");
        let edits = vec![
            file("labels/open/description", "open\n"),
            file("labels/bug/description", ""),
            file(format!("{mr}/title"), "Fix it\n"),
            file(format!("{mr}/target"), "main\n"),
            link(format!("{mr}/labels/open"), "/labels/open"),
            link(format!("{mr}/labels/bug"), "/labels/bug"),
            link(format!("{mr}/labels/gone"), "/labels/gone"),
            link(format!("labels/open/{a}/1"), format!("/{mr}")),
            link(format!("labels/open/{a}/7"), format!("/merge-reqs/{a}/7")),
            file(
                format!("{mr}/comments/{a}/0"),
                "Date: 2026-11-26T11:00:00Z\nRevision: 1\n\nThe description.\n",
            ),
            file(
                format!("{mr}/comments/{b}/0"),
                "Date: 2026-11-26T10:00:00Z\nRevision: 1\n\nEarlier.\n",
            ),
            file(format!("{mr}/comments/{b}/1"), "Revision: 1\n\nno date\n"),
            file(format!("merge-reqs/{a}/two/title"), "x\n"),
            file(format!("merge-reqs/{b}/3/target"), "main\n"),
            // A CI bot's claim is no malformed data.
            file(format!("{mr}/ci/v1/claim-1"), "Bot: x\n"),
        ];
        let c = commit(&repo, &edits);
        let s = read(&repo, Some(c), Depth::Full).unwrap();
        assert_eq!(s.mrs.len(), 1, "{:?}", s.mrs);
        let m = &s.mrs[0];
        assert_eq!(m.title, "Fix it");
        assert_eq!(m.target, "main");
        assert_eq!(m.labels, vec!["bug", "open"]);
        assert_eq!(m.comments.len(), 2);
        assert_eq!(m.comments[0].author, b, "date order");
        assert_eq!(m.description().unwrap().body, "The description.\n");
        let paths: Vec<&str> = s.warnings.iter().map(|w| w.path.as_str()).collect();
        assert!(
            !paths.iter().any(|p| p.contains("/ci")),
            "claims are not warned about: {paths:?}"
        );
        for expected in [
            format!("{mr}/labels/gone"),
            format!("{mr}/comments/{b}/1"),
            format!("merge-reqs/{a}/two"),
            format!("merge-reqs/{b}/3/title"),
            format!("labels/open/{a}/7"),
        ] {
            assert!(
                paths.contains(&expected.as_str()),
                "{expected} in {paths:?}"
            );
        }
        // Numbers and comment slots count malformed entries too.
        assert_eq!(s.next_number(&b), 4);
        assert_eq!(s.next_comment_index(&m.id, &b), 2);
        assert_eq!(s.next_number(&fpr('C')), 1);

        let summary = read(&repo, Some(c), Depth::Summary).unwrap();
        assert_eq!(summary.mrs[0].comments.len(), 1);
        assert_eq!(summary.next_comment_index(&m.id, &b), 2);
    }

    #[test]
    fn edits_votes_and_settings_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let (a, b, c) = (fpr('A'), fpr('B'), fpr('C'));
        let mr = format!("merge-reqs/{a}/1");
        let d = "Date: 2026-11-26T11:00:00Z\n";
        let edits = vec![
            file(format!("{mr}/title"), "Old title\n"),
            file(format!("{mr}/target"), "main\n"),
            file(
                format!("{mr}/comments/{a}/0"),
                &format!("{d}Revision: 1\n\nfirst\n"),
            ),
            file(
                format!("{mr}/comments/{b}/0"),
                &format!("{d}Revision: 1\n\nb says\n"),
            ),
            file(
                format!("{mr}/comments/{c}/0"),
                &format!("{d}Revision: 1\nCI-Status: pass\n\nok\n"),
            ),
            file(
                format!("{mr}/edits/{a}/title/1"),
                &format!("{d}\nNew title\n"),
            ),
            file(format!("{mr}/edits/{a}/0/1"), &format!("{d}\nsecond\n")),
            file(format!("{mr}/edits/{a}/0/2"), &format!("{d}\nthird\n")),
            file(
                format!("{mr}/edits/{b}/0/1"),
                &format!("{d}Retracted: yes\n\n"),
            ),
            // Not there, not the author's, not a version: warned about and skipped.
            file(format!("{mr}/edits/{b}/7/1"), &format!("{d}\nghost\n")),
            file(
                format!("{mr}/edits/{b}/title/1"),
                &format!("{d}\nHijacked\n"),
            ),
            file(format!("{mr}/edits/{a}/0/x"), &format!("{d}\nx\n")),
            file(
                format!("{mr}/votes/{b}/0"),
                &format!("{d}Revision: 1\nVote: approve\n\n"),
            ),
            file(
                format!("{mr}/votes/{b}/1"),
                &format!("{d}Revision: 1\nVote: maybe\n\n"),
            ),
            file(
                "settings/merge",
                "Required-Approvals: 2\nRequired-CI: pass\n",
            ),
        ];
        let commit = commit(&repo, &edits);
        let s = read(&repo, Some(commit), Depth::Full).unwrap();
        let m = &s.mrs[0];
        assert_eq!(m.title, "New title");
        assert_eq!(m.title_history.len(), 2);
        let desc = m.description().unwrap();
        assert_eq!(
            (desc.body.as_str(), desc.original()),
            ("third\n", "first\n")
        );
        assert_eq!(desc.history.len(), 3);
        let bs = m.comments.iter().find(|c| c.author == b).unwrap();
        assert!(bs.is_retracted() && bs.body.is_empty());
        assert_eq!(m.votes.len(), 1, "the malformed vote is skipped");
        assert_eq!(
            s.settings,
            Some(Settings {
                approvals: 2,
                ci_pass: true,
                ..Settings::default()
            })
        );
        let paths: Vec<&str> = s.warnings.iter().map(|w| w.path.as_str()).collect();
        for expected in [
            format!("{mr}/edits/{b}/7"),
            format!("{mr}/edits/{b}/title"),
            format!("{mr}/edits/{a}/0/x"),
            format!("{mr}/votes/{b}/1"),
        ] {
            assert!(
                paths.contains(&expected.as_str()),
                "{expected} in {paths:?}"
            );
        }
        // A summary: descriptions (edited), titles, votes, and the comments of
        // those asked for (CI's); not the others'.
        let ci: BTreeSet<Fingerprint> = [c.clone()].into();
        let summary = read_tree(&repo, Some(commit), Depth::Summary, &ci).unwrap();
        let m = &summary.mrs[0];
        assert_eq!(m.title, "New title");
        assert_eq!(m.description().unwrap().body, "third\n");
        let authors: Vec<&Fingerprint> = m.comments.iter().map(|c| &c.author).collect();
        assert_eq!(authors, [&a, &c]);
        assert_eq!(m.votes.len(), 1);
        assert_eq!(summarize(&s, &ci).mrs[0].comments.len(), 2);
        // A settings file nobody can read fails closed.
        let bad = commit_on(
            &repo,
            commit,
            &[file("settings/merge", "Required-CI: maybe\n")],
        );
        let s = read(&repo, Some(bad), Depth::Summary).unwrap();
        assert!(s.settings.unwrap().malformed.is_some());
    }

    #[test]
    fn removing_the_last_entry_removes_the_directories() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let base = write_tree(&repo, None, &[file("a/b/c", "x"), file("a/d", "y")]).unwrap();
        let tree = write_tree(
            &repo,
            Some(base),
            &[TreeEdit::Remove {
                path: "a/b/c".into(),
            }],
        )
        .unwrap();
        let t = repo.find_tree(tree).unwrap();
        assert!(t.lookup_entry_by_path("a/b").unwrap().is_none());
        assert!(t.lookup_entry_by_path("a/d").unwrap().is_some());
    }

    /// A read for a new merge request holds no merge request: the label
    /// names, and the numbers its author used (malformed ones too).
    #[test]
    fn a_read_for_a_new_merge_request_counts_its_authors_numbers_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let (a, b) = (fpr('A'), fpr('B'));
        let c = commit(
            &repo,
            &[
                file("labels/open/description", "open\n"),
                file(format!("merge-reqs/{a}/1/title"), "one\n"),
                file(format!("merge-reqs/{a}/4/title"), "four\n"),
                file(format!("merge-reqs/{b}/9/title"), "b's\n"),
            ],
        );
        let s = read_for_new(&repo, Some(c), &a).unwrap();
        assert!(s.mrs.is_empty());
        assert!(s.label_exists("open"));
        assert_eq!(s.next_number(&a), 5);
        assert_eq!(s.next_number(&fpr('C')), 1);
        assert!(s.only.as_ref().is_some_and(|o| o.is_empty()));
        assert!(!s.counters.numbers.contains_key(&b), "{:?}", s.counters);
    }

    #[test]
    fn no_data_branch_is_an_empty_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let s = read(&repo, None, Depth::Full).unwrap();
        assert!(s.mrs.is_empty() && s.commit.is_none());
    }
}

//! Reading the issues on one commit of their data branch.

use std::collections::{BTreeMap, BTreeSet};

use gitapps_core::items::read::{read_data, read_item, At, Common};
use gitapps_core::items::{self, Counters, Kind, Selection};
use gitapps_core::label;
use gitapps_core::tree_reader::{commit_tree, Entry, TreeReader, Warning};
use gitapps_core::{DataSnapshot, Fingerprint, ItemId};
use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::layout::{ASSIGNEES_DIR, ISSUES_DIR};
use crate::model::Issue;
use crate::Result;

/// What the reader makes of a data commit: bump it whenever the reader reads
/// the same tree differently, or an old cache would be served.
pub const READER_VERSION: u32 = 2;

/// Issues, as the core's readers know them.
pub const KIND: Kind = Kind {
    dir: ISSUES_DIR,
    noun: "issue",
};

/// How much to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Titles, labels, assignees and each description (the author's comment 0).
    Summary,
    /// Everything.
    Full,
}

/// The issues on one commit of the data branch.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The data commit, `None` when there is no data branch.
    pub commit: Option<String>,
    /// Its tree: filled in when read (never from a cache: see [`Snapshot::tree`]).
    #[serde(skip)]
    pub tree: Option<ObjectId>,
    /// Sorted by id.
    pub issues: Vec<Issue>,
    /// Label names and their descriptions.
    pub labels: BTreeMap<String, String>,
    pub warnings: Vec<Warning>,
    /// The numbers and comment indexes in use (malformed ones included).
    pub counters: Counters,
    /// `Some`: a read of these issues alone ([`read_only`]), for a verb on
    /// one of them: `issues` holds no others, and the numbers only their
    /// authors'. Never cached, never listed.
    #[serde(default)]
    pub only: Option<BTreeSet<ItemId>>,
}

impl DataSnapshot for Snapshot {
    fn tree(&self) -> Option<ObjectId> {
        self.tree
    }

    fn is_partial(&self) -> bool {
        self.only.is_some()
    }
}

impl Snapshot {
    pub fn get(&self, id: &ItemId) -> Option<&Issue> {
        items::find(&self.issues, id)
    }

    /// The number a new issue of `author` gets.
    pub fn next_number(&self, author: &Fingerprint) -> u32 {
        self.counters.next_number(author)
    }

    /// The index `who`'s next comment on `id` gets.
    pub fn next_comment_index(&self, id: &ItemId, who: &Fingerprint) -> u32 {
        self.counters.next_comment_index(id, who, self.get(id))
    }

    pub fn label_exists(&self, label: &str) -> bool {
        self.labels.contains_key(label)
    }
}

/// The tree of the data commit `commit`.
pub fn tree_of(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId> {
    Ok(commit_tree(repo, commit)?)
}

/// Read the issues on the data commit `commit` (nothing when `None`).
pub fn read(repo: &gix::Repository, commit: Option<ObjectId>, depth: Depth) -> Result<Snapshot> {
    read_selected(repo, commit, depth, &Selection::all())
}

/// [`read`] of the issues `only` alone (with the label names, and their
/// authors' numbers): what a verb on one issue reads, the same among 50
/// issues or 50,000. Those that do not exist are not in it.
pub fn read_only(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    depth: Depth,
    only: &BTreeSet<ItemId>,
) -> Result<Snapshot> {
    read_selected(repo, commit, depth, &Selection::only(only.clone()))
}

/// A read of no issue: the label names and the numbers `author` has used,
/// what a new issue of theirs needs.
pub fn read_for_new(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    author: &Fingerprint,
) -> Result<Snapshot> {
    read_selected(repo, commit, Depth::Summary, &Selection::for_new(author))
}

/// The snapshot of the issues `selection` holds.
fn read_selected(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    depth: Depth,
    selection: &Selection,
) -> Result<Snapshot> {
    let full = depth == Depth::Full;
    let read = |reader: &mut TreeReader<'_>, counters: &mut Counters, at: At<'_>| {
        read_issue(reader, counters, at, full)
    };
    let mut data = read_data(repo, commit, &KIND, selection, full, read)?;
    // The tracker keeps nothing else at the root: anything there is a mistake.
    for e in &data.root {
        if e.name != ISSUES_DIR && e.name != label::LABELS_DIR {
            data.reader.warn(e.name.clone(), "unexpected entry");
        }
    }
    Ok(Snapshot {
        commit: data.commit.map(|c| c.to_string()),
        tree: data.tree,
        warnings: data.warnings(),
        issues: data.items,
        labels: data.labels,
        counters: data.counters,
        only: data.only,
    })
}

/// One issue's directory: the core's title, thread and labels, and its
/// assignees.
fn read_issue(
    reader: &mut TreeReader<'_>,
    counters: &mut Counters,
    at: At<'_>,
    full: bool,
) -> Result<Option<Issue>> {
    let mut assignees = Vec::new();
    let nobody = BTreeSet::new();
    let common = read_item(reader, counters, &at, full, &nobody, |reader, e| {
        if e.name != ASSIGNEES_DIR || !e.mode.is_tree() {
            return Ok(false);
        }
        assignees = read_assignees(reader, &format!("{}/{}", at.path, e.name), e)?;
        Ok::<_, crate::Error>(true)
    })?;
    Ok(common.map(|Common { thread, labels }| Issue {
        id: at.id.clone(),
        title: thread.title,
        labels,
        assignees,
        comments: thread.comments,
        title_history: thread.title_history,
    }))
}

fn read_assignees(
    reader: &mut TreeReader<'_>,
    path: &str,
    dir: &Entry,
) -> Result<Vec<Fingerprint>> {
    let mut out = Vec::new();
    for a in reader.tree(&dir.id)? {
        match Fingerprint::parse(&a.name) {
            Ok(f) if a.mode.is_blob() && f.as_str() == a.name => out.push(f),
            _ => reader.warn(
                format!("{path}/{}", a.name),
                "not an assignee (an empty file named by a user id)",
            ),
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapps_core::testing::{self, file, fpr, item, link};
    use gitapps_core::tx::TreeEdit;

    fn issue(id: &ItemId, title: &str) -> Vec<TreeEdit> {
        let dir = crate::layout::issue_dir(id);
        vec![
            file(format!("{dir}/title"), &format!("{title}\n")),
            file(
                format!("{dir}/comments/{}/0", id.author),
                "Date: 2026-11-26T11:00:00Z\n\ndescribed\n",
            ),
            link(format!("{dir}/labels/open"), "/labels/open"),
            link(
                format!("labels/open/{}/{}", id.author, id.number),
                format!("/{dir}"),
            ),
        ]
    }

    /// A's issues 1 (good) and 2 (malformed: no title, a bad assignee), B's 5.
    fn data(repo: &gix::Repository) -> ObjectId {
        let (a, b) = (item('A', 1), item('B', 5));
        let bad = crate::layout::issue_dir(&item('A', 2));
        let mut edits = vec![
            file("labels/open/description", "open\n"),
            file(crate::layout::assignee_path(&a, &b.author), ""),
            file(format!("{bad}/comments/{}/0", a.author), "no date\n"),
            file(format!("{bad}/assignees/nobody"), ""),
            file("stray", "x\n"),
        ];
        edits.extend(issue(&a, "Good"));
        edits.extend(issue(&b, "B's"));
        testing::commit(repo, None, &edits).unwrap()
    }

    #[test]
    fn every_issue_is_read_and_malformed_ones_are_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let s = read(&repo, Some(data(&repo)), Depth::Full).unwrap();
        let ids: Vec<&ItemId> = s.issues.iter().map(|i| &i.id).collect();
        assert_eq!(ids, [&item('A', 1), &item('B', 5)]);
        let good = s.get(&item('A', 1)).unwrap();
        assert_eq!(good.title, "Good");
        assert_eq!(good.labels, ["open"]);
        assert_eq!(good.assignees, [fpr('B')]);
        let paths: Vec<&str> = s.warnings.iter().map(|w| w.path.as_str()).collect();
        let bad = crate::layout::issue_dir(&item('A', 2));
        for expected in [
            format!("{bad}/title"),
            format!("{bad}/assignees/nobody"),
            "stray".into(),
        ] {
            assert!(
                paths.contains(&expected.as_str()),
                "{expected} in {paths:?}"
            );
        }
        assert_eq!(s.next_number(&fpr('A')), 3);
        assert_eq!(s.next_comment_index(&item('A', 2), &fpr('A')), 1);
        assert!(!s.is_partial());
    }

    /// A verb on one issue reads that one: another issue's malformed data is
    /// neither read nor warned about, and the snapshot says it is partial.
    #[test]
    fn a_read_of_one_issue_reads_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let tip = data(&repo);
        let one = read_only(&repo, Some(tip), Depth::Full, &[item('A', 1)].into()).unwrap();
        let ids: Vec<&ItemId> = one.issues.iter().map(|i| &i.id).collect();
        assert_eq!(ids, [&item('A', 1)]);
        let paths: Vec<&str> = one.warnings.iter().map(|w| w.path.as_str()).collect();
        assert!(
            paths.iter().all(|p| !p.starts_with("issues/")),
            "only the root's own: {paths:?}"
        );
        assert!(one.is_partial() && one.label_exists("open"));
        assert_eq!(one.next_number(&fpr('A')), 3, "its author's numbers");
        assert!(!one.counters.numbers.contains_key(&fpr('B')));
        // One that is not there is not in it.
        let none = read_only(&repo, Some(tip), Depth::Full, &[item('C', 1)].into()).unwrap();
        assert!(none.issues.is_empty());
    }

    /// A new issue reads none: the label names and its author's numbers.
    #[test]
    fn a_read_for_a_new_issue_counts_its_authors_numbers_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let s = read_for_new(&repo, Some(data(&repo)), &fpr('A')).unwrap();
        assert!(s.issues.is_empty() && s.is_partial());
        assert!(s.label_exists("open"));
        assert_eq!(s.next_number(&fpr('A')), 3);
        assert_eq!(s.next_number(&fpr('C')), 1);
        assert!(!s.counters.numbers.contains_key(&fpr('B')));
        let nothing = read_for_new(&repo, None, &fpr('A')).unwrap();
        assert!(nothing.is_partial() && nothing.commit.is_none());
    }
}

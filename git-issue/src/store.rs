//! Reading the issues on one commit of their data branch.

use std::collections::{BTreeMap, BTreeSet};

use gitapps_core::error::GitResultExt;
use gitapps_core::label;
use gitapps_core::refs::parse_number;
use gitapps_core::thread::read::{self as thread_read, Scope};
use gitapps_core::tree_reader::{Entry, TreeReader, Warning};
use gitapps_core::{DataSnapshot, Fingerprint, ItemId};
use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::layout::{ASSIGNEES_DIR, ISSUES_DIR, TITLE};
use crate::model::Issue;
use crate::Result;

/// What the reader makes of a data commit: bump it whenever the reader reads
/// the same tree differently, or an old cache would be served.
pub const READER_VERSION: u32 = 1;

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
    /// The highest number in use per author (malformed ones included).
    pub numbers: BTreeMap<Fingerprint, u32>,
    /// The next free comment index, per `<issue>/<commenter>` (malformed ones included).
    pub comment_slots: BTreeMap<String, u32>,
}

impl DataSnapshot for Snapshot {
    fn tree(&self) -> Option<ObjectId> {
        self.tree
    }
}

impl Snapshot {
    pub fn get(&self, id: &ItemId) -> Option<&Issue> {
        self.issues
            .binary_search_by(|i| i.id.cmp(id))
            .ok()
            .map(|i| &self.issues[i])
    }

    /// The number a new issue of `author` gets.
    pub fn next_number(&self, author: &Fingerprint) -> u32 {
        self.numbers.get(author).copied().unwrap_or(0) + 1
    }

    /// The index `who`'s next comment on `id` gets.
    pub fn next_comment_index(&self, id: &ItemId, who: &Fingerprint) -> u32 {
        let slot = self
            .comment_slots
            .get(&format!("{id}/{who}"))
            .copied()
            .unwrap_or(0);
        let seen = self
            .get(id)
            .and_then(|i| {
                i.comments
                    .iter()
                    .filter(|c| &c.author == who)
                    .map(|c| c.index + 1)
                    .max()
            })
            .unwrap_or(0);
        slot.max(seen)
    }

    pub fn label_exists(&self, label: &str) -> bool {
        self.labels.contains_key(label)
    }
}

/// The tree of the data commit `commit`.
pub fn tree_of(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId> {
    Ok(repo.find_commit(commit).git()?.tree_id().git()?.detach())
}

/// Read the issues on the data commit `commit` (nothing when `None`).
pub fn read(repo: &gix::Repository, commit: Option<ObjectId>, depth: Depth) -> Result<Snapshot> {
    let Some(commit) = commit else {
        return Ok(Snapshot::default());
    };
    let tree_id = tree_of(repo, commit)?;
    let mut reader = TreeReader::new(repo);
    let mut snapshot = Snapshot {
        commit: Some(commit.to_string()),
        tree: Some(tree_id),
        ..Snapshot::default()
    };
    let root = reader.tree(&tree_id)?;
    if let Some(labels) = root.iter().find(|e| e.name == label::LABELS_DIR) {
        snapshot.labels = label::read_names(&mut reader, labels)?;
    }
    match root.iter().find(|e| e.name == ISSUES_DIR) {
        Some(dir) if dir.mode.is_tree() => read_issues(&mut reader, &dir.id, depth, &mut snapshot)?,
        Some(_) => reader.warn(ISSUES_DIR, "not a directory"),
        None => {}
    }
    for e in &root {
        if e.name != ISSUES_DIR && e.name != label::LABELS_DIR {
            reader.warn(e.name.clone(), "unexpected entry");
        }
    }
    if depth == Depth::Full {
        if let Some(labels) = root
            .iter()
            .find(|e| e.name == label::LABELS_DIR && e.mode.is_tree())
        {
            let s = &snapshot;
            label::check_index(&mut reader, &labels.id, ISSUES_DIR, "issue", |id, l| {
                s.get(id).map(|i| i.has_label(l))
            })?;
        }
    }
    snapshot.warnings = std::mem::take(&mut reader.warnings);
    Ok(snapshot)
}

fn read_issues(
    reader: &mut TreeReader<'_>,
    dir: &ObjectId,
    depth: Depth,
    snapshot: &mut Snapshot,
) -> Result<()> {
    for author in reader.tree(dir)? {
        let path = format!("{ISSUES_DIR}/{}", author.name);
        let Some(fpr) = Fingerprint::parse(&author.name)
            .ok()
            .filter(|f| f.as_str() == author.name)
        else {
            reader.warn(path, "not a user id (an upper-case fingerprint)");
            continue;
        };
        if !author.mode.is_tree() {
            reader.warn(path, "not a directory");
            continue;
        }
        for n in reader.tree(&author.id)? {
            let path = format!("{path}/{}", n.name);
            let Some(number) = parse_number(&n.name).filter(|n| *n > 0) else {
                reader.warn(path, "not an issue number");
                continue;
            };
            let max = snapshot.numbers.entry(fpr.clone()).or_insert(0);
            *max = (*max).max(number);
            if !n.mode.is_tree() {
                reader.warn(path, "not a directory");
                continue;
            }
            let id = ItemId {
                author: fpr.clone(),
                number,
            };
            if let Some(issue) = read_issue(reader, &path, id, &n.id, depth, snapshot)? {
                snapshot.issues.push(issue);
            }
        }
    }
    snapshot.issues.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(())
}

fn read_issue(
    reader: &mut TreeReader<'_>,
    path: &str,
    id: ItemId,
    tree: &ObjectId,
    depth: Depth,
    snapshot: &mut Snapshot,
) -> Result<Option<Issue>> {
    let mut title = None;
    let mut labels = Vec::new();
    let mut assignees = Vec::new();
    let nobody = BTreeSet::new();
    let scope = Scope {
        path,
        author: &id.author,
        full: depth == Depth::Full,
        also: &nobody,
    };
    let mut parts = thread_read::Parts::default();
    for e in reader.tree(tree)? {
        let epath = || format!("{path}/{}", e.name);
        if thread_read::read_entry(reader, &scope, &e, &mut parts)? {
            continue;
        }
        match e.name.as_str() {
            TITLE if e.mode.is_blob() => title = Some(first_line(&reader.blob(&e.id)?)),
            label::ITEM_LABELS_DIR if e.mode.is_tree() => {
                labels =
                    label::read_item(reader, &epath(), &e, &snapshot.labels, depth == Depth::Full)?;
            }
            ASSIGNEES_DIR if e.mode.is_tree() => {
                assignees = read_assignees(reader, &epath(), &e)?;
            }
            _ => reader.warn(epath(), "unexpected entry"),
        }
    }
    for (who, slot) in &parts.comment_slots {
        let s = snapshot
            .comment_slots
            .entry(format!("{id}/{who}"))
            .or_insert(0);
        *s = (*s).max(*slot);
    }
    let Some(title) = title else {
        reader.warn(format!("{path}/{TITLE}"), "missing: issue skipped");
        return Ok(None);
    };
    let created = parts
        .comments
        .iter()
        .find(|c| c.index == 0 && c.author == id.author)
        .map(|c| c.date);
    let thread = thread_read::finish(reader, &scope, parts, title, created);
    Ok(Some(Issue {
        id,
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

fn first_line(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

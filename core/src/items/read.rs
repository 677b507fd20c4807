//! Reading the items on a data commit: the label names, then the authors'
//! directories under the kind's directory and each item's (its title, its
//! thread, its labels), as far as the [`Selection`] goes. What is the app's
//! own in an item (a target branch, assignees) its closures read.
//!
//! Malformed data is a [`Warning`] naming the path, and is skipped.

use std::collections::{BTreeMap, BTreeSet};

use gix::ObjectId;

use super::{find, Counters, Item, Kind, Selection};
use crate::label::{self, ITEM_LABELS_DIR, LABELS_DIR};
use crate::refs::parse_number;
use crate::thread::read::{self as thread_read, Scope, Thread};
use crate::tree_reader::{commit_tree, Entry, TreeReader, Warning};
use crate::{Error, Fingerprint, ItemId};

/// An item's one-line title file.
pub const TITLE: &str = "title";

/// What [`read_data`] read of a data commit; the app reads what else it keeps
/// from `root` with `reader`, then takes the [`Data::warnings`].
pub struct Data<'r, I> {
    pub reader: TreeReader<'r>,
    /// The data commit (`None`: no data branch, nothing read).
    pub commit: Option<ObjectId>,
    pub tree: Option<ObjectId>,
    /// The selection's `only`: the snapshot's marker of a partial read.
    pub only: Option<BTreeSet<ItemId>>,
    /// The root's entries.
    pub root: Vec<Entry>,
    /// Label names and their descriptions.
    pub labels: BTreeMap<String, String>,
    /// Sorted by id.
    pub items: Vec<I>,
    pub counters: Counters,
}

impl<I> Data<'_, I> {
    /// The root's entry `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.root.iter().find(|e| e.name == name)
    }

    /// The warnings so far, by path: the same whichever way a snapshot was
    /// read (an incremental update adds the warnings of what it read again).
    pub fn warnings(&mut self) -> Vec<Warning> {
        let mut warnings = std::mem::take(&mut self.reader.warnings);
        warnings.sort_by(|a, b| a.path.cmp(&b.path));
        warnings
    }
}

/// Where one item is, for the app's reader of one item.
pub struct At<'a> {
    pub kind: &'a Kind,
    /// `<kind-dir>/<FPR>/<n>`, for warnings.
    pub path: &'a str,
    pub id: ItemId,
    /// Its directory.
    pub tree: ObjectId,
    /// The label names on the data commit.
    pub labels: &'a BTreeMap<String, String>,
}

/// Read the label names and the items of `selection` on the data commit
/// `commit` (nothing when `None`); `read_item` reads one item's directory (with [`read_item`]). A
/// `full` read of every item also checks the label index against them (a
/// read of some cannot: the index names the others).
pub fn read_data<'r, I, E>(
    repo: &'r gix::Repository,
    commit: Option<ObjectId>,
    kind: &Kind,
    selection: &Selection,
    full: bool,
    mut read_item: impl FnMut(&mut TreeReader<'r>, &mut Counters, At<'_>) -> Result<Option<I>, E>,
) -> Result<Data<'r, I>, E>
where
    I: Item,
    E: From<Error>,
{
    let mut reader = TreeReader::new(repo);
    let tree = commit.map(|c| commit_tree(repo, c)).transpose()?;
    let root = match &tree {
        Some(tree) => reader.tree(tree)?,
        None => Vec::new(),
    };
    let mut labels = BTreeMap::new();
    if let Some(dir) = root.iter().find(|e| e.name == LABELS_DIR) {
        labels = label::read_names(&mut reader, dir)?;
    }
    let mut counters = Counters::default();
    let mut items = Vec::new();
    match root.iter().find(|e| e.name == kind.dir) {
        Some(dir) if dir.mode.is_tree() => {
            let mut walk = Walk {
                reader: &mut reader,
                kind,
                selection,
                labels: &labels,
                counters: &mut counters,
            };
            items = walk.authors(&dir.id, &mut read_item)?;
        }
        Some(_) => reader.warn(kind.dir, "not a directory"),
        None => {}
    }
    if full && selection.is_all() {
        if let Some(index) = root
            .iter()
            .find(|e| e.name == LABELS_DIR && e.mode.is_tree())
        {
            label::check_index(&mut reader, &index.id, kind.dir, kind.noun, |id, name| {
                find(&items, id).map(|i| i.has_label(name))
            })?;
        }
    }
    Ok(Data {
        reader,
        commit,
        tree,
        only: selection.only.clone(),
        root,
        labels,
        items,
        counters,
    })
}

/// The walk over the authors' directories.
struct Walk<'w, 'r> {
    reader: &'w mut TreeReader<'r>,
    kind: &'w Kind,
    selection: &'w Selection,
    labels: &'w BTreeMap<String, String>,
    counters: &'w mut Counters,
}

impl<'r> Walk<'_, 'r> {
    fn authors<I: Item, E: From<Error>>(
        &mut self,
        dir: &ObjectId,
        read_item: &mut impl FnMut(&mut TreeReader<'r>, &mut Counters, At<'_>) -> Result<Option<I>, E>,
    ) -> Result<Vec<I>, E> {
        let mut items = Vec::new();
        for author in self.reader.tree(dir)? {
            if !self.selection.opens(&author.name) {
                continue;
            }
            let path = format!("{}/{}", self.kind.dir, author.name);
            let Some(fpr) = Fingerprint::parse(&author.name)
                .ok()
                .filter(|f| f.as_str() == author.name)
            else {
                self.reader
                    .warn(path, "not a user id (an upper-case fingerprint)");
                continue;
            };
            if !author.mode.is_tree() {
                self.reader.warn(path, "not a directory");
                continue;
            }
            for n in self.reader.tree(&author.id)? {
                let id = parse_number(&n.name)
                    .filter(|n| *n > 0)
                    .map(|number| ItemId {
                        author: fpr.clone(),
                        number,
                    });
                if let Some(id) = &id {
                    self.counters.note_number(id);
                }
                if !self.selection.reads(id.as_ref()) {
                    continue;
                }
                let path = format!("{path}/{}", n.name);
                let Some(id) = id else {
                    let what = format!("not {} number", self.kind.a_noun());
                    self.reader.warn(path, what);
                    continue;
                };
                if !n.mode.is_tree() {
                    self.reader.warn(path, "not a directory");
                    continue;
                }
                let at = At {
                    kind: self.kind,
                    path: &path,
                    id,
                    tree: n.id,
                    labels: self.labels,
                };
                items.extend(read_item(self.reader, self.counters, at)?);
            }
        }
        items.sort_by(|a, b| a.id().cmp(b.id()));
        Ok(items)
    }
}

/// What every item's directory holds, as read.
pub struct Common {
    /// The title (its newest version) and the thread.
    pub thread: Thread,
    /// Sorted label names.
    pub labels: Vec<String>,
}

/// Read one item's directory: its title, thread (every comment when `full`,
/// else the description and the comments of `also`) and labels; `other`
/// reads the entries that are the app's own (`Ok(false)`: none of its own,
/// warned about as unexpected). `None` when it has no title: then it is
/// skipped, with a warning. The comment indexes in use are counted either way.
pub fn read_item<'r, E: From<Error>>(
    reader: &mut TreeReader<'r>,
    counters: &mut Counters,
    at: &At<'_>,
    full: bool,
    also: &BTreeSet<Fingerprint>,
    mut other: impl FnMut(&mut TreeReader<'r>, &Entry) -> Result<bool, E>,
) -> Result<Option<Common>, E> {
    let scope = Scope {
        path: at.path,
        author: &at.id.author,
        full,
        also,
    };
    let mut title = None;
    let mut labels = Vec::new();
    let mut parts = thread_read::Parts::default();
    for e in reader.tree(&at.tree)? {
        if thread_read::read_entry(reader, &scope, &e, &mut parts)? {
            continue;
        }
        let handled = match e.name.as_str() {
            TITLE if e.mode.is_blob() => {
                title = Some(first_line(&reader.blob(&e.id)?));
                true
            }
            ITEM_LABELS_DIR if e.mode.is_tree() => {
                let path = format!("{}/{}", at.path, e.name);
                labels = label::read_item(reader, &path, &e, at.labels, full)?;
                true
            }
            _ => other(reader, &e)?,
        };
        if !handled {
            reader.warn(format!("{}/{}", at.path, e.name), "unexpected entry");
        }
    }
    counters.note_slots(&at.id, &parts.comment_slots);
    let Some(title) = title else {
        let what = format!("missing: {} skipped", at.kind.noun);
        reader.warn(format!("{}/{TITLE}", at.path), what);
        return Ok(None);
    };
    let created = parts
        .comments
        .iter()
        .find(|c| c.index == 0 && c.author == at.id.author)
        .map(|c| c.date);
    let thread = thread_read::finish(reader, &scope, parts, title, created);
    Ok(Some(Common { thread, labels }))
}

/// The first line of a one-line file, trimmed.
pub fn first_line(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, file, fpr, link};
    use crate::thread::Comment;

    const KIND: Kind = Kind {
        dir: "things",
        noun: "item",
    };

    /// The smallest app: an item with an optional `colour` file.
    #[derive(Debug)]
    struct Thing {
        id: ItemId,
        title: String,
        labels: Vec<String>,
        comments: Vec<Comment>,
        colour: Option<String>,
    }

    crate::impl_item!(Thing);

    fn read<'r>(
        repo: &'r gix::Repository,
        commit: ObjectId,
        selection: &Selection,
    ) -> Data<'r, Thing> {
        let nobody = BTreeSet::new();
        read_data(
            repo,
            Some(commit),
            &KIND,
            selection,
            true,
            |reader, counters, at| {
                let mut colour = None;
                let common = read_item(reader, counters, &at, true, &nobody, |reader, e| {
                    Ok::<_, Error>(match e.name.as_str() {
                        "colour" => {
                            colour = Some(first_line(&reader.blob(&e.id)?));
                            true
                        }
                        _ => false,
                    })
                })?;
                Ok::<_, Error>(common.map(|c| Thing {
                    id: at.id.clone(),
                    title: c.thread.title,
                    labels: c.labels,
                    comments: c.thread.comments,
                    colour,
                }))
            },
        )
        .unwrap()
    }

    #[test]
    fn items_are_read_as_far_as_the_selection_goes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let (a, b) = (fpr('A'), fpr('B'));
        let one = format!("things/{a}/1");
        let description = "Date: 2026-11-26T11:00:00Z\n\nThe description.\n";
        let edits = vec![
            link(format!("{one}/labels/open"), "/labels/open"),
            link(format!("labels/open/{a}/1"), format!("/{one}")),
            file("labels/open/description", "open\n"),
            file(format!("{one}/title"), "One\n"),
            file(format!("{one}/colour"), "red\n"),
            file(format!("{one}/comments/{a}/0"), description),
            file(format!("{one}/comments/{b}/4"), "no date\n"),
            file(format!("{one}/stray"), "x\n"),
            file(format!("things/{a}/3/comments/{a}/0"), "no title\n"),
            file(format!("things/{a}/x/title"), "not a number\n"),
            file(format!("things/{b}/7/title"), "B's\n"),
            file("things/lower/1/title", "not a user\n"),
        ];
        let commit = testing::commit(&repo, None, &edits).unwrap();

        let mut all = read(&repo, commit, &Selection::all());
        let ids: Vec<String> = all.items.iter().map(|t| t.id.to_string()).collect();
        assert_eq!(ids, [format!("{a}/1"), format!("{b}/7")]);
        let one = &all.items[0];
        assert_eq!(
            (one.title.as_str(), one.colour.as_deref()),
            ("One", Some("red"))
        );
        assert!(one.has_label("open") && one.description().is_some());
        assert_eq!(
            all.counters.next_number(&a),
            4,
            "a directory without title counts"
        );
        assert_eq!(all.counters.next_comment_index(&one.id, &b, Some(one)), 5);
        let paths: Vec<String> = all.warnings().into_iter().map(|w| w.path).collect();
        for expected in [
            format!("things/{a}/1/comments/{b}/4"),
            format!("things/{a}/1/stray"),
            format!("things/{a}/3/title"),
            format!("things/{a}/x"),
            "things/lower".to_owned(),
        ] {
            assert!(paths.contains(&expected), "{expected} in {paths:?}");
        }
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted, "by path");

        // One item: only it, its author's numbers, and no word of the others.
        let id = ItemId {
            author: b.clone(),
            number: 7,
        };
        let mut some = read(&repo, commit, &Selection::only([id.clone()].into()));
        assert_eq!(some.items.len(), 1);
        assert_eq!(some.items[0].id, id);
        assert!(some.warnings().is_empty());
        assert_eq!(
            some.counters.next_number(&a),
            1,
            "A's directory is not opened"
        );
        assert!(some.labels.contains_key("open"));

        // A new item of A's: no item, A's numbers.
        let mut new = read(&repo, commit, &Selection::for_new(&a));
        assert!(new.items.is_empty() && new.warnings().is_empty());
        assert_eq!(new.counters.next_number(&a), 4);
        assert_eq!(KIND.a_noun(), "an item");
        let nothing = read_data(
            &repo,
            None,
            &KIND,
            &Selection::for_new(&a),
            false,
            |_, _, _| Ok::<Option<Thing>, Error>(None),
        )
        .unwrap();
        assert!(nothing.commit.is_none() && nothing.items.is_empty());
        assert_eq!(nothing.only, Some(BTreeSet::new()), "marked partial");
    }
}

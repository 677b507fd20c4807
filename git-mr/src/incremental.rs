//! Bringing a snapshot from one data commit to another by comparing their trees:
//! a new comment among 50,000 merge requests re-reads that one merge request,
//! not all of them. Git's trees make the comparison cheap: a directory whose
//! tree id did not change holds nothing new, so only the changed authors' and
//! merge requests' trees are opened.
//!
//! Only the changes the tools make are followed (merge requests added, changed
//! or gone under existing or new authors; labels and settings changed). Anything
//! else (a new label name, an entry that is no merge request, an author gone) is
//! left to a full read: [`update`] says `None`, and the caller reads everything.

use std::collections::{BTreeMap, BTreeSet};

use gix::ObjectId;

use crate::error::GitResultExt;
use crate::layout::{parse_number, LABELS_DIR, MERGE_REQS_DIR};
use crate::model::{Fingerprint, MrId};
use crate::review::SETTINGS_DIR;
use crate::store::{self, Depth, Snapshot};
use crate::tree_reader::{Entry, TreeReader};
use crate::Result;

/// What [`update`] made.
pub struct Updated {
    /// The snapshot of the new commit.
    pub snapshot: Snapshot,
    /// How many merge requests were read again (new, changed or gone).
    pub reread: usize,
}

/// `old` brought to the data commit `commit`, read to `depth` (a summary with
/// every comment of `comments_of`), by reading only what changed; `None` when
/// the change is not one this follows, or `old` is not a whole read to the
/// same depth for the same commenters (read everything then).
pub fn update(
    repo: &gix::Repository,
    mut old: Snapshot,
    commit: ObjectId,
    depth: Depth,
    comments_of: &BTreeSet<Fingerprint>,
) -> Result<Option<Updated>> {
    let wanted_commenters = match depth {
        Depth::Summary => comments_of.clone(),
        Depth::Full => BTreeSet::new(),
    };
    let Some(old_tree) = old.tree else {
        return Ok(None);
    };
    if old.only.is_some() || old.comments_of != wanted_commenters {
        return Ok(None);
    }
    let new_tree = repo.find_commit(commit).git()?.tree_id().git()?.detach();
    let mut reader = TreeReader::new(repo);
    let Some(changes) = changed_mrs(&mut reader, &old_tree, &new_tree, depth)? else {
        return Ok(None);
    };
    let fresh = store::read_only(repo, Some(commit), depth, comments_of, &changes.mrs)?;
    if fresh.labels != old.labels {
        // Which of the other merge requests' labels exist changed with it.
        return Ok(None);
    }
    let gone = |path: &str| {
        path.starts_with(LABELS_DIR)
            || path.starts_with(SETTINGS_DIR)
            || changes.mrs.iter().any(|id| {
                let dir = crate::layout::mr_dir(id);
                path.strip_prefix(dir.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    };
    old.warnings.retain(|w| !gone(&w.path));
    old.warnings.extend(fresh.warnings);
    old.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    old.mrs.retain(|m| !changes.mrs.contains(&m.id));
    old.mrs.extend(fresh.mrs);
    old.mrs.sort_by(|a, b| a.id.cmp(&b.id));
    for id in &changes.mrs {
        old.counters.forget_slots(id);
    }
    old.counters
        .comment_slots
        .extend(fresh.counters.comment_slots);
    for author in &changes.authors {
        match fresh.counters.numbers.get(author) {
            Some(n) => old.counters.numbers.insert(author.clone(), *n),
            None => old.counters.numbers.remove(author),
        };
    }
    old.settings = fresh.settings;
    old.commit = Some(commit);
    old.tree = Some(new_tree);
    Ok(Some(Updated {
        snapshot: old,
        reread: changes.mrs.len(),
    }))
}

/// What changed between two data trees: the merge requests to read again
/// (new, changed or gone) and their authors.
struct Changes {
    mrs: BTreeSet<MrId>,
    authors: BTreeSet<Fingerprint>,
}

fn by_name(entries: Vec<Entry>) -> BTreeMap<String, Entry> {
    entries.into_iter().map(|e| (e.name.clone(), e)).collect()
}

/// The entries whose id or mode differs: (name, old, new).
fn differing(
    old: &BTreeMap<String, Entry>,
    new: &BTreeMap<String, Entry>,
) -> Vec<(String, Option<Entry>, Option<Entry>)> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (old.get(name), new.get(name));
            let same = matches!((o, n), (Some(o), Some(n)) if o.id == n.id && o.mode == n.mode);
            (!same).then(|| (name.clone(), o.cloned(), n.cloned()))
        })
        .collect()
}

fn changed_mrs(
    reader: &mut TreeReader<'_>,
    old_tree: &ObjectId,
    new_tree: &ObjectId,
    depth: Depth,
) -> Result<Option<Changes>> {
    let mut changes = Changes {
        mrs: BTreeSet::new(),
        authors: BTreeSet::new(),
    };
    let old_root = by_name(reader.tree(old_tree)?);
    let new_root = by_name(reader.tree(new_tree)?);
    for (name, old, new) in differing(&old_root, &new_root) {
        match name.as_str() {
            // A full read checks the label index against every merge request.
            LABELS_DIR if depth == Depth::Full => return Ok(None),
            // Read again by every read (names, descriptions, settings).
            LABELS_DIR | SETTINGS_DIR => {}
            MERGE_REQS_DIR => {
                let (Some(old), Some(new)) = (old, new) else {
                    return Ok(None);
                };
                if !(old.mode.is_tree() && new.mode.is_tree()) {
                    return Ok(None);
                }
                if !changed_authors(reader, &old.id, &new.id, &mut changes)? {
                    return Ok(None);
                }
            }
            // Nothing else on the data branch is read.
            _ => {}
        }
    }
    Ok(Some(changes))
}

/// Adds the changed merge requests under `merge-reqs/`; `false` for a change
/// that is not a merge request's.
fn changed_authors(
    reader: &mut TreeReader<'_>,
    old: &ObjectId,
    new: &ObjectId,
    changes: &mut Changes,
) -> Result<bool> {
    let old_authors = by_name(reader.tree(old)?);
    let new_authors = by_name(reader.tree(new)?);
    for (name, old, new) in differing(&old_authors, &new_authors) {
        let Some(new) = new.filter(|n| n.mode.is_tree()) else {
            return Ok(false);
        };
        if old.as_ref().is_some_and(|o| !o.mode.is_tree()) {
            return Ok(false);
        }
        let Some(author) = Fingerprint::parse(&name)
            .ok()
            .filter(|f| f.as_str() == name)
        else {
            return Ok(false);
        };
        let old_items = match old {
            Some(o) => by_name(reader.tree(&o.id)?),
            None => BTreeMap::new(),
        };
        let new_items = by_name(reader.tree(&new.id)?);
        for (n, o, nw) in differing(&old_items, &new_items) {
            let Some(number) = parse_number(&n).filter(|k| *k > 0) else {
                return Ok(false);
            };
            if [o, nw].iter().flatten().any(|e| !e.mode.is_tree()) {
                return Ok(false);
            }
            changes.mrs.insert(MrId {
                author: author.clone(),
                number,
            });
        }
        changes.authors.insert(author);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::TreeEdit;
    use gitapps_core::testing::{self, fpr, item as id};

    fn file(path: String, data: &str) -> TreeEdit {
        testing::file(path, data)
    }

    fn commit(repo: &gix::Repository, base: Option<ObjectId>, edits: &[TreeEdit]) -> ObjectId {
        testing::commit(repo, base, edits).unwrap()
    }

    fn mr(id: &MrId, title: &str) -> Vec<TreeEdit> {
        let dir = crate::layout::mr_dir(id);
        vec![
            file(format!("{dir}/title"), &format!("{title}\n")),
            file(format!("{dir}/target"), "main\n"),
            file(
                format!("{dir}/comments/{}/0", id.author),
                "Date: 2026-11-26T11:00:00Z\nRevision: 1\n\ndescribed\n",
            ),
        ]
    }

    /// Everything a snapshot holds, to compare an updated one with a full read.
    fn same(a: &Snapshot, b: &Snapshot) {
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap()
        );
    }

    /// Every change the tools make, followed step by step, gives what a full
    /// read of the new commit gives, for both depths; other changes say `None`.
    #[test]
    fn an_updated_snapshot_is_a_full_read_of_the_new_commit() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let ci: BTreeSet<Fingerprint> = [fpr('C')].into();
        let mut edits = vec![file("labels/open/description".into(), "open\n")];
        for k in 1..=3 {
            edits.extend(mr(&id('A', k), &format!("mr {k}")));
        }
        edits.extend(mr(&id('B', 1), "b's"));
        // A warning that must stay: an entry of A's that is no merge request.
        edits.push(file(format!("merge-reqs/{}/junk", fpr('A')), "x"));
        let c0 = commit(&repo, None, &edits);
        let a2 = crate::layout::mr_dir(&id('A', 2));
        let steps: Vec<Vec<TreeEdit>> = vec![
            // A comment by another user.
            vec![file(
                format!("{a2}/comments/{}/0", fpr('B')),
                "Date: 2026-11-27T11:00:00Z\nRevision: 1\n\nnice\n",
            )],
            // CI's result: a summary holds it.
            vec![file(
                format!("{a2}/comments/{}/0", fpr('C')),
                "Date: 2026-11-27T12:00:00Z\nRevision: 1\nCI-Status: pass\n\nok\n",
            )],
            // A new merge request, and a new author's first.
            mr(&id('A', 4), "mr 4"),
            mr(&id('D', 1), "d's"),
            // A label on, with its index link; a malformed comment (a warning).
            vec![
                TreeEdit::Symlink {
                    path: format!("{a2}/labels/open"),
                    target: "/labels/open".into(),
                },
                TreeEdit::Symlink {
                    path: format!("labels/open/{}/2", fpr('A')),
                    target: format!("/{a2}"),
                },
                file(format!("{a2}/comments/{}/1", fpr('B')), "no date\n"),
            ],
            // The malformed comment mended; settings written.
            vec![
                file(
                    format!("{a2}/comments/{}/1", fpr('B')),
                    "Date: 2026-11-27T13:00:00Z\nRevision: 1\n\nmended\n",
                ),
                file("settings/merge".into(), "Required-Approvals: 1\n"),
            ],
            // A merge request's title gone: skipped with a warning.
            vec![TreeEdit::Remove {
                path: format!("{}/title", crate::layout::mr_dir(&id('B', 1))),
            }],
        ];
        for depth in [Depth::Summary, Depth::Full] {
            let mut tip = c0;
            let mut snapshot = store::read_tree(&repo, Some(tip), depth, &ci).unwrap();
            for (i, step) in steps.iter().enumerate() {
                tip = commit(&repo, Some(tip), step);
                let full = store::read_tree(&repo, Some(tip), depth, &ci).unwrap();
                let labels_changed = i == 4;
                match update(&repo, snapshot.clone(), tip, depth, &ci).unwrap() {
                    Some(updated) => {
                        assert!(!(labels_changed && depth == Depth::Full), "step {i}");
                        same(&updated.snapshot, &full);
                        assert!(updated.reread <= 1, "step {i}: {}", updated.reread);
                    }
                    None => assert!(labels_changed && depth == Depth::Full, "step {i}"),
                }
                snapshot = full;
            }
            assert!(snapshot.warnings.iter().any(|w| w.path.ends_with("/junk")));
            // A cache left behind by many commits comes up to date in one update.
            if depth == Depth::Summary {
                let first = store::read_tree(&repo, Some(c0), depth, &ci).unwrap();
                let updated = update(&repo, first, tip, depth, &ci).unwrap().unwrap();
                same(&updated.snapshot, &snapshot);
                assert_eq!(updated.reread, 4, "A/2, A/4, D/1 and B/1");
            }
        }
        // Not followed: a new label name; another depth or commenters; a part read.
        let summary = store::read_tree(&repo, Some(c0), Depth::Summary, &ci).unwrap();
        let new_label = commit(
            &repo,
            Some(c0),
            &[file("labels/bug/description".into(), "bug\n")],
        );
        assert!(
            update(&repo, summary.clone(), new_label, Depth::Summary, &ci)
                .unwrap()
                .is_none()
        );
        let other = BTreeSet::new();
        assert!(update(&repo, summary.clone(), c0, Depth::Summary, &other)
            .unwrap()
            .is_none());
        assert!(update(&repo, summary, c0, Depth::Full, &ci)
            .unwrap()
            .is_none());
        let part =
            store::read_only(&repo, Some(c0), Depth::Summary, &ci, &[id('A', 1)].into()).unwrap();
        assert!(update(&repo, part, c0, Depth::Summary, &ci)
            .unwrap()
            .is_none());
    }
}

//! Turning ref updates into the operations that rules speak of: one ref
//! operation per updated ref, and one tree operation per changed path of
//! the net difference between the old tip's tree and the new tip's tree.
//!
//! The tree diff streams: each change is handed to a visitor with its path
//! in a reused buffer, so judging a new branch of 50,000 files allocates
//! per tree, not per file.

use std::cmp::Ordering;

use gitapps_policy::{RefOp, TreeOp};
use gix::objs::tree::EntryKind;
use gix::ObjectId;

use crate::error::{GitContext, HookError};
use crate::repo::peel_to_commit;
use crate::updates::RefUpdate;

/// One changed path, as the visitor sees it. `blob` is the new content of a
/// created or modified file, for size limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeChange<'a> {
    pub op: TreeOp,
    pub path: &'a [u8],
    pub blob: Option<ObjectId>,
}

/// What a path is, as far as the operations are concerned. Regular and
/// executable files are one kind: flipping the exec bit is a `modify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Symlink,
    Submodule,
    Directory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry<'a> {
    name: &'a [u8],
    mode: EntryKind,
    id: ObjectId,
}

impl Entry<'_> {
    fn kind(&self) -> Kind {
        match self.mode {
            EntryKind::Blob | EntryKind::BlobExecutable => Kind::File,
            EntryKind::Link => Kind::Symlink,
            EntryKind::Commit => Kind::Submodule,
            EntryKind::Tree => Kind::Directory,
        }
    }

    /// git's tree order: names compare as bytes, a directory's as if it
    /// ended in `/`.
    fn git_cmp(&self, other: &Entry<'_>) -> Ordering {
        let (a, b) = (self.name, other.name);
        let common = a.len().min(b.len());
        a[..common].cmp(&b[..common]).then_with(|| {
            let next = |name: &[u8], e: &Entry<'_>| {
                name.get(common)
                    .copied()
                    .or((e.kind() == Kind::Directory).then_some(b'/'))
            };
            next(a, self).cmp(&next(b, other))
        })
    }
}

/// The ref operation of one update (SPEC: "Ref operations").
pub fn ref_op(repo: &gix::Repository, update: &RefUpdate) -> Result<RefOp, HookError> {
    Ok(match (update.old, update.new) {
        (None, _) if update.is_tag() => RefOp::CreateTag,
        (None, _) => RefOp::CreateBranch,
        (Some(_), None) => RefOp::Delete,
        // Tags are meant never to move: any update of one is a force.
        (Some(_), Some(_)) if update.is_tag() => RefOp::Force,
        (Some(old), Some(new)) => {
            if is_ancestor(repo, old, new)? {
                RefOp::FastForward
            } else {
                RefOp::Force
            }
        }
    })
}

/// Whether commit `old` is an ancestor of (or equal to) commit `new`.
/// Anything that is not a commit is no ancestor: the update is a force.
fn is_ancestor(repo: &gix::Repository, old: ObjectId, new: ObjectId) -> Result<bool, HookError> {
    if old == new {
        return Ok(true);
    }
    let (Some((old, _)), Some((new, _))) = (peel_to_commit(repo, old)?, peel_to_commit(repo, new)?)
    else {
        return Ok(false);
    };
    let base = repo
        .merge_base(old, new)
        .git(format!("finding the merge base of {old} and {new}"))?;
    Ok(base.map(|b| b.detach()) == Some(old))
}

/// The trees an update of a ref goes between, when tree rules apply to it:
/// a ref outside `refs/tags/` whose new value is a commit. The old tree is
/// `None` (the empty tree) for a new ref.
pub fn update_trees(
    repo: &gix::Repository,
    update: &RefUpdate,
) -> Result<Option<(Option<ObjectId>, ObjectId)>, HookError> {
    if update.is_tag() {
        return Ok(None);
    }
    let Some(new) = update.new else {
        return Ok(None);
    };
    let Some((_, new_tree)) = peel_to_commit(repo, new)? else {
        return Ok(None);
    };
    let old_tree = match update.old {
        Some(old) => peel_to_commit(repo, old)?.map(|(_, tree)| tree),
        None => None,
    };
    Ok(Some((old_tree, new_tree)))
}

/// Diff two trees (either may be absent: the empty tree) and hand every
/// changed path to `visit`. Identical subtrees are skipped by id, so a
/// one-file change in a large tree reads only the trees on its path.
pub fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    visit: &mut dyn FnMut(TreeChange<'_>) -> Result<(), HookError>,
) -> Result<(), HookError> {
    let mut path = Vec::with_capacity(256);
    Differ { repo, visit }.diff(old, new, &mut path)
}

struct Differ<'r, 'v> {
    repo: &'r gix::Repository,
    visit: &'v mut dyn FnMut(TreeChange<'_>) -> Result<(), HookError>,
}

impl Differ<'_, '_> {
    fn emit(&mut self, op: TreeOp, path: &[u8], blob: Option<ObjectId>) -> Result<(), HookError> {
        (self.visit)(TreeChange { op, path, blob })
    }

    /// `path` is the directory's path with a trailing `/` (empty at the root).
    fn diff(
        &mut self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        path: &mut Vec<u8>,
    ) -> Result<(), HookError> {
        if old == new {
            return Ok(());
        }
        let old_data = self.load(old, path)?;
        let new_data = self.load(new, path)?;
        let old_entries = entries(old, old_data.as_deref(), path)?;
        let new_entries = entries(new, new_data.as_deref(), path)?;

        let (mut i, mut j) = (0, 0);
        while i < old_entries.len() || j < new_entries.len() {
            let order = match (old_entries.get(i), new_entries.get(j)) {
                (Some(o), Some(n)) => o.git_cmp(n),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match order {
                Ordering::Equal => {
                    self.changed(old_entries[i], new_entries[j], path)?;
                    i += 1;
                    j += 1;
                }
                Ordering::Less => {
                    self.removed(old_entries[i], path)?;
                    i += 1;
                }
                Ordering::Greater => {
                    self.added(new_entries[j], path)?;
                    j += 1;
                }
            }
        }
        Ok(())
    }

    fn load(&self, id: Option<ObjectId>, path: &[u8]) -> Result<Option<Vec<u8>>, HookError> {
        let Some(id) = id else { return Ok(None) };
        let tree = self.repo.find_tree(id).git(format!(
            "reading tree {id} at `{}`",
            String::from_utf8_lossy(path)
        ))?;
        Ok(Some(tree.detach().data))
    }

    /// Same name in both trees. A path that changes kind is a delete of the
    /// old and a create of the new.
    fn changed(
        &mut self,
        before: Entry<'_>,
        after: Entry<'_>,
        path: &mut Vec<u8>,
    ) -> Result<(), HookError> {
        if before.kind() != after.kind() {
            self.removed(before, path)?;
            return self.added(after, path);
        }
        if before == after {
            return Ok(());
        }
        let len = path.len();
        path.extend_from_slice(after.name);
        let result = if after.kind() == Kind::Directory {
            path.push(b'/');
            self.diff(Some(before.id), Some(after.id), path)
        } else {
            let blob = (after.kind() == Kind::File).then_some(after.id);
            self.emit(TreeOp::Modify, path, blob)
        };
        path.truncate(len);
        result
    }

    fn added(&mut self, entry: Entry<'_>, path: &mut Vec<u8>) -> Result<(), HookError> {
        let len = path.len();
        path.extend_from_slice(entry.name);
        let result = match entry.kind() {
            Kind::File => self.emit(TreeOp::CreateFile, path, Some(entry.id)),
            Kind::Symlink => self.emit(TreeOp::CreateSymlink, path, None),
            Kind::Submodule => self.emit(TreeOp::CreateSubmodule, path, None),
            Kind::Directory => self
                .emit(TreeOp::CreateDirectory, path, None)
                .and_then(|()| {
                    path.push(b'/');
                    self.diff(None, Some(entry.id), path)
                }),
        };
        path.truncate(len);
        result
    }

    fn removed(&mut self, entry: Entry<'_>, path: &mut Vec<u8>) -> Result<(), HookError> {
        let len = path.len();
        path.extend_from_slice(entry.name);
        let result = if entry.kind() == Kind::Directory {
            path.push(b'/');
            let contents = self.diff(Some(entry.id), None, path);
            path.pop();
            contents.and_then(|()| self.emit(TreeOp::DeleteDirectory, path, None))
        } else {
            self.emit(TreeOp::DeleteFile, path, None)
        };
        path.truncate(len);
        result
    }
}

/// The entries of a tree in git order. A tree that git itself would refuse
/// (entries out of order or twice, a name with `/`, `.` or `..`) is an
/// error: what the policy sees must be what a checkout would see.
fn entries<'a>(
    id: Option<ObjectId>,
    data: Option<&'a [u8]>,
    path: &[u8],
) -> Result<Vec<Entry<'a>>, HookError> {
    let (Some(id), Some(data)) = (id, data) else {
        return Ok(Vec::new());
    };
    let malformed = |why: String| {
        HookError::Protocol(format!(
            "malformed tree {id} at `{}`: {why}",
            String::from_utf8_lossy(path)
        ))
    };
    let tree =
        gix::objs::TreeRef::from_bytes(data, id.kind()).map_err(|e| malformed(e.to_string()))?;
    let mut out: Vec<Entry<'a>> = Vec::with_capacity(tree.entries.len());
    for e in tree.entries {
        let name: &[u8] = e.filename.as_ref();
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(malformed(format!(
                "bad entry name {:?}",
                String::from_utf8_lossy(name)
            )));
        }
        let entry = Entry {
            name,
            mode: e.mode.kind(),
            id: e.oid.to_owned(),
        };
        if let Some(prev) = out.last() {
            if prev.git_cmp(&entry) != Ordering::Less || prev.name == entry.name {
                return Err(malformed(format!(
                    "entry {:?} is out of order or appears twice",
                    String::from_utf8_lossy(name)
                )));
            }
        }
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &'static str, mode: EntryKind) -> Entry<'static> {
        Entry {
            name: name.as_bytes(),
            mode,
            id: ObjectId::null(gix::hash::Kind::Sha1),
        }
    }

    #[test]
    fn git_order_puts_directories_after_their_prefix_files() {
        use EntryKind::{Blob, Tree};
        // git sorts "a.txt" < "a/" (since '.' < '/') and "a/" < "a0".
        let sorted = [
            entry("a.txt", Blob),
            entry("a", Tree),
            entry("a0", Blob),
            entry("b", Blob),
        ];
        for w in sorted.windows(2) {
            assert_eq!(w[0].git_cmp(&w[1]), Ordering::Less, "{:?}", w);
        }
        assert_eq!(
            entry("x", Blob).git_cmp(&entry("x", Tree)),
            Ordering::Less,
            "a file sorts before a directory of the same name"
        );
        assert_eq!(
            entry("x", Blob).git_cmp(&entry("x", EntryKind::Link)),
            Ordering::Equal
        );
    }
}

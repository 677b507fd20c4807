//! Turning ref updates into the operations that rules speak of: one ref
//! operation per updated ref, and one tree operation per changed path of
//! the net difference between the old tip's tree and the new tip's tree.

use std::collections::BTreeMap;

use gitapps_policy::{RefOp, TreeOp};
use gix::objs::tree::EntryKind;
use gix::ObjectId;

use crate::error::{GitContext, HookError};
use crate::repo::peel_to_commit;
use crate::updates::RefUpdate;

/// One changed path. `blob` is the new content of a created or modified
/// file, for size limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeChange {
    pub op: TreeOp,
    pub path: Vec<u8>,
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
struct Entry {
    mode: EntryKind,
    id: ObjectId,
}

impl Entry {
    fn kind(&self) -> Kind {
        match self.mode {
            EntryKind::Blob | EntryKind::BlobExecutable => Kind::File,
            EntryKind::Link => Kind::Symlink,
            EntryKind::Commit => Kind::Submodule,
            EntryKind::Tree => Kind::Directory,
        }
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

/// The tree changes of an update of a ref outside `refs/tags/` whose new
/// value is a commit; `None` when tree rules do not apply to it.
pub fn tree_changes(
    repo: &gix::Repository,
    update: &RefUpdate,
) -> Result<Option<Vec<TreeChange>>, HookError> {
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
    let mut out = Vec::new();
    diff_trees(repo, old_tree, Some(new_tree), &[], &mut out)?;
    Ok(Some(out))
}

/// Diff two trees (either may be absent: the empty tree) and record every
/// changed path below `prefix`. Identical subtrees are skipped by id, so a
/// one-file change in a large tree reads only the trees on its path.
pub fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    prefix: &[u8],
    out: &mut Vec<TreeChange>,
) -> Result<(), HookError> {
    if old == new {
        return Ok(());
    }
    let old_entries = match old {
        Some(id) => read_tree(repo, id, prefix)?,
        None => BTreeMap::new(),
    };
    let new_entries = match new {
        Some(id) => read_tree(repo, id, prefix)?,
        None => BTreeMap::new(),
    };
    let mut old_iter = old_entries.into_iter().peekable();
    let mut new_iter = new_entries.into_iter().peekable();
    loop {
        let (name, before, after) = match (old_iter.peek(), new_iter.peek()) {
            (None, None) => break,
            (Some((o, _)), Some((n, _))) if o == n => {
                let (name, before) = old_iter.next().expect("peeked");
                let (_, after) = new_iter.next().expect("peeked");
                (name, Some(before), Some(after))
            }
            (Some((o, _)), Some((n, _))) if o < n => {
                let (name, before) = old_iter.next().expect("peeked");
                (name, Some(before), None)
            }
            (Some(_), None) => {
                let (name, before) = old_iter.next().expect("peeked");
                (name, Some(before), None)
            }
            _ => {
                let (name, after) = new_iter.next().expect("peeked");
                (name, None, Some(after))
            }
        };
        let mut path = Vec::with_capacity(prefix.len() + name.len());
        path.extend_from_slice(prefix);
        path.extend_from_slice(&name);
        match (before, after) {
            (Some(b), Some(a)) if b.kind() == a.kind() => {
                if b.kind() == Kind::Directory {
                    if b.id != a.id {
                        path.push(b'/');
                        diff_trees(repo, Some(b.id), Some(a.id), &path, out)?;
                    }
                } else if b != a {
                    let blob = (a.kind() == Kind::File).then_some(a.id);
                    out.push(TreeChange {
                        op: TreeOp::Modify,
                        path,
                        blob,
                    });
                }
            }
            (before, after) => {
                // A path that changes kind is a delete of the old and a
                // create of the new.
                if let Some(b) = before {
                    removed(repo, b, path.clone(), out)?;
                }
                if let Some(a) = after {
                    added(repo, a, path, out)?;
                }
            }
        }
    }
    Ok(())
}

fn added(
    repo: &gix::Repository,
    entry: Entry,
    path: Vec<u8>,
    out: &mut Vec<TreeChange>,
) -> Result<(), HookError> {
    let (op, blob) = match entry.kind() {
        Kind::File => (TreeOp::CreateFile, Some(entry.id)),
        Kind::Symlink => (TreeOp::CreateSymlink, None),
        Kind::Submodule => (TreeOp::CreateSubmodule, None),
        Kind::Directory => {
            let mut prefix = path.clone();
            prefix.push(b'/');
            out.push(TreeChange {
                op: TreeOp::CreateDirectory,
                path,
                blob: None,
            });
            return diff_trees(repo, None, Some(entry.id), &prefix, out);
        }
    };
    out.push(TreeChange { op, path, blob });
    Ok(())
}

fn removed(
    repo: &gix::Repository,
    entry: Entry,
    path: Vec<u8>,
    out: &mut Vec<TreeChange>,
) -> Result<(), HookError> {
    if entry.kind() == Kind::Directory {
        let mut prefix = path.clone();
        prefix.push(b'/');
        diff_trees(repo, Some(entry.id), None, &prefix, out)?;
        out.push(TreeChange {
            op: TreeOp::DeleteDirectory,
            path,
            blob: None,
        });
    } else {
        out.push(TreeChange {
            op: TreeOp::DeleteFile,
            path,
            blob: None,
        });
    }
    Ok(())
}

/// The entries of a tree by name. A tree that git itself would refuse
/// (a name twice, a name with `/`, `.` or `..`) is an error: what the policy
/// sees must be what a checkout would see.
fn read_tree(
    repo: &gix::Repository,
    id: ObjectId,
    prefix: &[u8],
) -> Result<BTreeMap<Vec<u8>, Entry>, HookError> {
    let where_ = || String::from_utf8_lossy(prefix).into_owned();
    let tree = repo
        .find_tree(id)
        .git(format!("reading tree {id} at `{}`", where_()))?;
    let decoded = tree
        .decode()
        .git(format!("decoding tree {id} at `{}`", where_()))?;
    let mut entries = BTreeMap::new();
    for e in decoded.entries.iter() {
        let name: &[u8] = e.filename.as_ref();
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(HookError::Protocol(format!(
                "malformed tree {id} at `{}`: bad entry name {:?}",
                where_(),
                String::from_utf8_lossy(name)
            )));
        }
        let entry = Entry {
            mode: e.mode.kind(),
            id: e.oid.to_owned(),
        };
        if entries.insert(name.to_vec(), entry).is_some() {
            return Err(HookError::Protocol(format!(
                "malformed tree {id} at `{}`: entry {:?} appears twice",
                where_(),
                String::from_utf8_lossy(name)
            )));
        }
    }
    Ok(entries)
}

//! For tests, the core's and the apps': made-up user ids and items, and data
//! commits written from tree edits (with a fixed signature at time 0, so
//! that the same edits make the same commit). Not for the tools' own writes:
//! those go through [`crate::Forge::transact`].

use gix::ObjectId;

use crate::tree_reader::commit_tree;
use crate::tx::{write_commit, write_tree, TreeEdit};
use crate::{Fingerprint, ItemId, Result};

/// The user id of 40 times `c` (`'A'`: `AAAA…`).
///
/// # Panics
/// When `c` is no upper-case hex digit.
pub fn fpr(c: char) -> Fingerprint {
    Fingerprint::parse(&c.to_string().repeat(40)).expect("an upper-case hex digit")
}

/// The item `number` of [`fpr`]`(c)`.
pub fn item(c: char, number: u32) -> ItemId {
    ItemId {
        author: fpr(c),
        number,
    }
}

/// A file of `data` at `path`.
pub fn file(path: impl Into<String>, data: &str) -> TreeEdit {
    TreeEdit::File {
        path: path.into(),
        data: data.as_bytes().to_vec(),
    }
}

/// A symlink at `path` to `target`.
pub fn link(path: impl Into<String>, target: impl Into<String>) -> TreeEdit {
    TreeEdit::Symlink {
        path: path.into(),
        target: target.into(),
    }
}

/// The fixed signature of test commits.
pub fn signature() -> gix::actor::Signature {
    gix::actor::Signature {
        name: "t".into(),
        email: "t@example.org".into(),
        time: gix::date::Time {
            seconds: 0,
            offset: 0,
        },
    }
}

/// A commit (without parents: readers need none) of the tree `tree`.
pub fn commit_tree_of(repo: &gix::Repository, tree: ObjectId) -> Result<ObjectId> {
    write_commit(repo, tree, &[], "test", signature())
}

/// A commit of `edits` on the tree of the commit `base` (on nothing when `None`).
pub fn commit(
    repo: &gix::Repository,
    base: Option<ObjectId>,
    edits: &[TreeEdit],
) -> Result<ObjectId> {
    let base = base.map(|c| commit_tree(repo, c)).transpose()?;
    commit_tree_of(repo, write_tree(repo, base, edits)?)
}

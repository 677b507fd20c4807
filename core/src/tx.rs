//! A change to the data branch, built in memory: tree edits plus extra ref updates.
//!
//! A [`Tx`] is produced by a closure that sees the app's current snapshot; when the push
//! loses a race, the closure runs again on the new tip (see [`crate::Forge::transact`]).

use gix::objs::tree::EntryKind;
use gix::ObjectId;

use crate::error::GitResultExt;
use crate::Result;

/// One edit of the data branch's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeEdit {
    /// Create or replace a regular file.
    File { path: String, data: Vec<u8> },
    /// Create or replace a symlink.
    Symlink { path: String, target: String },
    /// Remove a file, symlink or directory; empty parent directories disappear.
    Remove { path: String },
}

/// An extra ref the push moves (a revision tag, a merge's target branch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    /// Full name on the remote, e.g. `refs/tags/apps/merge-reqs/<id>/1-v1`.
    pub name: String,
    pub id: ObjectId,
}

/// A change in the making.
#[derive(Clone, Debug, Default)]
pub struct Tx {
    pub edits: Vec<TreeEdit>,
    pub refs: Vec<RefUpdate>,
    /// The data commit's message (a summary line is enough).
    pub message: String,
}

impl Tx {
    pub fn file(&mut self, path: impl Into<String>, data: impl Into<Vec<u8>>) -> &mut Self {
        self.edits.push(TreeEdit::File {
            path: path.into(),
            data: data.into(),
        });
        self
    }

    pub fn symlink(&mut self, path: impl Into<String>, target: impl Into<String>) -> &mut Self {
        self.edits.push(TreeEdit::Symlink {
            path: path.into(),
            target: target.into(),
        });
        self
    }

    pub fn remove(&mut self, path: impl Into<String>) -> &mut Self {
        self.edits.push(TreeEdit::Remove { path: path.into() });
        self
    }

    pub fn update_ref(&mut self, name: impl Into<String>, id: ObjectId) -> &mut Self {
        self.refs.push(RefUpdate {
            name: name.into(),
            id,
        });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty() && self.refs.is_empty()
    }
}

/// Apply `edits` to the tree `base` (the empty tree when `None`) in the object
/// database and return the new tree's id.
pub fn write_tree(
    repo: &gix::Repository,
    base: Option<ObjectId>,
    edits: &[TreeEdit],
) -> Result<ObjectId> {
    let base = base.unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
    let mut editor = repo.edit_tree(base).git()?;
    for edit in edits {
        match edit {
            TreeEdit::File { path, data } => {
                let blob = repo.write_blob(data).git()?.detach();
                editor.upsert(path.as_str(), EntryKind::Blob, blob).git()?;
            }
            TreeEdit::Symlink { path, target } => {
                let blob = repo.write_blob(target.as_bytes()).git()?.detach();
                editor.upsert(path.as_str(), EntryKind::Link, blob).git()?;
            }
            TreeEdit::Remove { path } => {
                editor.remove(path.as_str()).git()?;
            }
        }
    }
    Ok(editor.write().git()?.detach())
}

/// A signature for commits the tools write: `user.name`/`user.email`, else
/// the name and e-mail of the signing key (`fallback`), at `time`.
pub fn signature(
    repo: &gix::Repository,
    fallback: (&str, &str),
    time: chrono::DateTime<chrono::Utc>,
) -> gix::actor::Signature {
    let config = repo.config_snapshot();
    let set = |key: &str| {
        config
            .string(key)
            .map(|s| s.to_string())
            .filter(|s| !s.trim().is_empty())
    };
    let name = set("user.name").unwrap_or_else(|| fallback.0.to_owned());
    let email = set("user.email").unwrap_or_else(|| fallback.1.to_owned());
    gix::actor::Signature {
        name: name.into(),
        email: email.into(),
        time: gix::date::Time {
            seconds: time.timestamp(),
            offset: 0,
        },
    }
}

/// Write a commit object (no ref is touched).
pub fn write_commit(
    repo: &gix::Repository,
    tree: ObjectId,
    parents: &[ObjectId],
    message: &str,
    signature: gix::actor::Signature,
) -> Result<ObjectId> {
    let commit = gix::objs::Commit {
        tree,
        parents: parents.iter().copied().collect(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    Ok(repo.write_object(&commit).git()?.detach())
}

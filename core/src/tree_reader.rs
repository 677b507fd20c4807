//! Reading trees and blobs of a data branch through gix's object database, with
//! the warnings about data that does not follow the layout collected on the way
//! (malformed data is skipped, never fatal).

use std::collections::HashMap;

use gix::objs::FindExt;
use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::error::GitResultExt;
use crate::Result;

/// Something on a data branch that does not follow the layout, and was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// One entry of a tree.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub mode: gix::objs::tree::EntryMode,
    pub id: ObjectId,
}

/// The tree of the commit `commit`.
pub fn commit_tree(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId> {
    Ok(repo.find_commit(commit).git()?.tree_id().git()?.detach())
}

/// The directory `dir` (a `/`-separated path) of the tree `tree`: `None` when
/// either is missing or `dir` is no directory. A tree id that is not in the
/// repository is an error, never an empty directory.
pub fn subtree<'r>(
    repo: &'r gix::Repository,
    tree: Option<ObjectId>,
    dir: &str,
) -> Result<Option<gix::Tree<'r>>> {
    let Some(tree) = tree else {
        return Ok(None);
    };
    let tree = repo.find_tree(tree).git()?;
    let Some(entry) = tree.lookup_entry_by_path(dir).git()? else {
        return Ok(None);
    };
    if !entry.mode().is_tree() {
        return Ok(None);
    }
    Ok(Some(entry.object().git()?.try_into_tree().git()?))
}

/// Trees, blobs and symlink targets of one repository, and the warnings so far.
pub struct TreeReader<'r> {
    repo: &'r gix::Repository,
    buf: Vec<u8>,
    links: HashMap<ObjectId, String>,
    pub warnings: Vec<Warning>,
}

impl<'r> TreeReader<'r> {
    pub fn new(repo: &'r gix::Repository) -> Self {
        TreeReader {
            repo,
            buf: Vec::new(),
            links: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn tree(&mut self, id: &ObjectId) -> Result<Vec<Entry>> {
        let tree = self.repo.objects.find_tree(id, &mut self.buf).git()?;
        Ok(tree
            .entries
            .iter()
            .map(|e| Entry {
                name: String::from_utf8_lossy(e.filename).into_owned(),
                mode: e.mode,
                id: e.oid.to_owned(),
            })
            .collect())
    }

    pub fn blob(&mut self, id: &ObjectId) -> Result<Vec<u8>> {
        Ok(self
            .repo
            .objects
            .find_blob(id, &mut self.buf)
            .git()?
            .data
            .to_vec())
    }

    /// A symlink's target, as text (cached: label links share targets).
    pub fn link(&mut self, id: &ObjectId) -> Result<String> {
        if let Some(t) = self.links.get(id) {
            return Ok(t.clone());
        }
        let target = String::from_utf8_lossy(&self.blob(id)?).into_owned();
        self.links.insert(*id, target.clone());
        Ok(target)
    }
}

//! Adding to a thread in a change ([`Tx`]): new files only, each under its
//! writer's own id, numbered after whatever is there (malformed names included,
//! so that no file is ever written twice).

use gix::ObjectId;

use super::comment::Comment;
use super::edit::{self, Edit, Target};
use super::vote::{self, Verdict, Vote};
use crate::error::GitResultExt;
use crate::tx::Tx;
use crate::Fingerprint;
use crate::{clock, Result};

/// The names of the entries of directory `dir` in the data tree `tree`:
/// empty when either is missing (a tree id that is not in the repository is
/// an error, never an empty directory).
pub fn names_in(repo: &gix::Repository, tree: Option<ObjectId>, dir: &str) -> Result<Vec<String>> {
    let Some(dir) = crate::tree_reader::subtree(repo, tree, dir)? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for e in dir.iter() {
        names.push(e.git()?.filename().to_string());
    }
    Ok(names)
}

/// One more than the highest number among `names` (0 when there is none):
/// what the next file of a numbered directory is called. Names that are not
/// numbers are ignored; a malformed number still takes its place.
pub fn next_free<'a>(names: impl IntoIterator<Item = &'a str>) -> u32 {
    names
        .into_iter()
        .filter_map(|n| n.parse::<u32>().ok())
        .map(|j| j.saturating_add(1))
        .max()
        .unwrap_or(0)
}

/// Comment `index` of `who`, written now (`index` from the snapshot's slots).
pub fn add_comment(
    tx: &mut Tx,
    thread: &str,
    who: &Fingerprint,
    index: u32,
    headers: &[(String, String)],
    body: &str,
) -> Result<()> {
    let text = Comment::render(&clock::now()?, headers, body);
    tx.file(super::comment_path(thread, who, index), text);
    Ok(())
}

/// A new version of `who`'s `target` (`None`: a retraction), in the data tree
/// `tree`; returns its version number (from 1).
pub fn add_edit(
    tx: &mut Tx,
    repo: &gix::Repository,
    tree: Option<ObjectId>,
    thread: &str,
    who: &Fingerprint,
    target: Target,
    text: Option<&str>,
) -> Result<u32> {
    let names = names_in(repo, tree, &edit::dir(thread, who, target))?;
    let version = next_free(names.iter().map(String::as_str)).max(1);
    tx.file(
        edit::path(thread, who, target, version),
        Edit::render(&clock::now()?, text),
    );
    Ok(version)
}

/// A new vote of `who` on `revision`; returns its index (from 0).
#[allow(clippy::too_many_arguments)]
pub fn add_vote(
    tx: &mut Tx,
    repo: &gix::Repository,
    tree: Option<ObjectId>,
    thread: &str,
    who: &Fingerprint,
    revision: u32,
    verdict: Verdict,
    body: &str,
) -> Result<u32> {
    let names = names_in(repo, tree, &vote::dir(thread, who))?;
    let index = next_free(names.iter().map(String::as_str));
    tx.file(
        vote::path(thread, who, index),
        Vote::render(&clock::now()?, revision, verdict, body),
    );
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_highest() {
        assert_eq!(next_free(["0", "1", "x", "07"]), 8);
        assert_eq!(next_free([]), 0);
    }
}

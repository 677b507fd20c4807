//! Writing the few objects the server itself makes: the initial
//! access-control branch and the audit log's commits.

use std::collections::BTreeMap;

use gix::objs::tree::{Entry, EntryKind};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;
use gix::ObjectId;

use crate::error::{GitContext, HookError};

/// The identity of commits the server writes.
pub fn server_signature() -> gix::actor::Signature {
    gix::actor::Signature {
        name: "gitapps-hook".into(),
        email: "gitapps-hook@localhost".into(),
        time: gix::date::Time::now_utc(),
    }
}

/// A tree holding `files` (paths with `/`, regular files), built bottom-up.
pub fn write_tree(
    repo: &gix::Repository,
    files: &[(String, Vec<u8>)],
) -> Result<ObjectId, HookError> {
    enum Node {
        File(ObjectId),
        Dir(BTreeMap<String, Node>),
    }
    let mut root = BTreeMap::new();
    for (path, content) in files {
        let blob = repo
            .write_blob(content)
            .git(format!("writing {path}"))?
            .detach();
        let mut parts: Vec<&str> = path.split('/').collect();
        let file = parts.pop().unwrap_or_default();
        let mut dir = &mut root;
        for part in parts {
            let node = dir
                .entry(part.to_owned())
                .or_insert_with(|| Node::Dir(BTreeMap::new()));
            dir = match node {
                Node::Dir(d) => d,
                Node::File(_) => {
                    return Err(HookError::Usage(format!(
                        "{path}: a file stands where a directory should"
                    )));
                }
            };
        }
        dir.insert(file.to_owned(), Node::File(blob));
    }
    fn write(repo: &gix::Repository, dir: &BTreeMap<String, Node>) -> Result<ObjectId, HookError> {
        let mut entries = Vec::with_capacity(dir.len());
        for (name, node) in dir {
            let (mode, oid) = match node {
                Node::File(id) => (EntryKind::Blob, *id),
                Node::Dir(sub) => (EntryKind::Tree, write(repo, sub)?),
            };
            entries.push(Entry {
                mode: mode.into(),
                filename: name.as_str().into(),
                oid,
            });
        }
        // git orders directories as if their names ended in `/`.
        entries.sort();
        let tree = gix::objs::Tree { entries };
        Ok(repo.write_object(&tree).git("writing a tree")?.detach())
    }
    write(repo, &root)
}

/// Write a commit of `tree` on top of `parent` and move `refname` to it,
/// provided the ref still points at `parent` (compare-and-swap).
pub fn commit_to_ref(
    repo: &gix::Repository,
    refname: &str,
    tree: ObjectId,
    parent: Option<ObjectId>,
    message: &str,
) -> Result<ObjectId, HookError> {
    let signature = server_signature();
    let commit = gix::objs::Commit {
        tree,
        parents: parent.into_iter().collect(),
        author: signature.clone(),
        committer: signature.clone(),
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    let id = repo.write_object(&commit).git("writing a commit")?.detach();
    let expected = match parent {
        Some(p) => PreviousValue::MustExistAndMatch(Target::Object(p)),
        None => PreviousValue::MustNotExist,
    };
    let name = refname.try_into().git(format!("ref name {refname}"))?;
    // Name the committer of the ref update ourselves: without one gix asks
    // for the local time zone, which can mean scanning the zoneinfo
    // database, several milliseconds on every push.
    let mut time = gix::date::parse::TimeBuf::default();
    repo.edit_references_as(
        [RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: message.lines().next().unwrap_or_default().into(),
                },
                expected,
                new: Target::Object(id),
            },
            name,
            deref: false,
        }],
        Some(signature.to_ref(&mut time)),
    )
    .git(format!("updating {refname}"))?;
    Ok(id)
}

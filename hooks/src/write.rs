//! Writing the few objects and refs the server itself makes: the initial
//! access-control branch and the audit log's records. Everything is written
//! into the main object store (never git's quarantine), with the
//! permissions `core.sharedRepository` asks for: a loose object's fan-out
//! directory (`objects/ab/`) made by one user of a group must stay
//! writable by the others, or git's own writes there fail later.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gix::objs::tree::{Entry, EntryKind};
use gix::objs::{Write as _, WriteTo};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;
use gix::ObjectId;

use crate::error::{GitContext, HookError};
use crate::fsmode::Shared;

/// Set the modification time of the loose object `file` to now, if it
/// exists and this process may; whether it did.
fn freshen(file: &std::path::Path) -> bool {
    std::fs::File::open(file)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .is_ok()
}

/// The identity of commits the server writes.
pub fn server_signature() -> gix::actor::Signature {
    gix::actor::Signature {
        name: "gitapps-hook".into(),
        email: "gitapps-hook@localhost".into(),
        time: gix::date::Time::now_utc(),
    }
}

/// Writes objects into a repository's own object store, as git would in a
/// shared repository.
pub struct Writer<'r> {
    pub repo: &'r gix::Repository,
    pub shared: Shared,
    objects: PathBuf,
}

impl<'r> Writer<'r> {
    pub fn new(repo: &'r gix::Repository) -> Self {
        Writer {
            repo,
            shared: Shared::of(repo),
            objects: repo.common_dir().join("objects"),
        }
    }

    /// Write an object of `kind` whose bytes are `data`; returns its id.
    pub fn write_buf(&self, kind: gix::object::Kind, data: &[u8]) -> Result<ObjectId, HookError> {
        let id = gix::objs::compute_hash(self.repo.object_hash(), kind, data)
            .git("hashing an object")?;
        let hex = id.to_hex().to_string();
        let fan_out = self.objects.join(&hex[..2]);
        let file = fan_out.join(&hex[2..]);
        // Most of a record's objects exist already (the pusher, the
        // settings, the keys: the same as the last record's), and making a
        // file is the dearest thing a push's record does. As git does, an
        // object that exists loose is freshened instead (so that a gc
        // pruning old unreachable objects keeps it), and written again only
        // when that fails (a file of another member of a shared group).
        if freshen(&file) {
            return Ok(id);
        }
        // Made here with the shared permissions, before gix makes it
        // with the umask's.
        self.shared.create_dir_all(&fan_out)?;
        self.repo
            .objects
            .write_buf(kind, data)
            .git(format!("writing object {id}"))?;
        if self.shared != Shared::Umask && file.exists() {
            self.shared.apply(&file)?;
        }
        Ok(id)
    }

    pub fn blob(&self, data: impl AsRef<[u8]>) -> Result<ObjectId, HookError> {
        self.write_buf(gix::object::Kind::Blob, data.as_ref())
    }

    pub fn object(&self, object: &impl WriteTo) -> Result<ObjectId, HookError> {
        let mut data = Vec::new();
        object.write_to(&mut data).git("serialising an object")?;
        self.write_buf(object.kind(), &data)
    }

    /// A tree of `entries` (names and ids), sorted as git sorts them.
    pub fn tree(&self, mut entries: Vec<Entry>) -> Result<ObjectId, HookError> {
        // git orders directories as if their names ended in `/`.
        entries.sort();
        self.object(&gix::objs::Tree { entries })
    }

    /// A commit of `tree` with `parents`, by the server.
    pub fn commit(
        &self,
        tree: ObjectId,
        parents: Vec<ObjectId>,
        message: &str,
    ) -> Result<ObjectId, HookError> {
        let signature = server_signature();
        self.object(&gix::objs::Commit {
            tree,
            parents: parents.into(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        })
    }

    /// A tree holding `files` (paths with `/`, regular files), built bottom-up.
    pub fn write_tree(&self, files: &[(String, Vec<u8>)]) -> Result<ObjectId, HookError> {
        enum Node {
            File(ObjectId),
            Dir(BTreeMap<String, Node>),
        }
        let mut root = BTreeMap::new();
        for (path, content) in files {
            let blob = self.blob(content)?;
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
        fn write(w: &Writer<'_>, dir: &BTreeMap<String, Node>) -> Result<ObjectId, HookError> {
            let mut entries = Vec::with_capacity(dir.len());
            for (name, node) in dir {
                let (mode, oid) = match node {
                    Node::File(id) => (EntryKind::Blob, *id),
                    Node::Dir(sub) => (EntryKind::Tree, write(w, sub)?),
                };
                entries.push(Entry {
                    mode: mode.into(),
                    filename: name.as_str().into(),
                    oid,
                });
            }
            w.tree(entries)
        }
        write(self, &root)
    }

    /// Move `refname` to `new`, provided it still points at `expected`
    /// (`None`: provided it does not exist): a compare-and-swap.
    pub fn move_ref(
        &self,
        refname: &str,
        expected: Option<ObjectId>,
        new: ObjectId,
        message: &str,
    ) -> Result<(), HookError> {
        let signature = server_signature();
        let expected = match expected {
            Some(p) => PreviousValue::MustExistAndMatch(Target::Object(p)),
            None => PreviousValue::MustNotExist,
        };
        let name = refname.try_into().git(format!("ref name {refname}"))?;
        // The ref's directories, as git makes them in a shared repository.
        let path = self.repo.common_dir().join(refname);
        if let Some(dir) = path.parent() {
            self.shared.create_dir_all(dir)?;
        }
        // Name the committer of the ref update ourselves: without one gix asks
        // for the local time zone, which can mean scanning the zoneinfo
        // database, several milliseconds on every push.
        let mut time = gix::date::parse::TimeBuf::default();
        self.repo
            .edit_references_as(
                [RefEdit {
                    change: Change::Update {
                        log: LogChange {
                            mode: RefLog::AndReference,
                            force_create_reflog: false,
                            message: message.lines().next().unwrap_or_default().into(),
                        },
                        expected,
                        new: Target::Object(new),
                    },
                    name,
                    deref: false,
                }],
                Some(signature.to_ref(&mut time)),
            )
            .git(format!("updating {refname}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object that exists loose is not written again but freshened, as
    /// git does, so that a gc pruning old unreachable objects between the
    /// write and the ref that makes it reachable keeps it.
    #[test]
    fn an_existing_loose_object_is_freshened_not_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = gix::init_bare(dir.path()).expect("init");
        let w = Writer::new(&repo);
        let id = w.blob(b"hello\n").expect("write");
        let hex = id.to_hex().to_string();
        let file = dir.path().join("objects").join(&hex[..2]).join(&hex[2..]);
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::open(&file)
            .and_then(|f| f.set_modified(old))
            .expect("age the object");
        let inode = |p: &std::path::Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p).expect("stat").ino()
        };
        let before = inode(&file);
        assert_eq!(w.blob(b"hello\n").expect("write again"), id);
        let meta = std::fs::metadata(&file).expect("stat");
        assert!(meta.modified().expect("mtime") > old, "freshened");
        assert_eq!(inode(&file), before, "the same file, not a new one");
        let found = repo.find_object(id).expect("readable");
        assert_eq!(&*found.data, b"hello\n");
    }
}

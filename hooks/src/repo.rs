//! Opening the server repository, and reading the access-control branch.

use std::io::Write;
use std::path::Path;

use gix::objs::tree::EntryKind;
use gix::ObjectId;

use crate::env::ObjectDirs;
use crate::error::{GitContext, HookError, IoContext};

/// The repository, opened so that it sees objects still in git's quarantine.
pub struct ServerRepo {
    pub repo: gix::Repository,
    // Holds the temporary objects directory alive while `repo` uses it.
    _quarantine_view: Option<tempfile::TempDir>,
}

impl ServerRepo {
    /// Open `git_dir`. During pre-receive git keeps the pushed objects in a
    /// quarantine directory named by `GIT_OBJECT_DIRECTORY`, with the real
    /// object store in `GIT_ALTERNATE_OBJECT_DIRECTORIES`. gix reads neither
    /// variable, so we give it a temporary object directory whose
    /// `info/alternates` lists both: every object, pushed or old, is found.
    pub fn open(git_dir: &Path, objects: &ObjectDirs) -> Result<Self, HookError> {
        let mut repo = gix::open_opts(git_dir, gix::open::Options::isolated())
            .git(format!("opening repository {}", git_dir.display()))?;
        let Some(quarantine) = &objects.object_directory else {
            return Ok(ServerRepo {
                repo,
                _quarantine_view: None,
            });
        };
        let view = tempfile::Builder::new()
            .prefix("gitapps-objects-")
            .tempdir_in(scratch_dir())
            .io("creating a temporary object directory")?;
        std::fs::create_dir(view.path().join("info")).io("creating info/")?;
        let mut alternates = std::fs::File::create(view.path().join("info/alternates"))
            .io("writing info/alternates")?;
        let own = repo.common_dir().join("objects");
        for dir in std::iter::once(quarantine)
            .chain(objects.alternates.iter())
            .chain(std::iter::once(&own))
        {
            let absolute = if dir.is_relative() {
                git_dir.join(dir)
            } else {
                dir.clone()
            };
            writeln!(alternates, "{}", absolute.display()).io("writing info/alternates")?;
        }
        drop(alternates);
        let kind = repo.object_hash();
        let handle = gix::odb::at(view.path(), kind).io("opening the quarantined objects")?;
        repo.objects = gix::odb::memory::Proxy::new(handle, kind);
        Ok(ServerRepo {
            repo,
            _quarantine_view: Some(view),
        })
    }
}

/// Where the per-push object view goes: `$TMPDIR` when the admin set it,
/// else a memory file system when there is one (creating and removing a
/// directory on a disk, with `discard`, costs milliseconds on every push),
/// else the system's temporary directory.
fn scratch_dir() -> std::path::PathBuf {
    if std::env::var_os("TMPDIR").is_some() {
        return std::env::temp_dir();
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// The files of the access-control branch that matter: the policy
/// (`refs/`, `branches/`, `groups/`), read, and the keys (`keys/`), by blob
/// id: a server may hold thousands of keys and a push needs one.
#[derive(Clone, Debug, Default)]
pub struct BranchFiles {
    pub files: Vec<(String, Vec<u8>)>,
    pub keys: Vec<(String, ObjectId)>,
}

impl BranchFiles {
    /// Read the policy files of `commit`, and list its key files.
    pub fn read(repo: &gix::Repository, commit: ObjectId) -> Result<Self, HookError> {
        let tree = commit_tree(repo, commit)?;
        let root = repo
            .find_tree(tree)
            .git("reading the access-control tree")?;
        let mut files = Vec::new();
        let mut keys = Vec::new();
        let root = root.decode().git("decoding the access-control tree")?;
        for dir in root.entries.iter() {
            let name = dir.filename.to_string();
            if !matches!(name.as_str(), "refs" | "branches" | "groups" | "keys")
                || dir.mode.kind() != EntryKind::Tree
            {
                continue;
            }
            let sub = repo
                .find_tree(dir.oid.to_owned())
                .git(format!("reading {name}/"))?;
            let sub = sub.decode().git(format!("decoding {name}/"))?;
            for file in sub.entries.iter() {
                if !matches!(
                    file.mode.kind(),
                    EntryKind::Blob | EntryKind::BlobExecutable
                ) {
                    continue;
                }
                let path = format!("{name}/{}", file.filename);
                if name == "keys" {
                    keys.push((path, file.oid.to_owned()));
                    continue;
                }
                let blob = repo
                    .find_object(file.oid.to_owned())
                    .git(format!("reading {path}"))?;
                files.push((path, blob.data.clone()));
            }
        }
        Ok(BranchFiles { files, keys })
    }

    pub fn policy(&self) -> Result<gitapps_policy::Policy, gitapps_policy::Diagnostics> {
        gitapps_policy::Policy::parse(
            self.files
                .iter()
                .map(|(path, content)| gitapps_policy::PolicyFile { path, content }),
        )
    }

    /// The content of the key file at `path`, if there is one.
    pub fn key_bytes(
        &self,
        repo: &gix::Repository,
        path: &str,
    ) -> Result<Option<Vec<u8>>, HookError> {
        let Some((_, id)) = self.keys.iter().find(|(p, _)| p == path) else {
            return Ok(None);
        };
        let blob = repo.find_object(*id).git(format!("reading {path}"))?;
        Ok(Some(blob.data.clone()))
    }
}

/// The tree of a commit (peeling annotated tags), or an error if `id` is no commit.
pub fn commit_tree(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, HookError> {
    Ok(peel_to_commit(repo, id)?
        .ok_or_else(|| HookError::Protocol(format!("{id} is not a commit")))?
        .1)
}

/// `Some((commit, tree))` when `id` is a commit or a tag of one.
pub fn peel_to_commit(
    repo: &gix::Repository,
    id: ObjectId,
) -> Result<Option<(ObjectId, ObjectId)>, HookError> {
    let object = repo.find_object(id).git(format!("reading object {id}"))?;
    let object = object
        .peel_tags_to_end()
        .git(format!("peeling object {id}"))?;
    if object.kind != gix::object::Kind::Commit {
        return Ok(None);
    }
    let commit_id = object.id;
    let tree = object
        .into_commit()
        .tree_id()
        .git(format!("reading commit {commit_id}"))?;
    Ok(Some((commit_id, tree.detach())))
}

/// The current value of a ref, `None` when it does not exist.
pub fn ref_target(repo: &gix::Repository, name: &str) -> Result<Option<ObjectId>, HookError> {
    let found = repo
        .try_find_reference(name)
        .git(format!("reading ref {name}"))?;
    match found {
        None => Ok(None),
        // The direct target, as git hands it to hooks: a tag ref names
        // the tag object, not the commit it points to.
        Some(mut r) => match r.target().try_id() {
            Some(id) => Ok(Some(id.to_owned())),
            None => Ok(Some(
                r.peel_to_id()
                    .git(format!("resolving ref {name}"))?
                    .detach(),
            )),
        },
    }
}

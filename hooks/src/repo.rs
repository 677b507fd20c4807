//! Opening the server repository, and reading the access-control branch.

use std::path::Path;

use gix::ObjectId;

use crate::config::MAX_POLICY_FILE_SIZE_KEY;
use crate::env::ObjectDirs;
use crate::error::{GitContext, HookError, IoContext};
use crate::tree::{self, Mode};

/// How much memory the objects read during one push may keep, decoded: a
/// push of many branches off one base diffs the same subtrees again for
/// each (a new branch is judged against the empty tree), and each tree is
/// then inflated once, not once per branch. Trees of 50,000 files take a
/// few MiB.
pub(crate) const OBJECT_CACHE_BYTES: usize = 16 << 20;

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
            repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
            return Ok(ServerRepo {
                repo,
                _quarantine_view: None,
            });
        };
        // Every path absolute: the view lives elsewhere, and git runs
        // hooks with GIT_DIR=`.`.
        let absolute =
            |dir: &Path| std::path::absolute(dir).io(format!("resolving {}", dir.display()));
        let own = absolute(&repo.common_dir().join("objects"))?;
        let mut dirs: Vec<std::path::PathBuf> = Vec::new();
        for dir in std::iter::once(quarantine).chain(objects.alternates.iter()) {
            dirs.push(absolute(&git_dir.join(dir))?);
        }
        dirs.push(own.clone());
        let fallback = repo.common_dir().join("gitapps").join("tmp");
        let view = object_view(&dirs, &own, &fallback, crate::fsmode::Shared::of(&repo))?;
        let kind = repo.object_hash();
        let handle = gix::odb::at(view.path(), kind).io("opening the quarantined objects")?;
        repo.objects = gix::odb::memory::Proxy::new(handle, kind);
        repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        Ok(ServerRepo {
            repo,
            _quarantine_view: Some(view),
        })
    }
}

/// The name of every object view starts with this, then the pid of the
/// hook that made it.
const VIEW_PREFIX: &str = "gitapps-objects-";

/// A temporary object directory whose `info/alternates` lists `dirs`. It
/// goes to `$TMPDIR` when the admin set it, else to a memory file system
/// when there is one (creating and removing a directory on a disk, with
/// `discard`, costs milliseconds on every push), else to the system's
/// temporary directory; where that fails (read-only, full), to
/// `fallback` (the repository's own `gitapps/tmp`). Views left by killed
/// hooks are removed on the way.
fn object_view(
    dirs: &[std::path::PathBuf],
    own: &Path,
    fallback: &Path,
    shared: crate::fsmode::Shared,
) -> Result<tempfile::TempDir, HookError> {
    let mut first_error = None;
    for (i, place) in [scratch_dir(), fallback.to_path_buf()].iter().enumerate() {
        if i > 0 && !place.is_dir() {
            shared.create_dir_all(place)?;
        }
        sweep_dead_views(place);
        match make_view(place, dirs, own) {
            Ok(view) => return Ok(view),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.expect("two places were tried"))
}

/// The view in `place`: `dirs` as alternates, and the commit-graph of
/// `own` (the repository's objects directory) linked, since gix looks for
/// it next to the objects it reads; without it every ancestry check of the
/// push would inflate commits one by one.
fn make_view(
    place: &Path,
    dirs: &[std::path::PathBuf],
    own: &Path,
) -> Result<tempfile::TempDir, HookError> {
    let view = tempfile::Builder::new()
        .prefix(&format!("{VIEW_PREFIX}{}-", std::process::id()))
        .tempdir_in(place)
        .io(format!(
            "creating a temporary object directory in {}",
            place.display()
        ))?;
    std::fs::create_dir(view.path().join("info")).io("creating info/")?;
    let mut text = String::new();
    for dir in dirs {
        text.push_str(&format!("{}\n", dir.display()));
    }
    std::fs::write(view.path().join("info/alternates"), text).io(format!(
        "writing info/alternates in {}",
        view.path().display()
    ))?;
    for graph in ["commit-graph", "commit-graphs"] {
        let target = own.join("info").join(graph);
        if target.exists() {
            std::os::unix::fs::symlink(&target, view.path().join("info").join(graph))
                .io("linking the commit-graph into the object view")?;
        }
    }
    Ok(view)
}

/// Remove the object views in `place` whose hook is gone (killed: a hook
/// that returns removes its own). A view names its hook's pid; one whose
/// process lives (or whose pid was reused) is left alone. Views of other
/// users cannot be removed and are skipped; where `/proc` is not mounted,
/// nothing is removed.
fn sweep_dead_views(place: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(place) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(VIEW_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `$TMPDIR` when the admin set it, else `/dev/shm` when there is one, else
/// the system's temporary directory.
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

/// The trees of an access-control commit that the hook reads: the policy's
/// directories (`refs/`, `branches/`, `groups/`) and `keys/`, found with
/// one tree read. They name the policy exactly: a cache keyed by them is
/// never stale (see [`crate::policycache`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BranchTrees {
    /// `(name, tree)` of the policy's directories, in the root tree's order.
    pub policy: Vec<(&'static str, ObjectId)>,
    /// The `keys/` directory's tree, if there is one.
    pub keys_tree: Option<ObjectId>,
}

impl BranchTrees {
    /// The trees of `commit`'s root, read as git reads them.
    pub fn read(repo: &gix::Repository, commit: ObjectId) -> Result<Self, HookError> {
        let root = commit_tree(repo, commit)?;
        let mut trees = BranchTrees::default();
        let root_data = read_tree(repo, root, "the access-control tree")?;
        for dir in tree::entries(&root_data, repo.object_hash())
            .map_err(|e| malformed_tree(root, "the access-control tree", e))?
        {
            if dir.mode != Mode::Directory {
                continue;
            }
            match dir.name {
                b"keys" => trees.keys_tree = Some(dir.id),
                b"refs" => trees.policy.push(("refs", dir.id)),
                b"branches" => trees.policy.push(("branches", dir.id)),
                b"groups" => trees.policy.push(("groups", dir.id)),
                _ => {}
            }
        }
        Ok(trees)
    }
}

/// The files of the access-control branch that matter: the policy
/// (`refs/`, `branches/`, `groups/`), read, and the key files (`keys/`),
/// only named by their tree: a server may hold thousands of keys and a push
/// needs one (see [`crate::keyindex`]).
#[derive(Clone, Debug, Default)]
pub struct BranchFiles {
    pub files: Vec<(String, Vec<u8>)>,
    /// The `keys/` directory's tree, if there is one.
    pub keys_tree: Option<ObjectId>,
}

impl BranchFiles {
    /// Read the policy files of `commit` (each at most `max_policy_file`
    /// bytes), and find its `keys/` tree. Entries are read as git reads
    /// them.
    pub fn read(
        repo: &gix::Repository,
        commit: ObjectId,
        max_policy_file: u64,
    ) -> Result<Self, HookError> {
        Self::read_trees(repo, &BranchTrees::read(repo, commit)?, max_policy_file)
    }

    /// Read the policy files of `trees` (each at most `max_policy_file` bytes).
    pub fn read_trees(
        repo: &gix::Repository,
        trees: &BranchTrees,
        max_policy_file: u64,
    ) -> Result<Self, HookError> {
        let mut files = Vec::new();
        for &(name, id) in &trees.policy {
            let sub_data = read_tree(repo, id, &format!("{name}/"))?;
            for file in tree::entries(&sub_data, repo.object_hash())
                .map_err(|e| malformed_tree(id, name, e))?
            {
                if !matches!(file.mode, Mode::File | Mode::Executable) {
                    continue;
                }
                let path = format!("{name}/{}", String::from_utf8_lossy(file.name));
                if !gitapps_policy::Policy::is_policy_path(&path) {
                    continue;
                }
                let content = read_blob_capped(repo, file.id, max_policy_file)?.map_err(|size| {
                    HookError::Limit(format!(
                        "{path} is {size} bytes, over {MAX_POLICY_FILE_SIZE_KEY} = {max_policy_file}: a policy file is a few rules"
                    ))
                })?;
                files.push((path, content));
            }
        }
        Ok(BranchFiles {
            files,
            keys_tree: trees.keys_tree,
        })
    }

    pub fn policy(&self) -> Result<gitapps_policy::Policy, gitapps_policy::Diagnostics> {
        gitapps_policy::Policy::parse(
            self.files
                .iter()
                .map(|(path, content)| gitapps_policy::PolicyFile { path, content }),
        )
    }

    /// Every file in `keys/` (path, blob), as git reads the tree. Costs one
    /// tree read: for the pushes that change keys, not for every push.
    pub fn key_files(&self, repo: &gix::Repository) -> Result<Vec<(String, ObjectId)>, HookError> {
        key_files_of(repo, self.keys_tree)
    }

    /// The key file at `path` (`keys/<FPR>.asc`), if there is one: its blob.
    pub fn key_file(
        &self,
        repo: &gix::Repository,
        path: &str,
    ) -> Result<Option<ObjectId>, HookError> {
        Ok(self
            .key_files(repo)?
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, id)| id))
    }
}

/// The files (regular or executable) of the `keys/` tree `keys`, as
/// `keys/<name>` and their blobs.
pub fn key_files_of(
    repo: &gix::Repository,
    keys: Option<ObjectId>,
) -> Result<Vec<(String, ObjectId)>, HookError> {
    let Some(keys) = keys else {
        return Ok(Vec::new());
    };
    let data = read_tree(repo, keys, "keys/")?;
    Ok(tree::entries(&data, repo.object_hash())
        .map_err(|e| malformed_tree(keys, "keys", e))?
        .into_iter()
        .filter(|e| matches!(e.mode, Mode::File | Mode::Executable))
        .map(|e| (format!("keys/{}", String::from_utf8_lossy(e.name)), e.id))
        .collect())
}

fn read_tree(repo: &gix::Repository, id: ObjectId, what: &str) -> Result<Vec<u8>, HookError> {
    Ok(repo
        .find_tree(id)
        .git(format!("reading {what} ({id})"))?
        .detach()
        .data)
}

fn malformed_tree(id: ObjectId, what: &str, e: tree::TreeError) -> HookError {
    HookError::Malformed(format!("tree {id} ({what}): {e}"))
}

/// The key file `path` whose blob is `blob`, checked within `limits`
/// ([`crate::keyfile::check_key_file`]); a file over the size limit is not
/// read. The inner `Err` says what is wrong with the file.
pub fn read_key_file(
    repo: &gix::Repository,
    path: &str,
    blob: ObjectId,
    limits: &crate::config::Limits,
) -> Result<Result<sequoia_openpgp::Cert, String>, HookError> {
    Ok(match read_blob_capped(repo, blob, limits.key_file_size)? {
        Err(size) => Err(crate::keyfile::too_big(size, limits)),
        Ok(bytes) => crate::keyfile::check_key_file(path, &bytes, limits),
    })
}

/// The kind and size of object `id`, from its header alone.
pub fn object_header(
    repo: &gix::Repository,
    id: ObjectId,
) -> Result<(gix::object::Kind, u64), HookError> {
    let header = repo
        .find_header(id)
        .git(format!("reading the header of {id}"))?;
    Ok((header.kind(), header.size()))
}

/// The content of object `id` when it is at most `cap` bytes, else its size.
/// The size is read from the object's header first, so a large blob is
/// never inflated.
pub fn read_blob_capped(
    repo: &gix::Repository,
    id: ObjectId,
    cap: u64,
) -> Result<Result<Vec<u8>, u64>, HookError> {
    let (_, size) = object_header(repo, id)?;
    if size > cap {
        return Ok(Err(size));
    }
    Ok(Ok(repo
        .find_object(id)
        .git(format!("reading {id}"))?
        .detach()
        .data))
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

//! Turning ref updates into the operations that rules speak of: one ref
//! operation per updated ref, and one tree operation per changed path of
//! the net difference between the old tip's tree and the new tip's tree.
//!
//! Trees are read as git reads them (see [`crate::tree`]). A tree entry
//! that the push adds or changes must have one of the modes git writes: a
//! mode that git would read one way and another tool another way (gix reads
//! `140000` as a directory, git as a gitlink) is refused, so no reader of
//! the repository sees what the hook did not judge. Trees already on the
//! server are read as git reads them, and not refused.
//!
//! The tree diff streams: each change is handed to a visitor with its path
//! in a reused buffer, so judging a new branch of 50,000 files allocates
//! per tree, not per file.

use std::cmp::Ordering;

use gitapps_policy::{RefOp, TreeOp};
use gix::ObjectId;

use crate::error::{GitContext, HookError};
use crate::judge::quote_name;
use crate::repo::peel_to_commit;
use crate::tree::{self, Entry, Mode};
use crate::updates::RefUpdate;

/// The deepest tree the diff reads: git's own `core.maxTreeDepth` default.
/// A deeper one is refused rather than followed (the diff recurses).
pub const MAX_TREE_DEPTH: usize = 4096;

/// The stack a thread that diffs trees needs for [`MAX_TREE_DEPTH`] levels,
/// with room to spare (an unoptimized build uses a few KiB a level). Only
/// the pages a deep tree touches are ever resident.
pub const DIFF_STACK_SIZE: usize = 64 << 20;

/// Run `f` on a thread with [`DIFF_STACK_SIZE`] of stack, for the commands
/// that diff trees a client sent.
pub fn with_diff_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("gitapps-hook".into())
            .stack_size(DIFF_STACK_SIZE)
            .spawn_scoped(scope, f)
            .map(|handle| handle.join())
    })
    .unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// One changed path, as the visitor sees it. `blob` is the new content of a
/// created or modified file or symlink, for size limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeChange<'a> {
    pub op: TreeOp,
    pub path: &'a [u8],
    pub blob: Option<ObjectId>,
}

/// Where trees come from: the repository, or (in tests and fuzzing) a map.
pub trait Trees {
    /// The hash of the object ids in tree entries.
    fn hash_kind(&self) -> gix::hash::Kind;
    /// The bytes of tree `id`; an error if it is missing or not a tree.
    fn tree_data(&self, id: ObjectId) -> Result<Vec<u8>, HookError>;
}

impl Trees for gix::Repository {
    fn hash_kind(&self) -> gix::hash::Kind {
        self.object_hash()
    }

    fn tree_data(&self, id: ObjectId) -> Result<Vec<u8>, HookError> {
        Ok(self
            .find_tree(id)
            .git(format!("reading tree {id}"))?
            .detach()
            .data)
    }
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

fn kind(entry: &Entry<'_>) -> Kind {
    match entry.mode {
        Mode::File | Mode::Executable => Kind::File,
        Mode::Symlink => Kind::Symlink,
        Mode::Gitlink => Kind::Submodule,
        Mode::Directory => Kind::Directory,
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
    // A commit-graph that knows `old` bounds the walk (as git's
    // `merge-base --is-ancestor` does); without one, the merge base.
    let graph = repo.commit_graph_if_enabled().ok().flatten();
    if let Some(found) = graph
        .as_ref()
        .and_then(|graph| ancestor_by_generation(repo, graph, old, new).transpose())
    {
        return found;
    }
    let base = repo
        .merge_base(old, new)
        .git(format!("finding the merge base of {old} and {new}"))?;
    Ok(base.map(|b| b.detach()) == Some(old))
}

/// Whether `old` is reachable from `new`, walking back from `new` and
/// never below `old`'s generation number: a commit of a generation no
/// higher than `old`'s cannot reach it (other than `old` itself), so a
/// force push that forks far below the old tip stops at once instead of
/// walking the whole history. Commits the graph does not hold (the
/// pushed ones, and any made since it was written) are read from the
/// object database. `None` when the graph cannot bound the walk: it does
/// not hold `old`, or holds no usable generation for it.
fn ancestor_by_generation(
    repo: &gix::Repository,
    graph: &gix::commitgraph::Graph,
    old: ObjectId,
    new: ObjectId,
) -> Result<Option<bool>, HookError> {
    // git's GENERATION_NUMBER_V1_MAX: larger generations are capped to it
    // and no longer order commits; 0 means "not computed".
    const CAPPED: u32 = 0x3FFF_FFFF;
    let Some(old_generation) = graph.commit_by_id(old).map(|c| c.generation()) else {
        return Ok(None);
    };
    if old_generation == 0 || old_generation >= CAPPED {
        return Ok(None);
    }
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![new];
    while let Some(id) = todo.pop() {
        if id == old {
            return Ok(Some(true));
        }
        if !seen.insert(id) {
            continue;
        }
        match graph.commit_by_id(id) {
            Some(commit) => {
                let generation = commit.generation();
                if generation != 0 && generation <= old_generation {
                    continue;
                }
                for parent in commit.iter_parents() {
                    let parent = parent.git(format!("reading the commit-graph entry of {id}"))?;
                    todo.push(graph.id_at(parent).to_owned());
                }
            }
            None => {
                let commit = repo.find_commit(id).git(format!("reading commit {id}"))?;
                todo.extend(commit.parent_ids().map(|p| p.detach()));
            }
        }
    }
    Ok(Some(false))
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
    trees: &dyn Trees,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    visit: &mut dyn FnMut(TreeChange<'_>) -> Result<(), HookError>,
) -> Result<(), HookError> {
    let mut path = Vec::with_capacity(256);
    Differ {
        trees,
        visit,
        depth: 0,
    }
    .diff(old, new, &mut path)
}

/// The entries of tree `id` (whose bytes are `data`) at `path`; none for
/// the empty tree.
fn parse_entries<'a>(
    id: Option<ObjectId>,
    data: Option<&'a [u8]>,
    hash: gix::hash::Kind,
    path: &[u8],
) -> Result<Vec<Entry<'a>>, HookError> {
    match (id, data) {
        (Some(id), Some(data)) => tree::entries(data, hash).map_err(|e| {
            HookError::Malformed(format!(
                "tree {id} at {}: {e}",
                quote_name(if path.is_empty() { b"/" } else { path })
            ))
        }),
        _ => Ok(Vec::new()),
    }
}

struct Differ<'r, 'v> {
    trees: &'r dyn Trees,
    visit: &'v mut dyn FnMut(TreeChange<'_>) -> Result<(), HookError>,
    /// How many trees deep the diff is.
    depth: usize,
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
        if self.depth >= MAX_TREE_DEPTH {
            return Err(HookError::Malformed(format!(
                "{} is more than {MAX_TREE_DEPTH} directories deep",
                quote_name(path)
            )));
        }
        self.depth += 1;
        let result = self.diff_at(old, new, path);
        self.depth -= 1;
        result
    }

    fn diff_at(
        &mut self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        path: &mut Vec<u8>,
    ) -> Result<(), HookError> {
        let old_data = self.load(old, path)?;
        let new_data = self.load(new, path)?;
        let hash = self.trees.hash_kind();
        let old_entries = parse_entries(old, old_data.as_deref(), hash, path)?;
        let new_entries = parse_entries(new, new_data.as_deref(), hash, path)?;

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
        self.trees.tree_data(id).map(Some).map_err(|e| match e {
            HookError::Git { context, message } => HookError::Git {
                context: format!("{context} at `{}`", String::from_utf8_lossy(path)),
                message,
            },
            other => other,
        })
    }

    /// An entry the push adds or changes must be written as git writes it.
    fn check_canonical(&self, entry: &Entry<'_>, path: &[u8]) -> Result<(), HookError> {
        if entry.is_canonical() {
            return Ok(());
        }
        let mut full = path.to_vec();
        full.extend_from_slice(entry.name);
        Err(HookError::Malformed(format!(
            "{} has the mode {}, which git never writes (git reads it as {}): push trees that git wrote",
            quote_name(&full),
            String::from_utf8_lossy(entry.raw_mode),
            String::from_utf8_lossy(entry.mode.canonical_bytes()),
        )))
    }

    /// Same name in both trees. A path that changes kind is a delete of the
    /// old and a create of the new. A mode's bytes changing without git
    /// reading it differently changes nothing for git, and is judged as
    /// nothing (once the new bytes are canonical).
    fn changed(
        &mut self,
        before: Entry<'_>,
        after: Entry<'_>,
        path: &mut Vec<u8>,
    ) -> Result<(), HookError> {
        if kind(&before) != kind(&after) {
            self.removed(before, path)?;
            return self.added(after, path);
        }
        if before.raw_mode != after.raw_mode || before.id != after.id {
            self.check_canonical(&after, path)?;
        }
        if before.mode == after.mode && before.id == after.id {
            return Ok(());
        }
        let len = path.len();
        path.extend_from_slice(after.name);
        let result = match kind(&after) {
            Kind::Directory => {
                path.push(b'/');
                self.diff(Some(before.id), Some(after.id), path)
            }
            Kind::File | Kind::Symlink => self.emit(TreeOp::Modify, path, Some(after.id)),
            Kind::Submodule => self.emit(TreeOp::Modify, path, None),
        };
        path.truncate(len);
        result
    }

    fn added(&mut self, entry: Entry<'_>, path: &mut Vec<u8>) -> Result<(), HookError> {
        self.check_canonical(&entry, path)?;
        let len = path.len();
        path.extend_from_slice(entry.name);
        let result = match kind(&entry) {
            Kind::File => self.emit(TreeOp::CreateFile, path, Some(entry.id)),
            Kind::Symlink => self.emit(TreeOp::CreateSymlink, path, Some(entry.id)),
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
        let result = if kind(&entry) == Kind::Directory {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Trees in memory, by id.
    struct Map(HashMap<ObjectId, Vec<u8>>);

    impl Trees for Map {
        fn hash_kind(&self) -> gix::hash::Kind {
            gix::hash::Kind::Sha1
        }
        fn tree_data(&self, id: ObjectId) -> Result<Vec<u8>, HookError> {
            self.0
                .get(&id)
                .cloned()
                .ok_or_else(|| HookError::Protocol(format!("no tree {id}")))
        }
    }

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    fn raw(entries: &[(&str, &str, ObjectId)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, oid) in entries {
            out.extend_from_slice(mode.as_bytes());
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(oid.as_bytes());
        }
        out
    }

    fn changes(map: &Map, old: Option<ObjectId>, new: ObjectId) -> Result<Vec<String>, HookError> {
        let mut out = Vec::new();
        diff_trees(map, old, Some(new), &mut |c| {
            out.push(format!("{} {}", c.op, String::from_utf8_lossy(c.path)));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn a_directory_re_moded_is_what_git_sees_or_refused() {
        // root: shared/ (tree 10) holding a file; root 1 old, 2 new.
        let shared = raw(&[("100644", "notes.txt", id(50))]);
        let mut trees = HashMap::new();
        trees.insert(id(10), shared);
        trees.insert(id(1), raw(&[("40000", "shared", id(10))]));
        trees.insert(id(2), raw(&[("140000", "shared", id(10))]));
        trees.insert(id(3), raw(&[("160000", "shared", id(10))]));
        let map = Map(trees);
        let err = changes(&map, Some(id(1)), id(2)).expect_err("140000 is refused");
        assert!(
            err.to_string().contains("shared has the mode 140000"),
            "{err}"
        );
        assert!(matches!(err, HookError::Malformed(_)));
        assert_eq!(
            changes(&map, Some(id(1)), id(3)).expect("judged"),
            // (git orders a gitlink `shared` before a directory `shared/`)
            [
                "create-submodule shared",
                "delete-file shared/notes.txt",
                "delete-directory shared",
            ]
        );
        // A tree already stored with 140000 is read as git reads it.
        assert_eq!(
            changes(&map, Some(id(2)), id(1)).expect("judged"),
            [
                "delete-file shared",
                "create-directory shared",
                "create-file shared/notes.txt"
            ]
        );
        // And an unchanged one is nothing at all.
        assert_eq!(
            changes(&map, Some(id(2)), id(3)).expect("judged"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn file_modes_git_reads_alike_are_one_file() {
        let mut trees = HashMap::new();
        trees.insert(id(1), raw(&[("100664", "a", id(50))]));
        trees.insert(id(2), raw(&[("100644", "a", id(50))]));
        trees.insert(id(3), raw(&[("100755", "a", id(50))]));
        trees.insert(id(4), raw(&[("100664", "a", id(51))]));
        let map = Map(trees);
        // Legacy 100664 on the server, the same file written as git does now.
        assert_eq!(
            changes(&map, Some(id(1)), id(2)).expect("ok"),
            Vec::<String>::new()
        );
        assert_eq!(changes(&map, Some(id(1)), id(3)).expect("ok"), ["modify a"]);
        // Introducing 100664, or changing a file and keeping it, is refused.
        assert!(changes(&map, Some(id(2)), id(1)).is_err());
        assert!(changes(&map, Some(id(1)), id(4)).is_err());
        assert!(changes(&map, None, id(1)).is_err());
    }

    /// A chain of `depth` directories `d/d/d/…/f`, stored under their real
    /// ids; returns the trees and the root.
    fn chain(depth: usize) -> (Map, ObjectId) {
        let mut trees = HashMap::new();
        let mut data = raw(&[("100644", "f", id(7))]);
        let mut root =
            gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Tree, &data)
                .expect("hash");
        trees.insert(root, data);
        for _ in 1..depth {
            data = raw(&[("40000", "d", root)]);
            root = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Tree, &data)
                .expect("hash");
            trees.insert(root, data);
        }
        (Map(trees), root)
    }

    #[test]
    fn trees_deeper_than_git_reads_are_refused_without_overflowing_the_stack() {
        with_diff_stack(|| {
            let (trees, root) = chain(MAX_TREE_DEPTH);
            let mut n = 0;
            diff_trees(&trees, None, Some(root), &mut |_| {
                n += 1;
                Ok(())
            })
            .expect("as deep as git goes");
            assert_eq!(n, MAX_TREE_DEPTH);
            let (trees, root) = chain(MAX_TREE_DEPTH + 1);
            let err = diff_trees(&trees, None, Some(root), &mut |_| Ok(()))
                .expect_err("deeper is refused");
            assert!(matches!(err, HookError::Malformed(_)), "{err}");
        });
    }
}

#[cfg(test)]
mod ancestry_tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write as _;
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("git runs");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write");
        }
        let out = child.wait_with_output().expect("git runs");
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `main`: 12 commits; `side`: 3 commits forked from main~8, merged
    /// into main at main~2; then a commit-graph; then 2 more commits on
    /// main and one on a fork from the root (main~11 before them), which the graph does not hold.
    fn history(dir: &std::path::Path) -> Vec<ObjectId> {
        git(dir, &["init", "--quiet", "--bare"], None);
        let commit = |mark: usize, branch: &str, parents: &[String]| {
            let mut s = format!(
                "commit refs/heads/{branch}\nmark :{mark}\ncommitter A <a@x> {} +0000\ndata 2\nc\n",
                1_700_000_000 + mark
            );
            for (i, p) in parents.iter().enumerate() {
                s.push_str(&format!("{} {p}\n", if i == 0 { "from" } else { "merge" }));
            }
            s
        };
        let mut stream = String::new();
        for n in 1..=4 {
            let parents: Vec<String> = (n > 1).then(|| format!(":{}", n - 1)).into_iter().collect();
            stream.push_str(&commit(n, "main", &parents));
        }
        stream.push_str(&commit(20, "side", &[":4".into()]));
        stream.push_str(&commit(21, "side", &[":20".into()]));
        stream.push_str(&commit(22, "side", &[":21".into()]));
        for n in 5..=12 {
            let mut parents = vec![format!(":{}", n - 1)];
            if n == 10 {
                parents.push(":22".into());
            }
            stream.push_str(&commit(n, "main", &parents));
        }
        git(dir, &["fast-import", "--quiet"], Some(&stream));
        git(dir, &["commit-graph", "write", "--reachable"], None);
        let mut later = String::new();
        later.push_str(&commit(13, "main", &["refs/heads/main^0".into()]));
        later.push_str(&commit(14, "main", &[":13".into()]));
        later.push_str(&commit(30, "fork", &["refs/heads/main~11".into()]));
        git(dir, &["fast-import", "--quiet"], Some(&later));
        git(dir, &["rev-list", "--all"], None)
            .lines()
            .map(|l| ObjectId::from_hex(l.as_bytes()).expect("id"))
            .collect()
    }

    #[test]
    fn the_bounded_walk_answers_what_the_merge_base_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let commits = history(dir.path());
        assert_eq!(commits.len(), 18);
        let repo = gix::open(dir.path()).expect("open");
        let graph = repo
            .commit_graph_if_enabled()
            .expect("graph")
            .expect("a graph");
        let mut bounded = 0;
        for &old in &commits {
            for &new in &commits {
                let want = old == new
                    || repo.merge_base(old, new).expect("base").map(|b| b.detach()) == Some(old);
                match ancestor_by_generation(&repo, &graph, old, new).expect("walk") {
                    Some(got) => {
                        bounded += 1;
                        assert_eq!(got, want || old == new, "{old} .. {new}");
                    }
                    None => assert!(graph.commit_by_id(old).is_none(), "{old} is in the graph"),
                }
                assert_eq!(is_ancestor(&repo, old, new).expect("ancestry"), want);
            }
        }
        // Every commit the graph holds bounds the walk as the old tip.
        assert_eq!(bounded, 15 * 18);
    }

    #[test]
    fn the_quarantine_view_shows_the_commit_graph() {
        let dir = tempfile::tempdir().expect("tempdir");
        history(dir.path());
        let quarantine = dir.path().join("objects").join("incoming-test");
        std::fs::create_dir_all(quarantine.join("pack")).expect("mkdir");
        drop(quarantine);
        // As git runs hooks: the repository named by a relative path.
        let cwd = std::env::current_dir().expect("cwd");
        let up = "../".repeat(cwd.components().count() - 1);
        let relative = std::path::PathBuf::from(up).join(
            dir.path()
                .strip_prefix("/")
                .expect("an absolute temporary directory"),
        );
        let server = crate::repo::ServerRepo::open(
            &relative,
            &crate::env::ObjectDirs {
                object_directory: Some("objects/incoming-test".into()),
                alternates: Vec::new(),
            },
        )
        .expect("opens");
        assert!(server
            .repo
            .commit_graph_if_enabled()
            .expect("reads")
            .is_some());
    }
}

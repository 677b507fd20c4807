//! `gitapps-hook validate`: check a policy before pushing it.

use std::path::Path;

use gitapps_policy::Policy;

use crate::config::Limits;
use crate::error::{GitContext, HookError, IoContext};
use crate::keyfile::{check_key_file, too_big};
use crate::repo::{read_blob_capped, BranchFiles};

/// Key files by path, with their contents, or their size when it is over
/// the limit (then they are not read).
type KeyFiles = Vec<(String, Result<Vec<u8>, u64>)>;

/// All problems of the policy at `target`, as `FILE:LINE: message` lines.
/// `target` is a checkout of apps/access-control, or `REPO:REV`.
pub fn validate(target: &str) -> Result<Vec<String>, HookError> {
    // The server's limits when validating its repository; the defaults
    // for a checkout, which is what a server takes unless told otherwise.
    let mut limits = Limits::default();
    let (files, keys) = if Path::new(target).is_dir() && !is_git_dir(Path::new(target)) {
        read_checkout(Path::new(target), &limits)?
    } else {
        let (repo, rev) = match target.rsplit_once(':') {
            Some((repo, rev)) if !repo.is_empty() => (repo, rev),
            _ => (target, "apps/access-control"),
        };
        let repo =
            gix::open_opts(repo, gix::open::Options::isolated()).git(format!("opening {repo}"))?;
        limits = Limits::read(&repo.config_snapshot())?;
        let commit = repo
            .rev_parse_single(rev)
            .git(format!("resolving {rev}"))?
            .detach();
        let files = BranchFiles::read(&repo, commit, limits.policy_file_size)?;
        let mut keys = Vec::new();
        for (path, blob) in files.key_files(&repo)? {
            keys.push((path, read_blob_capped(&repo, blob, limits.key_file_size)?));
        }
        (files, keys)
    };
    let has_rules = files
        .files
        .iter()
        .any(|(path, _)| path.starts_with("refs/") || path.starts_with("branches/"));
    if !has_rules {
        return Ok(vec![format!(
            "{target}: no policy here (no refs/*.conf nor branches/*.conf): is it a checkout of apps/access-control?"
        )]);
    }
    let mut problems: Vec<String> = match files.policy() {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(ToString::to_string).collect(),
    };
    for (path, bytes) in &keys {
        let checked = match bytes {
            Ok(bytes) => check_key_file(path, bytes, &limits).map(drop),
            Err(size) => Err(too_big(*size, &limits)),
        };
        if let Err(problem) = checked {
            problems.push(format!("{path}:1: {problem}"));
        }
    }
    Ok(problems)
}

fn is_git_dir(path: &Path) -> bool {
    path.join("HEAD").is_file() && path.join("objects").is_dir()
}

/// The policy files and the key files (with their contents) of a
/// checkout, read from disk.
fn read_checkout(root: &Path, limits: &Limits) -> Result<(BranchFiles, KeyFiles), HookError> {
    let mut files = Vec::new();
    let mut keys = Vec::new();
    for dir in ["refs", "branches", "groups", "keys"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.io(format!("listing {dir}/"))?;
            if !entry.file_type().io("reading a file type")?.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{dir}/{name}");
            if dir != "keys" && !Policy::is_policy_path(&path) {
                continue;
            }
            let size = entry.metadata().io(format!("reading {path}"))?.len();
            let cap = if dir == "keys" {
                limits.key_file_size
            } else {
                limits.policy_file_size
            };
            if size > cap {
                if dir == "keys" {
                    keys.push((path, Err(size)));
                    continue;
                }
                return Err(HookError::Limit(format!(
                    "{path} is {size} bytes, over gitapps.maxPolicyFileSize = {cap}"
                )));
            }
            let bytes = std::fs::read(entry.path()).io(format!("reading {path}"))?;
            if dir == "keys" {
                keys.push((path, Ok(bytes)));
            } else {
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    keys.sort();
    Ok((
        BranchFiles {
            files,
            keys_tree: None,
        },
        keys,
    ))
}

//! `gitapps-hook validate`: check a policy before pushing it.

use std::path::Path;

use gitapps_policy::Policy;

use crate::error::{GitContext, HookError, IoContext};
use crate::keyring::check_key_file;
use crate::repo::BranchFiles;

/// Key files by path, with their contents.
type KeyFiles = Vec<(String, Vec<u8>)>;

/// All problems of the policy at `target`, as `FILE:LINE: message` lines.
/// `target` is a checkout of apps/access-control, or `REPO:REV`.
pub fn validate(target: &str) -> Result<Vec<String>, HookError> {
    let (files, keys) = if Path::new(target).is_dir() && !is_git_dir(Path::new(target)) {
        read_checkout(Path::new(target))?
    } else {
        let (repo, rev) = match target.rsplit_once(':') {
            Some((repo, rev)) if !repo.is_empty() => (repo, rev),
            _ => (target, "apps/access-control"),
        };
        let repo =
            gix::open_opts(repo, gix::open::Options::isolated()).git(format!("opening {repo}"))?;
        let commit = repo
            .rev_parse_single(rev)
            .git(format!("resolving {rev}"))?
            .detach();
        let files = BranchFiles::read(&repo, commit)?;
        let mut keys = Vec::with_capacity(files.keys.len());
        for (path, _) in &files.keys {
            if let Some(bytes) = files.key_bytes(&repo, path)? {
                keys.push((path.clone(), bytes));
            }
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
        if let Err(problem) = check_key_file(path, bytes) {
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
fn read_checkout(root: &Path) -> Result<(BranchFiles, KeyFiles), HookError> {
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
            let bytes = std::fs::read(entry.path()).io(format!("reading {path}"))?;
            if dir == "keys" {
                keys.push((path, bytes));
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
            keys: Vec::new(),
        },
        keys,
    ))
}

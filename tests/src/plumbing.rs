//! Commits written with git's plumbing, without a work tree: how the tests
//! craft exactly the trees they push, or change a server as its admin would.

use std::path::Path;
use std::process::Command;

use crate::run;

/// A commit of `base`'s tree (or the empty tree) with `files` written
/// (`Some(content)`, mode 100644) or removed (`None`), with `base` as its
/// parent. `git` makes a git command in the right repository and
/// environment; `index` is a scratch index file of the caller's. Returns
/// the commit's id.
#[track_caller]
pub(crate) fn commit_files(
    git: &dyn Fn() -> Command,
    index: &Path,
    base: Option<&str>,
    files: &[(&str, Option<&str>)],
    message: &str,
) -> String {
    let _ = std::fs::remove_file(index);
    let run_git = |args: &[&str], input: Option<&[u8]>| {
        let mut cmd = git();
        cmd.env("GIT_INDEX_FILE", index).args(args);
        let out = run(cmd, input);
        out.assert_ok();
        out.stdout_trimmed().to_string()
    };
    let parent = base.map(|b| run_git(&["rev-parse", &format!("{b}^{{commit}}")], None));
    if let Some(parent) = &parent {
        run_git(&["read-tree", parent], None);
    }
    for (path, content) in files {
        match content {
            Some(content) => {
                let blob = run_git(&["hash-object", "-w", "--stdin"], Some(content.as_bytes()));
                let entry = format!("100644,{blob},{path}");
                run_git(&["update-index", "--add", "--cacheinfo", &entry], None);
            }
            None => {
                run_git(&["update-index", "--force-remove", path], None);
            }
        }
    }
    let tree = run_git(&["write-tree"], None);
    let mut args = vec!["commit-tree", &tree, "-m", message];
    if let Some(parent) = &parent {
        args.extend(["-p", parent]);
    }
    let commit = run_git(&args, None);
    let _ = std::fs::remove_file(index);
    commit
}

//! Shared set-up for the hook tests.

use std::collections::BTreeMap;

use gitapps_tests::{Server, Workdir};

/// Makes `main` an orphan branch with `files` and pushes it (signed, must
/// succeed). Returns the commit.
pub fn push_main(wd: &Workdir<'_>, files: &[(&str, &str)]) -> String {
    wd.switch_orphan("main");
    for (path, content) in files {
        wd.write(path, content);
    }
    let commit = wd.commit_all("main");
    wd.push_signed(&["origin", "main"]).assert_ok();
    commit
}

/// Asserts the server's refs are exactly `before` (a rejected push changed nothing).
#[track_caller]
pub fn assert_refs_unchanged(server: &Server, before: &BTreeMap<String, String>) {
    assert_eq!(
        &server.refs(),
        before,
        "a rejected push changed the server's refs"
    );
}

/// A policy file: the lines joined with newlines, ending with one.
pub fn conf(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

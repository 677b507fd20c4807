//! A sealed world for end-to-end tests: a [`Forge`] (real gpg users, each with
//! their own GNUPGHOME, real git with no global or system config, a bare server
//! repository with `gitapps-hook` installed) whose every user has a clone, and
//! the `git-mr` binary under test at a fixed clock ([`NOW`]).

#![allow(dead_code)]

use std::ops::Deref;

use gitapps_tests::Forge;
pub use gitapps_tests::Member as User;

pub const NOW: &str = "2026-11-26T11:00:00Z";

/// A [`Forge`] for `git mr` (reached through `Deref`: `root`, `server`,
/// `user(…)`, `owner()`, `edit_access_control(…)`).
pub struct World {
    forge: Forge,
}

impl Deref for World {
    type Target = Forge;

    fn deref(&self) -> &Forge {
        &self.forge
    }
}

impl World {
    /// A server with the hook, owned by the first of `names`; every user has a clone,
    /// and every user's key is registered on apps/access-control by the owner.
    pub fn new(names: &[&str]) -> World {
        let forge = Forge::new(names, &[("GITAPPS_NOW", NOW)]);
        forge.clone_all();
        World { forge }
    }

    /// The owner creates `main` with one commit; everyone fetches it.
    pub fn setup_main(&self) {
        self.push_main();
        for u in &self.users {
            u.git(&["fetch", "-q", "origin"]);
        }
    }

    /// The owner lets maintainers (a group `git mr init` creates) push `main`.
    pub fn grant_main_to_maintainers(&self) {
        self.edit_access_control(
            &[
                (
                    "refs/main.conf",
                    Some("maintainers fast-forward ^heads/main$\n"),
                ),
                (
                    "branches/main.conf",
                    Some("branch ^heads/main$\nmaintainers create-directory,create-file,create-symlink,modify,delete ^.*$\n"),
                ),
            ],
            "maintainers push main",
        );
    }
}

/// `git mr … --json`, parsed.
pub trait MrJson {
    /// `git mr args…` that must succeed; its stdout as JSON.
    fn json(&self, args: &[&str]) -> serde_json::Value;
}

impl MrJson for User {
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.mr(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// Writes `file` in the user's clone, commits it; the new `HEAD`.
pub fn commit_file(u: &User, file: &str, content: &str, message: &str) -> String {
    std::fs::write(u.clone.join(file), content).unwrap();
    u.git(&["add", file]);
    u.git(&["commit", "-q", "-m", message]);
    u.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

/// Each of `users` posts `rounds` comments on merge request `mr`, all at once:
/// `comment <i> by <name>`; every one must succeed.
pub fn comment_at_once(users: &[&User], mr: &str, rounds: usize) {
    let mut children = Vec::new();
    for i in 0..rounds {
        for u in users {
            let child = u
                .mr_command()
                .args(["comment", mr, "-m", &format!("comment {i} by {}", u.name)])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            children.push(child);
        }
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        gitapps_tests::Output::new("concurrent comment".to_owned(), out).assert_ok();
    }
}

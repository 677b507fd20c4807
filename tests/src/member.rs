//! A person who uses the forge's tools (`git mr`, `ci-bot`) from their own clone.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use crate::workdir::clone_config;
use crate::{bin, run, sealed_tool_command, Output, Server, User};

/// A [`User`] known by a short handle (`alice`), whose key's name is the handle
/// capitalized (`Alice`), with a clone of a [`Server`] at [`Member::clone`]
/// (in their `HOME`, made by [`Member::make_clone`]).
///
/// Unlike a [`crate::Workdir`], commands run as the tools see people run them
/// ([`sealed_tool_command`]): the real clock, and git's identity from the
/// clone's config. A `Member` owns its user (cloning a `Member` shares the
/// key, whose gpg-agent is killed when the last one is dropped), so it can
/// live next to its server in one struct (see [`crate::Forge`]).
#[derive(Clone, Debug)]
pub struct Member {
    /// The handle the tests know the person by (`alice`).
    pub name: String,
    /// The e-mail of the key's user id.
    pub email: String,
    /// The primary key's fingerprint (the user id).
    pub fpr: String,
    /// The user's `HOME`.
    pub home: PathBuf,
    /// The work tree the commands of [`Member::git`] and [`Member::mr`] run in.
    pub clone: PathBuf,
    user: Rc<User>,
    /// Variables every command gets on top of the sealed environment.
    env: Vec<(String, String)>,
}

impl Member {
    /// A new person with an ed25519 key (see [`User::new`]) whose commands
    /// all get the variables `env` (e.g. `GITAPPS_NOW`). Their clone is not
    /// made yet.
    pub fn new(handle: &str, env: &[(&str, &str)]) -> Member {
        let user = User::new(&capitalized(handle));
        Member {
            name: handle.to_owned(),
            email: user.email().to_owned(),
            fpr: user.fingerprint().to_owned(),
            home: user.home().to_path_buf(),
            clone: user.home().join("clone"),
            user: Rc::new(user),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The user: key, `GNUPGHOME`, `HOME`.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// `git clone SERVER` to [`Member::clone`], configured for this user (as a
    /// [`crate::Workdir`] is).
    #[track_caller]
    pub fn make_clone(&self, server: &Server) {
        self.clone_to(&[], &server.url(), &self.clone);
    }

    /// The same person working in another clone of `server`, of `branch` only,
    /// made at `dir` and configured like [`Member::make_clone`]'s (to change the
    /// data or policy branch by hand).
    #[track_caller]
    pub fn clone_branch(&self, server: &Server, branch: &str, dir: &Path) -> Member {
        let other = Member {
            clone: dir.to_path_buf(),
            ..self.clone()
        };
        other.clone_to(&["-b", branch], &server.url(), dir);
        other
    }

    #[track_caller]
    fn clone_to(&self, args: &[&str], url: &str, dir: &Path) {
        let parent = dir.parent().expect("a clone's directory has a parent");
        let mut cmd = self.cmd("git", parent);
        cmd.args(["clone", "-q"]).args(args).arg(url).arg(dir);
        run(cmd, None).assert_ok();
        for (key, value) in clone_config(&self.user) {
            self.git(&["config", key, value]);
        }
    }

    /// `program` in `dir`, with this user's `HOME` and `GNUPGHOME`, in the
    /// tools' sealed environment ([`sealed_tool_command`]) and this member's
    /// variables.
    pub fn cmd(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let mut cmd = sealed_tool_command(program, self.user.home(), Some(self.user.gnupghome()));
        cmd.current_dir(dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// `git ARGS` in the clone, whatever the outcome.
    pub fn git_out(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd("git", &self.clone);
        cmd.args(args);
        run(cmd, None)
    }

    /// `git ARGS` in the clone, asserting success; its stdout as it is. A
    /// push the hook refuses for its certificate's nonce (a replay: one signed
    /// push a second; or a stale one) is tried again, up to five times.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let mut out = self.git_out(args);
        for _ in 0..5 {
            if out.success() || !out.stderr.contains("nonce") {
                break;
            }
            std::thread::sleep(Duration::from_millis(1100));
            out = self.git_out(args);
        }
        out.success_stdout().to_owned()
    }

    /// `git add -A`, `git commit -m MESSAGE` and `git push --signed origin
    /// HEAD:REFNAME` in the clone, each asserting success.
    #[track_caller]
    pub fn commit_and_push(&self, message: &str, refname: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&[
            "push",
            "-q",
            "--signed",
            "origin",
            &format!("HEAD:{refname}"),
        ]);
    }

    /// `git mr` (the workspace's binary, see [`bin`]) in the clone, to add
    /// arguments and variables to.
    pub fn mr_command(&self) -> Command {
        self.cmd(bin("git-mr"), &self.clone)
    }

    /// `git mr ARGS` in the clone, whatever the outcome.
    pub fn mr_out(&self, args: &[&str]) -> Output {
        let mut cmd = self.mr_command();
        cmd.args(args);
        run(cmd, None)
    }

    /// `git mr ARGS` in the clone, asserting success; its stdout.
    #[track_caller]
    pub fn mr(&self, args: &[&str]) -> String {
        self.mr_out(args).success_stdout().to_owned()
    }

    /// `git mr ARGS` in the clone, asserting failure; its stderr.
    #[track_caller]
    pub fn mr_fails(&self, args: &[&str]) -> String {
        failed_stderr(self.mr_out(args))
    }

    pub fn issue_command(&self) -> Command {
        self.cmd(bin("git-issue"), &self.clone)
    }

    /// `git issue ARGS` in the clone, whatever the outcome.
    pub fn issue_out(&self, args: &[&str]) -> Output {
        let mut cmd = self.issue_command();
        cmd.args(args);
        run(cmd, None)
    }

    /// `git issue ARGS` in the clone, asserting success; its stdout.
    #[track_caller]
    pub fn issue(&self, args: &[&str]) -> String {
        self.issue_out(args).success_stdout().to_owned()
    }

    /// `git issue ARGS` in the clone, asserting failure; its stderr.
    #[track_caller]
    pub fn issue_fails(&self, args: &[&str]) -> String {
        failed_stderr(self.issue_out(args))
    }
}

/// `alice` → `Alice`.
fn capitalized(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[track_caller]
fn failed_stderr(out: Output) -> String {
    out.assert_failed();
    out.stderr
}

//! A user's clone of a server.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::ACCESS_CONTROL_REF;
use crate::{run, short_tempdir, Output, Server, User, BASE_TIMESTAMP};

/// A non-bare clone of a [`Server`], owned by one [`User`]: `user.name`,
/// `user.email` and `user.signingkey` are set in its local config, and every
/// command runs in the user's sealed environment (their `HOME` and
/// `GNUPGHOME`). Author and committer dates count up from [`BASE_TIMESTAMP`]
/// by one second per git command, so commits are reproducible yet distinct.
pub struct Workdir<'a> {
    user: &'a User,
    path: PathBuf,
    tick: Cell<u64>,
    _dir: tempfile::TempDir,
}

impl<'a> Workdir<'a> {
    /// `git clone SERVER`, then configure the clone for `user`.
    pub fn clone(user: &'a User, server: &Server) -> Workdir<'a> {
        Self::clone_url(user, &server.url())
    }

    /// `git clone URL` (any repository, not only a [`Server`]), then configure
    /// the clone for `user`.
    pub fn clone_url(user: &'a User, url: &str) -> Workdir<'a> {
        let dir = short_tempdir("w");
        let path = dir.path().join("clone");
        let mut cmd = user.command("git");
        cmd.current_dir(dir.path())
            .args(["clone", "--quiet", url])
            .arg(&path);
        run(cmd, None).assert_ok();
        let wd = Workdir {
            user,
            path,
            tick: Cell::new(0),
            _dir: dir,
        };
        for (key, value) in clone_config(user) {
            wd.git_ok(&["config", key, value]);
        }
        wd
    }

    /// The user this clone belongs to.
    pub fn user(&self) -> &'a User {
        self.user
    }

    /// The clone's work tree.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The clone's path as a string.
    pub fn url(&self) -> String {
        self.path.to_str().expect("UTF-8 temp path").to_string()
    }

    /// A command in the clone, in the user's sealed environment, with the
    /// user as author and committer and the next timestamp.
    pub fn command(&self, program: &str) -> Command {
        let t = BASE_TIMESTAMP + self.tick.get();
        self.tick.set(self.tick.get() + 1);
        let date = format!("@{t} +0000");
        let mut cmd = self.user.command(program);
        cmd.current_dir(&self.path)
            .env("GIT_AUTHOR_NAME", self.user.name())
            .env("GIT_AUTHOR_EMAIL", self.user.email())
            .env("GIT_COMMITTER_NAME", self.user.name())
            .env("GIT_COMMITTER_EMAIL", self.user.email())
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        cmd
    }

    /// `git ARGS` in the clone (`run_git`).
    pub fn git(&self, args: &[&str]) -> Output {
        let mut cmd = self.command("git");
        cmd.args(args);
        run(cmd, None)
    }

    /// Alias of [`Workdir::git`].
    pub fn run_git(&self, args: &[&str]) -> Output {
        self.git(args)
    }

    /// `git ARGS`, asserting success; stdout with trailing white space removed.
    #[track_caller]
    pub fn git_ok(&self, args: &[&str]) -> String {
        let out = self.git(args);
        out.assert_ok();
        out.stdout_trimmed().to_string()
    }

    /// The full object id of `rev`.
    #[track_caller]
    pub fn rev_parse(&self, rev: &str) -> String {
        self.git_ok(&["rev-parse", "--verify", rev])
    }

    /// The full object id of `HEAD`.
    #[track_caller]
    pub fn head(&self) -> String {
        self.rev_parse("HEAD")
    }

    /// Writes `content` to `path` (relative to the work tree), making parent
    /// directories; replaces a symlink rather than writing through it.
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.path.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        if full.is_symlink() {
            std::fs::remove_file(&full).expect("remove old symlink");
        }
        std::fs::write(&full, content).unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
    }

    /// The content of `path` in the work tree.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Makes `path` a symlink to `target` (replacing whatever was there).
    pub fn symlink(&self, path: &str, target: &str) {
        let full = self.path.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir for symlink");
        }
        if full.is_symlink() || full.is_file() {
            std::fs::remove_file(&full).expect("remove before symlink");
        }
        std::os::unix::fs::symlink(target, &full).unwrap_or_else(|e| panic!("symlink {path}: {e}"));
    }

    /// `chmod +x path` (or `-x` with `executable = false`).
    pub fn set_executable(&self, path: &str, executable: bool) {
        use std::os::unix::fs::PermissionsExt;
        let full = self.path.join(path);
        let mut perms = std::fs::metadata(&full)
            .unwrap_or_else(|e| panic!("stat {path}: {e}"))
            .permissions();
        perms.set_mode(if executable { 0o755 } else { 0o644 });
        std::fs::set_permissions(&full, perms).unwrap_or_else(|e| panic!("chmod {path}: {e}"));
    }

    /// `chmod +x path`.
    pub fn chmod_x(&self, path: &str) {
        self.set_executable(path, true);
    }

    /// Removes a file, symlink or directory (recursively) from the work tree.
    pub fn rm(&self, path: &str) {
        let full = self.path.join(path);
        let result = if full.is_dir() && !full.is_symlink() {
            std::fs::remove_dir_all(&full)
        } else {
            std::fs::remove_file(&full)
        };
        result.unwrap_or_else(|e| panic!("rm {path}: {e}"));
    }

    /// `git add -A && git commit -m MSG` (allowing an empty commit); returns
    /// the new `HEAD`.
    #[track_caller]
    pub fn commit_all(&self, message: &str) -> String {
        self.git_ok(&["add", "-A"]);
        self.git_ok(&[
            "commit",
            "--quiet",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.head()
    }

    /// `git switch --orphan NAME`: a new branch with no history and an empty
    /// work tree.
    #[track_caller]
    pub fn switch_orphan(&self, name: &str) {
        self.git_ok(&["switch", "--quiet", "--orphan", name]);
    }

    /// `git switch NAME` (creates a tracking branch from `origin/NAME` when
    /// needed).
    #[track_caller]
    pub fn switch(&self, name: &str) {
        self.git_ok(&["switch", "--quiet", name]);
    }

    /// `git switch -C NAME START`.
    #[track_caller]
    pub fn switch_new(&self, name: &str, start: &str) {
        self.git_ok(&["switch", "--quiet", "--no-track", "-C", name, start]);
    }

    /// `git fetch --prune origin` (tags too, moved ones replaced).
    #[track_caller]
    pub fn fetch(&self) {
        self.git_ok(&["fetch", "--quiet", "--prune", "--force", "--tags", "origin"]);
    }

    /// `git push --signed ARGS…`.
    pub fn push_signed(&self, args: &[&str]) -> Output {
        let mut all = vec!["push", "--signed"];
        all.extend_from_slice(args);
        self.git(&all)
    }

    /// `git push ARGS…` (no certificate).
    pub fn push_unsigned(&self, args: &[&str]) -> Output {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        self.git(&all)
    }

    /// A commit made with plumbing, without touching the work tree or index:
    /// the tree of `base` (or the empty tree) with `files` written
    /// (`Some(content)`, mode 100644) or removed (`None`), with `base` as
    /// parent. Returns its id.
    #[track_caller]
    pub fn commit_files(
        &self,
        base: Option<&str>,
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> String {
        let index = self._dir.path().join("plumbing-index");
        crate::plumbing::commit_files(&|| self.command("git"), &index, base, files, message)
    }

    /// Makes git sign pushes in this clone with a script of the test's
    /// (`gpg.program`): `body` is the text of a `/bin/sh` script that git
    /// runs as it runs gpg (`gpg --status-fd=2 -bsau KEY`, the payload on
    /// stdin, the armored signature expected on stdout and a
    /// `[GNUPG:] SIG_CREATED` line on stderr). E.g.
    /// `exec gpg --faked-system-time 1700000000! "$@"` signs in the past.
    pub fn set_gpg_program(&self, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self._dir.path().join("gpg-program");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write gpg program");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod gpg program");
        self.git_ok(&["config", "gpg.program", path.to_str().expect("UTF-8 path")]);
    }

    /// A tree object written exactly as given, without git checking or
    /// normalising it (`git hash-object -t tree --literally`): one entry per
    /// `(mode, name, object id)`, in the order given. The mode is written as
    /// it is (`140000`, `040000`, `100664` …). Returns the tree's id.
    #[track_caller]
    pub fn write_raw_tree(&self, entries: &[(&str, &str, &str)]) -> String {
        let mut bytes = Vec::new();
        for (mode, name, oid) in entries {
            bytes.extend_from_slice(mode.as_bytes());
            bytes.push(b' ');
            bytes.extend_from_slice(name.as_bytes());
            bytes.push(0);
            bytes.extend(hex_bytes(oid));
        }
        let mut cmd = self.command("git");
        cmd.args(["hash-object", "-t", "tree", "--literally", "-w", "--stdin"]);
        let out = run(cmd, Some(&bytes));
        out.assert_ok();
        out.stdout_trimmed().to_string()
    }

    /// A commit of `tree` with `parents` (`git commit-tree`); returns its id.
    #[track_caller]
    pub fn commit_tree(&self, tree: &str, parents: &[&str], message: &str) -> String {
        let mut args = vec!["commit-tree", tree, "-m", message];
        for p in parents {
            args.extend(["-p", p]);
        }
        self.git_ok(&args)
    }

    /// `gitapps-hook verify ARGS…` in the clone: exit 0 when the remote's
    /// log and refs check out, 1 when a problem was found, 2 when it could
    /// not run.
    pub fn verify(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(crate::bin("gitapps-hook").to_str().expect("UTF-8 path"));
        cmd.arg("verify").args(args);
        run(cmd, None)
    }

    /// Fetches, then pushes (signed) one commit on top of
    /// `origin/apps/access-control` that writes (`Some`) or removes (`None`)
    /// `files`. The work tree and current branch are left alone.
    pub fn edit_access_control(&self, files: &[(&str, Option<&str>)]) -> Output {
        self.edit_access_control_with(files, "edit access control")
    }

    /// [`Workdir::edit_access_control`] with `message` as the commit's message.
    pub fn edit_access_control_with(
        &self,
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> Output {
        self.fetch();
        let commit = self.commit_files(Some("origin/apps/access-control"), files, message);
        let out = self.push_signed(&["origin", &format!("{commit}:{ACCESS_CONTROL_REF}")]);
        if out.success() {
            self.fetch();
        }
        out
    }

    /// [`Workdir::edit_access_control`] that writes files and must succeed.
    #[track_caller]
    pub fn grant(&self, files: &[(&str, &str)]) {
        let files: Vec<(&str, Option<&str>)> = files.iter().map(|(p, c)| (*p, Some(*c))).collect();
        self.edit_access_control(&files).assert_ok();
    }

    /// Adds `keys/<FPR>.asc` for each user to `apps/access-control` (one
    /// signed push that must succeed): what an owner does to register people.
    #[track_caller]
    pub fn register(&self, users: &[&User]) {
        let files: Vec<(String, String)> = users
            .iter()
            .map(|u| (u.key_path(), u.public_key_armored().to_string()))
            .collect();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        self.grant(&files);
    }
}

/// The bytes of a hex object id.
fn hex_bytes(hex: &str) -> Vec<u8> {
    assert!(hex.len() & 1 == 0, "odd-length hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex object id"))
        .collect()
}

/// The local config of a user's clone: `user.name`, `user.email` and
/// `user.signingkey` are the user's; commits and tags are not signed; no
/// detached-HEAD advice; new branches default to `main`.
pub(crate) fn clone_config(user: &User) -> [(&'static str, &str); 7] {
    [
        ("user.name", user.name()),
        ("user.email", user.email()),
        ("user.signingkey", user.fingerprint()),
        ("commit.gpgSign", "false"),
        ("tag.gpgSign", "false"),
        ("advice.detachedHead", "false"),
        ("init.defaultBranch", "main"),
    ]
}

impl std::fmt::Debug for Workdir<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workdir({:?} at {})", self.user, self.path.display())
    }
}

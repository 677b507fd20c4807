//! A temporary bare repository set up with `gitapps-hook install`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{bin, run, sealed_command, short_tempdir, Output, User};

/// The audit log ref (SPEC section 3).
pub const PUSH_CERTS_REF: &str = "refs/apps/push-certs";
/// The policy branch (SPEC section 3).
pub const ACCESS_CONTROL_REF: &str = "refs/heads/apps/access-control";

/// A bare repository with the hook installed, in its own temporary directory.
pub struct Server {
    path: PathBuf,
    home: PathBuf,
    owner: String,
    dir: tempfile::TempDir,
}

/// One commit of `refs/apps/push-certs`.
#[derive(Debug, Clone)]
pub struct PushCertEntry {
    pub commit: String,
    pub parents: Vec<String>,
    /// The names in the commit's tree.
    pub files: Vec<String>,
    /// The `cert` file (empty if missing).
    pub cert: String,
    /// The `pusher` file (empty if missing).
    pub pusher: String,
}

impl PushCertEntry {
    /// Whether this is the log's genesis record (a `genesis` file, no
    /// certificate).
    pub fn is_genesis(&self) -> bool {
        self.files.iter().any(|f| f == "genesis")
    }
}

impl Server {
    /// `gitapps-hook install REPO --owner KEY.asc`, asserting it succeeds.
    pub fn install(owner: &User) -> Server {
        Self::install_with(owner, &[])
    }

    /// `gitapps-hook install REPO --owner KEY.asc ARGS…` (e.g.
    /// `["--open-registration"]`), asserting it succeeds.
    pub fn install_with(owner: &User, args: &[&str]) -> Server {
        let (out, server) = Self::try_install(owner, args);
        out.assert_ok();
        assert!(
            server.path.join("HEAD").exists(),
            "install made no bare repository:\n{out}"
        );
        server
    }

    /// Runs `gitapps-hook install` and returns what it did, whether or not it
    /// succeeded.
    pub fn try_install(owner: &User, args: &[&str]) -> (Output, Server) {
        Self::try_install_key(owner, owner.public_key_armored(), args)
    }

    /// [`Server::install`] with `key` (armored) as the owner's key file, for
    /// an owner whose published key is not the one they sign with (see
    /// [`User::export_public_key`]).
    pub fn install_with_key(owner: &User, key: &str) -> Server {
        let (out, server) = Self::try_install_key(owner, key, &[]);
        out.assert_ok();
        server
    }

    fn try_install_key(owner: &User, key_text: &str, args: &[&str]) -> (Output, Server) {
        let dir = short_tempdir("s");
        let home = dir.path().join("home");
        std::fs::create_dir(&home).expect("mkdir server home");
        let key = dir.path().join("owner.asc");
        std::fs::write(&key, key_text).expect("write owner key");
        let server = Server {
            path: dir.path().join("repo.git"),
            home,
            owner: owner.fingerprint().to_string(),
            dir,
        };
        let mut cmd = sealed_command(bin("gitapps-hook"), &server.home, None);
        cmd.current_dir(server.dir.path())
            .arg("install")
            .arg(&server.path)
            .arg("--owner")
            .arg(&key)
            .args(args);
        (run(cmd, None), server)
    }

    /// The bare repository.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The repository's path as a string, for `git clone` and `REPO:REV`.
    pub fn url(&self) -> String {
        self.path.to_str().expect("UTF-8 temp path").to_string()
    }

    /// The owner's user id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// A sealed command run in the bare repository, with `GIT_DIR` set.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = sealed_command(program, &self.home, None);
        cmd.current_dir(&self.path).env("GIT_DIR", &self.path);
        cmd
    }

    /// `git ARGS` in the bare repository.
    pub fn git(&self, args: &[&str]) -> Output {
        let mut cmd = self.command("git");
        cmd.args(args);
        run(cmd, None)
    }

    /// `git ARGS` in the bare repository with `input` on stdin.
    pub fn git_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut cmd = self.command("git");
        cmd.args(args);
        run(cmd, Some(input))
    }

    /// `git ARGS`, asserting success; stdout with trailing white space removed.
    #[track_caller]
    pub fn git_ok(&self, args: &[&str]) -> String {
        let out = self.git(args);
        out.assert_ok();
        out.stdout_trimmed().to_string()
    }

    /// `git config KEY VALUE` in the server repository.
    pub fn set_config(&self, key: &str, value: &str) {
        self.git_ok(&["config", key, value]);
    }

    /// `git config --get KEY`.
    pub fn config(&self, key: &str) -> Option<String> {
        let out = self.git(&["config", "--get", key]);
        out.success().then(|| out.stdout_trimmed().to_string())
    }

    /// The object id a ref points at (the ref itself, not peeled), if it exists.
    pub fn ref_value(&self, refname: &str) -> Option<String> {
        let out = self.git(&["rev-parse", "--verify", "--quiet", refname]);
        out.success().then(|| out.stdout_trimmed().to_string())
    }

    /// Every ref (full name) and the object it points at.
    pub fn refs(&self) -> BTreeMap<String, String> {
        self.git_ok(&["for-each-ref", "--format=%(refname) %(objectname)"])
            .lines()
            .map(|l| {
                let (name, oid) = l.split_once(' ').expect("for-each-ref line");
                (name.to_string(), oid.to_string())
            })
            .collect()
    }

    /// The content of `path` at `rev` (`git show REV:PATH`), if it exists.
    pub fn read_file(&self, rev: &str, path: &str) -> Option<String> {
        let out = self.git(&["show", &format!("{rev}:{path}")]);
        out.success().then(|| out.stdout.clone())
    }

    /// The paths of the tree of `rev`, recursively.
    pub fn ls_tree(&self, rev: &str) -> Vec<String> {
        self.git_ok(&["ls-tree", "-r", "--name-only", rev])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The records of pushes on `refs/apps/push-certs`, newest first (empty
    /// when the ref does not exist): every commit of the log but its genesis
    /// (see [`Server::audit_log`]).
    pub fn push_certs(&self) -> Vec<PushCertEntry> {
        self.audit_log()
            .into_iter()
            .filter(|e| !e.is_genesis())
            .collect()
    }

    /// Every record of `refs/apps/push-certs`, newest first, the genesis
    /// record that `install` writes included: the log's first-parent chain
    /// from its tip down to the genesis (a record's other parents are the
    /// commits it keeps reachable, not records).
    pub fn audit_log(&self) -> Vec<PushCertEntry> {
        let Some(tip) = self.ref_value(PUSH_CERTS_REF) else {
            return vec![];
        };
        let mut log = Vec::new();
        let mut next = Some(tip);
        while let Some(commit) = next {
            let line = self.git_ok(&["rev-list", "--parents", "-n1", &commit]);
            let parents: Vec<String> = line.split(' ').skip(1).map(str::to_string).collect();
            let files = self.ls_tree(&commit);
            let cert = self.read_file(&commit, "cert").unwrap_or_default();
            let pusher = self.read_file(&commit, "pusher").unwrap_or_default();
            let entry = PushCertEntry {
                commit,
                parents,
                files,
                cert,
                pusher,
            };
            next = match entry.is_genesis() {
                true => None,
                false => entry.parents.first().cloned(),
            };
            log.push(entry);
        }
        log
    }

    /// The number of push records on `refs/apps/push-certs` (its genesis
    /// record not counted).
    pub fn push_cert_count(&self) -> usize {
        self.push_certs().len()
    }

    /// The `genesis` file of the log's first record, if that record is a
    /// genesis.
    pub fn genesis(&self) -> Option<String> {
        let log = self.audit_log();
        let first = log.last()?;
        first
            .is_genesis()
            .then(|| self.read_file(&first.commit, "genesis"))
            .flatten()
    }

    /// Copies the objects of `rev` from a clone into this repository without
    /// creating a ref or running a hook (`git fetch` into `FETCH_HEAD`), and
    /// returns its object id here.
    pub fn import(&self, workdir: &crate::Workdir<'_>, rev: &str) -> String {
        let oid = workdir.rev_parse(rev);
        workdir.git_ok(&["update-ref", "refs/gitapps-tests/export", &oid]);
        self.git_ok(&[
            "fetch",
            "--quiet",
            "--no-tags",
            &workdir.url(),
            "refs/gitapps-tests/export",
        ]);
        workdir.git_ok(&["update-ref", "-d", "refs/gitapps-tests/export"]);
        assert_eq!(self.git_ok(&["rev-parse", "FETCH_HEAD"]), oid);
        oid
    }

    /// Writes a commit as the server's admin would, with plumbing and without
    /// any hook: on top of `refname` (if it exists), with `files` written
    /// (`Some(content)`) or removed (`None`); moves `refname` to it and returns
    /// its id.
    pub fn admin_commit(
        &self,
        refname: &str,
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> String {
        let index = self.dir.path().join("admin-index");
        let parent = self.ref_value(refname);
        let commit = crate::plumbing::commit_files(
            &|| self.command("git"),
            &index,
            parent.as_deref(),
            files,
            message,
        );
        self.git(&["update-ref", refname, &commit]).assert_ok();
        commit
    }

    /// `gitapps-hook ARGS…`, run from the server's temporary directory.
    pub fn hook(&self, args: &[&str]) -> Output {
        let mut cmd = sealed_command(bin("gitapps-hook"), &self.home, None);
        cmd.current_dir(self.dir.path()).args(args);
        run(cmd, None)
    }

    /// `gitapps-hook explain --repo REPO --user FPR REFNAME NEWREV…`.
    pub fn explain(&self, user: &str, updates: &[(&str, &str)]) -> Output {
        let repo = self.url();
        let mut args = vec!["explain", "--repo", &repo, "--user", user];
        for (refname, newrev) in updates {
            args.push(refname);
            args.push(newrev);
        }
        self.hook(&args)
    }

    /// `gitapps-hook validate REPO:REV`.
    pub fn validate_rev(&self, rev: &str) -> Output {
        self.hook(&["validate", &format!("{}:{rev}", self.url())])
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({})", self.path.display())
    }
}

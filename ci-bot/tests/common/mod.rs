//! A sealed world for the bot's end-to-end tests: a bare server repository with
//! `gitapps-hook` installed, real gpg users (each with their own GNUPGHOME and HOME),
//! real git without system or global config, `git mr init --ci <bots>` by the owner,
//! and the `ci-bot` binary under test.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The command every test bot runs. `RUNS` gets one line per run; a file `slow`
/// makes it outlive any short timeout; a file `wait` makes it sleep that many
/// seconds (or `$WAIT_SECS`); `ok` decides pass or fail.
pub fn command(runs: &Path) -> String {
    format!(
        "echo \"$GITAPPS_MR v$GITAPPS_REVISION $BOT_NAME\" >> '{}'; \
         if [ -f slow ]; then sleep 30; fi; \
         if [ -f wait ]; then sleep \"${{WAIT_SECS:-$(cat wait)}}\"; fi; \
         echo checking; test -f ok",
        runs.display()
    )
}

pub fn ci_bot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ci-bot"))
}

/// A binary of the workspace (`gitapps-hook`, `git-mr`), next to this test's own
/// directory (target/<profile>), built once per test run so that it is never stale
/// (`GITAPPS_TESTS_NO_BUILD=1` skips the build).
pub fn workspace_bin(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let package = match name {
        "gitapps-hook" => "gitapps-hooks",
        other => other,
    };
    {
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if !built.iter().any(|p| p == package)
            && std::env::var_os("GITAPPS_TESTS_NO_BUILD").is_none()
        {
            build(package, dir);
            built.push(package.to_owned());
        }
    }
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p gitapps-hooks -p git-mr` first",
        bin.display()
    );
    bin
}

fn build(package: &str, profile_dir: &Path) {
    let target_dir = profile_dir.parent().expect("the target directory");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--bins",
            "-p",
            package,
            "--profile",
            &profile,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p {package} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub email: String,
    pub fpr: String,
    pub home: PathBuf,
    pub gnupg: PathBuf,
    pub clone: PathBuf,
    pub armored: PathBuf,
}

/// Everything cleared but PATH; own HOME and GNUPGHOME; no system or global git config.
pub fn sealed(cmd: &mut Command, home: &Path, gnupg: &Path) {
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", home)
        .env("GNUPGHOME", gnupg)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", "false")
        .env("NO_COLOR", "1")
        .env("LC_ALL", "C")
        .env("TZ", "UTC");
}

pub fn check(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl User {
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        sealed(&mut cmd, &self.home, &self.gnupg);
        cmd.current_dir(dir);
        cmd
    }

    /// `git args…` in the user's clone; a push refused as a nonce replay (one signed
    /// push per second) is tried again.
    pub fn git(&self, args: &[&str]) -> String {
        let mut out = self.cmd("git", &self.clone).args(args).output().unwrap();
        for _ in 0..5 {
            if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("nonce") {
                break;
            }
            std::thread::sleep(Duration::from_millis(1100));
            out = self.cmd("git", &self.clone).args(args).output().unwrap();
        }
        check(out, &format!("{}: git {}", self.name, args.join(" ")))
    }

    /// `git mr args…` in the user's clone; panics on failure, returns stdout.
    pub fn mr(&self, args: &[&str]) -> String {
        let out = self
            .cmd(workspace_bin("git-mr"), &self.clone)
            .args(args)
            .output()
            .unwrap();
        check(out, &format!("{}: git mr {}", self.name, args.join(" ")))
    }

    /// `git mr args…` in the user's clone; panics on failure, returns stderr.
    pub fn mr_stderr(&self, args: &[&str]) -> String {
        let out = self
            .cmd(workspace_bin("git-mr"), &self.clone)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        check(out, &format!("{}: git mr {}", self.name, args.join(" ")));
        stderr
    }

    /// Open a merge request on a new branch off `main` holding `files`; its name.
    pub fn open_mr(&self, branch: &str, files: &[(&str, &str)]) -> String {
        self.git(&["checkout", "-q", "-B", branch, "origin/main"]);
        for (path, content) in files {
            std::fs::write(self.clone.join(path), content).unwrap();
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", branch]);
        self.mr(&[
            "create",
            "-t",
            branch,
            "-m",
            "please test",
            "--target",
            "main",
        ])
        .trim()
        .to_owned()
    }

    /// A new revision of `mr` on `branch`, with `files` added and `removed` removed.
    pub fn revise(&self, mr: &str, branch: &str, files: &[(&str, &str)], removed: &[&str]) {
        self.git(&["checkout", "-q", branch]);
        for (path, content) in files {
            std::fs::write(self.clone.join(path), content).unwrap();
        }
        for path in removed {
            std::fs::remove_file(self.clone.join(path)).unwrap();
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "revised"]);
        self.mr(&["revise", mr, "-m", "revised"]);
    }
}

pub struct World {
    pub root: tempfile::TempDir,
    pub server: PathBuf,
    pub users: Vec<User>,
    /// One line per command run, by every bot.
    pub runs: PathBuf,
}

/// A bot's configuration and how to start it.
pub struct BotSetup {
    pub user: User,
    pub config: PathBuf,
    pub workdir: PathBuf,
}

impl World {
    /// A server owned by `owner`, with `alice` the author and the `bots` in group
    /// `ci`; every key registered, `main` pushed, `git mr init` done.
    pub fn new(bots: &[&str], others: &[&str]) -> World {
        let root = tempfile::tempdir().unwrap();
        let server = root.path().join("server.git");
        let mut names = vec!["owner", "alice"];
        names.extend_from_slice(bots);
        names.extend_from_slice(others);
        let users: Vec<User> = names.iter().map(|n| make_user(root.path(), n)).collect();
        let owner = users[0].clone();
        let out = owner
            .cmd(workspace_bin("gitapps-hook"), root.path())
            .arg("install")
            .arg(&server)
            .arg("--owner")
            .arg(&owner.armored)
            .output()
            .unwrap();
        check(out, "gitapps-hook install");
        let world = World {
            runs: root.path().join("runs"),
            root,
            server,
            users,
        };
        clone(&owner, &world.server);
        world.register_keys();
        std::fs::write(owner.clone.join("README"), "hello\n").unwrap();
        owner.git(&["add", "README"]);
        owner.git(&["commit", "-q", "-m", "initial"]);
        owner.git(&["push", "-q", "--signed", "origin", "HEAD:refs/heads/main"]);
        let mut init = vec!["init".to_owned()];
        for b in bots {
            init.push("--ci".to_owned());
            init.push(world.user(b).fpr.clone());
        }
        let init: Vec<&str> = init.iter().map(String::as_str).collect();
        owner.mr(&init);
        for u in &world.users[1..] {
            clone(u, &world.server);
        }
        world
    }

    pub fn user(&self, name: &str) -> &User {
        self.users.iter().find(|u| u.name == name).unwrap()
    }

    pub fn alice(&self) -> &User {
        self.user("alice")
    }

    /// The owner adds every other user's key to apps/access-control.
    fn register_keys(&self) {
        let owner = &self.users[0];
        let dir = self.root.path().join("ac");
        let out = owner
            .cmd("git", self.root.path())
            .args(["clone", "-q", "-b", "apps/access-control"])
            .arg(&self.server)
            .arg(&dir)
            .output()
            .unwrap();
        check(out, "clone access-control");
        let ac = User {
            clone: dir.clone(),
            ..owner.clone()
        };
        configure(&ac);
        for u in &self.users[1..] {
            std::fs::copy(&u.armored, dir.join(format!("keys/{}.asc", u.fpr))).unwrap();
        }
        ac.git(&["add", "-A"]);
        ac.git(&["commit", "-q", "-m", "register keys"]);
        ac.git(&["push", "-q", "--signed", "origin", "apps/access-control"]);
    }

    /// The owner changes files on apps/access-control (`None` removes one) and pushes.
    pub fn edit_access_control(&self, files: &[(&str, Option<&str>)], message: &str) {
        let owner = &self.users[0];
        let ac = User {
            clone: self.root.path().join("ac"),
            ..owner.clone()
        };
        ac.git(&["pull", "-q", "--ff-only"]);
        for (path, content) in files {
            let p = ac.clone.join(path);
            match content {
                Some(c) => std::fs::write(&p, c).unwrap(),
                None => std::fs::remove_file(&p).unwrap(),
            }
        }
        ac.git(&["add", "-A"]);
        ac.git(&["commit", "-q", "-m", message]);
        ac.git(&["push", "-q", "--signed", "origin", "apps/access-control"]);
    }

    /// Write a bot's configuration (`extra` appended) and return how to run it.
    pub fn bot(&self, name: &str, timeout_secs: u64, extra: &str) -> BotSetup {
        let user = self.user(name).clone();
        let dir = self.root.path().join(format!("bot-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("ci-bot.toml");
        let workdir = dir.join("work");
        std::fs::write(
            &config,
            format!(
                "remote = {:?}\nworkdir = {:?}\ncommand = {:?}\ntimeout_secs = {timeout_secs}\n\
                 poll_secs = 1\nsigning_key = {:?}\nlog_tail_lines = 20\n{extra}",
                self.server.display().to_string(),
                workdir.display().to_string(),
                command(&self.runs),
                user.fpr,
            ),
        )
        .unwrap();
        BotSetup {
            user,
            config,
            workdir,
        }
    }

    /// `git args…` on the server repository.
    pub fn server_git(&self, args: &[&str]) -> Output {
        let owner = &self.users[0];
        owner
            .cmd("git", self.root.path())
            .arg("--git-dir")
            .arg(&self.server)
            .args(args)
            .output()
            .unwrap()
    }

    /// The data branch's tip on the server.
    pub fn data_tip(&self) -> String {
        check(
            self.server_git(&["rev-parse", "refs/heads/apps/merge-reqs/data"]),
            "rev-parse data",
        )
        .trim()
        .to_owned()
    }

    /// Names in the data branch's directory `path` (empty when it does not exist).
    pub fn ls(&self, path: &str) -> Vec<String> {
        let out = self.server_git(&[
            "ls-tree",
            "--name-only",
            &format!("refs/heads/apps/merge-reqs/data:{path}"),
        ]);
        if !out.status.success() {
            return Vec::new();
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn cat(&self, path: &str) -> String {
        check(
            self.server_git(&["show", &format!("refs/heads/apps/merge-reqs/data:{path}")]),
            &format!("show {path}"),
        )
    }

    /// A file on apps/access-control.
    pub fn cat_access_control(&self, path: &str) -> String {
        check(
            self.server_git(&["show", &format!("refs/heads/apps/access-control:{path}")]),
            &format!("show {path}"),
        )
    }

    /// The labels of merge request `mr` (`<FPR>/<n>`).
    pub fn labels(&self, mr: &str) -> Vec<String> {
        self.ls(&format!("merge-reqs/{mr}/labels"))
    }

    /// The CI comments on `mr`: (bot fingerprint, index, headers, body).
    pub fn ci_comments(&self, mr: &str) -> Vec<CiComment> {
        let mut out = Vec::new();
        for who in self.ls(&format!("merge-reqs/{mr}/comments")) {
            for k in self.ls(&format!("merge-reqs/{mr}/comments/{who}")) {
                let text = self.cat(&format!("merge-reqs/{mr}/comments/{who}/{k}"));
                let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
                let headers: BTreeMap<String, String> = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                if headers.contains_key("CI-Status") {
                    out.push(CiComment {
                        author: who.clone(),
                        index: k.parse().unwrap(),
                        headers,
                        body: body.to_owned(),
                    });
                }
            }
        }
        out
    }

    /// The claim files on revision `k` of `mr`, with their contents.
    pub fn claims(&self, mr: &str, k: u32) -> Vec<(String, String)> {
        let dir = format!("merge-reqs/{mr}/ci/v{k}");
        self.ls(&dir)
            .into_iter()
            .map(|name| {
                let text = self.cat(&format!("{dir}/{name}"));
                (name, text)
            })
            .collect()
    }

    /// The lines of the runs file.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct CiComment {
    pub author: String,
    pub index: u32,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl CiComment {
    pub fn status(&self) -> &str {
        &self.headers["CI-Status"]
    }

    pub fn revision(&self) -> &str {
        &self.headers["Revision"]
    }
}

impl BotSetup {
    pub fn command(&self, env: &[(&str, &str)]) -> Command {
        let mut cmd = self.user.cmd(ci_bot_bin(), &self.user.home);
        cmd.arg("--config")
            .arg(&self.config)
            .env("BOT_NAME", &self.user.name)
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `ci-bot --once`, whatever the outcome.
    pub fn once(&self, env: &[(&str, &str)]) -> Output {
        self.command(env).arg("--once").output().unwrap()
    }

    /// `ci-bot --once` that must succeed; its stderr (the log).
    pub fn once_ok(&self, env: &[(&str, &str)]) -> String {
        let out = self.once(env);
        assert!(
            out.status.success(),
            "ci-bot --once ({}) failed ({}):\n{}",
            self.user.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// The daemon, its log in [`BotSetup::log_path`].
    pub fn spawn(&self, env: &[(&str, &str)]) -> Child {
        self.spawn_with(env, &[])
    }

    /// `ci-bot --once` in the background, its log in [`BotSetup::log_path`].
    pub fn spawn_once(&self, env: &[(&str, &str)]) -> Child {
        self.spawn_with(env, &["--once"])
    }

    fn spawn_with(&self, env: &[(&str, &str)], args: &[&str]) -> Child {
        let log = std::fs::File::create(self.log_path()).unwrap();
        self.command(env)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    pub fn log_path(&self) -> PathBuf {
        self.workdir.parent().unwrap().join("daemon.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

/// Wait up to `secs` for `cond`.
pub fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Wait up to `secs` for a child to exit; kill it and fail otherwise.
pub fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the process did not exit within {secs} s");
}

impl Drop for World {
    fn drop(&mut self) {
        for u in &self.users {
            let _ = u
                .cmd("gpgconf", self.root.path())
                .args(["--kill", "gpg-agent"])
                .output();
        }
    }
}

fn make_user(root: &Path, name: &str) -> User {
    let home = root.join(format!("home-{name}"));
    let gnupg = home.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let email = format!("{name}@example.org");
    let mut user = User {
        name: name.to_owned(),
        email: email.clone(),
        fpr: String::new(),
        home: home.clone(),
        gnupg: gnupg.clone(),
        clone: home.join("clone"),
        armored: home.join(format!("{name}.asc")),
    };
    let uid = format!("{} <{email}>", capitalized(name));
    let out = user
        .cmd("gpg", &home)
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            &uid,
            "ed25519",
            "sign",
            "never",
        ])
        .output()
        .unwrap();
    check(out, "gpg --quick-gen-key");
    let out = user
        .cmd("gpg", &home)
        .args(["--batch", "--with-colons", "--fingerprint", &email])
        .output()
        .unwrap();
    let colons = check(out, "gpg --fingerprint");
    user.fpr = colons
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_owned();
    let out = user
        .cmd("gpg", &home)
        .args(["--batch", "--armor", "--export", &user.fpr])
        .output()
        .unwrap();
    std::fs::write(&user.armored, check(out, "gpg --export")).unwrap();
    user
}

pub fn capitalized(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn configure(u: &User) {
    u.git(&["config", "user.name", &capitalized(&u.name)]);
    u.git(&["config", "user.email", &u.email]);
    u.git(&["config", "user.signingkey", &u.fpr]);
}

fn clone(u: &User, server: &Path) {
    let out = u
        .cmd("git", &u.home)
        .args(["clone", "-q"])
        .arg(server)
        .arg(&u.clone)
        .output()
        .unwrap();
    check(out, "git clone");
    configure(u);
}

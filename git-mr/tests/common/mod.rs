//! A sealed world for end-to-end tests: real gpg users (each with their own
//! GNUPGHOME), real git with no global or system config, a bare server repository
//! with `gitapps-hook` installed, and the `git-mr` binary under test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const NOW: &str = "2026-11-26T11:00:00Z";

pub fn git_mr_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_git-mr"))
}

/// `gitapps-hook`, built next to `git-mr` (`cargo build -p gitapps-hooks`).
pub fn hook_bin() -> PathBuf {
    let bin = git_mr_bin()
        .parent()
        .expect("the binary lives in a directory")
        .join("gitapps-hook");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p gitapps-hooks` first",
        bin.display()
    );
    bin
}

pub struct World {
    pub root: tempfile::TempDir,
    pub server: PathBuf,
    pub users: Vec<User>,
}

#[derive(Clone)]
pub struct User {
    pub name: String,
    pub email: String,
    pub fpr: String,
    pub home: PathBuf,
    pub gnupg: PathBuf,
    pub clone: PathBuf,
    pub armored: PathBuf,
}

fn sealed(cmd: &mut Command, home: &Path, gnupg: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("GIT_") || k.starts_with("GITAPPS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("GNUPGHOME", gnupg)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", "false")
        .env("NO_COLOR", "1")
        .env("GITAPPS_NOW", NOW)
        .env("LC_ALL", "C");
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

    /// `git args…` in the user's clone; panics on failure. A push the hook refuses
    /// as a nonce replay (one signed push per second) is tried again.
    pub fn git(&self, args: &[&str]) -> String {
        let mut out = self.cmd("git", &self.clone).args(args).output().unwrap();
        for _ in 0..5 {
            if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("fresh nonce")
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1100));
            out = self.cmd("git", &self.clone).args(args).output().unwrap();
        }
        check(out, &format!("{}: git {}", self.name, args.join(" ")))
    }

    /// `git mr args…` in the user's clone, whatever the outcome.
    pub fn mr_out(&self, args: &[&str]) -> Output {
        self.cmd(git_mr_bin(), &self.clone)
            .args(args)
            .output()
            .unwrap()
    }

    /// `git mr args…`; panics on failure, returns stdout.
    pub fn mr(&self, args: &[&str]) -> String {
        check(
            self.mr_out(args),
            &format!("{}: git mr {}", self.name, args.join(" ")),
        )
    }

    /// `git mr args…` that must fail; returns stderr.
    pub fn mr_fails(&self, args: &[&str]) -> String {
        let out = self.mr_out(args);
        assert!(
            !out.status.success(),
            "{}: git mr {} should fail:\n{}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.mr(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

impl World {
    /// A server with the hook, owned by the first of `names`; every user has a clone,
    /// and every user's key is registered on apps/access-control by the owner.
    pub fn new(names: &[&str]) -> World {
        let root = tempfile::tempdir().unwrap();
        let server = root.path().join("server.git");
        let mut users = Vec::new();
        for name in names {
            users.push(make_user(root.path(), name));
        }
        let owner = &users[0];
        let out = owner
            .cmd(hook_bin(), root.path())
            .arg("install")
            .arg(&server)
            .arg("--owner")
            .arg(&owner.armored)
            .output()
            .unwrap();
        check(out, "gitapps-hook install");
        for u in &users {
            clone(u, &server);
        }
        let world = World {
            root,
            server,
            users,
        };
        world.register_keys();
        world
    }

    pub fn user(&self, name: &str) -> &User {
        self.users.iter().find(|u| u.name == name).unwrap()
    }

    pub fn owner(&self) -> &User {
        &self.users[0]
    }

    /// The owner adds every other user's key to apps/access-control.
    fn register_keys(&self) {
        let owner = self.owner();
        let mut files = Vec::new();
        for u in &self.users[1..] {
            files.push((
                format!("keys/{}.asc", u.fpr),
                std::fs::read_to_string(&u.armored).unwrap(),
            ));
        }
        self.owner_edit_access_control(&files, "register keys");
        let _ = owner;
    }

    /// The owner commits files onto apps/access-control and pushes, signed.
    pub fn owner_edit_access_control(&self, files: &[(String, String)], message: &str) {
        let owner = self.owner();
        let dir = self.root.path().join(format!("ac-{}", rand_suffix()));
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
        for (path, content) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
        ac.git(&["add", "-A"]);
        ac.git(&["commit", "-q", "-m", message]);
        ac.git(&["push", "-q", "--signed", "origin", "apps/access-control"]);
    }

    /// The owner creates `main` with one commit.
    pub fn setup_main(&self) {
        let owner = self.owner();
        std::fs::write(owner.clone.join("README"), "hello\n").unwrap();
        owner.git(&["add", "README"]);
        owner.git(&["commit", "-q", "-m", "initial"]);
        owner.git(&["push", "-q", "--signed", "origin", "HEAD:refs/heads/main"]);
        for u in &self.users {
            u.git(&["fetch", "-q", "origin"]);
        }
    }

    /// The owner lets maintainers (a group `git mr init` creates) push `main`.
    pub fn grant_main_to_maintainers(&self) {
        self.owner_edit_access_control(
            &[
                (
                    "refs/main.conf".to_owned(),
                    "maintainers fast-forward ^heads/main$\n".to_owned(),
                ),
                (
                    "branches/main.conf".to_owned(),
                    "branch ^heads/main$\nmaintainers create-directory,create-file,create-symlink,modify,delete ^.*$\n"
                        .to_owned(),
                ),
            ],
            "maintainers push main",
        );
    }
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

fn rand_suffix() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{n:x}")
}

fn make_user(root: &Path, name: &str) -> User {
    let home = root.join(format!("home-{name}"));
    let gnupg = home.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    #[cfg(unix)]
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

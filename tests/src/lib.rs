//! End-to-end test harness for git apps: real `git`, real `gpg`, a real bare
//! repository with `gitapps-hook` installed.
//!
//! In the spirit of jj's `test_environment.rs`, kept small:
//!
//! - [`bin`]: the path of a workspace binary, built on first use.
//! - [`User`]: a person with their own `GNUPGHOME` and OpenPGP key
//!   (ed25519 by default; also with a signing subkey, RSA, expired, revoked).
//! - [`Server`]: a temporary bare repository set up by `gitapps-hook install`.
//! - [`Workdir`]: a user's clone of a server, with helpers to edit, commit and push.
//! - [`Output`]: a finished command, with assertions that print stdout and stderr
//!   when they fail.
//! - [`Member`], [`Forge`]: for the tools' tests (`git mr`, `ci-bot`): a person
//!   with a clone who runs the tools as people do (real clock, identity from
//!   git config), and a server owned by the first of a team of them.
//! - [`cert`]: push certificates built by hand, as git builds them, and a way
//!   to run `gitapps-hook pre-receive` directly with git's environment (also
//!   measured: peak memory through the `peak-rss` binary, see [`peak_rss`]).
//! - [`fuzz`]: a small mutational fuzzer for the fuzz targets in
//!   `tests/fuzz.rs`, with a counting allocator for their memory bounds.
//! - [`http`], [`ssh`]: real servers in front of a [`Server`] (nginx +
//!   fcgiwrap + `git http-backend`; `sshd` + `git-shell`), started by the
//!   tests and always stopped ([`daemon`]).
//!
//! Every command runs in a sealed environment (see [`sealed_command`]): no
//! system or global git config, its own `HOME`, and a fixed author/committer
//! (but for a [`Member`]'s, see [`sealed_tool_command`]).
//! Nothing mutable is shared between tests: each test makes its own users,
//! servers and clones in their own temporary directories.

pub mod bench;
pub mod cert;
pub mod daemon;
mod forge;
pub mod fuzz;
pub mod http;
mod member;
mod output;
mod plumbing;
mod server;
pub mod ssh;
mod user;
mod workdir;

pub use forge::Forge;
pub use member::Member;
pub use output::Output;
pub use server::{PushCertEntry, Server};
pub use user::{now_secs, User};
pub use workdir::Workdir;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The author and committer identity every command runs with, unless a
/// [`Workdir`] sets its user's own.
pub const DEFAULT_NAME: &str = "Test Runner";
/// See [`DEFAULT_NAME`].
pub const DEFAULT_EMAIL: &str = "runner@example.com";
/// The date of the first commit in every [`Workdir`]; later ones count up.
pub const BASE_TIMESTAMP: u64 = 1_700_000_000;

/// All zeros: the "old" value of a created ref, the "new" value of a deleted one.
pub const ZERO_OID: &str = "0000000000000000000000000000000000000000";

/// A `Command` for `program` with a sealed environment: everything cleared but
/// `PATH`, then `HOME=home`, no system or global git config, `LC_ALL=C`,
/// `TZ=UTC`, fixed `GIT_AUTHOR_*`/`GIT_COMMITTER_*`, and `GNUPGHOME` when given.
pub fn sealed_command(
    program: impl AsRef<OsStr>,
    home: &Path,
    gnupghome: Option<&Path>,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", "false")
        .env("EDITOR", "false")
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .env("TZ", "UTC")
        .env("GIT_AUTHOR_NAME", DEFAULT_NAME)
        .env("GIT_AUTHOR_EMAIL", DEFAULT_EMAIL)
        .env("GIT_COMMITTER_NAME", DEFAULT_NAME)
        .env("GIT_COMMITTER_EMAIL", DEFAULT_EMAIL)
        .env("GIT_AUTHOR_DATE", format!("@{BASE_TIMESTAMP} +0000"))
        .env("GIT_COMMITTER_DATE", format!("@{BASE_TIMESTAMP} +0000"));
    if let Some(backtrace) = std::env::var_os("RUST_BACKTRACE") {
        cmd.env("RUST_BACKTRACE", backtrace);
    }
    if let Some(gnupghome) = gnupghome {
        cmd.env("GNUPGHOME", gnupghome);
    }
    cmd
}

/// A `Command` for one of the forge's tools (`git mr`, `ci-bot`, and the git
/// they run) as people run them: sealed as by [`sealed_command`], but with no
/// fixed author, committer or dates, so git takes the identity from config
/// (`user.name`, `user.email`) and the time from the clock; and `NO_COLOR=1`.
pub fn sealed_tool_command(
    program: impl AsRef<OsStr>,
    home: &Path,
    gnupghome: Option<&Path>,
) -> Command {
    let mut cmd = sealed_command(program, home, gnupghome);
    for fixed in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    ] {
        cmd.env_remove(fixed);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A new temporary directory with a short path under `/tmp` (gpg-agent's socket
/// paths must stay under 108 bytes).
pub fn short_tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("create a temporary directory under /tmp")
}

/// The binaries the workspace builds.
const BINARIES: [&str; 5] = ["gitapps-hook", "git-mr", "git-issue", "ci-bot", "peak-rss"];

/// `target/<profile>`: the directory of the running test binary's `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe
        .parent()
        .expect("test binary has a parent directory")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The path of a workspace binary (`gitapps-hook`, `git-mr`, `ci-bot`) in the
/// same `target/<profile>/` as the running test.
///
/// `cargo test` builds only the binaries of the package under test, so the
/// first call in a process runs `cargo build --workspace --bins` (same target
/// dir and profile). It builds with the features the whole workspace unifies,
/// as `cargo test --workspace` does, so after that it is a no-op; a
/// `cargo build -p PKG` would resolve other features and rebuild gix and
/// sequoia (minutes on a fresh checkout). It keeps a plain
/// `cargo test --workspace` from testing a stale or missing binary. Set
/// `GITAPPS_TESTS_NO_BUILD=1` to skip the build and only use what is there.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let dir = profile_dir();
    let path = dir.join(name);
    assert!(
        BINARIES.contains(&name),
        "unknown workspace binary {name:?}"
    );
    if std::env::var_os("GITAPPS_TESTS_NO_BUILD").is_none() {
        BUILT.call_once(|| build_workspace_bins(&dir));
    }
    assert!(
        path.exists(),
        "{} does not exist, and `cargo build --workspace --bins` did not make it",
        path.display()
    );
    path
}

fn build_workspace_bins(profile_dir: &Path) {
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--workspace",
            "--bins",
            "--profile",
            &profile,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .expect("run cargo build");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("warning: `cargo build --workspace --bins` failed, testing the binaries that are there:\n{stderr}");
    }
}

/// Runs `cmd`, capturing everything, and describes it in the [`Output`].
/// With `GITAPPS_TESTS_VERBOSE` set, every command and its output is printed
/// (see it with `cargo test -- --nocapture`).
pub fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let description = describe(&cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {description}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let input = input.to_vec();
        // Write from a thread so a child that does not read stdin cannot block us.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {description}: {e}"));
    let out = Output::new(description, out);
    if std::env::var_os("GITAPPS_TESTS_VERBOSE").is_some() {
        eprintln!("{out}");
    }
    out
}

/// The peak resident memory, in bytes, that a program run as
/// `PEAK_RSS_FILE=report peak-rss PROGRAM ARGS…` (the workspace's
/// `peak-rss`) had. See `src/bin/peak-rss.rs` for why a test cannot
/// measure its own child directly.
pub fn peak_rss(report: &Path) -> u64 {
    std::fs::read_to_string(report)
        .unwrap_or_else(|e| panic!("read {}: {e}", report.display()))
        .trim()
        .parse()
        .expect("peak-rss writes a number")
}

fn describe(cmd: &Command) -> String {
    let mut s = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        s.push_str(&format!("(in {}) ", dir.display()));
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace()) {
            s.push_str(&format!(" {arg:?}"));
        } else {
            s.push(' ');
            s.push_str(&arg);
        }
    }
    s
}

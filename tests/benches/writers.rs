//! Many writers (issue "git mr: correct under stale clones, impostors and load").
//!
//! `cargo bench -p gitapps-tests --bench writers` makes N users (real gpg keys, each
//! with their own clone), a server with the hook and one merge request, then:
//!
//! 1. N `git mr comment` one after another (the sequential time S);
//! 2. N `git mr comment` at once, one per user (the wall time C);
//!
//! over the local path and, with nginx and fcgiwrap installed, over HTTP. It
//! prints, per transport: failures, total push attempts (every `git push` the
//! tools ran, counted by a `git` wrapper on PATH), S, C and C/S (goal: 0
//! failures, C/S <= 3). Every comment must be on the data branch afterwards.
//!
//! GITAPPS_BENCH_WRITERS sets N (default 100); GITAPPS_BENCH_HTTP=0 skips HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitapps_tests::http::HttpServer;
use gitapps_tests::{Forge, Member};

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `git` on PATH that appends its subcommand to `log` (O_APPEND: whole lines).
fn logging_git(dir: &Path, log: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .expect("sh");
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    let script = dir.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \" $* \" in *\" push \"*) echo push >> '{}';; esac\nexec {real} \"$@\"\n",
            log.display()
        ),
    )
    .expect("write the wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir.to_path_buf()
}

fn comment(u: &Member, bin_dir: &Path, mr: &str, text: &str) -> Command {
    let mut cmd = u.mr_command();
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin_dir.display()))
        .args(["comment", mr, "-m", text])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

struct Round {
    failures: usize,
    pushes: usize,
    wall: Duration,
    first_failure: Option<String>,
}

fn pushes(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}

/// Every writer comments once: one after another, or all at once.
fn round(
    users: &[Member],
    bin_dir: &Path,
    log: &Path,
    mr: &str,
    tag: &str,
    at_once: bool,
) -> Round {
    let kind = if at_once { "concurrent" } else { "sequential" };
    let before = pushes(log);
    let start = Instant::now();
    let mut outputs = Vec::new();
    let mut children = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let mut cmd = comment(u, bin_dir, mr, &format!("{tag} {kind} {i}"));
        if at_once {
            children.push(cmd.spawn().expect("spawn"));
        } else {
            outputs.push(cmd.output().expect("spawn"));
        }
    }
    outputs.extend(
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait")),
    );
    let failed: Vec<_> = outputs.iter().filter(|o| !o.status.success()).collect();
    Round {
        failures: failed.len(),
        pushes: pushes(log) - before,
        wall: start.elapsed(),
        first_failure: failed
            .first()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned()),
    }
}

fn report(transport: &str, n: usize, seq: &Round, conc: &Round) {
    println!(
        "{transport}: {n} writers: sequential {:.1} s ({} failures, {} pushes); \
concurrent {:.1} s ({} failures, {} pushes, {:.1} per writer); ratio {:.2} (goal <= 3)",
        seq.wall.as_secs_f64(),
        seq.failures,
        seq.pushes,
        conc.wall.as_secs_f64(),
        conc.failures,
        conc.pushes,
        conc.pushes as f64 / n as f64,
        conc.wall.as_secs_f64() / seq.wall.as_secs_f64()
    );
    for r in [seq, conc] {
        if let Some(f) = &r.first_failure {
            println!("  first failure:\n{f}");
        }
    }
}

/// Every comment of the round is on the data branch.
fn check_all_arrived(owner: &Member, mr: &str, tag: &str, n: usize) {
    let out = owner.mr(&["show", mr, "--json"]);
    for kind in ["sequential", "concurrent"] {
        let arrived = (0..n)
            .filter(|i| out.contains(&format!("\"{tag} {kind} {i}\\n\"")))
            .count();
        println!("  {tag}: {arrived} of {n} {kind} comments on the data branch");
    }
}

fn main() {
    let n = env_usize("GITAPPS_BENCH_WRITERS", 100);
    let handles: Vec<String> = std::iter::once("owner".to_owned())
        .chain((0..n).map(|i| format!("w{i}")))
        .collect();
    let handles: Vec<&str> = handles.iter().map(String::as_str).collect();
    let t = Instant::now();
    let forge = Forge::new(&handles, &[]);
    forge.clone_all();
    forge.push_main();
    let mr = gitapps_tests::bench::owner_merge_request(&forge);
    let owner = forge.owner();
    let writers = &forge.users[1..];
    for u in writers {
        u.mr(&["fetch"]);
    }
    println!(
        "setup: {n} users with keys and clones in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let log = forge.root.path().join("pushes.log");
    let bin_dir = logging_git(&forge.root.path().join("bin"), &log);

    let seq = round(writers, &bin_dir, &log, &mr, "local", false);
    let conc = round(writers, &bin_dir, &log, &mr, "local", true);
    report("local path", n, &seq, &conc);
    check_all_arrived(owner, &mr, "local", n);

    if std::env::var("GITAPPS_BENCH_HTTP").as_deref() == Ok("0") {
        return;
    }
    let http = HttpServer::shared();
    let url = http.serve(&forge.server);
    for u in forge.users.iter() {
        u.git(&["remote", "set-url", "origin", &url]);
    }
    let seq = round(writers, &bin_dir, &log, &mr, "http", false);
    let conc = round(writers, &bin_dir, &log, &mr, "http", true);
    report("HTTP (nginx + fcgiwrap)", n, &seq, &conc);
    check_all_arrived(owner, &mr, "http", n);
}

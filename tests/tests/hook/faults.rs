//! Issue 11, faults: no push that git applied is missing from the audit log,
//! whatever is killed when; a stale lock does not stop the log; a log that
//! cannot be written refuses the push; a killed hook leaves nothing behind.
//!
//! The hook sleeps at its named points when `GITAPPS_TEST_PAUSE` says so
//! (`hooks/src/testing.rs`), which stretches each push to about a second,
//! and the test kills the client, or the hook, at offsets spread over it.
//! After every run: `git fsck` is clean, and a clone's `gitapps-hook verify`
//! explains every ref the server shows. `GITAPPS_FAULT_RUNS` sets the number
//! of runs of each test (default 10).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use gitapps_tests::{short_tempdir, Server, User, Workdir};

use crate::common::push_main;

/// Every point the hook can pause at, in the order it passes them.
const PAUSES: &str = "pre-receive-judged=60,pre-receive-done=60,transaction-start=60,transaction-written=60,transaction-recorded=60,transaction-done=60";

fn runs() -> usize {
    std::env::var("GITAPPS_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// The processes working in `repo` (receive-pack and the hooks it runs,
/// which git starts in the repository): pid and the name they run as.
fn processes_in(repo: &Path) -> Vec<(i32, String)> {
    let repo = repo.canonicalize().expect("the server's path");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        if cwd != repo {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
        let name = Path::new(&*String::from_utf8_lossy(argv0))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((pid, name));
    }
    out
}

/// Waits until nothing runs in the server any more (what a killed client
/// left running finishes or dies by itself).
fn wait_idle(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !processes_in(server.path()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still running in the server: {:?}",
            processes_in(server.path())
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill9(pid: i32) {
    // SAFETY: kill(2) with a pid read from /proc just now; at worst it no
    // longer exists (ESRCH).
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// The object views (`gitapps-objects-<pid>-*`) in `dir` whose hook is gone.
fn dead_views(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("gitapps-objects-")
                .and_then(|rest| rest.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        })
        .map(|e| e.path())
        .collect()
}

/// After a run: the repository is sound, and every ref the server shows is
/// explained by its log.
#[track_caller]
fn assert_explained(server: &Server, auditor: &Workdir<'_>) {
    let fsck = server.git(&["fsck", "--no-dangling", "--no-progress"]);
    fsck.assert_ok();
    assert!(
        fsck.stdout.trim().is_empty() && !fsck.stderr.contains("error"),
        "git fsck: {fsck}"
    );
    auditor.verify(&[]).assert_ok();
}

struct Counts {
    runs: usize,
    applied: usize,
    recorded: usize,
    /// Pushes the client saw succeed.
    reported: usize,
}

/// `runs()` pushes of a new commit to `main` (and a new branch, without
/// --atomic every other run), each with the hook slowed down; `fault`
/// kills something during run `i` of `n`. Checks after every run, and
/// returns the counts.
fn run_faults(label: &str, fault: impl Fn(&Server, &mut Child, usize, usize)) -> Counts {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "0\n")]);
    let aw = Workdir::clone(&auditor, &server);
    aw.verify(&[]).assert_ok();
    let n = runs();
    let mut counts = Counts {
        runs: n,
        applied: 0,
        recorded: 0,
        reported: 0,
    };
    for i in 0..n {
        let main = server.ref_value("refs/heads/main").expect("main");
        let records = server.push_cert_count();
        let commit = ow.commit_files(Some(&main), &[("run", Some(&format!("{i}\n")))], "run");
        let branch = format!("refs/heads/run-{i}");
        let mut cmd = ow.command("git");
        cmd.args(["push", "--signed", "--quiet"]);
        if i % 2 == 0 {
            cmd.arg("--atomic");
        }
        cmd.args(["origin", &format!("{commit}:refs/heads/main")])
            .arg(format!("{commit}:{branch}"))
            .env("GITAPPS_TEST_PAUSE", PAUSES)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut client = cmd.spawn().expect("spawn git push");
        fault(&server, &mut client, i, n);
        let status = client.wait().expect("wait for git push");
        wait_idle(&server);
        let applied = server.ref_value("refs/heads/main").as_deref() == Some(commit.as_str())
            || server.ref_value(&branch).is_some();
        let recorded = server.push_cert_count() > records;
        counts.applied += usize::from(applied);
        counts.recorded += usize::from(recorded);
        counts.reported += usize::from(status.success());
        assert!(
            !applied || recorded,
            "{label} run {i}: the push was applied without a record"
        );
        assert_explained(&server, &aw);
    }
    // One push more, untouched: it goes through, and the views killed hooks
    // left in /dev/shm are gone.
    let main = server.ref_value("refs/heads/main").expect("main");
    let last = ow.commit_files(Some(&main), &[("run", Some("last\n"))], "last");
    ow.push_signed(&["origin", &format!("{last}:refs/heads/main")])
        .assert_ok();
    assert_explained(&server, &aw);
    let leaked = dead_views(Path::new("/dev/shm"));
    assert!(leaked.is_empty(), "object views left behind: {leaked:?}");
    // The ledger keeps no line of a push that was not recorded (one the
    // hook accepted and then died, or git refused).
    let ledger = std::fs::read_to_string(server.path().join("gitapps/ledger")).unwrap_or_default();
    let fields: Vec<Vec<&str>> = ledger.lines().map(|l| l.split(' ').collect()).collect();
    for line in fields.iter().filter(|f| f.get(2) != Some(&"recorded")) {
        assert!(
            fields
                .iter()
                .any(|f| f.get(2) == Some(&"recorded") && f.get(1) == line.get(1)),
            "a ledger line of a push never recorded: {line:?}\n{ledger}"
        );
    }
    eprintln!(
        "{label}: {} runs, {} applied, {} recorded, {} reported as pushed to the client; ledger {} lines",
        counts.runs,
        counts.applied,
        counts.recorded,
        counts.reported,
        ledger.lines().count()
    );
    counts
}

/// Kills `git push` (the client) at offsets spread over the push, denser
/// early on (while it signs and uploads); what it leaves running on the
/// server carries on or dies, as it does.
#[test]
fn killing_the_client_at_any_time_leaves_no_push_unrecorded() {
    let counts = run_faults("kill the client", |_, client, i, n| {
        std::thread::sleep(Duration::from_millis((i * i * 1000 / (n * n)) as u64));
        let _ = client.kill();
    });
    // The spread reaches both sides: pushes applied and pushes not.
    assert!(
        counts.applied > 0 && counts.applied < counts.runs,
        "{}",
        counts.applied
    );
}

/// Kills the hook running at offsets spread over the push (pre-receive,
/// or the reference-transaction hook that writes the record).
#[test]
fn killing_the_hook_at_any_time_leaves_no_push_unrecorded() {
    let counts = run_faults("kill the hook", |server, client, i, n| {
        let at = Instant::now() + Duration::from_millis(100 + (i * 600 / n) as u64);
        // Kill the first hook running from then on.
        loop {
            let hooks: Vec<i32> = processes_in(server.path())
                .into_iter()
                .filter(|(_, name)| name == "pre-receive" || name == "reference-transaction")
                .map(|(pid, _)| pid)
                .collect();
            if Instant::now() >= at && !hooks.is_empty() {
                hooks.into_iter().for_each(kill9);
                return;
            }
            if client.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    assert!(counts.applied < counts.runs, "no hook was killed");
}

/// `git push --signed origin main` from `wd` in a mount namespace of its
/// own, after `setup` (shell, as root) changed the mounts there: the local
/// transport runs receive-pack and the hooks inside it too.
fn push_in_namespace(wd: &Workdir<'_>, setup: &str) -> gitapps_tests::Output {
    let mut cmd = wd.command("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "set -e\n{setup}\nexec git push --signed origin main"
        ));
    gitapps_tests::run(cmd, None)
}

/// Fails loudly where the test cannot make mounts (not root).
fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test mounts file systems in a mount namespace of its own and must run as root (e.g. `sudo -E cargo test -p gitapps-tests --test hook faults`)"
    );
}

/// A `refs/apps/push-certs.lock` left by a killed writer does not stop the
/// log for ever: one at least 5 s old is removed by the next writer (see
/// hooks/src/audit.rs), and the push is recorded.
#[test]
fn a_stale_lock_on_the_log_does_not_stop_it() {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let lock = server.path().join("refs/apps/push-certs.lock");
    let file = std::fs::File::create(&lock).expect("a lock");
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
        .expect("age the lock");
    drop(file);
    let ow = Workdir::clone(&owner, &server);
    let records = server.push_cert_count();
    ow.switch_orphan("main");
    ow.write("README", "1\n");
    ow.commit_all("main");
    ow.push_signed(&["origin", "main"])
        .assert_ok()
        .assert_stderr_contains("gitapps: warning: removed");
    assert_eq!(server.push_cert_count(), records + 1);
    assert!(!lock.exists());
    assert_explained(&server, &Workdir::clone(&auditor, &server));
}

/// A log that cannot be written (`refs/apps` read-only) refuses the push:
/// nothing is applied unrecorded (fail closed), and the pusher is told why.
#[test]
fn a_log_that_cannot_be_written_refuses_the_push() {
    require_root();
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("README", "1\n");
    ow.commit_all("main");
    let before = server.refs();
    let apps = server.path().join("refs/apps");
    let apps = apps.to_str().expect("UTF-8 path");
    let out = push_in_namespace(
        &ow,
        &format!("mount --bind '{apps}' '{apps}'\nmount -o remount,bind,ro '{apps}'"),
    );
    out.assert_failed();
    out.assert_stderr_contains("the audit log could not be written");
    out.assert_stderr_contains("the push is not applied");
    out.assert_reject_code(gitapps_policy::RejectCode::Error);
    assert_eq!(server.refs(), before, "nothing is applied");
    // Writable again: the same push goes through.
    ow.push_signed(&["origin", "main"]).assert_ok();
    assert_explained(&server, &Workdir::clone(&auditor, &server));
}

/// `/dev/shm` read-only, or full: the hook's object view goes to the
/// repository's own `gitapps/tmp`, and pushes go through.
#[test]
fn a_read_only_or_full_dev_shm_does_not_stop_pushes() {
    require_root();
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("README", "1\n");
    ow.commit_all("main");
    push_in_namespace(&ow, "mount -t tmpfs -o ro,size=64k tmpfs /dev/shm").assert_ok();
    ow.write("README", "2\n");
    ow.commit_all("2");
    push_in_namespace(
        &ow,
        "mount -t tmpfs -o size=64k tmpfs /dev/shm\ndd if=/dev/zero of=/dev/shm/fill bs=4096 2>/dev/null || true",
    )
    .assert_ok();
    assert_eq!(server.push_cert_count(), 2);
    let tmp = server.path().join("gitapps/tmp");
    assert!(tmp.is_dir(), "the views went to {}", tmp.display());
    assert_eq!(
        std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0),
        0,
        "the views in {} are removed",
        tmp.display()
    );
    assert_explained(&server, &Workdir::clone(&auditor, &server));
}

/// The loose objects in `repo`.
fn loose_objects(repo: &Path) -> usize {
    std::fs::read_dir(repo.join("objects"))
        .expect("objects/")
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0))
        .sum()
}

/// Objects that pushes which lost a race for their refs left behind,
/// unreachable, do not pile up: `install` sets gc.pruneExpire to an hour,
/// so the auto-gc after a push prunes them once they are that old (git's
/// default keeps them two weeks, and then auto-gc gives up and warns on
/// every push).
#[test]
fn unreachable_objects_of_lost_races_are_pruned_by_auto_gc() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    assert_eq!(
        server.config("gc.pruneExpire").as_deref(),
        Some("1.hour.ago")
    );
    // gc --auto counts objects/17 and scales: a small threshold, and a gc
    // that runs before the push returns.
    server.set_config("gc.auto", "256");
    server.set_config("gc.autoDetach", "false");
    let lost = short_tempdir("lost");
    let paths: Vec<String> = (0..2000)
        .map(|i| {
            let path = lost.path().join(i.to_string());
            std::fs::write(&path, format!("lost {i}\n")).expect("write");
            path.to_str().expect("UTF-8").to_owned()
        })
        .collect();
    server
        .git_with_input(
            &["hash-object", "-w", "--stdin-paths"],
            format!("{}\n", paths.join("\n")).as_bytes(),
        )
        .assert_ok();
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    for dir in std::fs::read_dir(server.path().join("objects"))
        .expect("objects")
        .flatten()
    {
        if dir.file_name().len() != 2 {
            continue;
        }
        for object in std::fs::read_dir(dir.path()).expect("fan-out").flatten() {
            std::fs::File::options()
                .write(true)
                .open(object.path())
                .and_then(|f| f.set_modified(old))
                .expect("age the object");
        }
    }
    assert!(loose_objects(server.path()) >= 2000);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    let left = loose_objects(server.path());
    assert!(left < 100, "{left} loose objects left after auto-gc");
    server.git(&["fsck", "--no-dangling"]).assert_ok();
}

//! `gitapps-hook verify` on a long audit log (issue 11: a full verification
//! of 10,000 records in under 10 s).
//!
//! `cargo bench -p gitapps-tests --bench verify` installs a server, then
//! writes a history of GITAPPS_BENCH_RECORDS (10,000) signed pushes to its
//! `main` by three users, each recorded as the hook records it: with the
//! hook's own record writer (`gitapps_hooks::record`, `gitapps_hooks::audit`)
//! and certificates signed with sequoia in this process (running gpg and
//! git ten thousand times would take most of an hour; what is measured is
//! the verifier). Then, in a fresh clone:
//!
//! 1. a full verification, fetch included (the first `verify` of a clone);
//! 2. the same without the fetch (`--offline`, its state removed): the
//!    replay alone;
//! 3. an incremental run with nothing new.
//!
//! Each is given in wall time and in CPU time (the verifier's and the git it
//! runs): on a shared machine the wall time says more about the other load.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gitapps_hooks::audit;
use gitapps_hooks::config::ServerConfig;
use gitapps_hooks::record::{self, NewPush};
use gitapps_hooks::repo::ref_target;
use gitapps_hooks::updates::RefUpdate;
use gitapps_hooks::write::Writer;
use gitapps_tests::{bin, sealed_command, short_tempdir};
use gix::ObjectId;
use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::KeyFlags;

const ACCESS_CONTROL: &str = "refs/heads/apps/access-control";

struct Person {
    cert: openpgp::Cert,
    fpr: String,
}

impl Person {
    fn new(name: &str, created: SystemTime) -> Person {
        let (cert, _) = CertBuilder::new()
            .add_userid(format!("{name} <{name}@example.org>"))
            .set_creation_time(created)
            .set_primary_key_flags(KeyFlags::empty().set_signing().set_certification())
            .generate()
            .expect("generate a key");
        let fpr = cert.fingerprint().to_hex();
        Person { cert, fpr }
    }

    fn public(&self) -> Vec<u8> {
        self.cert.armored().to_vec().expect("armor")
    }

    /// A push certificate as git makes one, signed at `t`.
    fn certificate(&self, url: &str, t: u64, updates: &[RefUpdate]) -> Vec<u8> {
        let mut payload = format!(
            "certificate version 0.1\npusher {} {t} +0000\npushee {url}\nnonce {t}-0123456789abcdef\n\n",
            self.fpr
        );
        for u in updates {
            let id = |v: Option<ObjectId>| v.map_or_else(|| "0".repeat(40), |v| v.to_string());
            payload.push_str(&format!("{} {} {}\n", id(u.old), id(u.new), u.name));
        }
        let keypair = self
            .cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .expect("secret")
            .into_keypair()
            .expect("keypair");
        let mut signature = Vec::new();
        {
            let message = Message::new(&mut signature);
            let message = Armorer::new(message)
                .kind(openpgp::armor::Kind::Signature)
                .build()
                .expect("armorer");
            let mut signer = Signer::new(message, keypair)
                .expect("signer")
                .detached()
                .creation_time(UNIX_EPOCH + Duration::from_secs(t))
                .build()
                .expect("signer");
            signer.write_all(payload.as_bytes()).expect("sign");
            signer.finalize().expect("sign");
        }
        let mut cert = payload.into_bytes();
        cert.extend_from_slice(&signature);
        cert
    }
}

fn check(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn main() {
    let records: u64 = std::env::var("GITAPPS_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // Build the binaries first (bin() does, once): the history is dated
    // from now on, after the genesis install writes.
    let hook = bin("gitapps-hook");
    let dir = short_tempdir("vbench");
    let work = dir.path().to_path_buf();
    // GITAPPS_BENCH_KEEP=1 keeps the server and the clone, for profiling.
    let _dir = if std::env::var_os("GITAPPS_BENCH_KEEP").is_some() {
        eprintln!("bench: keeping {}", dir.keep().display());
        None
    } else {
        Some(dir)
    };
    let home = work.join("home");
    std::fs::create_dir(&home).expect("home");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    // The genesis is recorded now (by install), and a record may not be
    // dated more than the nonce slop (+ margin) before the one before it:
    // the history is dated over the last few minutes, 50 records a second.
    let base = now - 300;
    let created = UNIX_EPOCH + Duration::from_secs(base - 86_400);
    let owner = Person::new("owner", created);
    let users: Vec<Person> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| Person::new(n, created))
        .collect();

    let repo_path = work.join("srv.git");
    let key = work.join("owner.asc");
    std::fs::write(&key, owner.public()).expect("owner key");
    check(
        sealed_command(&hook, &home, None)
            .arg("install")
            .arg(&repo_path)
            .arg("--owner")
            .arg(&key),
    );
    let url = repo_path.to_str().expect("UTF-8").to_owned();
    eprintln!("bench: writing {records} push records …");
    let started = Instant::now();
    let repo = gix::open(&repo_path).expect("open");
    let w = Writer::new(&repo);
    let config = ServerConfig::read(&repo).expect("config");
    let settings = config.settings_text();

    // One record: commit `files` on top of `refname` (or of nothing) and
    // record `person`'s push of it at `t`.
    let push = |person: &Person,
                refname: &str,
                files: &[(String, Vec<u8>)],
                base_of: Option<ObjectId>,
                t: u64| {
        let old = ref_target(&repo, refname).expect("ref");
        let mut all: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(parent) = base_of {
            let tree = repo
                .find_commit(parent)
                .expect("commit")
                .tree()
                .expect("tree");
            for entry in tree.traverse().breadthfirst.files().expect("files") {
                if entry.mode.is_blob() {
                    let data = repo.find_object(entry.oid).expect("blob").detach().data;
                    all.push((entry.filepath.to_string(), data));
                }
            }
        }
        for (path, content) in files {
            all.retain(|(p, _)| p != path);
            all.push((path.clone(), content.clone()));
        }
        let tree = w.write_tree(&all).expect("tree");
        let new = w
            .commit(tree, base_of.into_iter().collect(), "change")
            .expect("commit");
        let updates = [RefUpdate {
            old,
            new: Some(new),
            name: refname.to_owned(),
        }];
        let cert = w.blob(person.certificate(&url, t, &updates)).expect("cert");
        let policy = ref_target(&repo, ACCESS_CONTROL)
            .expect("ref")
            .expect("policy");
        let (tree, message) = record::write_push_tree(
            &w,
            &NewPush {
                cert,
                pusher: &person.fpr,
                time: t,
                access_control: policy,
                updates: &updates,
                settings: &settings,
                keyring: &[],
            },
        )
        .expect("record tree");
        audit::append(&w, tree, vec![new], &message).expect("record");
        w.move_ref(refname, old, new, "bench").expect("move ref");
    };

    // The owner registers the users and lets them write main.
    let mut files: Vec<(String, Vec<u8>)> = users
        .iter()
        .map(|u| (format!("keys/{}.asc", u.fpr), u.public()))
        .collect();
    files.push((
        "refs/people.conf".into(),
        b"anyone create-branch,fast-forward ^heads/main$\n".to_vec(),
    ));
    files.push((
        "branches/people.conf".into(),
        b"anyone create-directory ^log$\nanyone create-file,modify ^log/$user_id$\n".to_vec(),
    ));
    let policy = ref_target(&repo, ACCESS_CONTROL).expect("ref");
    push(&owner, ACCESS_CONTROL, &files, policy, base);
    let mut main = None;
    for i in 0..records {
        let user = &users[(i % 3) as usize];
        let file = [(format!("log/{}", user.fpr), format!("{i}\n").into_bytes())];
        push(user, "refs/heads/main", &file, main, base + 1 + i / 50);
        main = ref_target(&repo, "refs/heads/main").expect("ref");
        if i % 1000 == 999 {
            eprintln!("bench: … {} records ({:.0?})", i + 1, started.elapsed());
        }
    }
    check(
        sealed_command("git", &home, None)
            .arg("--git-dir")
            .arg(&repo_path)
            .args(["repack", "-adq"]),
    );
    check(
        sealed_command("git", &home, None)
            .arg("--git-dir")
            .arg(&repo_path)
            .args(["prune"]),
    );
    eprintln!("bench: history written in {:.1?}", started.elapsed());

    let clone = work.join("auditor");
    check(
        sealed_command("git", &home, None)
            .args(["clone", "--quiet", "--bare"])
            .arg(&repo_path)
            .arg(&clone),
    );
    let verify = |args: &[&str]| {
        let mut cmd = sealed_command(&hook, &home, None);
        cmd.current_dir(&clone)
            .arg("verify")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let cpu_before = children_cpu();
        let out = cmd.output().expect("verify");
        let elapsed = start.elapsed();
        let cpu = children_cpu() - cpu_before;
        assert!(
            out.status.success(),
            "verify failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Run {
            wall: elapsed.as_secs_f64(),
            cpu,
            summary: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        }
    };
    let forget = || {
        let _ = std::fs::remove_file(clone.join("gitapps/verify/origin.state"));
        check(
            sealed_command("git", &home, None)
                .arg("--git-dir")
                .arg(&clone)
                .args(["update-ref", "-d", "refs/gitapps/verified/origin"]),
        );
    };
    let full = verify(&[&format!("--owner={}", owner.fpr)]);
    eprintln!("bench: {}", full.summary);
    let mut offline = Vec::new();
    for _ in 0..3 {
        forget();
        offline.push(verify(&["--offline"]));
    }
    offline.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let incremental = verify(&[]);
    eprintln!("bench: {}", incremental.summary);
    let median = &offline[1];
    println!(
        "verify, {} records: full (fetch + replay) {:.2} s wall, {:.2} s CPU; replay alone (--offline, median of 3) {:.2} s wall, {:.2} s CPU ({:.0} µs of CPU a record); incremental, nothing new, {:.0} ms",
        records + 1,
        full.wall,
        full.cpu,
        median.wall,
        median.cpu,
        median.cpu * 1e6 / (records + 1) as f64,
        incremental.wall * 1000.0,
    );
}

/// One run of verify: its wall time and CPU time (seconds), and summary.
struct Run {
    wall: f64,
    cpu: f64,
    summary: String,
}

/// The user and system CPU time of this process's children that were
/// waited for, in seconds: the verifier's and its git's, whatever else the
/// machine runs (its wall time depends on that).
fn children_cpu() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

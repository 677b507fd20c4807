//! The hook's growth curves (issue 15, "Scale: 10,000 contributors, 10,000
//! rules, 50,000 merge requests").
//!
//! `cargo bench -p gitapps-tests --bench scale` measures, for each dimension
//! and each of its points (small, medium, large), a signed push to a server
//! with the hook against the same signed push to an identical copy of that
//! repository without it (`cp -a`, hooks removed), alternately, the order
//! rotated every round; every figure is a median, every ratio one against
//! its own baseline:
//!
//! - keys: `keys/` holds 1 → 10,000 key files (ed25519, each with a signing
//!   subkey, made with sequoia); the pusher (the owner) signs with a subkey,
//!   or with a primary key; the subkey's largest point again with
//!   `RUST_BACKTRACE=1`. Goal: 10,000 keys within 1.1× of 1 key.
//! - rules: 10 → 10,000 rules in `refs/*.conf` and `branches/*.conf` (half
//!   each, 100 a file, `branch` scopes, size limits), a 1,000-member group
//!   the pusher is in; after the first push (which builds the server's
//!   caches, shown apart). Goal: 10,000 rules within 1.2× of 10.
//! - branches: one push creating N branches of 10 files (1 → 10,000).
//! - ancestry: `main` has N commits (1,000 → 100,000) and a commit-graph;
//!   a force push of a new commit on the root (a fork from the root) and
//!   one on `main~N/2`. Goal: 100,000 commits within 1.5× of no hook.
//! - floor: the hook against two hooks that do nothing (`cat >/dev/null`,
//!   what git spends on running any hooks). Goal: <= 1.05.
//!
//! `GITAPPS_BENCH_ROUNDS` sets the rounds (default 9), `GITAPPS_BENCH_QUICK=1`
//! smaller points, `GITAPPS_BENCH_ONLY=keys,rules,…` some dimensions.
//! Fixtures are generated (`git fast-import`); the 10,000 generated keys are
//! kept in `target/bench-fixtures/` between runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gitapps_tests::bench::{alternate, check, env_usize, fast_import, median, ms, time, Stream};
use gitapps_tests::{sealed_command, short_tempdir, Server, User};

/// The files of every bench repository's main.
const MAIN_FILES: usize = 10;

struct Bench {
    work: tempfile::TempDir,
    home: PathBuf,
    rounds: usize,
    quick: bool,
}

impl Bench {
    fn git(&self, signer: Option<&User>) -> Command {
        let mut cmd = sealed_command("git", &self.home, signer.map(User::gnupghome));
        cmd.env_remove("RUST_BACKTRACE");
        cmd
    }

    fn points(&self, full: &[usize], quick: &[usize]) -> Vec<usize> {
        if self.quick { quick } else { full }.to_vec()
    }

    /// A new directory in the bench's temporary directory.
    fn scratch(&self, what: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = self.work.path().join(format!("{what}-{n}"));
        std::fs::create_dir(&dir).expect("mkdir");
        dir
    }

    fn wants(&self, dimension: &str) -> bool {
        std::env::var("GITAPPS_BENCH_ONLY")
            .map(|only| only.split(',').any(|d| d.trim() == dimension))
            .unwrap_or(true)
    }
}

/// One repository served with the hook, an identical copy without hooks,
/// and a clone of each (index 0: hooked, 1: plain, 2: no-op hooks when asked).
struct Pair {
    hooked: Server,
    servers: Vec<PathBuf>,
    clones: Vec<PathBuf>,
    /// What the warm-up push (the first one, which builds caches) took, per server.
    first: Vec<Duration>,
}

impl Pair {
    /// A server installed for `owner`, `fixture` fast-imported into it (by
    /// its admin: no hook runs), then copied; `noop` adds a copy with two
    /// hooks that do nothing. `prepare` runs on the hooked server before it
    /// is copied (say, `git commit-graph write`).
    fn new(
        bench: &Bench,
        owner: &User,
        signer: &User,
        fixture: &Stream,
        noop: bool,
        prepare: impl Fn(&Path),
    ) -> Pair {
        let hooked = Server::install(owner);
        fast_import(hooked.path(), &bench.home, &fixture.bytes);
        prepare(hooked.path());
        let mut servers = vec![hooked.path().to_path_buf()];
        let copies = if noop { 2 } else { 1 };
        for copy in 0..copies {
            let path = bench.scratch("server").join("repo.git");
            check(Command::new("cp").arg("-a").arg(hooked.path()).arg(&path));
            // Every hook install wrote, the audit log's reference-transaction too.
            for hook in ["pre-receive", "post-receive", "reference-transaction"] {
                let _ = std::fs::remove_file(path.join("hooks").join(hook));
            }
            let _ = std::fs::remove_dir_all(path.join("gitapps"));
            if copy == 1 {
                use std::os::unix::fs::PermissionsExt;
                for hook in ["pre-receive", "post-receive"] {
                    let file = path.join("hooks").join(hook);
                    std::fs::write(&file, "#!/bin/sh\ncat >/dev/null\n").expect("a no-op hook");
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                        .expect("chmod");
                }
            }
            servers.push(path);
        }
        let clones = servers
            .iter()
            .map(|server| {
                let clone = bench.scratch("clone").join("w");
                check(
                    bench
                        .git(None)
                        .args(["clone", "-q", "--single-branch", "-b", "main"])
                        .arg(server)
                        .arg(&clone),
                );
                check(bench.git(None).current_dir(&clone).args([
                    "config",
                    "user.signingkey",
                    signer.fingerprint(),
                ]));
                clone
            })
            .collect();
        Pair {
            hooked,
            servers,
            clones,
            first: Vec::new(),
        }
    }

    /// `git ARGS` in server `side`.
    fn server_git(&self, bench: &Bench, side: usize) -> Command {
        let mut cmd = bench.git(None);
        cmd.arg("--git-dir").arg(&self.servers[side]);
        cmd
    }

    /// Removes what `Pair::new` copied outside the hooked server's own
    /// directory (all of it is kept with `GITAPPS_BENCH_KEEP=1`).
    fn remove(self) {
        if std::env::var_os("GITAPPS_BENCH_KEEP").is_some() {
            eprintln!("bench: kept the server {}", self.hooked.path().display());
            std::mem::forget(self.hooked);
            return;
        }
        for path in self.servers.iter().skip(1).chain(&self.clones) {
            if let Some(parent) = path.parent() {
                let _ = std::fs::remove_dir_all(parent);
            }
        }
        drop(self.hooked);
    }
}

/// A commit of one changed file in `clone`, pushed (signed) by `signer`;
/// the push alone is timed.
fn one_file_push(
    bench: &Bench,
    clone: &Path,
    signer: &User,
    round: usize,
    env: &[(&str, &str)],
) -> Duration {
    // Every push changes the file anew, also when one clone pushes twice a round.
    static PUSHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PUSHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = clone.join(format!("f{}.txt", round % MAIN_FILES));
    std::fs::write(&path, format!("push {n} in round {round}\n")).expect("edit");
    check(
        bench
            .git(None)
            .current_dir(clone)
            .args(["commit", "-q", "-am", "one file"]),
    );
    let mut push = bench.git(Some(signer));
    push.current_dir(clone)
        .args(["push", "-q", "--signed", "origin", "main"]);
    for (k, v) in env {
        push.env(k, v);
    }
    time(&mut push)
}

/// main: `f0.txt` … `f9.txt`.
fn main_commit(stream: &mut Stream) -> usize {
    let files: Vec<(&str, usize, String)> = (0..MAIN_FILES)
        .map(|i| {
            let mark = stream.blob(format!("file {i}\n").as_bytes());
            ("100644", mark, format!("f{i}.txt"))
        })
        .collect();
    stream.commit("refs/heads/main", None, &files, "main")
}

/// A commit on apps/access-control adding `files` (path, content).
fn access_control_commit(stream: &mut Stream, files: &[(String, Vec<u8>)]) {
    let entries: Vec<(&str, usize, String)> = files
        .iter()
        .map(|(path, content)| ("100644", stream.blob(content), path.clone()))
        .collect();
    stream.commit(
        "refs/heads/apps/access-control",
        Some("refs/heads/apps/access-control^0"),
        &entries,
        "bench fixture",
    );
}

/// What one dimension prints: a row per point, hooked against plain.
struct Row {
    label: String,
    hooked: Duration,
    plain: Duration,
    first: Option<Duration>,
}

impl Row {
    fn ratio(&self) -> f64 {
        ms(self.hooked) / ms(self.plain)
    }
}

fn print_rows(title: &str, rows: &[Row], rounds: usize) {
    println!("\n== {title} (medians of {rounds} alternating rounds)");
    println!(
        "  {:<34} {:>10} {:>10} {:>7} {:>12}",
        "point", "hook", "no hook", "ratio", "first push"
    );
    for r in rows {
        let first = r
            .first
            .map(|f| format!("{:.1} ms", ms(f)))
            .unwrap_or_default();
        println!(
            "  {:<34} {:>7.1} ms {:>7.1} ms {:>7.3} {:>12}",
            r.label,
            ms(r.hooked),
            ms(r.plain),
            r.ratio(),
            first
        );
    }
}

fn curve(rows: &[Row], goal: Option<f64>, what: &str) {
    let (Some(small), Some(large)) = (rows.first(), rows.last()) else {
        return;
    };
    let growth = ms(large.hooked) / ms(small.hooked);
    let goal = goal
        .map(|g| {
            format!(
                " (goal <= {g}: {})",
                if growth <= g { "met" } else { "missed" }
            )
        })
        .unwrap_or_default();
    println!(
        "  {what}: ratio {:.2} -> {:.2}; hook {} / hook {}: {growth:.3}{goal}",
        small.ratio(),
        large.ratio(),
        large.label,
        small.label
    );
}

// ---------------------------------------------------------------- keys

/// `n` generated certificates (fingerprint, armored), each an ed25519
/// primary key with a signing subkey; kept in `target/bench-fixtures/`.
fn generated_keys(n: usize) -> Vec<(String, Vec<u8>)> {
    use sequoia_openpgp::cert::{CertBuilder, CipherSuite};
    use sequoia_openpgp::serialize::SerializeInto;
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("bench-fixtures")))
        .expect("the bench's target directory");
    let cache = dir.join("keys");
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    if let Ok(text) = std::fs::read(&cache) {
        let mut rest = &text[..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
            let Some((fpr, len)) = header.split_once(' ') else {
                break;
            };
            let len: usize = len.parse().expect("cached key length");
            keys.push((fpr.to_owned(), rest[nl + 1..nl + 1 + len].to_vec()));
            rest = &rest[nl + 1 + len..];
        }
    }
    if keys.len() < n {
        eprintln!("bench: generating {} keys …", n - keys.len());
        for i in keys.len()..n {
            let (cert, _) = CertBuilder::new()
                .set_cipher_suite(CipherSuite::Cv25519)
                .add_userid(format!("Bench {i} <bench{i}@example.org>"))
                .add_signing_subkey()
                .generate()
                .expect("generate a key");
            let armored = cert.armored().to_vec().expect("armor");
            keys.push((cert.fingerprint().to_hex(), armored));
        }
        std::fs::create_dir_all(&dir).expect("mkdir bench-fixtures");
        let mut out = Vec::new();
        for (fpr, armored) in &keys {
            writeln!(out, "{fpr} {}", armored.len()).expect("write");
            out.extend_from_slice(armored);
        }
        std::fs::write(&cache, out).expect("cache the keys");
    }
    keys.truncate(n);
    keys
}

fn keys_dimension(bench: &Bench) {
    let points = bench.points(&[1, 100, 1_000, 10_000], &[1, 30, 300]);
    let largest = points.iter().copied().max().unwrap_or(1);
    let generated = generated_keys(largest.saturating_sub(1));
    for (kind, owner) in [
        ("subkey", User::with_signing_subkey("Owner Sub")),
        ("primary", User::new("Owner")),
    ] {
        eprintln!("bench: keys, {kind} signer: setting up {points:?} …");
        let mut pairs: Vec<(String, Pair)> = Vec::new();
        for &n in &points {
            let mut stream = Stream::default();
            main_commit(&mut stream);
            let files: Vec<(String, Vec<u8>)> = generated[..n - 1]
                .iter()
                .map(|(fpr, armored)| (format!("keys/{fpr}.asc"), armored.clone()))
                .collect();
            access_control_commit(&mut stream, &files);
            pairs.push((
                format!("{n} keys"),
                Pair::new(bench, &owner, &owner, &stream, false, |_| {}),
            ));
        }
        // Targets: (pair, side, with RUST_BACKTRACE=1).
        let mut targets: Vec<(usize, usize, bool)> = Vec::new();
        for p in 0..pairs.len() {
            targets.extend([(p, 0, false), (p, 1, false)]);
        }
        let backtrace = kind == "subkey";
        if backtrace {
            let last = pairs.len() - 1;
            targets.extend([(last, 0, true), (last, 1, true)]);
        }
        for (_, pair) in pairs.iter_mut() {
            // The first push builds the key index.
            pair.first = (0..2)
                .map(|side| one_file_push(bench, &pair.clones[side], &owner, 1000 + side, &[]))
                .collect();
        }
        let samples = alternate(targets.len(), bench.rounds, |t, round| {
            let (p, side, bt) = targets[t];
            let env: &[(&str, &str)] = if bt { &[("RUST_BACKTRACE", "1")] } else { &[] };
            one_file_push(bench, &pairs[p].1.clones[side], &owner, round, env)
        });
        let median_of = |p: usize, side: usize, bt: bool| {
            let t = targets
                .iter()
                .position(|&x| x == (p, side, bt))
                .expect("a target");
            median(&samples[t])
        };
        let mut rows: Vec<Row> = pairs
            .iter()
            .enumerate()
            .map(|(p, (label, pair))| Row {
                label: label.clone(),
                hooked: median_of(p, 0, false),
                plain: median_of(p, 1, false),
                first: pair.first.first().copied(),
            })
            .collect();
        if backtrace {
            let last = pairs.len() - 1;
            rows.push(Row {
                label: format!("{}, RUST_BACKTRACE=1", pairs[last].0),
                hooked: median_of(last, 0, true),
                plain: median_of(last, 1, true),
                first: None,
            });
        }
        print_rows(
            &format!("keyring, the pusher signs with a {kind} key"),
            &rows,
            bench.rounds,
        );
        let curve_rows: Vec<Row> = rows
            .iter()
            .take(points.len())
            .map(|r| Row {
                label: r.label.clone(),
                first: None,
                ..*r
            })
            .collect();
        curve(
            &curve_rows,
            (kind == "subkey").then_some(1.1),
            &format!("{kind} signer"),
        );
        if backtrace {
            let n = rows.len();
            println!(
                "  RUST_BACKTRACE=1 / unset, hook: {:.3}",
                ms(rows[n - 1].hooked) / ms(rows[n - 2].hooked)
            );
        }
        for (_, pair) in pairs {
            pair.remove();
        }
    }
}

// ---------------------------------------------------------------- rules

/// A fingerprint that is no one's key: member `i` of the big group, or
/// (`outsider`) someone outside it.
fn fake_fpr(i: usize, outsider: bool) -> String {
    format!("{:08X}{:032X}", if outsider { 0xB0 } else { 0xA0 }, i)
}

/// A policy of `n` rules (half ref rules, half tree rules, 100 a file; a
/// `branch` scope and a size limit in every tree file but the first), a
/// group `big` of 1,000 members with `pusher` among them, and the two rules
/// that allow the bench's push. The rules are for the group, for one
/// member, for someone outside it, and for anyone, in turn; nearly all
/// start with a literal (`heads/team7/.*`), one in a hundred does not
/// (`.*-wip9`).
fn policy_files(n: usize, pusher: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut group = format!("# the big group\n{pusher}\n");
    for i in 1..1000 {
        group.push_str(&fake_fpr(i, false));
        group.push('\n');
    }
    files.push(("groups/big".into(), group));
    files.push((
        "refs/bench.conf".into(),
        "big fast-forward ^heads/main$\n".into(),
    ));
    files.push((
        "branches/bench.conf".into(),
        "big create-file,modify ^f[0-9]+\\.txt$\n".into(),
    ));
    let generated = n.saturating_sub(2);
    let who = |i: usize| match i % 4 {
        0 => "big".to_owned(),
        1 => fake_fpr(i % 1000, false),
        2 => fake_fpr(i, true),
        _ => "anyone".to_owned(),
    };
    let ref_ops = [
        "create-branch",
        "create-branch,fast-forward",
        "create-tag",
        "fast-forward,force,delete",
    ];
    let tree_ops = [
        "create-file,modify",
        "create-directory,create-file",
        "modify,delete",
        "create-file,create-symlink,modify,delete",
    ];
    for i in 0..generated.div_ceil(2) {
        let regex = match i % 10 {
            0..=5 => format!("heads/team{i}/.*"),
            6 => format!("tags/v{i}\\.[0-9]+\\.[0-9]+"),
            7 => format!("heads/users/$user_id/t{i}-.*"),
            8 => format!("heads/(release|hotfix)/{i}\\..*"),
            _ if i % 100 == 9 => format!(".*-wip{i}"),
            _ => format!("heads/feature-{i}-[a-z0-9-]+"),
        };
        let file = format!("refs/r{:03}.conf", i / 100);
        let line = format!("{} {} {regex}\n", who(i), ref_ops[(i / 4) % 4]);
        match files.last_mut() {
            Some((path, content)) if *path == file => content.push_str(&line),
            _ => files.push((file, line)),
        }
    }
    for i in 0..generated / 2 {
        let k = i / 100;
        let file = format!("branches/b{k:03}.conf");
        if i % 100 == 0 {
            let mut head = String::new();
            if k > 0 {
                head.push_str(&format!(
                    "branch ^heads/team{k}/.*$\nlimit size 1m ^assets{k}/.*$\n"
                ));
            }
            files.push((file.clone(), head));
        }
        let regex = match i % 10 {
            0..=5 => format!("src/mod{i}/.*\\.rs"),
            6 => format!("docs/s{i}/[a-z_]+\\.md"),
            7 => format!("assets{i}/.*\\.(png|jpg|svg)"),
            8 => format!("tests/t{i}/.*"),
            _ if i % 100 == 9 => format!(".*\\.gen{i}"),
            _ => format!("build/b{i}\\.toml"),
        };
        let line = format!("{} {} {regex}\n", who(i), tree_ops[(i / 4) % 4]);
        if let Some((_, content)) = files.last_mut() {
            content.push_str(&line);
        }
    }
    files
        .into_iter()
        .map(|(path, content)| (path, content.into_bytes()))
        .collect()
}

fn rules_dimension(bench: &Bench) {
    let points = bench.points(&[10, 100, 1_000, 10_000], &[10, 100, 1_000]);
    let owner = User::new("Owner");
    let member = User::new("Member");
    eprintln!("bench: rules: setting up {points:?} …");
    let mut pairs: Vec<(String, Pair)> = points
        .iter()
        .map(|&n| {
            let mut stream = Stream::default();
            main_commit(&mut stream);
            let mut files = policy_files(n, member.fingerprint());
            files.push((
                member.key_path(),
                member.public_key_armored().as_bytes().to_vec(),
            ));
            access_control_commit(&mut stream, &files);
            (
                format!("{n} rules"),
                Pair::new(bench, &owner, &member, &stream, false, |_| {}),
            )
        })
        .collect();
    for (_, pair) in pairs.iter_mut() {
        pair.first = (0..2)
            .map(|side| one_file_push(bench, &pair.clones[side], &member, 1000 + side, &[]))
            .collect();
    }
    let samples = alternate(pairs.len() * 2, bench.rounds, |t, round| {
        one_file_push(bench, &pairs[t / 2].1.clones[t % 2], &member, round, &[])
    });
    let rows: Vec<Row> = pairs
        .iter()
        .enumerate()
        .map(|(p, (label, pair))| Row {
            label: label.clone(),
            hooked: median(&samples[2 * p]),
            plain: median(&samples[2 * p + 1]),
            first: pair.first.first().copied(),
        })
        .collect();
    print_rows(
        "policy rules (refs/*.conf + branches/*.conf, a 1,000-member group)",
        &rows,
        bench.rounds,
    );
    curve(&rows, Some(1.2), "rules");
    for (_, pair) in pairs {
        pair.remove();
    }
}

// ---------------------------------------------------------------- branches

/// In a clone: `n` branches `nb/<i>`, each main with `f0.txt` changed.
fn branch_fixture(n: usize) -> Stream {
    let mut stream = Stream::default();
    for i in 0..n {
        let blob = stream.blob(format!("branch {i}\n").as_bytes());
        stream.commit(
            &format!("refs/heads/nb/{i}"),
            Some("refs/heads/main^0"),
            &[("100644", blob, "f0.txt".into())],
            &format!("branch {i}"),
        );
    }
    stream
}

fn branches_dimension(bench: &Bench) {
    let points = bench.points(&[1, 100, 1_000, 10_000], &[1, 10, 100]);
    let owner = User::new("Owner");
    eprintln!("bench: branches: setting up {points:?} …");
    let pairs: Vec<(usize, Pair)> = points
        .iter()
        .map(|&n| {
            let mut stream = Stream::default();
            main_commit(&mut stream);
            let pair = Pair::new(bench, &owner, &owner, &stream, false, |_| {});
            let branches = branch_fixture(n);
            for clone in &pair.clones {
                fast_import(&clone.join(".git"), &bench.home, &branches.bytes);
            }
            (n, pair)
        })
        .collect();
    // The same updates pushed again within a second of the last time make
    // the same certificate (git's nonce counts seconds): the ledger would
    // call it a replay. Untimed, wait for the next second when needed.
    let last_push: std::cell::RefCell<std::collections::HashMap<PathBuf, Instant>> =
        Default::default();
    let push = |pair: &Pair, side: usize| {
        let clone = pair.clones[side].clone();
        if let Some(at) = last_push.borrow().get(&clone) {
            let since = at.elapsed();
            if since < Duration::from_millis(1100) {
                std::thread::sleep(Duration::from_millis(1100) - since);
            }
        }
        last_push.borrow_mut().insert(clone, Instant::now());
        let mut cmd = bench.git(Some(&owner));
        cmd.current_dir(&pair.clones[side]).args([
            "push",
            "-q",
            "--signed",
            "origin",
            "refs/heads/nb/*:refs/heads/nb/*",
        ]);
        let took = time(&mut cmd);
        // Untimed: the server's admin removes them again.
        let refs = check(pair.server_git(bench, side).args([
            "for-each-ref",
            "--format=delete %(refname)",
            "refs/heads/nb/",
        ]));
        let mut delete = pair.server_git(bench, side);
        delete
            .args(["update-ref", "--stdin"])
            .stdin(std::process::Stdio::piped());
        let mut child = delete.spawn().expect("update-ref");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&refs.stdout)
            .expect("feed update-ref");
        assert!(child.wait().expect("wait").success());
        took
    };
    let rounds = bench.rounds.min(if bench.quick { 3 } else { 5 });
    let samples = alternate(pairs.len() * 2, rounds, |t, _| push(&pairs[t / 2].1, t % 2));
    let rows: Vec<Row> = pairs
        .iter()
        .enumerate()
        .map(|(p, (n, _))| Row {
            label: format!("{n} new branches"),
            hooked: median(&samples[2 * p]),
            plain: median(&samples[2 * p + 1]),
            first: None,
        })
        .collect();
    print_rows("one push creating N branches of 10 files", &rows, rounds);
    curve(&rows, None, "branches");
    for (_, pair) in pairs {
        pair.remove();
    }
}

// ---------------------------------------------------------------- ancestry

/// main: `n` commits, each changing `counter.txt`.
fn history_fixture(n: usize) -> Stream {
    let mut stream = Stream::default();
    let mut from = None;
    for i in 0..n {
        let blob = stream.blob(format!("{i}\n").as_bytes());
        let mark = stream.commit(
            "refs/heads/main",
            from.as_deref(),
            &[("100644", blob, "counter.txt".into())],
            &format!("c{i}"),
        );
        from = Some(format!(":{mark}"));
    }
    stream
}

fn ancestry_dimension(bench: &Bench) {
    let points = bench.points(&[1_000, 10_000, 100_000], &[1_000, 10_000]);
    let owner = User::new("Owner");
    eprintln!("bench: ancestry: setting up {points:?} …");
    let pairs: Vec<(usize, Pair)> = points
        .iter()
        .map(|&n| {
            let pair = Pair::new(bench, &owner, &owner, &history_fixture(n), false, |repo| {
                check(bench.git(None).arg("--git-dir").arg(repo).args([
                    "commit-graph",
                    "write",
                    "--reachable",
                ]));
            });
            (n, pair)
        })
        .collect();
    let rev = |clone: &Path, spec: &str| -> String {
        let out = check(bench.git(None).current_dir(clone).args(["rev-parse", spec]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    for (kind, depth) in [
        (
            "fork from the root",
            (|n: usize| n - 1) as fn(usize) -> usize,
        ),
        ("fork from main~N/2", |n: usize| n / 2),
    ] {
        // Per pair and side: main's tip, and the commit to fork from.
        let ends: Vec<Vec<(String, String)>> = pairs
            .iter()
            .map(|(n, pair)| {
                pair.clones
                    .iter()
                    .map(|clone| {
                        (
                            rev(clone, "main"),
                            rev(clone, &format!("main~{}", depth(*n))),
                        )
                    })
                    .collect()
            })
            .collect();
        let push = |p: usize, side: usize, round: usize| {
            let pair = &pairs[p].1;
            let clone = &pair.clones[side];
            let (tip, parent) = &ends[p][side];
            let commit = check(bench.git(None).current_dir(clone).args([
                "commit-tree",
                &format!("{parent}^{{tree}}"),
                "-p",
                parent,
                "-m",
                &format!("fork {round}"),
            ]));
            let commit = String::from_utf8_lossy(&commit.stdout).trim().to_owned();
            let mut cmd = bench.git(Some(&owner));
            cmd.current_dir(clone).args([
                "push",
                "-q",
                "--signed",
                "origin",
                &format!("+{commit}:refs/heads/main"),
            ]);
            let took = time(&mut cmd);
            check(
                pair.server_git(bench, side)
                    .args(["update-ref", "refs/heads/main", tip]),
            );
            took
        };
        let samples = alternate(pairs.len() * 2, bench.rounds, |t, round| {
            push(t / 2, t % 2, round)
        });
        let rows: Vec<Row> = pairs
            .iter()
            .enumerate()
            .map(|(p, (n, _))| Row {
                label: format!("{n} commits"),
                hooked: median(&samples[2 * p]),
                plain: median(&samples[2 * p + 1]),
                first: None,
            })
            .collect();
        print_rows(
            &format!("force push of a new commit, a {kind}, commit-graph written"),
            &rows,
            bench.rounds,
        );
        if let Some(last) = rows.last() {
            println!(
                "  {}: hook / no hook {:.3} (goal <= 1.5: {})",
                last.label,
                last.ratio(),
                if last.ratio() <= 1.5 { "met" } else { "missed" }
            );
        }
    }
    for (_, pair) in pairs {
        pair.remove();
    }
}

// ---------------------------------------------------------------- floor

fn floor_dimension(bench: &Bench) {
    let owner = User::new("Owner");
    let mut stream = Stream::default();
    main_commit(&mut stream);
    let pair = Pair::new(bench, &owner, &owner, &stream, true, |_| {});
    for side in 0..3 {
        one_file_push(bench, &pair.clones[side], &owner, 1000 + side, &[]);
    }
    let samples = alternate(3, bench.rounds * 2, |t, round| {
        one_file_push(bench, &pair.clones[t], &owner, round, &[])
    });
    let [hook, plain, noop] = [0, 1, 2].map(|t| median(&samples[t]));
    println!(
        "\n== the hook against two hooks that do nothing (medians of {} alternating rounds)",
        bench.rounds * 2
    );
    println!(
        "  {:<34} {:>7.1} ms",
        "signed push, with the hook",
        ms(hook)
    );
    println!(
        "  {:<34} {:>7.1} ms",
        "signed push, two no-op hooks",
        ms(noop)
    );
    println!("  {:<34} {:>7.1} ms", "signed push, no hook", ms(plain));
    println!(
        "  hook / no-op hooks: {:.3} (goal <= 1.05: {}); no-op hooks / no hook: {:.3}; hook / no hook: {:.3}",
        ms(hook) / ms(noop),
        if ms(hook) / ms(noop) <= 1.05 { "met" } else { "missed" },
        ms(noop) / ms(plain),
        ms(hook) / ms(plain)
    );
    pair.remove();
}

fn main() {
    let work = short_tempdir("scale");
    let home = work.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let bench = Bench {
        home,
        work,
        rounds: env_usize("GITAPPS_BENCH_ROUNDS", 9),
        quick: std::env::var_os("GITAPPS_BENCH_QUICK").is_some(),
    };
    let started = Instant::now();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the start: {}", load.trim());
    if bench.wants("floor") {
        floor_dimension(&bench);
    }
    if bench.wants("keys") {
        keys_dimension(&bench);
    }
    if bench.wants("rules") {
        rules_dimension(&bench);
    }
    if bench.wants("branches") {
        branches_dimension(&bench);
    }
    if bench.wants("ancestry") {
        ancestry_dimension(&bench);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average at the end: {} ({:.0} s in all)",
        load.trim(),
        started.elapsed().as_secs_f64(),
    );
    if std::env::var_os("GITAPPS_BENCH_KEEP").is_some() {
        eprintln!("bench: kept {}", bench.work.keep().display());
    }
}

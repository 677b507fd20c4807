//! The hook's cost on a large repository (issue "The signed-push gate").
//!
//! `cargo bench -p gitapps-tests --bench hook` builds a repository whose main
//! has 50,000 files in 500 directories, copies it into three bare servers,
//! and measures, alternately in one run:
//!
//! 1. a signed one-file push to the server WITH the hook, against the same
//!    signed push to a server without it (the hook's own cost, goal <= 1.1);
//! 2. the same, against an unsigned push to a plain server (what a user
//!    feels against a plain server, goal <= 1.5);
//! 3. `gitapps-hook explain` for a new branch of all 50,000 files, against
//!    `git ls-tree -r` of it (goal <= 1.5).
//!
//! Sizes and rounds can be set with GITAPPS_BENCH_FILES, GITAPPS_BENCH_DIRS and
//! GITAPPS_BENCH_ROUNDS.

use std::time::Duration;

use gitapps_tests::bench::{check, env_usize, median, ms, seed_repo, time};
use gitapps_tests::{bin, sealed_command, short_tempdir, Server, User};

struct Target {
    name: &'static str,
    clone: std::path::PathBuf,
    signed: bool,
    samples: Vec<Duration>,
}

fn main() {
    let files = env_usize("GITAPPS_BENCH_FILES", 50_000);
    let dirs = env_usize("GITAPPS_BENCH_DIRS", 500);
    let rounds = env_usize("GITAPPS_BENCH_ROUNDS", 15);
    let hook = bin("gitapps-hook");
    let owner = User::new("Owner");
    let work = short_tempdir("bench");
    let home = work.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let git = |gnupg: bool| sealed_command("git", &home, gnupg.then(|| owner.gnupghome()));

    eprintln!("bench: seeding {files} files in {dirs} directories …");
    let seed = work.path().join("seed.git");
    seed_repo(&seed, &home, files, dirs);

    // (a) with the hook; (b) signed, no hook; (c) plain, no hook; and, for
    // reference, (d) signed with two hooks that do nothing: what git itself
    // spends on running any pre-receive and post-receive hook, the floor of
    // every hook-based server.
    let hooked = Server::install(&owner);
    let plain_signed = work.path().join("signed.git");
    let plain = work.path().join("plain.git");
    let noop = work.path().join("noop.git");
    for bare in [&plain_signed, &plain, &noop] {
        check(git(false).args(["init", "-q", "--bare"]).arg(bare));
    }
    for bare in [&plain_signed, &noop] {
        check(git(false).arg("--git-dir").arg(bare).args([
            "config",
            "receive.certNonceSeed",
            "bench-seed",
        ]));
    }
    check(
        git(false)
            .arg("--git-dir")
            .arg(&noop)
            .args(["config", "gpg.program", "true"]),
    );
    for hook in ["pre-receive", "post-receive"] {
        use std::os::unix::fs::PermissionsExt;
        let path = noop.join("hooks").join(hook);
        std::fs::write(&path, "#!/bin/sh\ncat >/dev/null\n").expect("write a no-op hook");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    for bare in [
        hooked.path(),
        plain_signed.as_path(),
        plain.as_path(),
        noop.as_path(),
    ] {
        // A fetch into the server runs no receive hook: an admin's import.
        check(
            git(false)
                .arg("--git-dir")
                .arg(bare)
                .arg("fetch")
                .arg("-q")
                .arg(&seed)
                .arg("main:main"),
        );
    }

    let mut targets = Vec::new();
    for (name, server, signed) in [
        ("signed push, with hook", hooked.path().to_path_buf(), true),
        ("signed push, no hook", plain_signed.clone(), true),
        ("unsigned push, no hook", plain.clone(), false),
        ("signed push, no-op hooks", noop.clone(), true),
    ] {
        let clone = work.path().join(format!("clone-{}", targets.len()));
        check(
            git(false)
                .args(["clone", "-q", "-b", "main"])
                .arg(&server)
                .arg(&clone),
        );
        check(git(false).current_dir(&clone).args([
            "config",
            "user.signingkey",
            owner.fingerprint(),
        ]));
        targets.push(Target {
            name,
            clone,
            signed,
            samples: Vec::new(),
        });
    }

    eprintln!("bench: {rounds} rounds of one-file pushes, alternating …");
    for round in 0..rounds {
        for k in 0..targets.len() {
            // Rotate the order so no target always runs first.
            let n = targets.len();
            let t = &mut targets[(k + round) % n];
            let path = format!("d{:03}/f{:05}.txt", round % dirs, round);
            std::fs::write(t.clone.join(&path), format!("changed in round {round}\n"))
                .expect("edit");
            check(
                git(true)
                    .current_dir(&t.clone)
                    .args(["commit", "-q", "-am", "one file"]),
            );
            let mut push = git(true);
            push.current_dir(&t.clone).arg("push").arg("-q");
            if t.signed {
                push.arg("--signed");
            }
            push.args(["origin", "main"]);
            t.samples.push(time(&mut push));
        }
    }
    let medians: Vec<Duration> = targets.iter().map(|t| median(&t.samples)).collect();

    eprintln!("bench: explain of a new branch of all {files} files vs git ls-tree -r …");
    let mut explain_samples = Vec::new();
    let mut lstree_samples = Vec::new();
    for round in 0..rounds {
        let mut explain = sealed_command(&hook, &home, None);
        explain
            .arg("explain")
            .arg("--repo")
            .arg(hooked.path())
            .args([
                "--user",
                owner.fingerprint(),
                "refs/heads/bench-new",
                "main",
            ]);
        let mut lstree = git(false);
        lstree
            .arg("--git-dir")
            .arg(hooked.path())
            .args(["ls-tree", "-r", "main"]);
        if round % 2 == 0 {
            explain_samples.push(time(&mut explain));
            lstree_samples.push(time(&mut lstree));
        } else {
            lstree_samples.push(time(&mut lstree));
            explain_samples.push(time(&mut explain));
        }
    }
    let explain = median(&explain_samples);
    let lstree = median(&lstree_samples);

    println!("repository: {files} files in {dirs} directories; {rounds} rounds, medians");
    for (t, m) in targets.iter().zip(&medians) {
        println!("  {:<28} {:>8.1} ms", t.name, ms(*m));
    }
    println!("  {:<28} {:>8.1} ms", "gitapps-hook explain", ms(explain));
    println!("  {:<28} {:>8.1} ms", "git ls-tree -r", ms(lstree));
    println!(
        "ratio hook / signed push without hook:   {:.3}  (goal <= 1.1)",
        ms(medians[0]) / ms(medians[1])
    );
    println!(
        "ratio hook / unsigned push, plain server: {:.3}  (goal <= 1.5)",
        ms(medians[0]) / ms(medians[2])
    );
    println!(
        "ratio explain / git ls-tree -r:           {:.3}  (goal <= 1.5)",
        ms(explain) / ms(lstree)
    );
    println!(
        "for reference, no-op hooks / no hook:     {:.3}  (git's own cost of running hooks)",
        ms(medians[3]) / ms(medians[1])
    );
    println!(
        "ratio hook / two no-op hooks:             {:.3}  (goal <= 1.05)",
        ms(medians[0]) / ms(medians[3])
    );
}

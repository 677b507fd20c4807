//! ci-bot end to end: a real bare repository with `gitapps-hook` installed, real gpg
//! keys, `git mr` for the people, and the `ci-bot` binary for the bots.
//!
//! The harness is `gitapps-tests`' ([`gitapps_tests::Forge`]), which builds
//! `gitapps-hook` and `git-mr` next to the tests when needed.

mod common;

use std::time::{Duration, Instant};

use common::{wait_exit, wait_for, MrAuthor, World};
use gitapps_tests::sealed_tool_command;

#[test]
fn pass_and_fail_then_nothing_new_then_a_fix_flips_the_label() {
    let w = World::new(&["bot"], &[]);
    let alice = w.alice();
    let good = alice.open_mr("good", &[("ok", "")]);
    let bad = alice.open_mr("bad", &[("other", "")]);
    let closed = alice.open_mr("closed", &[("ok", "")]);
    alice.mr(&["close", &closed]);
    let bot = w.bot("bot", 20, "");
    let fpr = &bot.user.fpr;

    let log = bot.once_ok(&[]);
    // Unsandboxed: said at start and on every pass.
    assert!(log.matches("jobs run unsandboxed").count() >= 2, "{log}");
    assert!(w.labels(&good).contains(&"ci-pass".to_owned()));
    assert!(!w.labels(&good).contains(&"ci-fail".to_owned()));
    assert!(w.labels(&bad).contains(&"ci-fail".to_owned()));
    assert!(!w.labels(&bad).contains(&"ci-pass".to_owned()));
    let g = w.ci_comments(&good);
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(&g[0].author, fpr);
    assert_eq!(g[0].status(), "pass");
    assert_eq!(g[0].revision(), "1");
    assert_eq!(
        g[0].headers["CI-Command"],
        common::command(&w.runs).replace('\n', "\\n")
    );
    assert!(g[0].headers.contains_key("Date"));
    assert!(g[0].headers["CI-Duration"].ends_with('s'));
    assert!(
        g[0].body.starts_with("CI pass on revision 1"),
        "{}",
        g[0].body
    );
    assert!(g[0].body.contains("checking\n"), "{}", g[0].body);
    let b = w.ci_comments(&bad);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].status(), "fail");
    assert!(b[0].body.contains("exit code 1"), "{}", b[0].body);
    assert_eq!(w.claims(&good, 1).len(), 1);
    // The closed merge request is neither claimed nor tested.
    assert!(w.ci_comments(&closed).is_empty());
    assert!(w.claims(&closed, 1).is_empty());
    assert_eq!(w.runs().len(), 2, "{:?}", w.runs());

    // git mr reads the bot's comment back.
    let show = alice.mr(&["show", &bad, "--json"]);
    let show: serde_json::Value = serde_json::from_str(&show).unwrap();
    let ci_status: Vec<&str> = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["headers"]["CI-Status"].as_str())
        .collect();
    assert_eq!(ci_status, vec!["fail"], "{show}");

    // A second pass adds nothing.
    let tip = w.data_tip();
    bot.once_ok(&[]);
    assert_eq!(w.data_tip(), tip);
    assert_eq!(w.runs().len(), 2);

    // A new revision that fixes the failure flips the label.
    alice.revise(&bad, "bad", &[("ok", "")], &[]);
    bot.once_ok(&[]);
    let labels = w.labels(&bad);
    assert!(labels.contains(&"ci-pass".to_owned()), "{labels:?}");
    assert!(!labels.contains(&"ci-fail".to_owned()), "{labels:?}");
    let b = w.ci_comments(&bad);
    assert_eq!(b.len(), 2, "{b:?}");
    let v2 = b.iter().find(|c| c.revision() == "2").unwrap();
    assert_eq!(v2.status(), "pass");
    assert_eq!(w.runs().len(), 3, "{:?}", w.runs());

    // And back: a revision that breaks it again.
    alice.revise(&bad, "bad", &[], &["ok"]);
    bot.once_ok(&[]);
    let labels = w.labels(&bad);
    assert!(labels.contains(&"ci-fail".to_owned()), "{labels:?}");
    assert!(!labels.contains(&"ci-pass".to_owned()), "{labels:?}");
}

#[test]
fn a_command_that_outlives_the_timeout_reports_timeout() {
    let w = World::new(&["bot"], &[]);
    let slow = w.alice().open_mr("slow", &[("slow", ""), ("ok", "")]);
    let bot = w.bot("bot", 2, "");
    let t = Instant::now();
    bot.once_ok(&[]);
    assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
    let c = w.ci_comments(&slow);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].status(), "timeout");
    assert!(c[0].body.contains("timed out after 2 s"), "{}", c[0].body);
    assert!(w.labels(&slow).contains(&"ci-fail".to_owned()));

    // A key outside the group `ci` is refused on start, with the reason.
    let intruder = w.bot("alice", 2, "");
    let out = intruder.once(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = &out.stderr;
    assert!(err.contains("not in the group `ci`"), "{err}");

    // Policies without the claim rules refuse the claim: the pass fails, and says why.
    let conf = w.cat_access_control("branches/merge-reqs.conf");
    let old: String = conf
        .lines()
        .filter(|l| !(l.starts_with("ci ") && (l.contains("/ci$") || l.contains("/ci/v"))))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(conf.lines().count() - old.lines().count(), 3, "{conf}");
    w.edit_access_control(
        &[("branches/merge-reqs.conf", Some(&old))],
        "policies from before ci-bot",
    );
    let other = w.alice().open_mr("other", &[("ok", "")]);
    let out = bot.once(&[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = &out.stderr;
    assert!(err.contains("cannot claim"), "{err}");
    assert!(err.contains("hint: the policies"), "{err}");
    assert!(w.claims(&other, 1).is_empty());
    assert!(w.ci_comments(&other).is_empty());
}

#[test]
fn a_daemon_survives_a_lost_remote() {
    let w = World::new(&["bot"], &[]);
    let bot = w.bot("bot", 20, "");
    // Colours are for terminals: none in a log file, NO_COLOR or not.
    let mut daemon = bot.spawn(&[("NO_COLOR", "")]);
    wait_for(60, "the first pass", || {
        bot.log().contains("ci-bot started")
    });
    let away = w.root.path().join("server.away");
    std::fs::rename(w.server.path(), &away).unwrap();
    wait_for(60, "a failed pass", || bot.log().contains("pass failed"));
    std::fs::rename(&away, w.server.path()).unwrap();
    assert!(daemon.try_wait().unwrap().is_none(), "{}", bot.log());
    let mr = w.alice().open_mr("late", &[("ok", "")]);
    wait_for(60, "the result", || w.ci_comments(&mr).len() == 1);
    assert!(bot.log().contains("backing off"), "{}", bot.log());
    assert!(bot.log().contains("is reachable again"), "{}", bot.log());
    assert!(!bot.log().contains('\x1b'), "{}", bot.log());
    unsafe {
        libc::kill(daemon.id() as libc::pid_t, libc::SIGINT);
    }
    assert!(wait_exit(&mut daemon, 20).success(), "{}", bot.log());
    assert!(w.labels(&mr).contains(&"ci-pass".to_owned()));
}

#[test]
fn a_stopped_or_killed_bot_restarted_finishes_without_a_duplicate() {
    let w = World::new(&["bot"], &[]);
    let mr = w.alice().open_mr("long", &[("wait", "30"), ("ok", "")]);
    let bot = w.bot("bot", 60, "");

    // SIGTERM: the running job is killed, nothing is reported, the bot exits 0.
    let mut daemon = bot.spawn(&[]);
    wait_for(60, "the first job to start", || w.runs().len() == 1);
    let t = Instant::now();
    unsafe {
        libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = wait_exit(&mut daemon, 20);
    assert!(status.success(), "{status}: {}", bot.log());
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(bot.log().contains("not reported"), "{}", bot.log());
    assert!(w.ci_comments(&mr).is_empty());
    assert_eq!(w.claims(&mr, 1).len(), 1);

    // SIGKILL in the middle of the next job.
    let mut daemon = bot.spawn(&[]);
    wait_for(60, "the second job to start", || w.runs().len() == 2);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(w.ci_comments(&mr).is_empty());

    // Restarted, it takes its own claim over at once and reports once.
    bot.once_ok(&[("WAIT_SECS", "0")]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].status(), "pass");
    let claims: Vec<String> = w.claims(&mr, 1).into_iter().map(|(n, _)| n).collect();
    assert_eq!(claims, vec!["claim-1", "claim-2", "claim-3"]);
    assert_eq!(w.runs().len(), 3);
    bot.once_ok(&[]);
    assert_eq!(w.ci_comments(&mr).len(), 1);
    assert_eq!(w.runs().len(), 3);
}

#[test]
fn two_bots_started_at_once_run_each_revision_exactly_once() {
    let w = World::new(&["bot1", "bot2"], &[]);
    let alice = w.alice();
    let mrs = [
        alice.open_mr("one", &[("ok", "")]),
        alice.open_mr("two", &[]),
        alice.open_mr("three", &[("ok", "")]),
    ];
    let bot1 = w.bot("bot1", 20, "");
    let bot2 = w.bot("bot2", 20, "");
    let mut a = bot1.spawn_once(&[]);
    let mut b = bot2.spawn_once(&[]);
    assert!(wait_exit(&mut a, 240).success(), "{}", bot1.log());
    assert!(wait_exit(&mut b, 240).success(), "{}", bot2.log());
    let runs = w.runs();
    assert_eq!(runs.len(), 3, "{runs:?}");
    for mr in &mrs {
        assert_eq!(
            runs.iter()
                .filter(|r| r.starts_with(&format!("{mr} v1 ")))
                .count(),
            1,
            "{runs:?}"
        );
        let c = w.ci_comments(mr);
        assert_eq!(c.len(), 1, "{mr}: {c:?}");
        assert_eq!(w.claims(mr, 1).len(), 1);
    }
    assert!(w.labels(&mrs[1]).contains(&"ci-fail".to_owned()));
    // Neither bot repeats what the other did.
    bot1.once_ok(&[]);
    bot2.once_ok(&[]);
    assert_eq!(w.runs().len(), 3);

    // Without `signing_key`, the bot signs with git's user.signingkey (and forgets the
    // key an earlier configuration set in its clone).
    let global = bot1.user.home.join("gitconfig");
    std::fs::write(
        &global,
        format!("[user]\n\tsigningkey = {}\n", bot1.user.fpr),
    )
    .unwrap();
    let config = std::fs::read_to_string(&bot1.config).unwrap();
    let config: String = config
        .lines()
        .filter(|l| !l.starts_with("signing_key"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&bot1.config, config).unwrap();
    let four = alice.open_mr("four", &[("ok", "")]);
    let global = global.display().to_string();
    bot1.once_ok(&[("GIT_CONFIG_GLOBAL", &global)]);
    let c = w.ci_comments(&four);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].author, bot1.user.fpr);
    let out = bot1.once(&[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("no signing key"), "{out:?}");
}

#[test]
fn an_expired_claim_is_taken_over_by_another_bot() {
    let w = World::new(&["bot1", "bot2"], &[]);
    let mr = w.alice().open_mr("stuck", &[("wait", "30"), ("ok", "")]);
    // bot1 claims for 6 s (its own lease), starts, and dies.
    let bot1 = w.bot("bot1", 3, "lease_secs = 6\n");
    let mut daemon = bot1.spawn(&[]);
    wait_for(60, "bot1's job to start", || w.runs().len() == 1);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let claimed = Instant::now();
    // bot2, whose own lease is long, honours bot1's while it lasts (checked when
    // the machine is quick enough for the claim to be surely younger than 6 s).
    let bot2 = w.bot("bot2", 20, "lease_secs = 3600\n");
    let log = bot2.once_ok(&[("WAIT_SECS", "0"), ("RUST_LOG", "info,ci_bot=debug")]);
    if claimed.elapsed() < Duration::from_secs(4) {
        assert!(log.contains("claimed by another bot"), "{log}");
        assert!(w.ci_comments(&mr).is_empty());
    }
    std::thread::sleep(Duration::from_secs(7).saturating_sub(claimed.elapsed()));
    bot2.once_ok(&[("WAIT_SECS", "0")]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].author, bot2.user.fpr);
    assert_eq!(c[0].status(), "pass");
    let claims = w.claims(&mr, 1);
    assert_eq!(claims.len(), 2, "{claims:?}");
    assert!(claims[0].1.contains(&bot1.user.fpr), "{claims:?}");
    assert!(claims[1].1.contains(&bot2.user.fpr), "{claims:?}");
    // bot1, back, counts bot2's result as done.
    bot1.once_ok(&[]);
    assert_eq!(w.ci_comments(&mr).len(), 1);
    assert_eq!(w.runs().len(), 2);
}

#[test]
fn configuration_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str| {
        let path = dir.path().join("ci-bot.toml");
        std::fs::write(&path, text).unwrap();
        let mut cmd = sealed_tool_command(common::ci_bot_bin(), dir.path(), Some(dir.path()));
        cmd.arg("--config").arg(&path).arg("--once");
        let out = gitapps_tests::run(cmd, None);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        out.stderr
    };
    let base = "remote = \"/nonexistent/server.git\"\nworkdir = \"work\"\n";
    let err = run(&format!("{base}command = \"true\"\ncolour = \"red\"\n"));
    assert!(err.contains("unknown field `colour`"), "{err}");
    let err = run(base);
    assert!(err.contains("missing `command`"), "{err}");
    let err = run(&format!("{base}command = \"true\"\n"));
    assert!(
        err.contains("cannot reach the remote /nonexistent/server.git"),
        "{err}"
    );
    // The start failed: the workdir it made is gone again.
    assert!(!dir.path().join("work").exists());
    let err = run(&format!("{base}command = \"true\"\nsandbox = \"docker\"\n"));
    assert!(err.contains("say \"bwrap\""), "{err}");
    let err = run(&format!(
        "{base}command = \"true\"\nread_only_paths = [\"/nonexistent/toolchain\"]\n"
    ));
    assert!(
        err.contains("/nonexistent/toolchain does not exist"),
        "{err}"
    );
    // Listing the bot's HOME (here the test's folder) would show its keys: refused.
    let err = run(&format!(
        "{base}command = \"true\"\nread_only_paths = [{:?}]\n",
        dir.path().display().to_string()
    ));
    assert!(
        err.contains("is (or is inside) a path jobs never see"),
        "{err}"
    );
    let missing = dir.path().join("nope.toml");
    let mut cmd = sealed_tool_command(common::ci_bot_bin(), dir.path(), Some(dir.path()));
    cmd.arg("--config").arg(&missing);
    let out = gitapps_tests::run(cmd, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("cannot read"));
}

#[test]
fn only_the_newest_revision_is_tested_unless_all_are_asked_for() {
    let w = World::new(&["bot", "bot2"], &[]);
    let alice = w.alice();
    let mr = alice.open_mr("twice", &[("ok", "")]);
    alice.revise(&mr, "twice", &[("more", "")], &[]);
    let bot = w.bot("bot", 20, "");
    bot.once_ok(&[]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].revision(), "2");
    assert_eq!(w.runs().len(), 1, "{:?}", w.runs());
    assert!(w.claims(&mr, 1).is_empty());

    // test_all_revisions = true tests the older one too.
    let all = w.bot("bot2", 20, "test_all_revisions = true\n");
    all.once_ok(&[]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(c.iter().any(|c| c.revision() == "1"), "{c:?}");
    assert_eq!(w.runs().len(), 2, "{:?}", w.runs());
}

#[test]
fn a_maintainer_asks_for_a_rerun_and_gets_a_new_comment() {
    let w = World::new(&["bot"], &[]);
    let alice = w.alice();
    let owner = w.owner();
    let mr = alice.open_mr("flaky", &[("ok", "")]);
    let bot = w.bot("bot", 20, "");
    bot.once_ok(&[]);
    assert_eq!(w.ci_comments(&mr).len(), 1);

    // Not a maintainer: git mr refuses, and so would the hook.
    let err = alice.mr_fails(&["ci-retry", &mr]);
    assert!(err.contains("only maintainers"), "{err}");
    let data = w.root.path().join("alice-data");
    let forger = alice.clone_branch(&w.server, "apps/merge-reqs/data", &data);
    let forged = format!("merge-reqs/{mr}/ci/retry/{}/0", alice.fpr);
    std::fs::create_dir_all(data.join(&forged).parent().unwrap()).unwrap();
    std::fs::write(
        data.join(&forged),
        "Date: 2026-11-26T11:00:00Z\nRevision: 1\n",
    )
    .unwrap();
    forger.git(&["add", "-A"]);
    forger.git(&["commit", "-q", "-m", "ask for a rerun"]);
    let push = forger.git_out(&[
        "push",
        "-q",
        "--signed",
        "origin",
        "HEAD:apps/merge-reqs/data",
    ]);
    assert!(!push.success(), "{push:?}");
    assert!(push.stderr.contains("denied"), "{push:?}");

    // The owner, a maintainer since `git mr init`, asks.
    let out = owner.mr_out(&["ci-retry", &mr]);
    out.assert_ok();
    assert!(out.stderr.contains("CI asked to test v1 again"), "{out:?}");
    assert_eq!(
        w.ls(&format!("merge-reqs/{mr}/ci/retry/{}", owner.fpr)),
        ["0"]
    );
    bot.once_ok(&[]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 2, "{c:?}");
    let rerun = c
        .iter()
        .find(|c| c.headers.contains_key("CI-Retry"))
        .unwrap();
    assert_eq!(rerun.headers["CI-Retry"], format!("{}/0", owner.fpr));
    assert_eq!(rerun.headers["CI-Claim"], "2");
    assert_eq!(w.runs().len(), 2);
    // Answered: nothing more to do.
    bot.once_ok(&[]);
    assert_eq!(w.runs().len(), 2);

    // Two requests before the next pass: one run answers both.
    owner.mr(&["ci-retry", &mr]);
    owner.mr(&["ci-retry", &mr]);
    bot.once_ok(&[]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 3, "{c:?}");
    assert!(
        c.iter()
            .any(|c| c.headers.get("CI-Retry") == Some(&format!("{}/2", owner.fpr))),
        "{c:?}"
    );
    assert_eq!(w.runs().len(), 3);
    bot.once_ok(&[]);
    assert_eq!(w.runs().len(), 3);
}

#[test]
fn a_huge_log_stays_under_the_data_branch_size_cap() {
    let w = World::new(&["bot"], &[]);
    w.server.set_config("gitapps.maxFileSize", "12k");
    let mr = w.alice().open_mr("noisy", &[]);
    let bot = w.bot_with(
        "bot",
        60,
        "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo the last line; exit 1",
        "sandbox = \"none\"\ncomment_max_bytes = 8192\n",
    );
    bot.once_ok(&[]);
    let c = w.ci_comments(&mr);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].status(), "fail");
    assert!(c[0].body.contains("the last line"), "{}", c[0].body);
    let size: usize = w
        .server
        .git_ok(&[
            "cat-file",
            "-s",
            &format!(
                "refs/heads/apps/merge-reqs/data:merge-reqs/{mr}/comments/{}/{}",
                c[0].author, c[0].index
            ),
        ])
        .trim()
        .parse()
        .unwrap();
    assert!(size <= 8192 && size > 6000, "{size}");
}

/// What the server's hook warns about on a push that succeeds (here: it
/// removed a stale lock on its audit log, left by a killed writer) goes to
/// the bot's log: the push's own output stays in the library.
#[test]
fn the_servers_warnings_reach_the_bots_log() {
    let w = World::new(&["bot"], &[]);
    let alice = w.alice();
    alice.open_mr("good", &[("ok", "")]);
    let bot = w.bot("bot", 20, "");
    let lock = w.server.path().join("refs/apps/push-certs.lock");
    let file = std::fs::File::create(&lock).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    drop(file);
    let log = bot.once_ok(&[]);
    assert!(
        log.contains("the server said: gitapps: warning: removed"),
        "{log}"
    );
    assert!(!lock.exists());
}

//! `git mr` under stale clones, impostors and hostile data: end to end, through a
//! real bare repository with `gitapps-hook` installed and real signed pushes.

mod common;

use common::{commit_file, MrJson, World};

/// A member's `git mr` with a `git` on PATH that logs its subcommand to `log`.
fn logging_git(u: &common::User, log: &std::path::Path) -> std::process::Command {
    let dir = u.home.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = dir.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in -C) skip=1;; *) if [ -n \"$skip\" ]; then skip=; else echo \"$a\" >> '{}'; break; fi;; esac; done\nexec {} \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = u.mr_command();
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", dir.display()));
    cmd
}

fn count(log: &std::path::Path, verb: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == verb)
        .count()
}

/// Owner, Alice and Bob, a maintainer who may push `main`; Alice on a branch
/// `feature` from `main`.
fn alice_and_bob_the_maintainer() -> World {
    let world = World::new(&["owner", "alice", "bob"]);
    world.setup_main();
    world.owner().mr(&["init", "--maintainer", "bob"]);
    world.grant_main_to_maintainers();
    let alice = world.user("alice");
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    world
}

/// Alice revises to v2; Bob listed before and then ran a plain `git fetch`
/// (which moves the data branch's remote-tracking ref, but fetches no revision
/// tag). Every read and write fetches the tags with the data: Bob sees v2,
/// comments on v2, and merges v2, saying so with Alice's full fingerprint.
#[test]
fn stale_clones_see_and_merge_the_newest_revision() {
    let world = alice_and_bob_the_maintainer();
    let (alice, bob) = (world.user("alice"), world.user("bob"));
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);
    assert_eq!(bob.json(&["list", "--json"])[0]["revisions"], 1);

    commit_file(alice, "a.txt", "one\ntwo\n", "a: two");
    alice.mr(&["revise", "1", "-m", "v2"]);
    bob.git(&["fetch", "-q", "origin"]);

    assert_eq!(bob.json(&["list", "--json"])[0]["revisions"], 2);
    let diff = bob.mr(&["diff", "alice/1"]);
    assert!(diff.contains("+two"), "{diff}");
    bob.mr(&["comment", "alice/1", "-m", "Looks right."]);
    let show = bob.json(&["show", "alice/1", "--json"]);
    let mine = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"] == "Looks right.\n")
        .unwrap();
    assert_eq!(mine["revision"], 2, "{mine}");

    let out = bob.mr_out(&["merge", "alice/1"]);
    out.assert_ok();
    assert!(
        out.stderr.contains("revision 2") && out.stderr.contains(&alice.fpr),
        "names the revision and the author's full fingerprint:\n{}",
        out.stderr
    );
    bob.git(&["fetch", "-q", "origin"]);
    assert_eq!(bob.git(&["show", "origin/main:a.txt"]), "one\ntwo\n");
    let show = bob.json(&["show", "alice/1", "--json"]);
    let merged = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["headers"]["Merge-Commit"].is_string())
        .unwrap();
    assert_eq!(merged["revision"], 2, "{merged}");
    assert!(
        merged["body"].as_str().unwrap().contains("revision 2"),
        "{merged}"
    );
}

/// Names are claims: a second key called `Carol` and a look-alike `Cаrol`
/// (Cyrillic а) make `carol` ambiguous, even where only one has the number;
/// short prefixes are refused; lists mark shared names next to fingerprints.
#[test]
fn names_are_claims_not_identities() {
    let world = World::new(&["owner", "carol", "carol", "c\u{430}rol", "bob"]);
    world.setup_main();
    world.owner().mr(&["init"]);
    let carol = &world.users[1];
    let impostor = &world.users[2];
    let lookalike = &world.users[3];
    let bob = world.user("bob");
    for (u, n) in [(carol, 2), (impostor, 1), (lookalike, 1)] {
        u.git(&["checkout", "-q", "-b", "work", "origin/main"]);
        for i in 0..n {
            commit_file(u, &format!("f{i}"), "x\n", "work");
            u.mr(&["create", "-t", &format!("{} {i}", u.fpr), "-m", "."]);
        }
    }
    for spec in ["carol/2", "Carol/2", "carol@example.com/2", "c\u{430}rol/1"] {
        let err = bob.mr_fails(&["show", spec]);
        assert!(err.contains("could mean more than one"), "{spec}: {err}");
        for u in [carol, impostor] {
            assert!(err.contains(&u.fpr), "{spec} lists {}: {err}", u.fpr);
        }
        assert!(err.contains(&lookalike.fpr), "{spec}: {err}");
    }
    let err = bob.mr_fails(&["list", "--author", "carol"]);
    assert!(err.contains("could mean more than one"), "{err}");
    let show = bob.json(&["show", &format!("{}/2", &carol.fpr[..8]), "--json"]);
    assert_eq!(show["author"], carol.fpr);
    let err = bob.mr_fails(&["show", &format!("{}/2", &carol.fpr[..4])]);
    assert!(err.contains("too short"), "{err}");

    let list = bob.mr(&["list"]);
    for u in [carol, impostor, lookalike] {
        let line = list
            .lines()
            .find(|l| l.contains(&u.fpr[..8]) && l.contains("by "))
            .unwrap_or_else(|| panic!("{} in {list}", u.fpr));
        assert!(line.contains("a name other keys share"), "{line}");
    }
    let site = world.root.path().join("site");
    bob.mr(&["export", "--html", site.to_str().unwrap()]);
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert_eq!(
        index.matches("(a name other keys share)").count(),
        4,
        "{index}"
    );
}

/// Only the `ci` group reports CI, and `@owner` in a group means the owner, as
/// the hook has it: with `@owner` the only member of `ci` and `maintainers`,
/// the owner's CI-Status is a CI result and Eve's an ordinary header, and the
/// maintainers asked for a new label are the owner.
#[test]
fn ci_results_come_from_the_ci_group_and_owner_is_a_member() {
    let world = World::new(&["owner", "alice", "eve"]);
    let (owner, alice, eve) = (world.owner(), world.user("alice"), world.user("eve"));
    world.setup_main();
    owner.mr(&["init"]);
    world.edit_access_control(
        &[
            ("groups/ci", Some("@owner\n")),
            ("groups/maintainers", Some("@owner\n")),
        ],
        "owner is ci and maintainer",
    );
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "."]);

    for u in [owner, eve] {
        let dir = world.root.path().join(format!("{}-data", u.name));
        let hand = u.clone_branch(&world.server, "apps/merge-reqs/data", &dir);
        let path = format!("merge-reqs/{}/1/comments/{}/0", alice.fpr, u.fpr);
        std::fs::create_dir_all(dir.join(&path).parent().unwrap()).unwrap();
        std::fs::write(
            dir.join(&path),
            format!(
                "Date: 2026-11-26T11:00:00Z\nRevision: 1\nCI-Status: pass\n\nall green, says {}\n",
                u.name
            ),
        )
        .unwrap();
        hand.commit_and_push("ci", "refs/heads/apps/merge-reqs/data");
    }
    let show = alice.json(&["show", "1", "--json"]);
    let by = |who: &str| {
        show["comments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["author"] == who)
            .unwrap()
            .clone()
    };
    assert_eq!(by(&owner.fpr)["ci_status"], "pass");
    assert_eq!(by(&eve.fpr)["ci_status"], serde_json::Value::Null);
    let text = alice.mr(&["show", "1"]);
    let eve_meta = text
        .lines()
        .find(|l| l.starts_with("---") && l.contains(&eve.fpr[..8]))
        .unwrap();
    assert!(!eve_meta.contains("CI"), "{eve_meta}");
    assert!(text.contains("[CI-Status: pass]"), "{text}");
    let owner_meta = text
        .lines()
        .find(|l| l.starts_with("---") && l.contains(&owner.fpr[..8]))
        .unwrap();
    assert!(
        owner_meta.contains("CI result CI-Status: pass"),
        "{owner_meta}"
    );

    let site = world.root.path().join("site");
    alice.mr(&["export", "--html", site.to_str().unwrap()]);
    let page = std::fs::read_to_string(site.join(format!("mr/{}-1.html", alice.fpr))).unwrap();
    assert_eq!(page.matches("comment ci-result").count(), 1, "{page}");
    let owner_article = page
        .split("<article")
        .find(|a| a.contains("all green, says owner"))
        .unwrap();
    assert!(owner_article.contains("ci-result"), "{owner_article}");

    let err = alice.mr_fails(&["label", "1", "--add", "wip"]);
    assert!(
        err.contains("ask") && err.contains(&owner.fpr[..8]),
        "@owner is a maintainer: {err}"
    );
    owner.mr(&["labels", "--create", "wip", "-m", "Work in progress."]);
    owner.mr(&["label", "alice/1", "--add", "wip"]);

    // init repairs itself: a lost policy file comes back, members are added
    // to their group, an unregistered bot is warned about; then nothing to do.
    world.edit_access_control(&[("refs/merge-reqs.conf", None)], "lose a file");
    let unregistered = "0123456789ABCDEF0123456789ABCDEF01234567";
    let out = owner.mr_out(&["init", "--ci", &eve.fpr, "--ci", unregistered]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains(&format!("CI bot {unregistered} has no key")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("refs/merge-reqs.conf (new)"),
        "{}",
        out.stderr
    );
    let ci = world
        .server
        .read_file("apps/access-control", "groups/ci")
        .unwrap();
    assert!(ci.contains("@owner") && ci.contains(&eve.fpr), "{ci}");
    assert_eq!(
        world
            .server
            .read_file("apps/access-control", "refs/merge-reqs.conf")
            .unwrap(),
        git_mr::policy::refs_conf()
    );
    let out = owner.mr_out(&["init"]);
    out.assert_ok();
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
}

/// Titles, names and comments reach the terminal and the export without
/// controls or bidi overrides.
#[test]
fn display_hygiene_and_friction() {
    let world = alice_and_bob_the_maintainer();
    let (owner, alice, bob) = (world.owner(), world.user("alice"), world.user("bob"));

    // create: a target that is not there, nothing ahead of the target.
    let err = alice.mr_fails(&["create", "-t", "x", "-m", ".", "--target", "mian"]);
    assert!(
        err.contains("no branch `mian`") && err.contains("did you mean `--target main`"),
        "{err}"
    );
    let err = alice.mr_fails(&["create", "-t", "x", "-m", "."]);
    assert!(err.contains("nothing to merge"), "{err}");
    commit_file(alice, "a.txt", "one\n", "add a");
    // A dirty tree warns; an untouched editor template aborts.
    std::fs::write(alice.clone.join("a.txt"), "dirty\n").unwrap();
    let keep = alice.home.join("keep.sh");
    std::fs::write(&keep, "#!/bin/sh\ntrue\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keep, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = alice.mr_command();
    cmd.env("GIT_EDITOR", &keep).arg("create");
    let out = gitapps_tests::run(cmd, None);
    out.assert_failed();
    assert!(out.stderr.contains("uncommitted changes"), "{}", out.stderr);
    assert!(out.stderr.contains("aborted"), "{}", out.stderr);
    alice.git(&["checkout", "-q", "a.txt"]);

    let title = "Fix \u{1b}[2J\u{1b}]0;pwned\u{7}the \u{202E}txt.exe\u{2066} parser\u{200F}";
    alice.mr(&["create", "-t", title, "-m", "body \u{1b}[31mred\u{202D}\n"]);
    let bad = [
        '\u{1b}', '\u{7}', '\u{202E}', '\u{2066}', '\u{200F}', '\u{202D}',
    ];
    for args in [vec!["list"], vec!["show", "1"]] {
        let out = bob.mr(&args);
        assert!(!out.contains(bad), "{args:?}: {out:?}");
        assert!(out.contains("Fix") && out.contains("parser"), "{out}");
    }
    let site = world.root.path().join("site");
    bob.mr(&["export", "--html", site.to_str().unwrap()]);
    for page in ["index.html", &format!("mr/{}-1.html", alice.fpr)] {
        let html = std::fs::read_to_string(site.join(page)).unwrap();
        assert!(!html.contains(bad), "{page}");
    }

    // Empty comments are refused; comment ids are not MR names; --reply-to
    // takes a name; one comment is one fetch and one push.
    for empty in ["", "  \n "] {
        let err = bob.mr_fails(&["comment", "1", "-m", empty]);
        assert!(err.contains("empty comment"), "{err}");
    }
    let log = bob.home.join("git.log");
    let mut cmd = logging_git(bob, &log);
    cmd.args(["comment", "1", "-m", "First."]);
    let out = gitapps_tests::run(cmd, None);
    out.assert_ok();
    assert_eq!(
        out.stdout.trim(),
        format!("comment {}/0 on {}/1", bob.fpr, alice.fpr)
    );
    assert_eq!(
        count(&log, "fetch"),
        1,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(count(&log, "push"), 1);
    alice.mr(&["comment", "1", "-m", "Answer.", "--reply-to", "bob/0"]);
    let show = bob.json(&["show", "1", "--json"]);
    let answer = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"] == "Answer.\n")
        .unwrap();
    assert_eq!(answer["in_reply_to"], format!("{}/0", bob.fpr));

    // A remote that is not there is named as such.
    let err = bob.mr_fails(&["list", "--remote", "upstream"]);
    assert!(
        err.contains("no remote `upstream`") && !err.contains("init"),
        "{err}"
    );

    // A failed push keeps the editor's text, and says where.
    let write = bob.home.join("write.sh");
    std::fs::write(&write, "#!/bin/sh\necho 'A long review.' >> \"$1\"\n").unwrap();
    std::fs::set_permissions(&write, std::fs::Permissions::from_mode(0o755)).unwrap();
    let url = bob.git(&["remote", "get-url", "origin"]);
    bob.git(&["remote", "set-url", "origin", "/nonexistent/server.git"]);
    let mut cmd = bob.mr_command();
    cmd.env("GIT_EDITOR", &write).args(["comment", "1"]);
    let out = gitapps_tests::run(cmd, None);
    out.assert_failed();
    let kept = out
        .stderr
        .lines()
        .find_map(|l| l.split("your text is kept in ").nth(1))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert_eq!(
        std::fs::read_to_string(kept)
            .unwrap()
            .trim_end()
            .lines()
            .last(),
        Some("A long review.")
    );
    bob.git(&["remote", "set-url", "origin", url.trim()]);
    bob.mr(&["comment", "1", "-F", kept]);

    // A size refusal is not called a policy refusal.
    world.server.set_config("gitapps.maxFileSize", "1000");
    let big = bob.home.join("big.txt");
    std::fs::write(&big, "x".repeat(5000)).unwrap();
    let err = bob.mr_fails(&["comment", "1", "-F", big.to_str().unwrap()]);
    assert!(err.contains("maxFileSize"), "{err}");
    assert!(!err.contains("does not allow"), "{err}");
    world
        .server
        .git(&["config", "--unset", "gitapps.maxFileSize"])
        .assert_ok();

    // A local gpg failure says so, not that the policy refused.
    let gpg = bob.home.join("gpg-fails.sh");
    std::fs::write(
        &gpg,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -bsau ] && { echo 'gpg: signing failed: No pinentry' >&2; exit 2; }; done\nexec gpg \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&gpg, std::fs::Permissions::from_mode(0o755)).unwrap();
    bob.git(&["config", "gpg.program", gpg.to_str().unwrap()]);
    let err = bob.mr_fails(&["comment", "1", "-m", "x"]);
    assert!(err.contains("gpg") && err.contains("No pinentry"), "{err}");
    assert!(!err.contains("policy"), "{err}");
    bob.git(&["config", "--unset", "gpg.program"]);

    // Merge commits are authored by the key's user id when git's is unset.
    owner.git(&["checkout", "-q", "main"]);
    owner.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    commit_file(owner, "b.txt", "b\n", "add b");
    owner.git(&["push", "-q", "--signed", "origin", "main"]);
    bob.git(&["config", "--unset", "user.name"]);
    bob.git(&["config", "--unset", "user.email"]);
    bob.mr(&["merge", "alice/1"]);
    bob.git(&["fetch", "-q", "origin"]);
    let author = bob.git(&["log", "-1", "--format=%an <%ae>", "origin/main"]);
    assert_eq!(author.trim(), format!("Bob <{}>", bob.email));
}

/// Concurrent commenters over HTTP (nginx + fcgiwrap + git http-backend, a
/// nonce issued by one request and checked in the next): every comment arrives.
#[test]
fn concurrent_comments_over_http_all_arrive() {
    let world = World::new(&["owner", "alice", "bob", "carol"]);
    world.setup_main();
    world.owner().mr(&["init"]);
    let url = gitapps_tests::http::HttpServer::shared().serve(&world.server);
    for u in &world.users {
        u.git(&["remote", "set-url", "origin", &url]);
    }
    let alice = world.user("alice");
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Busy", "-m", "."]);
    let writers: Vec<&common::User> = world.users[1..].iter().collect();
    common::comment_at_once(&writers, "1", 4);
    let show = alice.json(&["show", "1", "--json"]);
    assert_eq!(show["comments"].as_array().unwrap().len(), 13, "{show:#}");
}

/// What the server's hook warns about on a push that succeeds (here: it
/// removed a stale lock on its audit log, left by a killed writer) reaches
/// the user of `git mr`, which otherwise keeps its pushes' output to itself.
#[test]
fn the_servers_warnings_reach_the_user_of_git_mr() {
    let world = alice_and_bob_the_maintainer();
    let alice = world.user("alice");
    commit_file(alice, "a.txt", "one\n", "add a");
    let id = alice.mr(&["create", "-t", "A", "-m", "a"]);
    let lock = world.server.path().join("refs/apps/push-certs.lock");
    let file = std::fs::File::create(&lock).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    drop(file);
    let out = alice.mr_out(&["comment", id.trim(), "-m", "hello"]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("warning: the server said: gitapps: warning: removed"),
        "{}",
        out.stderr
    );
    assert!(!lock.exists());
}

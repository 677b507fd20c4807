//! End-to-end tests of `git mr` through a real bare repository with `gitapps-hook`
//! installed, real `git push --signed` and real gpg users.

mod common;

use common::{commit_file, MrJson, World};

#[test]
fn init_create_list_show() {
    let world = World::new(&["owner", "alice", "bob", "eve"]);
    let owner = world.owner();
    let alice = world.user("alice");
    let bob = world.user("bob");
    world.setup_main();
    owner.mr(&["init", "--maintainer", &bob.fpr]);
    // The policies init wrote are valid, and the same as the library's.
    world.server.validate_rev("apps/access-control").assert_ok();
    let out = world
        .server
        .git(&["show", "apps/access-control:branches/merge-reqs.conf"]);
    assert_eq!(out.success_stdout(), git_mr::policy::branches_conf());
    world.grant_main_to_maintainers();

    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    std::fs::write(alice.clone.join("a.txt"), "one\n").unwrap();
    alice.git(&["add", "a.txt"]);
    alice.git(&["commit", "-q", "-m", "add a"]);
    let name = alice.mr(&[
        "create",
        "-t",
        "Add a",
        "-m",
        "Adds a.txt",
        "--target",
        "main",
    ]);
    assert_eq!(name.trim(), format!("{}/1", alice.fpr));

    let list = bob.json(&["list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], format!("{}/1", alice.fpr));
    assert_eq!(list[0]["author"], alice.fpr);
    assert_eq!(list[0]["number"], 1);
    assert_eq!(list[0]["title"], "Add a");
    assert_eq!(list[0]["target"], "main");
    assert_eq!(list[0]["state"], "open");
    assert_eq!(list[0]["labels"], serde_json::json!(["open"]));
    assert_eq!(list[0]["revisions"], 1);

    let show = bob.json(&["show", "alice/1", "--json"]);
    assert_eq!(show["comments"][0]["body"], "Adds a.txt\n");
    assert_eq!(show["comments"][0]["date"], common::NOW);
    assert_eq!(show["comments"][0]["revision"], 1);
    assert_eq!(show["comments"][0]["index"], 0);

    // Without -m or -F the editor (git var GIT_EDITOR) writes the message;
    // the template's '#' lines are dropped, and an untouched template aborts.
    let editor = bob.home.join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'Long review,\\nwritten in the editor.\\n' >> \"$1\"\n",
    )
    .unwrap();
    let quit = bob.home.join("quit.sh");
    std::fs::write(&quit, "#!/bin/sh\ntrue\n").unwrap();
    for script in [&editor, &quit] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = bob.mr_command();
    cmd.env("GIT_EDITOR", &editor).args(["comment", "alice/1"]);
    gitapps_tests::run(cmd, None).assert_ok();
    let show = bob.json(&["show", "alice/1", "--json"]);
    let bodies: Vec<&str> = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.contains(&"Long review,\nwritten in the editor.\n"),
        "{bodies:?}"
    );
    let mut cmd = bob.mr_command();
    cmd.env("GIT_EDITOR", &quit).args(["comment", "alice/1"]);
    gitapps_tests::run(cmd, None).assert_failed();
    let again = bob.json(&["show", "alice/1", "--json"]);
    assert_eq!(again["comments"].as_array().unwrap().len(), bodies.len());
}

/// The whole life of a merge request by three users: author (alice), reviewer who
/// is a maintainer (bob), outsider (eve).
#[test]
fn life_cycle_of_a_merge_request() {
    let world = World::new(&["owner", "alice", "bob", "eve"]);
    let owner = world.owner();
    let alice = world.user("alice");
    let bob = world.user("bob");
    let eve = world.user("eve");
    world.setup_main();

    // Before init: a clear error with a hint.
    let err = alice.mr_fails(&["list"]);
    assert!(err.contains("git mr init"), "{err}");

    owner.mr(&["init", "--maintainer", "bob"]);
    world.grant_main_to_maintainers();
    let out = owner.mr_out(&["init"]);
    out.assert_ok();
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);

    // Alice opens a merge request.
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    let v1 = commit_file(alice, "a.txt", "one\n", "add a");
    let id = alice.mr(&[
        "create",
        "-t",
        "Add a",
        "-m",
        "Adds a.txt.",
        "--label",
        "needs-review",
    ]);
    let id = id.trim().to_owned();
    assert_eq!(id, format!("{}/1", alice.fpr));

    // Everyone sees it.
    let list = eve.json(&["list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        list[0]["labels"],
        serde_json::json!(["needs-review", "open"])
    );
    let text = eve.mr(&["list"]);
    assert!(text.contains("Add a") && text.contains("Alice"), "{text}");
    let text = eve.mr(&["show", "alice/1"]);
    assert!(text.contains("Adds a.txt."), "{text}");

    // Bob reviews, Eve comments, Alice answers.
    bob.mr(&["comment", "1", "-m", "Please add a newline."]);
    eve.mr(&["comment", &format!("{}/1", &alice.fpr[..10]), "-m", "+1"]);
    alice.mr(&[
        "comment",
        "me/1",
        "-m",
        "Will do.",
        "--reply-to",
        &format!("{}/0", &bob.fpr[..8]),
    ]);
    let show = bob.json(&["show", "alice/1", "--json"]);
    let comments = show["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 4);
    let reply = comments.iter().find(|c| c["body"] == "Will do.\n").unwrap();
    assert_eq!(reply["headers"]["In-Reply-To"], format!("{}/0", bob.fpr));
    assert_eq!(reply["index"], 1);

    // Revisions v2 and v3 (v3 after a rebase onto a moved main).
    let v2 = commit_file(alice, "a.txt", "one\ntwo\n", "a: two");
    alice.mr(&["revise", "1", "-m", "Added a line."]);
    owner.git(&["checkout", "-q", "main"]);
    owner.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    commit_file(owner, "b.txt", "b\n", "add b");
    owner.git(&["push", "-q", "--signed", "origin", "main"]);
    alice.git(&["fetch", "-q", "origin"]);
    alice.git(&["rebase", "-q", "origin/main"]);
    let v3 = alice.git(&["rev-parse", "HEAD"]).trim().to_owned();
    alice.mr(&["revise", "1"]);
    let show = bob.json(&["show", "1", "--json"]);
    assert_eq!(show["revisions"], 3);
    let commits: Vec<&str> = show["revision_commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, vec![v1.as_str(), v2.as_str(), v3.as_str()]);
    assert!(show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["revision"] == 3 && c["body"].as_str().unwrap().contains("Revision 3")));

    // Diffs: the revision against its target; v2..v3, the interdiff (the rebase
    // brought b.txt, which the merge request does not change: not shown; a.txt is
    // as it was); v1..v3, the line v2 added; and the commits, with --range-diff.
    let diff = bob.mr(&["diff", "1"]);
    assert!(diff.contains("+two") && !diff.contains("b.txt"), "{diff}");
    let out = bob.mr_out(&["diff", "1", "--revision", "3", "--since", "2"]);
    let diff = out.success_stdout();
    assert!(!diff.contains("b.txt") && !diff.contains("+two"), "{diff}");
    assert!(
        out.stderr.contains("changes nothing since v2"),
        "{}",
        out.stderr
    );
    let diff = bob.mr(&["diff", "1", "--since", "1"]);
    assert!(diff.contains("+two") && !diff.contains("b.txt"), "{diff}");
    let diff = bob.mr(&["diff", "1", "--since", "2", "--range-diff"]);
    assert!(!diff.contains("b.txt"), "{diff}");
    assert!(diff.contains("a: two"), "{diff}");

    // Labels: the author may; the outsider may not label another's; only maintainers
    // create label names.
    alice.mr(&["label", "1", "--remove", "needs-review"]);
    let err = eve.mr_fails(&["label", "alice/1", "--add", "needs-review"]);
    assert!(err.contains("denied"), "{err}");
    let err = alice.mr_fails(&["label", "1", "--add", "wontfix"]);
    assert!(
        err.contains("wontfix") && err.contains("maintainers"),
        "{err}"
    );
    // Nobody makes a label by a typo: a maintainer creates the name on purpose.
    let err = bob.mr_fails(&["label", "1", "--add", "wontfix"]);
    assert!(
        err.contains("does not exist") && err.contains("labels --create"),
        "{err}"
    );
    let err = bob.mr_fails(&["label", "1", "--add", "neds-review"]);
    assert!(err.contains("did you mean `needs-review`"), "{err}");
    let err = alice.mr_fails(&["labels", "--create", "wontfix"]);
    assert!(err.contains("only maintainers"), "{err}");
    bob.mr(&[
        "labels",
        "--create",
        "wontfix",
        "-m",
        "We will not do this.",
    ]);
    let labels = eve.mr(&["labels"]);
    assert!(
        labels
            .lines()
            .any(|l| l.starts_with("wontfix") && l.contains("We will not do this.")),
        "{labels}"
    );
    let err = eve.mr_fails(&["list", "--label", "nosuch"]);
    assert!(err.contains("label `nosuch` does not exist"), "{err}");
    bob.mr(&["label", "1", "--add", "wontfix"]);
    bob.mr(&["label", "1", "--remove", "wontfix"]);
    let err = alice.mr_fails(&["label", "1", "--add", "merged"]);
    assert!(err.contains("denied"), "{err}");

    // Close and reopen (the outsider may not).
    let err = eve.mr_fails(&["close", "alice/1"]);
    assert!(err.contains("denied"), "{err}");
    alice.mr(&["close", "1"]);
    assert_eq!(eve.json(&["list", "--json"]).as_array().unwrap().len(), 0);
    let closed = eve.json(&["list", "--state", "closed", "--json"]);
    assert_eq!(closed[0]["state"], "closed");
    bob.mr(&["reopen", "alice/1"]);
    assert_eq!(eve.json(&["list", "--json"])[0]["state"], "open");

    // Search.
    let hits = eve.json(&["search", "newline", "--json"]);
    assert_eq!(hits[0]["id"], id);
    assert_eq!(hits[0]["title"], "Add a");
    assert!(hits[0]["matches"][0].as_str().unwrap().contains("newline"));

    // Merge: the outsider cannot, the maintainer can (a merge commit: main moved).
    let err = eve.mr_fails(&["merge", "alice/1"]);
    assert!(err.contains("denied"), "{err}");
    bob.mr(&["merge", "alice/1"]);
    let show = eve.json(&["show", "alice/1", "--json"]);
    assert_eq!(show["state"], "merged");
    assert_eq!(show["labels"], serde_json::json!(["closed", "merged"]));
    eve.git(&["fetch", "-q", "origin"]);
    let main = eve.git(&["rev-parse", "origin/main"]).trim().to_owned();
    let merge_comment = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["headers"]["Merge-Commit"].is_string())
        .unwrap();
    assert_eq!(merge_comment["headers"]["Merge-Commit"], main);
    assert_eq!(eve.git(&["show", "origin/main:a.txt"]), "one\ntwo\n");
    let err = alice.mr_fails(&["reopen", "1"]);
    assert!(err.contains("merged"), "{err}");

    // The author's working tree, index and HEAD were never touched.
    assert_eq!(alice.git(&["rev-parse", "HEAD"]).trim(), v3);
    assert_eq!(alice.git(&["status", "--porcelain"]), "");
    assert_eq!(
        alice.git(&["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/feature"
    );
}

/// A crafted push (not through git mr) that edits another user's title or comment
/// is rejected by the hook; 16 comments posted at once by two users all arrive.
#[test]
fn crafted_pushes_are_rejected_and_concurrent_comments_all_arrive() {
    let world = World::new(&["owner", "alice", "bob"]);
    let owner = world.owner();
    let alice = world.user("alice");
    let bob = world.user("bob");
    world.setup_main();
    owner.mr(&["init"]);
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "Adds a.txt."]);

    // Bob edits Alice's title and comment by hand, and pushes signed.
    let dir = world.root.path().join("bob-data");
    let hand = bob.clone_branch(&world.server, "apps/merge-reqs/data", &dir);
    let mr = format!("merge-reqs/{}/1", alice.fpr);
    for (file, content) in [
        (format!("{mr}/title"), "Hijacked\n".to_owned()),
        (
            format!("{mr}/comments/{}/0", alice.fpr),
            "Date: 2026-11-26T11:00:00Z\n\nnot what alice said\n".to_owned(),
        ),
    ] {
        std::fs::write(dir.join(&file), content).unwrap();
        hand.git(&["commit", "-q", "-am", "edit"]);
        let out = hand.git_out(&[
            "push",
            "--signed",
            "origin",
            "HEAD:refs/heads/apps/merge-reqs/data",
        ]);
        let stderr = &out.stderr;
        assert!(!out.status.success(), "{file}: {stderr}");
        assert!(
            stderr.contains(&format!("denied: modify {file}")),
            "{stderr}"
        );
        hand.git(&["reset", "-q", "--hard", "HEAD^"]);
    }
    assert_eq!(bob.json(&["show", "1", "--json"])["title"], "Add a");

    // 16 comments at once, 8 by each user.
    common::comment_at_once(&[alice, bob], "1", 8);
    let show = bob.json(&["show", "1", "--json"]);
    let comments = show["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 17, "{comments:#?}");
    for i in 0..8 {
        for u in ["alice", "bob"] {
            let body = format!("comment {i} by {u}\n");
            assert!(comments.iter().any(|c| c["body"] == body), "{body}");
        }
    }
}

/// Malformed data on the branch is a warning naming the path, never a crash.
#[test]
fn malformed_data_is_skipped_with_a_warning() {
    let world = World::new(&["owner", "alice"]);
    let owner = world.owner();
    let alice = world.user("alice");
    world.setup_main();
    owner.mr(&["init"]);
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Good", "-m", "fine"]);

    // The owner (who may do anything) pushes malformed data by hand.
    let dir = world.root.path().join("owner-data");
    let hand = owner.clone_branch(&world.server, "apps/merge-reqs/data", &dir);
    let mr = format!("merge-reqs/{}/1", alice.fpr);
    let bad_comment = format!("{mr}/comments/{}/0", owner.fpr);
    std::fs::create_dir_all(dir.join(&bad_comment).parent().unwrap()).unwrap();
    std::fs::write(dir.join(&bad_comment), "Revision: 1\n\nno date\n").unwrap();
    std::fs::create_dir_all(dir.join(format!("merge-reqs/{}/x", alice.fpr))).unwrap();
    std::fs::write(dir.join(format!("merge-reqs/{}/x/title", alice.fpr)), "x\n").unwrap();
    std::os::unix::fs::symlink("/labels/nope", dir.join(format!("{mr}/labels/nope"))).unwrap();
    hand.commit_and_push("malformed", "refs/heads/apps/merge-reqs/data");

    let out = alice.mr_out(&["show", "1", "--json"]);
    let stderr = out.stderr.clone();
    let show: serde_json::Value = serde_json::from_str(out.success_stdout()).unwrap();
    assert_eq!(show["title"], "Good");
    assert_eq!(show["labels"], serde_json::json!(["open"]));
    assert_eq!(show["comments"].as_array().unwrap().len(), 1);
    for path in [bad_comment, format!("{mr}/labels/nope")] {
        assert!(
            stderr.contains(&format!("warning: skipped {path}:")),
            "{path} in {stderr}"
        );
    }
    // `show` reads its merge request alone, and warns about that one only;
    // `list` reads them all (a summary: descriptions, not every comment).
    let stray = format!("merge-reqs/{}/x", alice.fpr);
    assert!(!stderr.contains(&stray), "{stderr}");
    let listed = alice.mr_out(&["list", "--state", "all"]);
    assert!(listed.success_stdout().contains("Good"));
    for path in [stray, format!("{mr}/labels/nope")] {
        assert!(
            listed.stderr.contains(&format!("warning: skipped {path}:")),
            "{path} in {}",
            listed.stderr
        );
    }
    // Writing still works next to malformed data.
    alice.mr(&["comment", "1", "-m", "still fine"]);
}

/// `git mr <TAB>` completes under git's own bash completion (which calls
/// `_git_mr`), and `git-mr man DIR` writes the pages `git mr --help` opens.
#[test]
fn completion_under_git_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    let bin = gitapps_tests::bin("git-mr");
    let script = dir.path().join("git-mr.bash");
    let out = std::process::Command::new(&bin)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&script, &out.stdout).unwrap();
    let git_completion = "/usr/share/bash-completion/completions/git";
    assert!(
        std::path::Path::new(git_completion).exists(),
        "git's bash completion ({git_completion}, Debian's git package) is missing"
    );
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {git_completion}; source {}; COMP_WORDS=({}); COMP_CWORD={}; \
             COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; __git_wrap__git_main; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(complete("git mr comm"), ["comment"]);
    let options = complete("git mr comment --re");
    assert!(options.contains(&"--reply-to=".to_owned()), "{options:?}");
    assert!(complete("git mr l").contains(&"labels".to_owned()));

    let man = dir.path().join("man1");
    let out = std::process::Command::new(&bin)
        .arg("man")
        .arg(&man)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for page in ["git-mr.1", "git-mr-comment.1", "git-mr-merge.1"] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let merge = std::fs::read_to_string(man.join("git-mr-merge.1")).unwrap();
    assert!(merge.contains("revision"), "{merge}");
}

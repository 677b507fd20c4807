//! The review features end to end, through a real bare repository with
//! `gitapps-hook` installed and real signed pushes: the interdiff, line comments,
//! votes and merge requirements, edits and retractions, key registration, and the
//! policy `git mr init` writes for them (others' votes, edits and line comments
//! refused by the hook).

mod common;

use common::{commit_file, MrJson, User, World};
use gitapps_tests::{Output, Server};

/// Owner, Alice, Bob (a maintainer who may push `main`), and `others`; `main`
/// with a README; Alice on a branch `feature` from it.
fn project(others: &[&str], ci: Option<&str>) -> World {
    let mut names = vec!["owner", "alice", "bob"];
    names.extend(others);
    let world = World::new(&names);
    world.setup_main();
    let mut init = vec!["init", "--maintainer", "bob"];
    if let Some(ci) = ci {
        init.extend(["--ci", &world.user(ci).fpr]);
    }
    world.owner().mr(&init);
    world.grant_main_to_maintainers();
    world
        .user("alice")
        .git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    world
}

/// `who` writes `files` on the data branch by hand (not through git mr) in one
/// commit, and pushes it signed; whatever the outcome.
fn push_by_hand(world: &World, who: &User, files: &[(String, String)]) -> Output {
    let dir = world.root.path().join(format!("hand-{}", who.name));
    let _ = std::fs::remove_dir_all(&dir);
    let hand = who.clone_branch(&world.server, "apps/merge-reqs/data", &dir);
    for (path, content) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    hand.git(&["add", "-A"]);
    hand.git(&["commit", "-q", "-m", "by hand"]);
    hand.git_out(&[
        "push",
        "--signed",
        "origin",
        "HEAD:refs/heads/apps/merge-reqs/data",
    ])
}

/// A CI result as ci-bot posts it: comment `index` of `ci` on revision `k`.
fn ci_result(world: &World, ci: &User, mr: &str, index: u32, k: u32, status: &str) {
    let path = format!("merge-reqs/{mr}/comments/{}/{index}", ci.fpr);
    let text = format!(
        "Date: {}\nRevision: {k}\nCI-Status: {status}\nCI-Command: ./check\n\nran\n",
        common::NOW
    );
    push_by_hand(world, ci, &[(path, text)]).assert_ok();
}

/// Lines of `text`, the one after the line equal to `line`.
fn line_after<'t>(text: &'t str, line: &str) -> Option<&'t str> {
    let mut lines = text.lines();
    lines.by_ref().find(|l| *l == line)?;
    lines.next()
}

#[test]
fn interdiff_shows_the_content_and_range_diff_the_commits() {
    let world = project(&[], None);
    let (owner, alice, bob) = (world.owner(), world.user("alice"), world.user("bob"));
    commit_file(alice, "a.txt", "one\n", "add a");
    commit_file(alice, "README", "hello\nfrom alice\n", "README: a line");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);
    // v2 adds a commit on top: range-diff would show its subject only.
    commit_file(alice, "a.txt", "one\ntwo\n", "a: two");
    commit_file(alice, "c.txt", "c\n", "add c");
    alice.mr(&["revise", "1"]);
    let diff = bob.mr(&["diff", "1", "--since", "1"]);
    assert!(diff.contains("+two") && diff.contains("+c"), "{diff}");
    assert!(diff.contains("diff --git a/c.txt b/c.txt"), "{diff}");
    assert!(
        !diff.contains("from alice"),
        "README did not change: {diff}"
    );
    let range = bob.mr(&["diff", "1", "--since", "1", "--range-diff"]);
    assert!(
        range.contains("a: two") && range.contains("add c"),
        "{range}"
    );
    assert!(!range.contains("+two"), "commits, not content: {range}");

    // Main changes README and b.txt; Alice rebases (v3). The interdiff is limited
    // to the merge request's paths: b.txt is not, README is (its base changed).
    owner.git(&["checkout", "-q", "main"]);
    owner.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    commit_file(owner, "b.txt", "b\n", "add b");
    owner.git(&["push", "-q", "--signed", "origin", "main"]);
    alice.git(&["fetch", "-q", "origin"]);
    std::fs::write(alice.clone.join("README"), "hello\n").unwrap();
    alice.git(&["commit", "-qam", "README as main has it"]);
    alice.git(&["rebase", "-q", "origin/main"]);
    alice.mr(&["revise", "1"]);
    let diff = bob.mr(&["diff", "1", "--since", "2"]);
    assert!(!diff.contains("b.txt"), "{diff}");
    assert!(diff.contains("-from alice"), "{diff}");
    let help = bob.mr(&["diff", "--help"]);
    assert!(help.contains("rebase"), "{help}");
}

#[test]
fn line_comments_sit_under_their_line_in_their_revision() {
    let world = project(&[], None);
    let (alice, bob) = (world.user("alice"), world.user("bob"));
    commit_file(alice, "README", "hi\n", "README: hi");
    commit_file(alice, "a.txt", "one\ntwo\nthree\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);

    let out = bob.mr(&[
        "comment", "1", "--path", "a.txt", "--line", "2", "-m", "Why two?",
    ]);
    assert_eq!(
        out.trim(),
        format!("comment {}/0 on {}/1", bob.fpr, alice.fpr)
    );
    // -F is the message file, as in git; --side old is the line the change removes.
    let msg = bob.home.join("msg.txt");
    std::fs::write(&msg, "Keep the greeting.\n").unwrap();
    let file = msg.to_str().unwrap();
    bob.mr(&[
        "comment", "1", "--path", "README", "--line", "1", "--side", "old", "-F", file,
    ]);
    // Lines the revision does not have, files it does not change: refused.
    let err = bob.mr_fails(&[
        "comment", "1", "--path", "nope.txt", "--line", "1", "-m", "x",
    ]);
    assert!(err.contains("nope.txt") && err.contains("a.txt"), "{err}");
    let err = bob.mr_fails(&["comment", "1", "--path", "a.txt", "--line", "9", "-m", "x"]);
    assert!(err.contains("has 3 lines"), "{err}");
    let err = bob.mr_fails(&["comment", "1", "--path", "a.txt", "--line", "0", "-m", "x"]);
    assert!(err.contains("start at 1"), "{err}");
    let err = bob.mr_fails(&[
        "comment",
        "1",
        "--path",
        "/etc/passwd",
        "--line",
        "1",
        "-m",
        "x",
    ]);
    assert!(err.contains("not a path"), "{err}");
    alice.mr(&["comment", "1", "--reply-to", "bob/0", "-m", "Because."]);

    // `show`: the line quoted under the comment's header.
    let show = alice.mr(&["show", "1"]);
    assert!(
        show.contains("a.txt:2") && show.contains("    2 | two"),
        "{show}"
    );
    assert!(
        show.contains("README:1 (old)") && show.contains("    1 | hello"),
        "{show}"
    );
    // `diff`: under the line, replies too.
    let diff = alice.mr(&["diff", "1"]);
    let after = line_after(&diff, "+two").unwrap_or_default();
    assert!(after.contains("Bob") && after.contains("comment"), "{diff}");
    let thread = &diff[diff.find("+two").unwrap()..];
    assert!(thread.find("Why two?") < thread.find("Because."), "{diff}");
    let after = line_after(&diff, "-hello").unwrap_or_default();
    assert!(after.contains("Bob"), "{diff}");
    assert!(diff.contains("Keep the greeting."), "{diff}");
    let plain = alice.mr(&["diff", "1", "--no-comments"]);
    assert!(
        !plain.contains("Why two?") && plain.contains("+two"),
        "{plain}"
    );

    // v2 moves the line: the comment stays with v1, where it was written.
    commit_file(alice, "a.txt", "zero\none\ntwo\nthree\n", "a: zero");
    alice.mr(&["revise", "1"]);
    let out = alice.mr_out(&["diff", "1"]);
    assert!(!out.success_stdout().contains("Why two?"), "{out}");
    assert!(out.stderr.contains("line comments on v1"), "{out}");
    let v1 = alice.mr(&["diff", "1", "--revision", "1"]);
    assert!(
        line_after(&v1, "+two").unwrap_or_default().contains("Bob"),
        "{v1}"
    );
    let show = alice.mr(&["show", "1"]);
    assert!(
        show.contains("    2 | two"),
        "the line of v1, not v2's `one`: {show}"
    );
    bob.mr(&[
        "comment", "1", "--path", "a.txt", "--line", "1", "-m", "Zero?",
    ]);
    let v2 = alice.mr(&["diff", "1"]);
    assert!(
        line_after(&v2, "+zero").unwrap_or_default().contains("Bob"),
        "{v2}"
    );
    assert!(!v2.contains("Why two?"), "{v2}");

    let json = alice.json(&["show", "1", "--json"]);
    let first = json["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"] == "Why two?\n")
        .unwrap();
    assert_eq!(
        first["anchor"],
        serde_json::json!({"path": "a.txt", "line": 2, "side": "new"})
    );
    assert_eq!(first["revision"], 1);
    assert_eq!(first["headers"]["File"], "a.txt");
}

#[test]
fn votes_count_toward_what_merge_requires() {
    let world = project(&["carol", "ci"], Some("ci"));
    let (alice, bob, carol, ci) = (
        world.user("alice"),
        world.user("bob"),
        world.user("carol"),
        world.user("ci"),
    );
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);
    let mr = format!("{}/1", alice.fpr);

    carol.mr(&["approve", "1", "-m", "Nice."]);
    bob.mr(&["request-changes", "1", "-m", "Rename it."]);
    let list = carol.json(&["list", "--json"]);
    assert_eq!(list[0]["approvals"], 1);
    assert_eq!(list[0]["maintainer_approvals"], 0);
    assert_eq!(list[0]["changes_requested"], 1);
    let text = carol.mr(&["list"]);
    assert!(
        text.contains("approved:1") && text.contains("changes-requested"),
        "{text}"
    );
    let err = alice.mr_fails(&["approve", "1"]);
    assert!(err.contains("is yours"), "{err}");
    let err = carol.mr_fails(&["request-changes", "1", "-m", " "]);
    assert!(err.contains("say which changes"), "{err}");

    // A new revision makes the votes stale: shown, marked, counted for nothing.
    commit_file(alice, "a.txt", "one\ntwo\n", "a: two");
    alice.mr(&["revise", "1"]);
    let show = carol.json(&["show", "1", "--json"]);
    let votes = show["votes"].as_array().unwrap();
    assert_eq!(votes.len(), 2);
    assert!(
        votes
            .iter()
            .all(|v| v["stale"] == true && v["revision"] == 1),
        "{votes:?}"
    );
    assert_eq!(show["approvals"], 0);
    let text = carol.mr(&["show", "1"]);
    assert!(
        text.contains("approved v1") && text.contains("(stale"),
        "{text}"
    );
    assert!(text.contains("Nice."), "{text}");

    // The settings: maintainers only (the library asks first; the hook refuses a
    // crafted push).
    let err = carol.mr_fails(&["settings", "--approvals", "1"]);
    assert!(err.contains("only maintainers"), "{err}");
    push_by_hand(
        &world,
        carol,
        &[(
            "settings/merge".to_owned(),
            "Required-Approvals: 0\n".to_owned(),
        )],
    )
    .assert_denied("create-file", "settings/merge");
    assert!(carol.mr(&["settings"]).contains("requires nothing"));
    bob.mr(&["settings", "--approvals", "1", "--ci", "pass"]);
    let settings = carol.json(&["settings", "--json"]);
    assert_eq!(settings["settings"]["approvals"], 1);
    assert_eq!(settings["settings"]["ci_pass"], true);

    // Nothing yet: the merge names what is missing. A maintainer may not set
    // CI's labels, and a ci-pass label would be no CI result anyway: only the ci
    // group's comments are.
    let denied = bob.mr_fails(&["label", "1", "--add", "ci-pass"]);
    assert!(denied.contains("ci-pass"), "{denied}");
    let err = bob.mr_fails(&["merge", "1"]);
    assert!(err.contains("1 approval by maintainers, 0 so far"), "{err}");
    assert!(
        err.contains("CI's pass on revision 2 (no result yet)"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    ci_result(&world, ci, &mr, 0, 2, "fail");
    carol.mr(&["approve", "1"]);
    let err = bob.mr_fails(&["merge", "1"]);
    assert!(
        err.contains("0 so far") && err.contains("it says fail"),
        "{err}"
    );
    assert!(carol.mr(&["show", "1"]).contains("ci:        ci:fail (v2)"));
    ci_result(&world, ci, &mr, 1, 2, "pass");
    bob.mr(&["approve", "1"]);
    let list = carol.json(&["list", "--json"]);
    assert_eq!(
        (list[0]["approvals"].clone(), list[0]["ci"].clone()),
        (2.into(), "pass".into())
    );
    // A standing request for changes by a maintainer blocks; withdrawn, it does not.
    world.owner().mr(&["request-changes", "1", "-m", "Wait."]);
    let err = bob.mr_fails(&["merge", "1"]);
    assert!(err.contains("changes requested by"), "{err}");
    world.owner().mr(&["unvote", "1"]);
    let err = world.owner().mr_fails(&["unvote", "1"]);
    assert!(err.contains("no vote"), "{err}");
    let show = carol.mr(&["show", "1"]);
    assert!(show.contains("merge:     met for v2"), "{show}");
    bob.mr(&["merge", "1"]);
    let err = carol.mr_fails(&["approve", "1"]);
    assert!(err.contains("merged"), "{err}");

    // --force merges what lacks approvals, and the merge comment says so.
    alice.git(&["fetch", "-q", "origin"]);
    alice.git(&["checkout", "-q", "-b", "second", "origin/main"]);
    commit_file(alice, "d.txt", "d\n", "add d");
    alice.mr(&["create", "-t", "Add d", "-m", "v1"]);
    let err = bob.mr_fails(&["merge", "2"]);
    assert!(err.contains("0 so far"), "{err}");
    let out = bob.mr_out(&["merge", "2", "--force"]);
    out.assert_ok();
    assert!(out.stderr.contains("merged without 1 approval"), "{out}");
    let show = carol.json(&["show", "2", "--json"]);
    let merge = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["headers"]["Merge-Commit"].is_string())
        .unwrap();
    let forced = merge["headers"]["Merge-Forced"].as_str().unwrap();
    assert!(
        forced.contains("approval") && forced.contains("CI"),
        "{forced}"
    );
}

#[test]
fn edits_and_retractions_keep_every_version() {
    let world = project(&[], None);
    let (alice, bob) = (world.user("alice"), world.user("bob"));
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "Adds a.txt."]);
    bob.mr(&["comment", "1", "-m", "Typo: teh"]);
    let data = |rev: &str, path: &str| world.server.read_file(rev, path);
    let data_ref = "refs/heads/apps/merge-reqs/data";
    let mr = format!("merge-reqs/{}/1", alice.fpr);
    let originals: Vec<Option<String>> = ["title".to_owned(), format!("comments/{}/0", alice.fpr)]
        .iter()
        .map(|p| data(data_ref, &format!("{mr}/{p}")))
        .collect();

    let out = alice.mr(&[
        "edit",
        "1",
        "-t",
        "Add a.txt",
        "-m",
        "Adds a.txt, with a test.",
    ]);
    assert!(
        out.contains("title (version 1), description (version 1)"),
        "{out}"
    );
    let out = alice.mr_out(&["edit", "1", "-t", "Add a.txt"]);
    assert!(out.stderr.contains("nothing changed"), "{out}");
    bob.mr(&["comment", "1", "--edit", "me/0", "-m", "Typo: the"]);
    let err = bob.mr_fails(&["comment", "1", "--edit", "alice/0", "-m", "mine now"]);
    assert!(err.contains("only your own"), "{err}");
    let err = bob.mr_fails(&["edit", "alice/1", "-t", "Bob's now"]);
    assert!(err.contains("only the author"), "{err}");

    let list = bob.json(&["list", "--json"]);
    assert_eq!(list[0]["title"], "Add a.txt");
    let show = bob.mr(&["show", "1"]);
    assert!(show.contains("Add a.txt (edited)"), "{show}");
    assert!(
        show.contains("(description edited)") && show.contains("with a test"),
        "{show}"
    );
    assert!(
        show.contains("Typo: the") && show.contains("(edited)"),
        "{show}"
    );
    assert!(
        !show.contains("Typo: teh") && !show.contains("Adds a.txt.\n"),
        "{show}"
    );
    let history = bob.mr(&["show", "1", "--history"]);
    for old in [
        "title v0",
        "Add a\n",
        "| Adds a.txt.",
        "| Typo: teh",
        "version 1",
    ] {
        assert!(history.contains(old), "{old} in {history}");
    }
    let json = bob.json(&["show", "1", "--json"]);
    assert_eq!(json["title_history"][0]["text"], "Add a");
    assert_eq!(json["description"], "Adds a.txt, with a test.\n");
    // Every comment has the same date (GITAPPS_NOW): find the description
    // by its author, not by its place (comments of one second sort by author).
    let desc = json["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["author"] == alice.fpr.as_str() && c["index"] == 0)
        .expect("the description");
    assert_eq!(
        (desc["edited"].clone(), desc["history"][0]["text"].clone()),
        (true.into(), "Adds a.txt.\n".into())
    );
    let hits = bob.json(&["search", "with a test", "--json"]);
    assert_eq!(hits[0]["title"], "Add a.txt");

    bob.mr(&["comment", "1", "--retract", "me/0"]);
    let show = bob.mr(&["show", "1"]);
    assert!(
        show.contains("retracted") && !show.contains("Typo: the"),
        "{show}"
    );
    let err = bob.mr_fails(&["comment", "1", "--retract", "me/0"]);
    assert!(err.contains("retracted already"), "{err}");
    let json = bob.json(&["show", "1", "--json"]);
    let bobs = json["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["author"] == bob.fpr.as_str())
        .unwrap();
    assert_eq!(
        (bobs["retracted"].clone(), bobs["body"].clone()),
        (true.into(), "".into())
    );

    // Nothing was rewritten: new files next to the old, under each writer's id.
    for (p, before) in ["title".to_owned(), format!("comments/{}/0", alice.fpr)]
        .iter()
        .zip(&originals)
    {
        assert_eq!(&data(data_ref, &format!("{mr}/{p}")), before, "{p}");
    }
    for path in [
        format!("{mr}/edits/{}/title/1", alice.fpr),
        format!("{mr}/edits/{}/0/1", alice.fpr),
        format!("{mr}/edits/{}/0/1", bob.fpr),
        format!("{mr}/edits/{}/0/2", bob.fpr),
    ] {
        assert!(data(data_ref, &path).is_some(), "{path}");
    }
    assert!(data(data_ref, &format!("{mr}/edits/{}/0/2", bob.fpr))
        .unwrap()
        .contains("Retracted: yes"));
}

/// What `git mr init`'s policy refuses: votes, edits and line comments under
/// another's id, titles edited by others, the settings by non-maintainers, and any
/// change to a vote or an edit once pushed. Each through the hook, by hand.
#[test]
fn others_votes_edits_and_line_comments_are_refused() {
    let world = project(&["eve"], None);
    let (alice, bob, eve) = (world.user("alice"), world.user("bob"), world.user("eve"));
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);
    bob.mr(&["comment", "1", "-m", "Hm."]);
    bob.mr(&["approve", "1"]);
    bob.mr(&["comment", "1", "--edit", "me/0", "-m", "Hm!"]);
    let mr = format!("merge-reqs/{}/1", alice.fpr);
    let date = format!("Date: {}\n", common::NOW);
    let refused = [
        (
            eve,
            format!("{mr}/votes/{}/1", bob.fpr),
            format!("{date}Revision: 1\nVote: request-changes\n\nno\n"),
        ),
        (
            eve,
            format!("{mr}/edits/{}/0/2", bob.fpr),
            format!("{date}\nI take it back\n"),
        ),
        (
            eve,
            format!("{mr}/edits/{}/0/1", alice.fpr),
            format!("{date}\nnot alice\n"),
        ),
        (
            eve,
            format!("{mr}/edits/{}/title/1", eve.fpr),
            format!("{date}\nHijacked\n"),
        ),
        (
            eve,
            format!("{mr}/edits/{}/title/1", alice.fpr),
            format!("{date}\nHijacked\n"),
        ),
        (
            eve,
            format!("{mr}/comments/{}/5", bob.fpr),
            format!("{date}Revision: 1\nFile: a.txt\nLine: 1\nSide: new\n\nbob never said this\n"),
        ),
        (
            eve,
            "settings/merge".to_owned(),
            "Required-Approvals: 9\n".to_owned(),
        ),
    ];
    for (who, path, content) in &refused {
        push_by_hand(&world, who, &[(path.clone(), content.clone())])
            .assert_denied("create-file", path);
    }
    // Once pushed, a vote or an edit is never changed, not even by its writer.
    for path in [
        format!("{mr}/votes/{}/0", bob.fpr),
        format!("{mr}/edits/{}/0/1", bob.fpr),
    ] {
        push_by_hand(&world, bob, &[(path.clone(), format!("{date}\nchanged\n"))])
            .assert_denied("modify", &path);
    }
    // The same files under one's own id go through.
    push_by_hand(
        &world,
        eve,
        &[(
            format!("{mr}/votes/{}/0", eve.fpr),
            format!("{date}Revision: 1\nVote: approve\n"),
        )],
    )
    .assert_ok();
    let show = alice.json(&["show", "1", "--json"]);
    assert_eq!(show["approvals"], 2);
    let bobs = show["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["author"] == bob.fpr.as_str())
        .unwrap();
    assert_eq!(bobs["body"], "Hm!\n");
}

/// A project set up by an older `git mr init` (its policy without the rules for
/// edits, votes and settings): votes are refused; `init` again appends those
/// rules, changes nothing else, and votes go through.
#[test]
fn init_again_adds_the_new_rules_and_nothing_else() {
    let world = project(&[], None);
    let (owner, alice, bob) = (world.owner(), world.user("alice"), world.user("bob"));
    let ours = git_mr::policy::branches_conf();
    let cut = ours.find("\n# Edits:").expect("the edits block");
    let old = ours[..cut + 1].to_owned();
    world.edit_access_control(
        &[(git_mr::policy::BRANCHES_FILE, Some(&old))],
        "the policy of an older git mr",
    );
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);
    let err = bob.mr_fails(&["approve", "1"]);
    assert!(err.contains("denied: create-directory merge-reqs"), "{err}");

    let ac = "refs/heads/apps/access-control";
    let before = world.server.ls_tree(ac);
    let files_before: Vec<(String, Option<String>)> = before
        .iter()
        .map(|p| (p.clone(), world.server.read_file(ac, p)))
        .collect();
    let out = owner.mr_out(&["init"]);
    out.assert_ok();
    assert!(
        out.stderr.contains("added branches/merge-reqs.conf"),
        "{out}"
    );
    world.server.validate_rev("apps/access-control").assert_ok();
    assert_eq!(world.server.ls_tree(ac), before, "no file added or removed");
    for (path, content) in files_before {
        let now = world.server.read_file(ac, &path);
        if path == git_mr::policy::BRANCHES_FILE {
            let now = now.unwrap();
            let old = content.unwrap();
            let added = now.strip_prefix(&old).expect("appended, nothing rewritten");
            let rules: Vec<&str> = added.lines().filter(|l| !l.starts_with('#')).collect();
            let new_rules: Vec<&str> = ours[cut..]
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            assert_eq!(rules, new_rules, "{added}");
        } else {
            assert_eq!(now, content, "{path} unchanged");
        }
    }
    bob.mr(&["approve", "1"]);
    let out = owner.mr_out(&["init"]);
    assert!(
        out.success_stdout().is_empty() && out.stderr.contains("nothing to do"),
        "{out}"
    );
}

/// A project set up before maintainers' labels left `ci-*` to CI keeps the old
/// rules (`init` appends, never removes, and rules only allow): a maintainer can
/// still set `ci-pass`, and `init` again names each such line, leaving it; once
/// the owner removes them, the maintainer cannot, and `init` is quiet.
#[test]
fn init_again_names_the_retired_rules_that_let_maintainers_set_ci_labels() {
    let world = project(&[], None);
    let (owner, alice, bob) = (world.owner(), world.user("alice"), world.user("bob"));
    let ours = git_mr::policy::branches_conf();
    let retired = git_mr::policy::retired_lines();
    assert_eq!(retired.len(), 3, "{retired:?}");
    let mut old = ours.clone();
    for (_, line) in &retired {
        old.push_str(line);
        old.push('\n');
    }
    world.edit_access_control(
        &[(git_mr::policy::BRANCHES_FILE, Some(&old))],
        "the policy of an older git mr",
    );
    commit_file(alice, "a.txt", "one\n", "add a");
    alice.mr(&["create", "-t", "Add a", "-m", "v1"]);
    bob.mr(&["label", "1", "--add", "ci-pass"]);

    let out = owner.mr_out(&["init"]);
    out.assert_ok();
    for (_, line) in &retired {
        assert!(out.stderr.contains(line.as_str()), "{line}: {out}");
    }
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains("ci-*"),
        "{out}"
    );
    let ac = "refs/heads/apps/access-control";
    let now = world
        .server
        .read_file(ac, git_mr::policy::BRANCHES_FILE)
        .unwrap();
    assert_eq!(now, old, "init removes no line");

    world.edit_access_control(
        &[(git_mr::policy::BRANCHES_FILE, Some(&ours))],
        "the owner removes the retired rules",
    );
    let denied = bob.mr_fails(&["label", "1", "--remove", "ci-pass"]);
    assert!(denied.contains("ci-pass"), "{denied}");
    let out = owner.mr_out(&["init"]);
    assert!(
        out.stderr.contains("nothing to do") && !out.stderr.contains("warning:"),
        "{out}"
    );
}

/// `git mr register` puts one's key on apps/access-control in one signed push,
/// where the server lets users register; run again, it has nothing to do; where
/// the server does not, it says whom to ask.
#[test]
fn register_in_one_command() {
    let env = [("GITAPPS_NOW", common::NOW)];
    let owner = User::new("owner", &env);
    let dave = User::new("dave", &env);
    let server = Server::install_with(owner.user(), &["--open-registration"]);
    owner.make_clone(&server);
    dave.make_clone(&server);
    let path = format!("keys/{}.asc", dave.fpr);
    assert!(server.read_file("apps/access-control", &path).is_none());
    let out = dave.mr(&["register"]);
    assert_eq!(out.trim(), format!("registered {path}"));
    let key = server.read_file("apps/access-control", &path).unwrap();
    assert!(
        key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{key}"
    );
    let out = dave.mr_out(&["register"]);
    assert!(
        out.success_stdout().is_empty() && out.stderr.contains("nothing to do"),
        "{out}"
    );
    // Registered, dave takes part.
    std::fs::write(owner.clone.join("README"), "hello\n").unwrap();
    owner.commit_and_push("initial", "refs/heads/main");
    owner.mr(&["init"]);
    dave.git(&["fetch", "-q", "origin"]);
    dave.git(&["checkout", "-q", "-b", "work", "origin/main"]);
    commit_file(&dave, "d.txt", "d\n", "add d");
    dave.mr(&["create", "-t", "Add d", "-m", "from dave"]);

    let closed = Server::install(owner.user());
    let erin = User::new("erin", &env);
    erin.make_clone(&closed);
    let err = erin.mr_fails(&["register"]);
    assert!(err.contains("owner"), "{err}");
    assert!(closed
        .read_file("apps/access-control", &format!("keys/{}.asc", erin.fpr))
        .is_none());
}

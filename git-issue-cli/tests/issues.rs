//! `git issue` end to end: a real bare repository with `gitapps-hook`
//! installed, real gpg keys and signed pushes. What the tool refuses it also
//! cannot do by hand: the hook holds the same line.

use gitapps_tests::{Forge, Member, Output};
use serde_json::Value;

const NOW: &str = "2026-11-26T11:00:00Z";

/// Owner, Alice, Bob (a maintainer) and Carol; the issue tracker set up.
fn project() -> Forge {
    let forge = Forge::new(&["owner", "alice", "bob", "carol"], &[("GITAPPS_NOW", NOW)]);
    forge.clone_all();
    let bob = forge.user("bob").fpr.clone();
    forge.owner().issue(&["init", "--maintainer", &bob]);
    forge
}

fn json(u: &Member, args: &[&str]) -> Value {
    let out = u.issue(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `who` writes `files` on the issues' data branch by hand, in one signed push.
fn push_by_hand(forge: &Forge, who: &Member, files: &[(String, Option<String>)]) -> Output {
    let dir = forge.root.path().join(format!("hand-{}", who.name));
    let _ = std::fs::remove_dir_all(&dir);
    let hand = who.clone_branch(&forge.server, "apps/issues/data", &dir);
    for (path, content) in files {
        let file = dir.join(path);
        match content {
            Some(c) => {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, c).unwrap();
            }
            None => {
                std::fs::remove_file(&file).unwrap();
            }
        }
    }
    hand.git(&["add", "-A"]);
    hand.git(&["commit", "-q", "-m", "by hand"]);
    hand.git_out(&[
        "push",
        "--signed",
        "origin",
        "HEAD:refs/heads/apps/issues/data",
    ])
}

fn symlink_by_hand(forge: &Forge, who: &Member, link: &str, target: &str) -> Output {
    let dir = forge.root.path().join(format!("hand-{}", who.name));
    let _ = std::fs::remove_dir_all(&dir);
    let hand = who.clone_branch(&forge.server, "apps/issues/data", &dir);
    let path = dir.join(link);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, &path).unwrap();
    hand.git(&["add", "-A"]);
    hand.git(&["commit", "-q", "-m", "by hand"]);
    hand.git_out(&[
        "push",
        "--signed",
        "origin",
        "HEAD:refs/heads/apps/issues/data",
    ])
}

#[test]
fn an_issue_from_creation_to_closing() {
    let forge = project();
    let (alice, bob, carol) = (forge.user("alice"), forge.user("bob"), forge.user("carol"));
    let id = alice.issue(&[
        "create",
        "-t",
        "Crash on empty input",
        "-m",
        "Run it with no input.",
        "--label",
        "bug",
    ]);
    assert_eq!(id.trim(), format!("{}/1", alice.fpr));
    let second = alice.issue(&["create", "-t", "Docs are thin", "-m", "More examples."]);
    assert_eq!(second.trim(), format!("{}/2", alice.fpr));

    let list = json(bob, &["list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let first = list.iter().find(|i| i["number"] == 1).unwrap();
    assert_eq!(first["id"], format!("{}/1", alice.fpr));
    assert_eq!(first["author"], alice.fpr);
    assert_eq!(first["title"], "Crash on empty input");
    assert_eq!(first["state"], "open");
    assert_eq!(first["labels"], serde_json::json!(["bug", "open"]));
    assert_eq!(first["assignees"], serde_json::json!([]));

    // Comments and replies, names resolved from the keys.
    bob.issue(&["comment", "alice/1", "-m", "Which version?"]);
    alice.issue(&["comment", "1", "--reply-to", "bob/0", "-m", "The newest."]);
    let shown = json(carol, &["show", "alice/1", "--json"]);
    let comments = shown["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3, "{shown}");
    assert_eq!(comments[0]["body"], "Run it with no input.\n");
    let reply = comments
        .iter()
        .find(|c| c["body"] == "The newest.\n")
        .unwrap();
    assert_eq!(reply["in_reply_to"], format!("{}/0", bob.fpr));
    assert_eq!(shown["links"], serde_json::json!([]));

    // Edits: the author's title and description; one's own comment.
    alice.issue(&["edit", "1", "-t", "Crash on empty standard input"]);
    bob.issue(&[
        "comment",
        "1",
        "--edit",
        "bob/0",
        "-m",
        "Which version, exactly?",
    ]);
    let err = carol.issue_fails(&["comment", "1", "--edit", "bob/0", "-m", "mine now"]);
    assert!(err.contains("only its author"), "{err}");
    let err = carol.issue_fails(&["edit", "1", "-t", "Carol's title"]);
    assert!(err.contains("only the author"), "{err}");
    let shown = carol.issue(&["show", "1"]);
    assert!(shown.contains("Crash on empty standard input"), "{shown}");
    assert!(
        shown.contains("Which version, exactly?") && shown.contains("(edited)"),
        "{shown}"
    );
    let history = carol.issue(&["show", "1", "--history"]);
    assert!(history.contains("Which version?\n"), "{history}");

    // Assignees: oneself, or a maintainer anyone.
    carol.issue(&["assign", "1", "me"]);
    let err = carol.issue_fails(&["assign", "1", "alice"]);
    assert!(err.contains("only maintainers assign others"), "{err}");
    bob.issue(&["assign", "1", "alice"]);
    let mine = json(carol, &["list", "--assignee", "alice", "--json"]);
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    carol.issue(&["unassign", "1", "me"]);
    let shown = json(carol, &["show", "1", "--json"]);
    assert_eq!(shown["assignees"], serde_json::json!([alice.fpr]));

    // Labels and state: the author and maintainers; nobody else.
    let err = carol.issue_fails(&["close", "alice/1"]);
    assert!(err.contains("only the author"), "{err}");
    let err = carol.issue_fails(&["label", "alice/1", "--remove", "bug"]);
    assert!(err.contains("only the author"), "{err}");
    let err = alice.issue_fails(&["label", "1", "--add", "no-such"]);
    assert!(err.contains("no label `no-such`"), "{err}");
    alice.issue(&["close", "1", "-m", "Fixed in the newest build."]);
    assert_eq!(json(bob, &["show", "1", "--json"])["state"], "closed");
    let open = json(bob, &["list", "--json"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    let closed = json(bob, &["list", "--state", "closed", "--json"]);
    assert_eq!(closed[0]["number"], 1, "{closed}");
    let shown = bob.issue(&["show", "1"]);
    assert!(
        shown.contains("State: closed") && shown.contains("Fixed in the newest build."),
        "{shown}"
    );
    bob.issue(&["reopen", "alice/1", "-m", "Still crashes here."]);
    assert_eq!(json(carol, &["show", "1", "--json"])["state"], "open");

    // Search, filters and sorting.
    let hits = json(carol, &["search", "NEWEST", "--json"]);
    assert_eq!(hits[0]["id"], format!("{}/1", alice.fpr), "{hits}");
    let by_alice = json(
        carol,
        &["list", "--author", "alice", "--label", "bug", "--json"],
    );
    assert_eq!(by_alice.as_array().unwrap().len(), 1, "{by_alice}");
    let all = json(
        carol,
        &["list", "--state", "all", "--sort", "updated", "--json"],
    );
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
}

#[test]
fn the_hook_refuses_what_the_policy_does_not_grant() {
    let forge = project();
    let (alice, bob, carol) = (forge.user("alice"), forge.user("bob"), forge.user("carol"));
    alice.issue(&["create", "-t", "Mine", "-m", "Alice's."]);
    let a = &alice.fpr;
    let c = &carol.fpr;
    let dir = format!("issues/{a}/1");
    let refused = [
        // Another's title, description, or comment under another's id.
        (format!("{dir}/title"), Some("Carol's now\n".to_owned())),
        (
            format!("{dir}/comments/{a}/1"),
            Some(format!("Date: {NOW}\n\nin Alice's name\n")),
        ),
        // An issue in another's name.
        (format!("issues/{a}/2/title"), Some("fake\n".to_owned())),
        // Assigning another, as a non-maintainer.
        (format!("{dir}/assignees/{a}"), Some(String::new())),
        // Editing another's comment.
        (
            format!("{dir}/edits/{a}/0/1"),
            Some(format!("Date: {NOW}\n\nrewritten\n")),
        ),
        // A new label name.
        ("labels/mine/description".to_owned(), Some("x\n".to_owned())),
        // Removing the open label's index entry of another's issue.
        (format!("labels/open/{a}/1"), None),
    ];
    for (path, content) in refused {
        let out = push_by_hand(&forge, carol, &[(path.clone(), content)]);
        out.assert_failed();
        assert!(out.stderr.contains("gitapps: denied"), "{path}: {out}");
    }
    let out = symlink_by_hand(
        &forge,
        carol,
        &format!("{dir}/labels/closed"),
        "/labels/closed",
    );
    out.assert_failed();
    // What is one's own goes through, by hand too.
    push_by_hand(
        &forge,
        carol,
        &[(format!("{dir}/assignees/{c}"), Some(String::new()))],
    )
    .assert_ok();
    push_by_hand(
        &forge,
        carol,
        &[(
            format!("{dir}/comments/{c}/0"),
            Some(format!("Date: {NOW}\n\nby hand\n")),
        )],
    )
    .assert_ok();
    let shown = json(bob, &["show", "1", "--json"]);
    assert_eq!(shown["assignees"], serde_json::json!([c]));
    assert_eq!(shown["comments"].as_array().unwrap().len(), 2, "{shown}");
}

#[test]
fn init_repairs_and_shares_the_maintainers_with_git_mr() {
    let forge = project();
    let owner = forge.owner();
    // A second run has nothing to add.
    let again = owner.issue(&["init"]);
    assert!(again.contains("nothing to add"), "{again}");
    // git mr init next to it keeps the same maintainers group and adds its own files.
    owner.mr(&["init"]);
    owner.git(&["fetch", "-q", "origin"]);
    let group = owner.git(&["show", "origin/apps/access-control:groups/maintainers"]);
    assert!(group.contains(&forge.user("bob").fpr), "{group}");
    let files = owner.git(&["ls-tree", "--name-only", "-r", "origin/apps/access-control"]);
    for f in [
        "refs/issues.conf",
        "branches/issues.conf",
        "refs/merge-reqs.conf",
    ] {
        assert!(files.contains(f), "{files}");
    }
    // A repair with nothing to add pushes nothing, whoever runs it; a user
    // who is not the owner cannot make themselves a maintainer with it.
    let carol = forge.user("carol");
    assert!(carol.issue(&["init"]).contains("nothing to add"));
    let err = carol.issue_fails(&["init", "--maintainer", "me"]);
    assert!(err.contains("gitapps: denied"), "{err}");
    let group = owner.git(&["show", "origin/apps/access-control:groups/maintainers"]);
    assert!(!group.contains(&carol.fpr), "{group}");
}

#[test]
fn writers_at_once_lose_nothing() {
    let forge = project();
    let users: Vec<&Member> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| forge.user(n))
        .collect();
    let mut children = Vec::new();
    for i in 0..3 {
        for u in &users {
            children.push(
                u.issue_command()
                    .args([
                        "create",
                        "-t",
                        &format!("issue {i} of {}", u.name),
                        "-m",
                        "at once",
                    ])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
    }
    for child in children {
        Output::new(
            "concurrent create".to_owned(),
            child.wait_with_output().unwrap(),
        )
        .assert_ok();
    }
    let all = json(forge.owner(), &["list", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 9, "{all}");
    for u in &users {
        let mine = json(u, &["list", "--author", "me", "--json"]);
        let mut numbers: Vec<u64> = mine
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_u64().unwrap())
            .collect();
        numbers.sort();
        assert_eq!(numbers, vec![1, 2, 3], "{mine}");
    }
}

/// `main` with a README; maintainers and Carol may push it; everyone has it.
fn with_main(forge: &Forge) {
    forge.push_main();
    forge.edit_access_control(
        &[
            ("refs/main.conf", Some(&format!("maintainers fast-forward ^heads/main$\n{} fast-forward ^heads/main$\n", forge.user("carol").fpr))),
            (
                "branches/main.conf",
                Some(&format!(
                    "branch ^heads/main$\nmaintainers create-file,modify,delete ^.*$\n{} create-file,modify,delete ^.*$\n",
                    forge.user("carol").fpr
                )),
            ),
        ],
        "maintainers and carol push main",
    );
    for u in &forge.users {
        u.git(&["fetch", "-q", "origin"]);
    }
}

fn commit_file(u: &Member, file: &str, content: &str) {
    std::fs::write(u.clone.join(file), content).unwrap();
    u.git(&["add", file]);
    u.git(&["commit", "-q", "-m", &format!("add {file}")]);
}

#[test]
fn a_merge_closes_the_issues_it_fixes_in_the_same_push() {
    let forge = project();
    forge
        .owner()
        .mr(&["init", "--maintainer", &forge.user("bob").fpr]);
    with_main(&forge);
    let (alice, bob, carol) = (forge.user("alice"), forge.user("bob"), forge.user("carol"));
    carol.issue(&["create", "-t", "No greeting", "-m", "Say hello."]);
    carol.issue(&["create", "-t", "No farewell", "-m", "Say bye."]);
    alice.issue(&["create", "-t", "Alice's own", "-m", "Mine."]);

    alice.git(&["checkout", "-q", "-b", "greet", "origin/main"]);
    commit_file(alice, "hello.txt", "hello\n");
    let err = alice.mr_fails(&["create", "-t", "Greet", "-m", "v1", "--fixes", "carol/9"]);
    assert!(err.contains("no issue"), "{err}");
    let mr = alice.mr(&[
        "create", "-t", "Greet", "-m", "v1", "--fixes", "carol/1", "--fixes", "carol/2",
    ]);
    let mr = mr.trim().to_owned();
    let shown = json(carol, &["show", "carol/1", "--json"]);
    assert_eq!(shown["links"], serde_json::json!([mr]), "{shown}");
    let mr_json: Value = serde_json::from_str(&bob.mr(&["show", &mr, "--json"])).unwrap();
    assert_eq!(
        mr_json["fixes"],
        serde_json::json!([format!("{}/1", carol.fpr), format!("{}/2", carol.fpr)]),
        "{mr_json}"
    );

    // Carol closes her second issue herself first: the merge leaves it be.
    carol.issue(&["close", "2"]);
    let before = bob.git(&[
        "ls-remote",
        &forge.server.path().display().to_string(),
        "refs/heads/apps/issues/data",
    ]);
    let out = bob.mr_out(&["merge", &mr]);
    let out_text = format!("{}{}", out.stdout, out.stderr);
    out.assert_ok();
    assert!(
        out_text.contains(&format!("closed issue {}/1", carol.fpr)),
        "{out_text}"
    );
    let after = bob.git(&[
        "ls-remote",
        &forge.server.path().display().to_string(),
        "refs/heads/apps/issues/data",
    ]);
    assert_ne!(before, after);
    let issue = json(alice, &["show", "carol/1", "--json"]);
    assert_eq!(issue["state"], "closed", "{issue}");
    // Comments of one second sort by author: find the merge's by its header.
    let comments = issue["comments"].as_array().unwrap();
    let last = comments
        .iter()
        .find(|c| !c["headers"]["Fixed-By"].is_null())
        .unwrap()
        .clone();
    assert_eq!(last["author"], bob.fpr, "{issue}");
    assert_eq!(last["headers"]["Fixed-By"], mr, "{issue}");
    // One push moved main, the merge requests and the issues: the audit
    // log's newest certificate names all three.
    let cert = forge.server.git(&["show", "refs/apps/push-certs:cert"]);
    let cert = cert.success_stdout();
    for r in [
        "refs/heads/main",
        "refs/heads/apps/merge-reqs/data",
        "refs/heads/apps/issues/data",
    ] {
        assert!(cert.contains(r), "{r} not in\n{cert}");
    }

    // A merger who may merge (the owner lets Carol label merge requests) but
    // not close others' issues: the merge goes ahead, and says the issue
    // stayed open.
    let rule = format!(
        "branch ^heads/apps/merge-reqs/data$\n{} create-directory,delete-directory,create-symlink,delete-file ^(labels|merge-reqs)/.*$\n",
        carol.fpr
    );
    forge.edit_access_control(&[("branches/carol.conf", Some(&rule))], "carol merges");
    alice.git(&["checkout", "-q", "-b", "own", "origin/main"]);
    commit_file(alice, "own.txt", "own\n");
    let own = alice
        .mr(&["create", "-t", "Own", "-m", "v1", "--fixes", "alice/1"])
        .trim()
        .to_owned();
    carol.git(&["fetch", "-q", "origin"]);
    let out = carol.mr_out(&["merge", &own]);
    out.assert_ok();
    assert!(
        out.stderr.contains("stayed open")
            && out.stderr.contains("only its author and maintainers"),
        "{out}"
    );
    assert_eq!(json(bob, &["show", "alice/1", "--json"])["state"], "open");
}

/// The project with Alice's issue 1, "Fine".
fn with_alices_issue() -> Forge {
    let forge = project();
    forge
        .user("alice")
        .issue(&["create", "-t", "Fine", "-m", "ok"]);
    forge
}

#[test]
fn hostile_data_is_shown_harmless_and_malformed_files_are_skipped() {
    let forge = with_alices_issue();
    let (alice, carol) = (forge.user("alice"), forge.user("carol"));
    let c = &carol.fpr;
    let a = &alice.fpr;
    // Carol's own issue, by hand: a title with terminal escapes and a bidi
    // override, and a comment file with no header block; a comment on Alice's
    // issue whose date is not a date.
    push_by_hand(
        &forge,
        carol,
        &[
            (
                format!("issues/{c}/1/title"),
                Some("evil \u{1b}[2J\u{1b}]0;pwned\u{7} \u{202e}txt.exe\n".to_owned()),
            ),
            (
                format!("issues/{c}/1/comments/{c}/0"),
                Some("no headers here".to_owned()),
            ),
            (
                format!("issues/{a}/1/comments/{c}/0"),
                Some("Date: yesterday\n\nhi\n".to_owned()),
            ),
        ],
    )
    .assert_ok();
    let out = alice.issue_out(&["list", "--state", "all"]);
    out.assert_ok();
    assert!(
        !out.stdout.contains('\u{1b}')
            && !out.stdout.contains('\u{202e}')
            && !out.stdout.contains('\u{7}'),
        "{out}"
    );
    assert!(out.stdout.contains("evil"), "{out}");
    let shown = alice.issue_out(&["show", "alice/1"]);
    shown.assert_ok();
    assert!(
        shown
            .stderr
            .contains(&format!("issues/{a}/1/comments/{c}/0")),
        "the bad comment is named: {shown}"
    );
    // A comment index is never reused, malformed files included.
    carol.issue(&["comment", "alice/1", "-m", "a real one"]);
    let json = json(alice, &["show", "alice/1", "--json"]);
    let mine: Vec<&Value> = json["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["author"] == *c)
        .collect();
    assert_eq!(mine.len(), 1, "{json}");
    assert_eq!(mine[0]["index"], 1, "{json}");
}

/// A verb on one issue reads that one alone: another issue's malformed data
/// is neither read nor warned about, by `show` or by a change; `list` reads
/// them all and says what it skipped. Its directory still takes its name.
#[test]
fn a_verb_on_one_issue_reads_no_other() {
    let forge = with_alices_issue();
    let (alice, carol) = (forge.user("alice"), forge.user("carol"));
    let c = &carol.fpr;
    let stray = format!("issues/{c}/1");
    // Carol's issue 1, by hand: a comment without a date, and no title.
    push_by_hand(
        &forge,
        carol,
        &[(
            format!("{stray}/comments/{c}/0"),
            Some("no headers here".to_owned()),
        )],
    )
    .assert_ok();
    let shown = alice.issue_out(&["show", "alice/1", "--json"]);
    shown.assert_ok();
    assert!(!shown.stderr.contains(&stray), "{shown}");
    let commented = alice.issue_out(&["comment", "alice/1", "-m", "still fine"]);
    commented.assert_ok();
    assert!(!commented.stderr.contains(&stray), "{commented}");
    let listed = alice.issue_out(&["list", "--state", "all"]);
    listed.assert_ok();
    assert!(
        listed.stderr.contains(&format!("skipped {stray}/title")),
        "{listed}"
    );
    // `1` could be Alice's or Carol's (whose issue cannot be read): ambiguous.
    let err = alice.issue_fails(&["show", "1"]);
    assert!(err.contains("could mean more than one"), "{err}");
    let err = alice.issue_fails(&["show", &format!("{}/1", &c[..8])]);
    assert!(err.contains("no issue"), "{err}");
}

#[test]
fn help_completions_and_manual_pages() {
    let forge = Forge::new(&["owner"], &[("GITAPPS_NOW", NOW)]);
    let owner = forge.owner();
    let help = owner.issue(&["--help"]);
    for verb in [
        "create", "list", "show", "comment", "assign", "close", "export",
    ] {
        assert!(help.contains(verb), "{help}");
    }
    let script = owner.issue(&["completions", "bash"]);
    assert!(script.contains("_git_issue ()"), "{script}");
    let dir = forge.root.path().join("man");
    let pages = owner.issue(&["man", dir.to_str().unwrap()]);
    assert!(
        pages.contains("git-issue.1") && pages.contains("git-issue-create.1"),
        "{pages}"
    );
    // Before `git issue init`: a clear error that says what to do, and exit 3.
    let out = owner.issue_out(&["list"]);
    assert_eq!(out.status.code(), Some(3), "{out}");
    assert!(out.stderr.contains("git issue init"), "{out}");
}

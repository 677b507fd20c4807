//! SPEC section 3, ref rules and ref operations.

use gitapps_tests::{Server, User, Workdir};

use crate::common::{assert_refs_unchanged, conf, push_main};

#[test]
fn user_id_namespaces_for_refs() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice, &bob]);
    ow.grant(&[
        (
            "refs/users.conf",
            "anyone create-branch,fast-forward ^heads/users/$user_id/.*$\n",
        ),
        (
            "branches/users.conf",
            &conf(&[
                "branch ^heads/users/$user_id/.*$",
                "anyone create-file,modify ^.*$",
            ]),
        ),
    ]);
    let (a, b) = (alice.fingerprint(), bob.fingerprint());

    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("topic");
    aw.write("file", "1\n");
    aw.commit_all("1");
    aw.push_signed(&["origin", &format!("topic:refs/heads/users/{a}/topic")])
        .assert_ok();
    aw.write("file", "2\n");
    let second = aw.commit_all("2");
    aw.push_signed(&["origin", &format!("topic:refs/heads/users/{a}/topic")])
        .assert_ok();
    assert_eq!(
        server.ref_value(&format!("refs/heads/users/{a}/topic")),
        Some(second)
    );

    let before = server.refs();
    aw.push_signed(&["origin", &format!("topic:refs/heads/users/{b}/topic")])
        .assert_denied("create-branch", &format!("heads/users/{b}/topic"));
    aw.push_signed(&["origin", "topic:refs/heads/main"])
        .assert_denied("create-branch", "heads/main");
    // A near miss of the namespace does not count either.
    aw.push_signed(&["origin", &format!("topic:refs/heads/users/{a}")])
        .assert_denied("create-branch", &format!("heads/users/{a}"));
    assert_refs_unchanged(&server, &before);

    // Bob gets his own namespace from the same rule.
    let bw = Workdir::clone(&bob, &server);
    bw.switch_orphan("topic");
    bw.write("file", "bob\n");
    bw.commit_all("bob");
    bw.push_signed(&["origin", &format!("topic:refs/heads/users/{b}/topic")])
        .assert_ok();
}

#[test]
fn fast_forward_force_and_delete_are_distinct() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &format!("{a} create-branch,fast-forward ^heads/work$\n"),
        ),
        (
            "branches/alice.conf",
            &format!("{a} create-file,modify,delete ^.*$\n"),
        ),
    ]);

    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("work");
    aw.write("file", "1\n");
    aw.commit_all("1");
    aw.push_signed(&["origin", "work"]).assert_ok();
    aw.write("file", "2\n");
    let tip = aw.commit_all("2");
    aw.push_signed(&["origin", "work"]).assert_ok();
    assert_eq!(
        server.ref_value("refs/heads/work").as_deref(),
        Some(tip.as_str())
    );

    // Rewriting history is a force.
    let before = server.refs();
    aw.git_ok(&["commit", "--quiet", "--amend", "-m", "2 amended"]);
    aw.push_signed(&["origin", "+work"])
        .assert_denied("force", "heads/work");
    // Rewinding to an ancestor is a force too.
    aw.git_ok(&["reset", "--quiet", "--hard", "HEAD~1"]);
    aw.push_signed(&["origin", "+work"])
        .assert_denied("force", "heads/work");
    aw.push_signed(&["origin", ":work"])
        .assert_denied("delete", "heads/work");
    assert_refs_unchanged(&server, &before);

    // The owner may do both.
    ow.fetch();
    ow.switch("work");
    ow.git_ok(&["reset", "--quiet", "--hard", "HEAD~1"]);
    ow.push_signed(&["origin", "+work"]).assert_ok();
    assert_ne!(
        server.ref_value("refs/heads/work").as_deref(),
        Some(tip.as_str())
    );
    ow.push_signed(&["origin", ":work"]).assert_ok();
    assert_eq!(server.ref_value("refs/heads/work"), None);
}

#[test]
fn tag_creation_versus_tag_move() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let first = push_main(&ow, &[("README", "1\n"), ("src/main.rs", "fn main() {}\n")]);
    ow.register(&[&alice]);
    // Alice may create tags (and "fast-forward" them, which never applies to tags);
    // she has no tree rules at all: tags are not judged by tree rules.
    ow.grant(&[(
        "refs/tags.conf",
        &format!(
            "{} create-tag,fast-forward ^tags/.*$\n",
            alice.fingerprint()
        ),
    )]);

    let aw = Workdir::clone(&alice, &server);
    aw.git_ok(&["tag", "v1", "origin/main"]);
    aw.git_ok(&["tag", "-a", "-m", "version 2", "v2", "origin/main"]);
    aw.push_signed(&["origin", "v1", "v2"]).assert_ok();
    assert_eq!(
        server.ref_value("refs/tags/v1").as_deref(),
        Some(first.as_str())
    );
    assert!(server.ref_value("refs/tags/v2").is_some());

    // A branch is not a tag.
    let before = server.refs();
    aw.push_signed(&["origin", "origin/main:refs/heads/alice"])
        .assert_denied("create-branch", "heads/alice");
    assert_refs_unchanged(&server, &before);

    // The owner moves main forward; moving v1 along is still a force.
    ow.write("README", "2\n");
    let second = ow.commit_all("2");
    ow.push_signed(&["origin", "main"]).assert_ok();
    let before_move = server.refs();
    aw.fetch();
    aw.git_ok(&["tag", "-f", "v1", "origin/main"]);
    aw.push_signed(&["origin", "+refs/tags/v1"])
        .assert_denied("force", "tags/v1");
    aw.push_signed(&["origin", ":refs/tags/v2"])
        .assert_denied("delete", "tags/v2");
    assert_refs_unchanged(&server, &before_move);

    // The owner may move a tag.
    ow.git_ok(&["tag", "-f", "v1", &second]);
    ow.push_signed(&["origin", "+refs/tags/v1"]).assert_ok();
    assert_eq!(server.ref_value("refs/tags/v1"), Some(second));
}

#[test]
fn regexes_match_the_whole_ref_name() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        // No ^ or $: still anchored at both ends.
        (
            "refs/alice.conf",
            &conf(&[
                &format!("{a} create-branch heads/feat"),
                &format!("{a} create-branch feature"),
            ]),
        ),
        ("branches/alice.conf", &format!("{a} create-file .*\n")),
    ]);
    let before = server.refs();
    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("x");
    aw.write("f", "f\n");
    aw.commit_all("f");
    aw.push_signed(&["origin", "x:refs/heads/feat-x"])
        .assert_denied("create-branch", "heads/feat-x");
    aw.push_signed(&["origin", "x:refs/heads/my/heads/feat"])
        .assert_denied("create-branch", "heads/my/heads/feat");
    aw.push_signed(&["origin", "x:refs/heads/feature"])
        .assert_denied("create-branch", "heads/feature");
    assert_refs_unchanged(&server, &before);
    aw.push_signed(&["origin", "x:refs/heads/feat"]).assert_ok();
}

#[test]
fn groups_grant_to_their_members() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let carol = User::new("carol");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice, &bob, &carol]);
    ow.grant(&[
        (
            "groups/devs",
            &conf(&["# developers", alice.fingerprint(), "@leads"]),
        ),
        ("groups/leads", &conf(&[bob.fingerprint()])),
        ("refs/devs.conf", "devs create-branch ^heads/dev/.*$\n"),
        ("branches/devs.conf", "devs create-file ^.*$\n"),
    ]);
    for (user, allowed) in [(&alice, true), (&bob, true), (&carol, false)] {
        let wd = Workdir::clone(user, &server);
        wd.switch_orphan("dev");
        wd.write("file", user.name());
        wd.commit_all("dev");
        let target = format!("dev:refs/heads/dev/{}", user.name());
        let out = wd.push_signed(&["origin", &target]);
        if allowed {
            out.assert_ok();
        } else {
            out.assert_denied("create-branch", &format!("heads/dev/{}", user.name()));
        }
    }
}

#[test]
fn push_certs_ref_cannot_be_pushed_even_by_the_owner() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("fake");
    ow.write("cert", "certificate version 0.1\n");
    ow.write("pusher", format!("{}\n", owner.fingerprint()));
    ow.commit_all("fake audit log");

    // Replace it with a log of one's own (install started the real one).
    let before = server.refs();
    ow.push_signed(&["--force", "origin", "fake:refs/apps/push-certs"])
        .assert_remote_said("push-certs");
    assert_refs_unchanged(&server, &before);

    // Once it exists (after an accepted push), it can be neither moved nor deleted.
    push_main(&ow, &[("README", "x\n")]);
    let log = server
        .ref_value("refs/apps/push-certs")
        .expect("an accepted push makes the audit log");
    let before = server.refs();
    ow.push_signed(&["origin", "+fake:refs/apps/push-certs"])
        .assert_remote_said("push-certs");
    ow.git_ok(&["fetch", "--quiet", "origin", "refs/apps/push-certs"]);
    let extended = ow.git_ok(&[
        "commit-tree",
        "-p",
        "FETCH_HEAD",
        "-m",
        "extend",
        "FETCH_HEAD^{tree}",
    ]);
    ow.push_signed(&["origin", &format!("{extended}:refs/apps/push-certs")])
        .assert_remote_said("push-certs");
    ow.push_signed(&["origin", ":refs/apps/push-certs"])
        .assert_remote_said("push-certs");
    assert_refs_unchanged(&server, &before);
    assert_eq!(server.ref_value("refs/apps/push-certs"), Some(log));
}

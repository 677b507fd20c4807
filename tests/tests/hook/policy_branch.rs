//! SPEC section 3: pushes to `apps/access-control` itself — validity,
//! no lock-out, judged by the policy before the push.

use gitapps_policy::RejectCode;
use gitapps_tests::{Server, User, Workdir};

use crate::common::{assert_refs_unchanged, conf};

#[test]
fn invalid_policy_is_rejected_with_every_error_as_file_line() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let before = server.refs();
    let out = ow.edit_access_control(&[
        (
            "refs/bad.conf",
            Some(&conf(&[
                "# line 1 is a comment",
                "anyone frobnicate ^heads/x$",
                "nosuchgroup create-branch ^heads/y$",
            ])),
        ),
        (
            "branches/bad.conf",
            Some(&conf(&["", "anyone create-file ^(unclosed$"])),
        ),
    ]);
    out.assert_failed();
    out.assert_stderr_contains("refs/bad.conf:2:");
    out.assert_stderr_contains("refs/bad.conf:3:");
    out.assert_stderr_contains("branches/bad.conf:2:");
    out.assert_stderr_lacks("refs/bad.conf:1:");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn unknown_op_gets_a_did_you_mean_hint() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let out =
        ow.edit_access_control(&[("refs/typo.conf", Some("anyone create-brnch ^heads/x$\n"))]);
    out.assert_failed();
    let line = out
        .stderr_lines()
        .into_iter()
        .find(|l| l.contains("refs/typo.conf:1:"))
        .unwrap_or_else(|| panic!("no refs/typo.conf:1: error:\n{out}"))
        .to_string();
    assert!(
        line.contains("create-brnch") || line.contains("create-branch"),
        "{out}"
    );
    out.assert_stderr_mentions(&["did you mean", "create-branch"]);
}

#[test]
fn group_cycle_is_rejected() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let before = server.refs();
    let out = ow.edit_access_control(&[
        ("groups/a", Some("@b\n")),
        ("groups/b", Some("# b includes a\n@a\n")),
        ("refs/a.conf", Some("a create-branch ^heads/a$\n")),
    ]);
    out.assert_failed();
    out.assert_stderr_mentions(&["cycle", "groups/"]);
    assert_refs_unchanged(&server, &before);
}

#[test]
fn bad_regex_in_a_branch_line_is_rejected() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let out = ow.edit_access_control(&[(
        "branches/scoped.conf",
        Some(&conf(&[
            "branch ^heads/[unclosed$",
            "anyone create-file ^x$",
        ])),
    )]);
    out.assert_failed();
    out.assert_stderr_contains("branches/scoped.conf:1:");
}

#[test]
fn a_push_that_locks_the_owner_out_is_rejected() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let before = server.refs();

    // No rule left to fast-forward apps/access-control.
    ow.edit_access_control(&[("refs/owner.conf", None)])
        .assert_failed()
        .assert_stderr_mentions(&["lock"]);
    ow.edit_access_control(&[(
        "refs/owner.conf",
        Some("owner create-branch,create-tag,force,delete ^.*$\n"),
    )])
    .assert_failed()
    .assert_stderr_mentions(&["lock"]);
    // No rule left to change its files.
    ow.edit_access_control(&[("branches/owner.conf", None)])
        .assert_failed()
        .assert_stderr_mentions(&["lock"]);
    ow.edit_access_control(&[(
        "branches/owner.conf",
        Some("owner create-directory,create-file ^.*$\n"),
    )])
    .assert_failed()
    .assert_stderr_mentions(&["lock"]);
    // The policy branch itself cannot go.
    ow.push_signed(&["origin", ":refs/heads/apps/access-control"])
        .assert_remote_said("apps/access-control");
    // Nor the owner's key: no push of the owner would verify afterwards.
    let key = owner.key_path();
    ow.edit_access_control(&[(key.as_str(), None)])
        .assert_failed()
        .assert_stderr_mentions(&["lock", &key]);
    assert_refs_unchanged(&server, &before);

    // Moving the owner's rules to other files is fine.
    ow.edit_access_control(&[
        ("refs/owner.conf", None),
        ("branches/owner.conf", None),
        ("refs/admin.conf", Some("owner create-branch,create-tag,fast-forward,force,delete ^.*$\n")),
        (
            "branches/admin.conf",
            Some("owner create-directory,create-file,create-symlink,create-submodule,modify,delete ^.*$\n"),
        ),
    ])
    .assert_ok();
    assert_eq!(
        server.read_file("apps/access-control", "refs/owner.conf"),
        None
    );
}

#[test]
fn a_push_to_access_control_is_judged_by_the_policy_before_it() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice, &bob]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &format!("{a} fast-forward ^heads/apps/access-control$\n"),
        ),
        (
            "branches/alice.conf",
            &conf(&[
                "branch ^heads/apps/access-control$",
                &format!("{a} create-file,modify ^refs/alice-more\\.conf$"),
            ]),
        ),
    ]);
    let before = server.refs();

    // Bob has no rule for the policy branch, and cannot grant himself one
    // in the very push that needs it.
    let bw = Workdir::clone(&bob, &server);
    let b = bob.fingerprint();
    let out = bw.edit_access_control(&[
        (
            "refs/bob.conf",
            Some(&format!("{b} fast-forward ^heads/apps/access-control$\n")),
        ),
        (
            "branches/bob.conf",
            Some(&format!("{b} create-file ^.*$\n")),
        ),
    ]);
    out.assert_denied("fast-forward", "heads/apps/access-control");
    out.assert_denied("create-file", "refs/bob.conf");
    assert_refs_unchanged(&server, &before);

    // Alice may write refs/alice-more.conf; a rule in it that would allow the
    // rest of the same push does not count yet.
    let aw = Workdir::clone(&alice, &server);
    let grant_more = conf(&[&format!("{a} create-branch ^heads/alice$")]);
    let out = aw.edit_access_control(&[
        ("refs/alice-more.conf", Some(&grant_more)),
        (
            "branches/alice-more.conf",
            Some(&format!(
                "branch ^heads/apps/access-control$\n{a} create-file ^.*$\n"
            )),
        ),
    ]);
    out.assert_denied("create-file", "branches/alice-more.conf");
    out.assert_not_denied("create-file", "refs/alice-more.conf");
    assert_refs_unchanged(&server, &before);

    // Alone, the allowed file goes in, and its rule applies to the next push.
    aw.edit_access_control(&[("refs/alice-more.conf", Some(&grant_more))])
        .assert_ok();
    aw.switch_orphan("alice");
    aw.commit_all("empty tree, no tree operations");
    aw.push_signed(&["origin", "alice"]).assert_ok();
}

#[test]
fn the_owner_can_revoke_a_grant() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice]);
    ow.grant(&[(
        "refs/alice.conf",
        &format!("{} create-branch ^heads/a.*$\n", alice.fingerprint()),
    )]);
    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("work");
    aw.commit_all("empty");
    aw.push_signed(&["origin", "work:a1"]).assert_ok();
    ow.edit_access_control(&[("refs/alice.conf", None)])
        .assert_ok();
    aw.push_signed(&["origin", "work:a2"])
        .assert_denied("create-branch", "heads/a2");
}

/// Issue 9's near misses: a carriage return makes a terminal show a
/// comment where the line grants `anyone` everything; a line separator
/// does the same in a tree rule; bidirectional overrides reorder what is
/// shown. The push and `validate` refuse each, as `file:line`.
#[test]
fn rules_hidden_by_invisible_characters_are_refused() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let before = server.refs();
    let cases = [
        (
            "refs/evil.conf",
            "# mirrors\nanyone fast-forward,force,delete ^.*$\r# read-only mirror rules\n",
            2,
        ),
        (
            "branches/evil.conf",
            "anyone modify ^docs/.*$\u{2028}anyone modify ^.*$\n",
            1,
        ),
        (
            "branches/evil.conf",
            "\n\nanyone create-file ^\u{202E}txt.exe$\n",
            3,
        ),
        ("groups/evil", "# admins\u{2066}\n", 1),
    ];
    for (path, content, line) in cases {
        let out = ow.edit_access_control(&[(path, Some(content))]);
        out.assert_reject_code(RejectCode::InvalidPolicy);
        out.assert_stderr_contains(&format!("{path}:{line}: the line holds"));
        assert_refs_unchanged(&server, &before);

        // validate says the same of a checkout.
        let dir = owner.scratch_dir().join("checkout");
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, content).unwrap();
        std::fs::create_dir_all(dir.join("refs")).unwrap();
        std::fs::write(
            dir.join("refs/owner.conf"),
            gitapps_policy::DEFAULT_REF_RULES,
        )
        .unwrap();
        let out = server.hook(&["validate", dir.to_str().unwrap()]);
        out.assert_code(1);
        out.assert_stdout_contains(&format!("{path}:{line}: the line holds"));
    }
}

/// Issue 9: replacing the owner's key file with its revoked (or expired)
/// copy locked the owner out for good. The lock-out check judges the key
/// as the new policy leaves it.
#[test]
fn the_owner_cannot_revoke_or_expire_their_way_out() {
    for (owner, why) in [
        (User::revoked("owner"), "revoked"),
        (User::expiring("owner", 30), "expired"),
    ] {
        // The server knows the key as the owner signs with it.
        let server = Server::install_with_key(&owner, &owner.export_public_key());
        let ow = Workdir::clone(&owner, &server);
        let before = server.refs();
        let key = owner.key_path();
        let out = ow.edit_access_control(&[(key.as_str(), Some(owner.public_key_armored()))]);
        out.assert_reject_code(RejectCode::Lockout);
        out.assert_stderr_mentions(&["lock the owner out", &key, why]);
        assert_refs_unchanged(&server, &before);
        // The owner can still push.
        ow.edit_access_control(&[("refs/more.conf", Some("owner force ^heads/x$\n"))])
            .assert_ok();
    }
}

/// The server keeps the policy it validated (`gitapps/policy-cache`), for
/// the policy's trees: a new policy is in force at once, and a cache file
/// that is damaged, foreign or unreadable is rebuilt, never trusted.
#[test]
fn the_policy_cache_follows_the_policy_and_is_never_trusted_when_damaged() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &format!("{a} create-branch ^heads/a/.*$\n"),
        ),
        ("branches/alice.conf", &format!("{a} create-file ^.*$\n")),
    ]);
    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("topic");
    aw.write("file", "1\n");
    aw.commit_all("1");
    aw.push_signed(&["origin", "topic:refs/heads/a/1"])
        .assert_ok();
    let cache = server.path().join("gitapps").join("policy-cache");
    let written = std::fs::read(&cache).expect("the hook keeps the policy it validated");
    assert!(written.starts_with(b"gitapps policy cache 1 "));

    // Torn, replaced by garbage, or a foreign file in its place: ignored
    // and rebuilt; the push is judged as before.
    let damages: [&dyn Fn(); 3] = [
        &|| std::fs::write(&cache, &written[..written.len() / 2]).unwrap(),
        &|| {
            let mut bad = written.clone();
            let at = bad.len() - 10;
            bad[at] ^= 0x01;
            std::fs::write(&cache, bad).unwrap();
        },
        &|| {
            std::fs::write(
                &cache,
                b"gitapps policy cache 1 x y\nanyone create-branch ^.*$\n",
            )
            .unwrap()
        },
    ];
    for (n, damage) in damages.iter().enumerate() {
        damage();
        aw.push_signed(&["origin", &format!("topic:refs/heads/a/d{n}")])
            .assert_ok();
        aw.push_signed(&["origin", &format!("topic:refs/heads/b/d{n}")])
            .assert_denied("create-branch", &format!("heads/b/d{n}"));
        assert_eq!(
            std::fs::read(&cache).unwrap(),
            written,
            "damage {n}: rebuilt"
        );
    }

    // A cache the hook cannot read or replace (a directory in its place)
    // costs a parse per push, nothing else.
    std::fs::remove_file(&cache).unwrap();
    std::fs::create_dir(&cache).unwrap();
    aw.push_signed(&["origin", "topic:refs/heads/a/dir"])
        .assert_ok();
    aw.push_signed(&["origin", "topic:refs/heads/b/dir"])
        .assert_denied("create-branch", "heads/b/dir");
    std::fs::remove_dir(&cache).unwrap();

    // A new policy is in force for the very next push.
    ow.fetch();
    ow.grant(&[(
        "refs/alice.conf",
        &format!("{a} create-branch ^heads/b/.*$\n"),
    )]);
    aw.push_signed(&["origin", "topic:refs/heads/a/after"])
        .assert_denied("create-branch", "heads/a/after");
    aw.push_signed(&["origin", "topic:refs/heads/b/after"])
        .assert_ok();
    assert_ne!(std::fs::read(&cache).unwrap(), written);
}

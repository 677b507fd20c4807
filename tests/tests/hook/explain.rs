//! SPEC section 6: `gitapps-hook explain` and `gitapps-hook validate`.

use gitapps_tests::{Server, User, Workdir};

use crate::common::{conf, push_main};

/// Asserts `out` printed exactly `expected` (in any order).
#[track_caller]
fn assert_lines(out: &gitapps_tests::Output, expected: &[&str]) {
    let mut got = out.stdout_lines();
    got.retain(|l| !l.is_empty());
    got.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(got, want, "explain printed other lines:\n{out}");
}

#[test]
fn explain_names_the_rule_or_denies() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "r\n")]);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/team.conf",
            &conf(&[
                "# team rules",
                &format!("{a} create-branch,fast-forward ^heads/team/.*$"),
            ]),
        ),
        (
            "branches/team.conf",
            &conf(&[
                "branch ^heads/team/.*$",
                &format!("{a} create-directory,create-file ^src(/.*)?$"),
            ]),
        ),
    ]);

    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("team");
    aw.write("src/lib.rs", "// lib\n");
    aw.write("NOTES", "not allowed\n");
    aw.commit_all("team work");
    let with_notes = server.import(&aw, "HEAD");
    aw.rm("NOTES");
    aw.commit_all("without notes");
    let without_notes = server.import(&aw, "HEAD");
    let before = server.refs();
    let certs = server.push_cert_count();

    let out = server.explain(a, &[("refs/heads/team/x", &with_notes)]);
    out.assert_code(1);
    assert_lines(
        &out,
        &[
            "allow create-branch heads/team/x (refs/team.conf:2)",
            "allow create-directory src (branches/team.conf:2)",
            "allow create-file src/lib.rs (branches/team.conf:2)",
            "deny create-file NOTES",
        ],
    );

    let out = server.explain(a, &[("refs/heads/team/x", &without_notes)]);
    out.assert_code(0);
    assert_lines(
        &out,
        &[
            "allow create-branch heads/team/x (refs/team.conf:2)",
            "allow create-directory src (branches/team.conf:2)",
            "allow create-file src/lib.rs (branches/team.conf:2)",
        ],
    );

    // Several updates at once, `delete`, and a ref op that no rule allows.
    let out = server.explain(
        a,
        &[
            ("refs/heads/team/y", &without_notes),
            ("refs/heads/main", "delete"),
        ],
    );
    out.assert_code(1);
    assert_lines(
        &out,
        &[
            "allow create-branch heads/team/y (refs/team.conf:2)",
            "allow create-directory src (branches/team.conf:2)",
            "allow create-file src/lib.rs (branches/team.conf:2)",
            "deny delete heads/main",
        ],
    );

    // The owner is allowed by the default rules.
    let out = server.explain(owner.fingerprint(), &[("refs/heads/main", "delete")]);
    out.assert_code(0);
    assert_eq!(out.stdout_lines().len(), 1, "{out}");
    assert!(
        out.stdout_lines()[0].starts_with("allow delete heads/main (refs/owner.conf:"),
        "{out}"
    );

    // Explaining changes nothing.
    assert_eq!(server.refs(), before);
    assert_eq!(server.push_cert_count(), certs);
}

#[test]
fn explain_judges_tags_and_existing_refs() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let first = push_main(&ow, &[("README", "1\n")]);
    ow.write("README", "2\n");
    let second = ow.commit_all("2");
    server.import(&ow, &second);
    ow.git_ok(&["tag", "v1", &first]);
    ow.push_signed(&["origin", "v1"]).assert_ok();
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &conf(&[
                &format!("{a} create-tag ^tags/.*$"),
                &format!("{a} fast-forward ^heads/main$"),
            ]),
        ),
        ("branches/alice.conf", &format!("{a} modify ^README$\n")),
    ]);

    let out = server.explain(a, &[("refs/tags/v2", &second)]);
    out.assert_code(0);
    assert_lines(&out, &["allow create-tag tags/v2 (refs/alice.conf:1)"]);

    let out = server.explain(a, &[("refs/tags/v1", &second)]);
    out.assert_code(1);
    assert_lines(&out, &["deny force tags/v1"]);

    let out = server.explain(a, &[("refs/heads/main", &second)]);
    out.assert_code(0);
    assert_lines(
        &out,
        &[
            "allow fast-forward heads/main (refs/alice.conf:2)",
            "allow modify README (branches/alice.conf:1)",
        ],
    );
}

#[test]
fn validate_a_directory() {
    let owner = User::new("owner");
    let dir = owner.scratch_dir().join("policy");
    let write = |path: &str, content: &str| {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    };
    write(
        "refs/owner.conf",
        "owner create-branch,create-tag,fast-forward,force,delete ^.*$\n",
    );
    write(
        "branches/owner.conf",
        "owner create-directory,create-file,create-symlink,create-submodule,modify,delete ^.*$\n",
    );
    write("groups/devs", &format!("# devs\n{}\n", owner.fingerprint()));
    write(
        "refs/devs.conf",
        "devs create-branch ^heads/dev/$user_id/.*$\n",
    );
    write(&owner.key_path(), owner.public_key_armored());
    let server_less = |path: &std::path::Path| {
        let mut cmd =
            gitapps_tests::sealed_command(gitapps_tests::bin("gitapps-hook"), owner.home(), None);
        cmd.arg("validate").arg(path);
        gitapps_tests::run(cmd, None)
    };

    let out = server_less(&dir);
    out.assert_code(0);

    write(
        "refs/devs.conf",
        "# devs\ndevs create-branch ^heads/dev/$user_id/.*$\ndevs fly ^x$\n",
    );
    write(
        "branches/more.conf",
        "branch ^heads/(x$\nnobody create-file ^y$\n",
    );
    let out = server_less(&dir);
    out.assert_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    for location in [
        "refs/devs.conf:3: ",
        "branches/more.conf:1: ",
        "branches/more.conf:2: ",
    ] {
        assert!(
            all.lines().any(|l| l.starts_with(location)),
            "no line starting with {location:?}:\n{out}"
        );
    }
    assert!(!all.contains("refs/devs.conf:2:"), "{out}");
}

#[test]
fn validate_a_revision_of_a_repository() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    server
        .validate_rev("refs/heads/apps/access-control")
        .assert_code(0);
    server.validate_rev("apps/access-control").assert_code(0);

    let ow = Workdir::clone(&owner, &server);
    ow.fetch();
    let bad = ow.commit_files(
        Some("origin/apps/access-control"),
        &[(
            "refs/broken.conf",
            Some("owner create-branch ^ok$\nowner teleport ^x$\n"),
        )],
        "broken",
    );
    let bad = server.import(&ow, &bad);
    let out = server.validate_rev(&bad);
    out.assert_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.lines().any(|l| l.starts_with("refs/broken.conf:2: ")),
        "{out}"
    );
    assert!(!all.contains("refs/broken.conf:1:"), "{out}");

    // A revision without any policy (a project branch, say) is not "valid".
    push_main(&ow, &[("README", "r\n")]);
    let out = server.validate_rev("main");
    out.assert_code(1);
    out.assert_stdout_contains("no policy here");
}

/// SPEC section 6: one line per operation, even for a path with a newline
/// (quoted the way git quotes paths).
#[test]
fn explain_quotes_names_that_would_break_a_line() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "r\n")]);
    ow.write("two\nlines", "x\n");
    ow.write("quote\"d", "y\n");
    ow.commit_all("odd names");
    let rev = server.import(&ow, "HEAD");
    let out = server.explain(owner.fingerprint(), &[("refs/heads/main", &rev)]);
    out.assert_code(0);
    assert_lines(
        &out,
        &[
            "allow fast-forward heads/main (refs/owner.conf:1)",
            "allow create-file \"quote\\\"d\" (branches/owner.conf:1)",
            "allow create-file \"two\\nlines\" (branches/owner.conf:1)",
        ],
    );
}

/// `--user` takes a name, an e-mail or a prefix of one key, as `git mr` reads
/// names (gitapps_policy::names); a name two keys claim is an error listing both.
#[test]
fn explain_takes_a_name_for_the_user() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let impostor = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "r\n")]);
    ow.register(&[&alice]);
    let main = server.git_ok(&["rev-parse", "main"]);
    for who in ["owner", "owner@example.com", &owner.fingerprint()[..8]] {
        let out = server.explain(who, &[("refs/heads/x", &main)]);
        out.assert_code(0);
    }
    let out = server.explain("alice", &[("refs/heads/x", &main)]);
    out.assert_code(1);
    ow.register(&[&impostor]);
    let out = server.explain("alice", &[("refs/heads/x", &main)]);
    out.assert_code(2);
    for f in [alice.fingerprint(), impostor.fingerprint()] {
        assert!(out.stderr.contains(f), "{out}");
    }
    let out = server.explain("nobody", &[("refs/heads/x", &main)]);
    out.assert_code(2);
}

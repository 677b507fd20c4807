//! SPEC section 3, tree rules and tree operations.

use gitapps_tests::{Server, User, Workdir};

use crate::common::{assert_refs_unchanged, conf, push_main};

/// Drops local commits: back to the server's `branch`.
fn reset_to_origin(wd: &Workdir<'_>, branch: &str) {
    wd.fetch();
    wd.git_ok(&["reset", "--quiet", "--hard", &format!("origin/{branch}")]);
}

#[test]
fn user_id_namespaces_for_paths() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("home/README", "one directory each\n")]);
    ow.register(&[&alice, &bob]);
    ow.grant(&[
        ("refs/home.conf", "anyone fast-forward ^heads/main$\n"),
        (
            "branches/home.conf",
            &conf(&[
                "branch ^heads/main$",
                "anyone create-directory,create-file,modify,delete ^home/$user_id(/.*)?$",
            ]),
        ),
    ]);
    let (a, b) = (alice.fingerprint(), bob.fingerprint());

    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.write(&format!("home/{a}/notes.txt"), "mine\n");
    aw.commit_all("alice's home");
    aw.push_signed(&["origin", "main"]).assert_ok();
    aw.write(&format!("home/{a}/notes.txt"), "mine, changed\n");
    aw.commit_all("alice changes her notes");
    aw.push_signed(&["origin", "main"]).assert_ok();

    let before = server.refs();
    aw.write(&format!("home/{b}/x"), "squatting\n");
    aw.commit_all("into bob's home");
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_denied("create-directory", &format!("home/{b}"));
    out.assert_denied("create-file", &format!("home/{b}/x"));
    reset_to_origin(&aw, "main");
    aw.write("home/README", "changed\n");
    aw.commit_all("shared file");
    aw.push_signed(&["origin", "main"])
        .assert_denied("modify", "home/README");
    assert_refs_unchanged(&server, &before);

    let bw = Workdir::clone(&bob, &server);
    bw.switch("main");
    bw.write(&format!("home/{a}/notes.txt"), "bob was here\n");
    bw.commit_all("bob edits alice's notes");
    bw.push_signed(&["origin", "main"])
        .assert_denied("modify", &format!("home/{a}/notes.txt"));
    reset_to_origin(&bw, "main");
    bw.rm(&format!("home/{a}"));
    bw.commit_all("bob deletes alice's home");
    let out = bw.push_signed(&["origin", "main"]);
    out.assert_denied("delete-file", &format!("home/{a}/notes.txt"));
    out.assert_denied("delete-directory", &format!("home/{a}"));
    assert_refs_unchanged(&server, &before);
}

#[test]
fn sticky_directory_is_create_only() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("drop/README", "leave files here\n")]);
    ow.register(&[&alice, &bob]);
    ow.grant(&[
        ("refs/drop.conf", "anyone fast-forward ^heads/main$\n"),
        ("branches/drop.conf", "anyone create-file ^drop/[^/]+$\n"),
    ]);

    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.write("drop/alice.txt", "from alice\n");
    aw.commit_all("alice drops a file");
    aw.push_signed(&["origin", "main"]).assert_ok();

    let before = server.refs();
    let bw = Workdir::clone(&bob, &server);
    bw.switch("main");
    bw.write("drop/alice.txt", "overwritten by bob\n");
    bw.commit_all("bob overwrites");
    bw.push_signed(&["origin", "main"])
        .assert_denied("modify", "drop/alice.txt");
    reset_to_origin(&bw, "main");
    bw.rm("drop/alice.txt");
    bw.commit_all("bob deletes");
    bw.push_signed(&["origin", "main"])
        .assert_denied("delete-file", "drop/alice.txt");
    reset_to_origin(&bw, "main");
    bw.write("drop/sub/bob.txt", "nested\n");
    bw.commit_all("bob nests");
    bw.push_signed(&["origin", "main"])
        .assert_denied("create-directory", "drop/sub");

    // Not even the author may change a file once it is there.
    aw.write("drop/alice.txt", "second thoughts\n");
    aw.commit_all("alice edits");
    aw.push_signed(&["origin", "main"])
        .assert_denied("modify", "drop/alice.txt");
    assert_refs_unchanged(&server, &before);

    reset_to_origin(&bw, "main");
    bw.write("drop/bob.txt", "from bob\n");
    bw.commit_all("bob drops a file");
    bw.push_signed(&["origin", "main"]).assert_ok();
}

#[test]
fn new_branch_is_judged_from_the_empty_tree() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "r\n"), ("a/b/c.txt", "c\n")]);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &format!("{a} create-branch ^heads/alice/.*$\n"),
        ),
        ("branches/alice.conf", &format!("{a} create-file ^.*$\n")),
    ]);

    // A branch made from main, with nothing new at all: every directory
    // level of main is created, as seen from the empty tree.
    let aw = Workdir::clone(&alice, &server);
    let before = server.refs();
    let out = aw.push_signed(&["origin", "origin/main:refs/heads/alice/copy"]);
    out.assert_denied("create-directory", "a");
    out.assert_denied("create-directory", "a/b");
    out.assert_not_denied("create-file", "README");
    out.assert_not_denied("create-file", "a/b/c.txt");
    out.assert_not_denied("create-branch", "heads/alice/copy");
    assert_refs_unchanged(&server, &before);

    ow.grant(&[(
        "branches/alice-dirs.conf",
        &format!("{a} create-directory ^a$\n"),
    )]);
    let out = aw.push_signed(&["origin", "origin/main:refs/heads/alice/copy"]);
    out.assert_not_denied("create-directory", "a");
    out.assert_denied("create-directory", "a/b");

    ow.grant(&[(
        "branches/alice-dirs.conf",
        &format!("{a} create-directory ^a(/b)?$\n"),
    )]);
    aw.push_signed(&["origin", "origin/main:refs/heads/alice/copy"])
        .assert_ok();
    assert_eq!(
        server.ref_value("refs/heads/alice/copy"),
        server.ref_value("refs/heads/main")
    );
}

#[test]
fn exec_bit_and_symlink_changes_are_modifications() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("script.sh", "#!/bin/sh\necho hi\n");
    ow.write("target.txt", "t\n");
    ow.write("other.txt", "o\n");
    ow.write("notes.txt", "n\n");
    ow.symlink("link", "target.txt");
    ow.commit_all("main");
    ow.push_signed(&["origin", "main"]).assert_ok();
    ow.register(&[&alice, &bob]);
    let (a, b) = (alice.fingerprint(), bob.fingerprint());
    ow.grant(&[
        ("refs/main.conf", "anyone fast-forward ^heads/main$\n"),
        (
            "branches/alice.conf",
            &format!("{a} create-file,create-symlink ^.*$\n"),
        ),
        ("branches/bob.conf", &format!("{b} modify ^.*$\n")),
    ]);
    let before = server.refs();

    // Alice may create, not modify.
    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.chmod_x("script.sh");
    aw.commit_all("make it executable");
    aw.push_signed(&["origin", "main"])
        .assert_denied("modify", "script.sh");
    reset_to_origin(&aw, "main");
    aw.symlink("link", "other.txt");
    aw.commit_all("retarget the link");
    aw.push_signed(&["origin", "main"])
        .assert_denied("modify", "link");
    reset_to_origin(&aw, "main");
    // File -> symlink: a delete of the file and a create of the symlink.
    aw.symlink("notes.txt", "target.txt");
    aw.commit_all("notes becomes a link");
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_denied("delete-file", "notes.txt");
    out.assert_not_denied("create-symlink", "notes.txt");
    out.assert_not_denied("modify", "notes.txt");
    assert_refs_unchanged(&server, &before);
    reset_to_origin(&aw, "main");
    aw.symlink("newlink", "target.txt");
    aw.commit_all("a new link");
    aw.push_signed(&["origin", "main"]).assert_ok();

    // Bob may modify (mode and link target), not create.
    let bw = Workdir::clone(&bob, &server);
    bw.switch("main");
    bw.chmod_x("script.sh");
    bw.commit_all("make it executable");
    bw.push_signed(&["origin", "main"]).assert_ok();
    bw.symlink("link", "other.txt");
    bw.commit_all("retarget the link");
    bw.push_signed(&["origin", "main"]).assert_ok();
    bw.set_executable("script.sh", false);
    bw.commit_all("not executable after all");
    bw.push_signed(&["origin", "main"]).assert_ok();
    let before = server.refs();
    bw.symlink("another", "target.txt");
    bw.commit_all("bob adds a link");
    bw.push_signed(&["origin", "main"])
        .assert_denied("create-symlink", "another");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn delete_file_versus_delete_directory() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(
        &ow,
        &[
            ("dir/only.txt", "1\n"),
            ("dir/sub/deep.txt", "2\n"),
            ("keep.txt", "3\n"),
        ],
    );
    ow.register(&[&alice, &bob]);
    ow.grant(&[
        ("refs/main.conf", "anyone fast-forward ^heads/main$\n"),
        (
            "branches/alice.conf",
            &format!("{} delete-file ^.*$\n", alice.fingerprint()),
        ),
        // `delete` is shorthand for delete-file,delete-directory.
        (
            "branches/bob.conf",
            &format!("{} delete ^.*$\n", bob.fingerprint()),
        ),
    ]);
    let before = server.refs();

    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.rm("dir");
    aw.commit_all("remove dir");
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_denied("delete-directory", "dir");
    out.assert_denied("delete-directory", "dir/sub");
    out.assert_not_denied("delete-file", "dir/only.txt");
    out.assert_not_denied("delete-file", "dir/sub/deep.txt");
    assert_refs_unchanged(&server, &before);
    reset_to_origin(&aw, "main");
    aw.rm("keep.txt");
    aw.commit_all("remove a file");
    aw.push_signed(&["origin", "main"]).assert_ok();

    let bw = Workdir::clone(&bob, &server);
    bw.switch("main");
    bw.rm("dir");
    bw.commit_all("remove dir");
    bw.push_signed(&["origin", "main"]).assert_ok();
    assert_eq!(server.ls_tree("main"), Vec::<String>::new());
}

#[test]
fn changing_a_path_kind_is_a_delete_and_a_create() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("x", "a file\n")]);
    ow.register(&[&alice]);
    ow.grant(&[
        ("refs/main.conf", "anyone fast-forward ^heads/main$\n"),
        (
            "branches/alice.conf",
            &format!(
                "{} create-directory,create-file,modify ^.*$\n",
                alice.fingerprint()
            ),
        ),
    ]);
    let before = server.refs();
    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.rm("x");
    aw.write("x/y", "now a directory\n");
    aw.commit_all("file to directory");
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_denied("delete-file", "x");
    out.assert_not_denied("create-directory", "x");
    out.assert_not_denied("create-file", "x/y");
    out.assert_not_denied("modify", "x");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn a_gitlink_is_a_submodule() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let main = push_main(&ow, &[("README", "r\n")]);
    ow.register(&[&alice]);
    ow.grant(&[
        ("refs/main.conf", "anyone fast-forward ^heads/main$\n"),
        (
            "branches/alice.conf",
            &format!(
                "{} create-directory,create-file ^.*$\n",
                alice.fingerprint()
            ),
        ),
    ]);
    let before = server.refs();
    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.git_ok(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{main},vendor/lib"),
    ]);
    aw.git_ok(&["commit", "--quiet", "-m", "add a submodule"]);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_denied("create-submodule", "vendor/lib");
    out.assert_not_denied("create-directory", "vendor");
    out.assert_not_denied("create-file", "vendor/lib");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn branch_lines_scope_the_rules_that_follow() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "main\n")]);
    ow.push_signed(&["origin", "main:docs"]).assert_ok();
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &format!("{a} fast-forward ^heads/(main|docs)$\n"),
        ),
        (
            "branches/alice.conf",
            &conf(&[
                "# before any branch line: every branch",
                &format!("{a} create-file ^global\\.txt$"),
                "branch ^heads/docs$",
                &format!("{a} create-file,modify ^.*$"),
            ]),
        ),
    ]);
    let aw = Workdir::clone(&alice, &server);
    aw.switch("docs");
    aw.write("README", "docs\n");
    aw.write("guide.md", "guide\n");
    aw.commit_all("docs");
    aw.push_signed(&["origin", "docs"]).assert_ok();

    aw.switch("main");
    let before = server.refs();
    aw.write("README", "changed on main\n");
    aw.commit_all("main");
    aw.push_signed(&["origin", "main"])
        .assert_denied("modify", "README");
    assert_refs_unchanged(&server, &before);
    reset_to_origin(&aw, "main");
    aw.write("global.txt", "anywhere\n");
    aw.commit_all("global");
    aw.push_signed(&["origin", "main"]).assert_ok();
}

#[test]
fn all_new_objects_in_quarantine_are_judged() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &format!("{a} create-branch ^heads/alice/.*$\n"),
        ),
        (
            "branches/alice.conf",
            &format!("{a} create-directory,create-file ^public(/.*)?$\n"),
        ),
    ]);
    let before = server.refs();

    // A brand-new history: every object of it is only in the quarantine
    // while the hook runs.
    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("fresh");
    aw.write("public/index.html", "<p>hi</p>\n");
    aw.write("secret/key.txt", "a secret only this push carries\n");
    aw.commit_all("fresh");
    let secret_blob = aw.rev_parse("HEAD:secret/key.txt");
    let out = aw.push_signed(&["origin", "fresh:refs/heads/alice/fresh"]);
    out.assert_denied("create-directory", "secret");
    out.assert_denied("create-file", "secret/key.txt");
    out.assert_not_denied("create-file", "public/index.html");
    assert_refs_unchanged(&server, &before);
    assert!(
        !server.git(&["cat-file", "-e", &secret_blob]).success(),
        "the objects of a rejected push were kept"
    );

    aw.rm("secret");
    let accepted = aw.commit_all("public only");
    aw.push_signed(&["origin", "fresh:refs/heads/alice/fresh"])
        .assert_ok();
    assert_eq!(server.ref_value("refs/heads/alice/fresh"), Some(accepted));
}

#[test]
fn max_file_size_rejects_a_blob_over_the_limit() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    server.set_config("gitapps.maxFileSize", "1000");
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("small.txt", "x".repeat(500));
    ow.commit_all("small");
    ow.push_signed(&["origin", "main"]).assert_ok();

    let before = server.refs();
    ow.write("big.bin", "y".repeat(2000));
    ow.commit_all("big");
    let out = ow.push_signed(&["origin", "main"]);
    out.assert_failed();
    out.assert_stderr_contains("big.bin");
    assert_refs_unchanged(&server, &before);

    // The size of the content counts, whatever else changes.
    ow.git_ok(&["reset", "--quiet", "--hard", "origin/main"]);
    ow.write("small.txt", "z".repeat(1000));
    ow.commit_all("exactly at the limit");
    ow.push_signed(&["origin", "main"]).assert_ok();
}

//! SPEC section 6: `gitapps-hook install`.

use gitapps_tests::{run, sealed_command, short_tempdir, Server, User, Workdir};

/// The lines of a policy file that are not comments or blank.
fn rule_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn install_sets_up_config_hooks_and_the_policy_branch() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    assert_eq!(
        server.git_ok(&["rev-parse", "--is-bare-repository"]),
        "true"
    );
    assert_eq!(
        server.config("gitapps.owner").as_deref(),
        Some(owner.fingerprint())
    );
    let seed = server
        .config("receive.certNonceSeed")
        .expect("receive.certNonceSeed is set");
    assert!(seed.len() >= 16, "a short nonce seed: {seed:?}");
    assert_eq!(
        server.config("receive.certNonceSlop").as_deref(),
        Some("30")
    );
    // The hook verifies signatures itself; git need not run gpg per push.
    assert_eq!(server.config("gpg.program").as_deref(), Some("true"));
    for hook in ["pre-receive", "reference-transaction"] {
        use std::os::unix::fs::PermissionsExt;
        let path = server.path().join("hooks").join(hook);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "{hook} is not executable");
    }

    let branch = "refs/heads/apps/access-control";
    let mut files = server.ls_tree(branch);
    files.sort();
    assert_eq!(
        files,
        [
            "branches/owner.conf".to_string(),
            owner.key_path(),
            "refs/owner.conf".to_string()
        ]
    );
    let refs = server.read_file(branch, "refs/owner.conf").unwrap();
    assert_eq!(
        rule_lines(&refs),
        ["owner create-branch,create-tag,fast-forward,force,delete ^.*$"]
    );
    let tree = server.read_file(branch, "branches/owner.conf").unwrap();
    assert_eq!(
        rule_lines(&tree),
        ["owner create-directory,create-file,create-symlink,create-submodule,modify,delete ^.*$"]
    );
    let key = server.read_file(branch, &owner.key_path()).unwrap();
    assert!(
        key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{key}"
    );

    // Each server gets its own seed.
    let other = Server::install(&owner);
    assert_ne!(other.config("receive.certNonceSeed"), Some(seed));
}

#[test]
fn install_options() {
    let owner = User::new("owner");
    let server = Server::install_with(&owner, &["--nonce-slop", "5"]);
    assert_eq!(server.config("receive.certNonceSlop").as_deref(), Some("5"));

    let open = Server::install_with(&owner, &["--open-registration"]);
    let closed = Server::install(&owner);
    assert!(
        open.ls_tree("apps/access-control").len() > closed.ls_tree("apps/access-control").len(),
        "--open-registration adds its rules to apps/access-control"
    );
}

#[test]
fn install_into_an_existing_repository_keeps_its_history() {
    let owner = User::new("owner");
    let dir = short_tempdir("e");
    let repo = dir.path().join("old.git");
    let mut cmd = sealed_command("git", dir.path(), None);
    cmd.args(["init", "--quiet", "--bare"]).arg(&repo);
    run(cmd, None).assert_ok();
    // History pushed before the hook existed.
    let wd = Workdir::clone_url(&owner, repo.to_str().unwrap());
    wd.switch_orphan("main");
    wd.write("README", "old\n");
    let main = wd.commit_all("old history");
    wd.push_unsigned(&["origin", "main"]).assert_ok();

    let key = owner.public_key_file();
    let mut cmd = sealed_command(gitapps_tests::bin("gitapps-hook"), dir.path(), None);
    cmd.arg("install").arg(&repo).arg("--owner").arg(&key);
    run(cmd, None).assert_ok();

    let git = |args: &[&str]| {
        let mut cmd = sealed_command("git", dir.path(), None);
        cmd.arg("--git-dir").arg(&repo).args(args);
        run(cmd, None)
    };
    assert_eq!(
        git(&["rev-parse", "refs/heads/main"]).stdout_trimmed(),
        main
    );
    git(&["rev-parse", "--verify", "refs/heads/apps/access-control"]).assert_ok();
    // The audit log starts here, with its genesis record.
    let genesis = git(&["cat-file", "-p", "refs/apps/push-certs:genesis"]);
    genesis.assert_ok();
    assert!(
        genesis.stdout.starts_with(&format!(
            "gitapps genesis 1\nowner {}\n",
            owner.fingerprint()
        )),
        "{genesis}"
    );
    // From now on pushes are checked.
    wd.write("README", "new\n");
    wd.commit_all("new");
    wd.push_unsigned(&["origin", "main"])
        .assert_rejected_with("--signed");
    wd.push_signed(&["origin", "main"]).assert_ok();
}

#[test]
fn install_rejects_a_key_file_that_is_not_a_key() {
    let owner = User::new("owner");
    let dir = short_tempdir("e");
    let key = dir.path().join("owner.asc");
    std::fs::write(&key, "not a key\n").unwrap();
    let repo = dir.path().join("repo.git");
    let mut cmd = sealed_command(gitapps_tests::bin("gitapps-hook"), owner.home(), None);
    cmd.arg("install").arg(&repo).arg("--owner").arg(&key);
    let out = run(cmd, None);
    out.assert_failed();
    assert!(!repo.join("refs/heads/apps/access-control").exists());
}

/// In a repository shared by a group (`core.sharedRepository`), the files
/// the hook writes (the ledger, the key index, the policy cache) can be written by the other
/// members' pushes too.
#[test]
fn files_the_hook_writes_follow_core_shared_repository() {
    use std::os::unix::fs::PermissionsExt;
    let owner = User::new("owner");
    let server = Server::install(&owner);
    server.set_config("core.sharedRepository", "group");
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("README", "shared\n");
    ow.commit_all("main");
    ow.push_signed(&["origin", "main"]).assert_ok();
    let gitapps = server.path().join("gitapps");
    for (path, group_bits) in [
        (gitapps.clone(), 0o2070),
        (gitapps.join("ledger"), 0o060),
        (gitapps.join("key-index"), 0o060),
        (gitapps.join("policy-cache"), 0o060),
    ] {
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(
            mode & group_bits,
            group_bits,
            "{} is {mode:o}",
            path.display()
        );
    }
}

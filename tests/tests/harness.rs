//! The harness itself, proven against plain git and gpg (no gitapps code):
//! keys are what they claim to be, and `git push --signed` to a bare repository
//! with `receive.certNonceSeed` hands a hook the certificate and the variables
//! the adversarial tests imitate.

use gitapps_tests::cert::{PushCert, RefUpdate};
use gitapps_tests::{run, sealed_command, short_tempdir, User, Workdir, ZERO_OID};

fn is_fingerprint(s: &str) -> bool {
    s.len() == 40
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
}

/// A bare repository whose pre-receive hook dumps its environment, stdin and
/// certificate to files, and accepts.
struct DumpServer {
    dir: tempfile::TempDir,
}

impl DumpServer {
    fn new() -> DumpServer {
        let dir = short_tempdir("d");
        let repo = dir.path().join("repo.git");
        let mut cmd = sealed_command("git", dir.path(), None);
        cmd.args(["init", "--quiet", "--bare"]).arg(&repo);
        run(cmd, None).assert_ok();
        let mut cmd = sealed_command("git", dir.path(), None);
        cmd.arg("--git-dir")
            .arg(&repo)
            .args(["config", "receive.certNonceSeed", "test-seed"]);
        run(cmd, None).assert_ok();
        let hook = repo.join("hooks/pre-receive");
        let out = dir.path().join("out");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh\nenv | grep '^GIT_' | sort > {out}.env\ncat > {out}.stdin\n\
                 if test -n \"$GIT_PUSH_CERT\"; then git cat-file blob \"$GIT_PUSH_CERT\" > {out}.cert; fi\n",
                out = out.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        DumpServer { dir }
    }

    fn url(&self) -> String {
        self.dir
            .path()
            .join("repo.git")
            .to_str()
            .unwrap()
            .to_string()
    }

    fn dumped(&self, what: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("out.{what}"))).unwrap_or_default()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.dumped("env")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
    }
}

#[test]
fn users_have_distinct_ed25519_keys() {
    let alice = User::new("alice");
    let bob = User::new("bob");
    assert!(is_fingerprint(alice.fingerprint()), "{alice:?}");
    assert_ne!(alice.fingerprint(), bob.fingerprint());
    assert_eq!(alice.signing_fingerprint(), alice.fingerprint());
    assert!(alice
        .public_key_armored()
        .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    let listing = alice.gpg(&["--with-colons", "--list-keys", alice.fingerprint()]);
    listing.assert_ok();
    assert!(listing.stdout.contains(":ed25519:"), "{listing}");
    assert_ne!(alice.gnupghome(), bob.gnupghome());
    assert!(
        alice.gnupghome().as_os_str().len() < 60,
        "GNUPGHOME too long for agent sockets"
    );
}

#[test]
fn detached_signatures_verify_with_gpg() {
    let alice = User::new("alice");
    let data = b"certificate version 0.1\n";
    let sig = alice.sign_detached(data);
    assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"), "{sig}");
    let dir = alice.scratch_dir();
    std::fs::write(dir.join("data"), data).unwrap();
    std::fs::write(dir.join("data.asc"), &sig).unwrap();
    let data_path = dir.join("data");
    let sig_path = dir.join("data.asc");
    alice
        .gpg(&[
            "--verify",
            sig_path.to_str().unwrap(),
            data_path.to_str().unwrap(),
        ])
        .assert_ok();
}

#[test]
fn special_keys() {
    let sub = User::with_signing_subkey("sub");
    assert!(is_fingerprint(sub.signing_fingerprint()));
    assert_ne!(
        sub.signing_fingerprint(),
        sub.fingerprint(),
        "the subkey signs, not the primary"
    );

    let rsa = User::rsa("rsa");
    let listing = rsa.gpg(&["--with-colons", "--list-keys", rsa.fingerprint()]);
    assert!(
        listing
            .stdout
            .lines()
            .any(|l| l.starts_with("pub:") && l.split(':').nth(3) == Some("1")),
        "{listing}"
    );

    // The expired and revoked users still sign (with their private copy) ...
    let expired = User::expired("expired");
    let revoked = User::revoked("revoked");
    for user in [&expired, &revoked] {
        assert!(user.sign_detached(b"x").contains("BEGIN PGP SIGNATURE"));
    }
    // ... but what they publish is expired / revoked, as another gpg sees it.
    let viewer = User::new("viewer");
    for (user, validity) in [(&expired, "e"), (&revoked, "r")] {
        let file = user.public_key_file();
        viewer
            .gpg(&["--import", file.to_str().unwrap()])
            .assert_ok();
        let listing = viewer.gpg(&["--with-colons", "--list-keys", user.fingerprint()]);
        assert!(
            listing
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("pub:{validity}:"))),
            "{listing}"
        );
    }
}

#[test]
fn plain_git_signed_push_gives_hook_a_certificate() {
    let server = DumpServer::new();
    let alice = User::new("alice");
    let wd = Workdir::clone_url(&alice, &server.url());
    wd.switch_orphan("main");
    wd.write("README", "hello\n");
    let commit = wd.commit_all("first");
    wd.push_signed(&["origin", "main"]).assert_ok();

    assert_eq!(
        server.env_var("GIT_PUSH_CERT_NONCE_STATUS").as_deref(),
        Some("OK")
    );
    assert_eq!(server.env_var("GIT_PUSH_CERT_STATUS").as_deref(), Some("G"));
    assert_eq!(
        server.env_var("GIT_PUSH_CERT_KEY").as_deref(),
        Some(alice.signing_key_id())
    );
    assert_eq!(server.env_var("GIT_PUSH_CERT_SIGNER"), Some(alice.ident()));
    assert!(
        server.env_var("GIT_QUARANTINE_PATH").is_some(),
        "{}",
        server.dumped("env")
    );
    let update = RefUpdate::new(ZERO_OID, &commit, "refs/heads/main");
    assert_eq!(server.dumped("stdin"), format!("{update}\n"));

    // The certificate has exactly the shape cert::PushCert builds.
    let cert = server.dumped("cert");
    let (payload, signature) = cert
        .split_once("-----BEGIN PGP SIGNATURE-----")
        .expect("signed certificate");
    assert!(
        signature
            .trim_end()
            .ends_with("-----END PGP SIGNATURE-----"),
        "{cert}"
    );
    let line = |prefix: &str| {
        payload
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?}: {cert}"))
    };
    let pusher = line("pusher ");
    assert!(
        pusher.starts_with(&format!("{} ", alice.fingerprint())),
        "{cert}"
    );
    let rebuilt = PushCert {
        pusher: pusher.to_string(),
        pushee: line("pushee ").to_string(),
        nonce: line("nonce ").to_string(),
        commands: vec![update.to_string()],
    };
    assert_eq!(rebuilt.payload(), payload);
    assert_eq!(Some(rebuilt.nonce), server.env_var("GIT_PUSH_CERT_NONCE"));
}

#[test]
fn plain_git_signed_push_with_signing_subkey() {
    let server = DumpServer::new();
    let sub = User::with_signing_subkey("sub");
    let wd = Workdir::clone_url(&sub, &server.url());
    wd.switch_orphan("main");
    wd.write("a", "a\n");
    wd.commit_all("a");
    wd.push_signed(&["origin", "main"]).assert_ok();
    assert_eq!(
        server.env_var("GIT_PUSH_CERT_KEY").as_deref(),
        Some(sub.signing_key_id())
    );
    assert!(server
        .dumped("cert")
        .contains(&format!("pusher {} ", sub.fingerprint())));
}

#[test]
fn plain_git_unsigned_push_has_no_certificate() {
    let server = DumpServer::new();
    let alice = User::new("alice");
    let wd = Workdir::clone_url(&alice, &server.url());
    wd.switch_orphan("main");
    wd.write("a", "a\n");
    wd.commit_all("a");
    wd.push_unsigned(&["origin", "main"]).assert_ok();
    assert_eq!(
        server.env_var("GIT_PUSH_CERT"),
        None,
        "{}",
        server.dumped("env")
    );
    assert_eq!(server.env_var("GIT_PUSH_CERT_NONCE_STATUS"), None);
}

#[test]
fn workdir_helpers_make_the_tree_they_say() {
    let server = DumpServer::new();
    let alice = User::new("alice");
    let wd = Workdir::clone_url(&alice, &server.url());
    wd.switch_orphan("main");
    wd.write("dir/file", "x\n");
    wd.write("script", "#!/bin/sh\n");
    wd.chmod_x("script");
    wd.symlink("link", "dir/file");
    let first = wd.commit_all("first");
    let tree = wd.git_ok(&["ls-tree", "-r", "HEAD"]);
    assert!(
        tree.contains("100644 blob") && tree.contains("\tdir/file"),
        "{tree}"
    );
    assert!(
        tree.lines()
            .any(|l| l.starts_with("100755") && l.ends_with("\tscript")),
        "{tree}"
    );
    assert!(
        tree.lines()
            .any(|l| l.starts_with("120000") && l.ends_with("\tlink")),
        "{tree}"
    );
    wd.rm("dir");
    let second = wd.commit_all("second");
    assert_ne!(first, second);
    assert!(!wd.git_ok(&["ls-tree", "-r", "HEAD"]).contains("dir/file"));

    let plumbed = wd.commit_files(
        Some("HEAD"),
        &[("new/file", Some("n\n")), ("script", None)],
        "plumbing",
    );
    let tree = wd.git_ok(&["ls-tree", "-r", "--name-only", &plumbed]);
    assert_eq!(tree.lines().collect::<Vec<_>>(), ["link", "new/file"]);
    assert_eq!(wd.head(), second, "commit_files leaves HEAD alone");
}

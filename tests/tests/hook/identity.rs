//! SPEC section 2: who may push at all — signed pushes, the keyring,
//! self-registration.

use gitapps_tests::{Server, User, Workdir};

use crate::common::{assert_refs_unchanged, conf, push_main};

#[test]
fn owner_signed_push_is_accepted() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let commit = push_main(&ow, &[("README", "hello\n"), ("src/lib.rs", "// lib\n")]);
    assert_eq!(
        server.ref_value("refs/heads/main").as_deref(),
        Some(commit.as_str())
    );
}

/// git's nonce is `<seconds>-<HMAC(repo path, seconds)>`: every push to a
/// repository within the same second gets the same nonce, and git calls it
/// `OK` each time. Those are different certificates, not replays.
#[test]
fn pushes_within_the_same_second_are_all_accepted() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("file", "0\n");
    ow.commit_all("0");
    // Start right after a second begins, so that the pushes share it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_nanos(u64::from(
        1_000_000_000 - now.subsec_nanos(),
    )));
    ow.push_signed(&["origin", "main"]).assert_ok();
    ow.write("file", "1\n");
    let tip = ow.commit_all("1");
    ow.push_signed(&["origin", "main"]).assert_ok();
    assert_eq!(server.ref_value("refs/heads/main"), Some(tip));
    let log = server.push_certs();
    assert_eq!(log.len(), 2);
    let nonce = |cert: &str| {
        cert.lines()
            .find(|l| l.starts_with("nonce "))
            .map(str::to_string)
    };
    if nonce(&log[0].cert) != nonce(&log[1].cert) {
        eprintln!(
            "note: the two pushes got different nonces (the machine was slow); nothing proven"
        );
    }
}

#[test]
fn unsigned_push_is_rejected_with_a_hint_to_sign() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("README", "hello\n");
    ow.commit_all("unsigned");
    let before = server.refs();
    let out = ow.push_unsigned(&["origin", "main"]);
    out.assert_rejected_with("--signed");
    assert_refs_unchanged(&server, &before);
    assert_eq!(server.push_cert_count(), 0);
}

#[test]
fn unknown_key_is_rejected_with_how_to_register() {
    let owner = User::new("owner");
    let stranger = User::new("stranger");
    let server = Server::install(&owner);
    // Even a policy that lets anyone do anything admits no unknown key.
    let ow = Workdir::clone(&owner, &server);
    ow.grant(&[(
        "refs/anyone.conf",
        "anyone create-branch,fast-forward ^.*$\n",
    )]);
    ow.grant(&[(
        "branches/anyone.conf",
        "anyone create-directory,create-file,modify,delete ^.*$\n",
    )]);
    let before = server.refs();

    let sw = Workdir::clone(&stranger, &server);
    sw.switch_orphan("main");
    sw.write("README", "hi\n");
    sw.commit_all("stranger");
    let out = sw.push_signed(&["origin", "main"]);
    out.assert_failed();
    out.assert_stderr_contains(stranger.fingerprint());
    // How to register: put the key at keys/<FPR>.asc on apps/access-control.
    out.assert_stderr_mentions(&["keys/", "apps/access-control"]);
    assert_refs_unchanged(&server, &before);
}

#[test]
fn registered_users_push_where_policy_allows() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "hello\n")]);
    ow.register(&[&alice]);
    let a = alice.fingerprint();
    ow.grant(&[
        (
            "refs/alice.conf",
            &conf(&[&format!("{a} fast-forward ^heads/main$")]),
        ),
        (
            "branches/alice.conf",
            &conf(&[&format!("{a} create-file ^notes/[^/]+$")]),
        ),
    ]);

    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.write("notes/alice.txt", "from alice\n");
    let commit = aw.commit_all("alice's note");
    aw.push_signed(&["origin", "main"])
        .assert_denied("create-directory", "notes");
    ow.grant(&[(
        "branches/alice-dir.conf",
        &conf(&[&format!("{a} create-directory ^notes$")]),
    )]);
    aw.push_signed(&["origin", "main"]).assert_ok();
    assert_eq!(server.ref_value("refs/heads/main"), Some(commit));
}

#[test]
fn signing_subkey_user_is_identified_by_the_primary_fingerprint() {
    let owner = User::new("owner");
    let sub = User::with_signing_subkey("sub");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&sub]);
    let s = sub.fingerprint();
    ow.grant(&[
        (
            "refs/sub.conf",
            &conf(&[&format!("{s} create-branch ^heads/sub/.*$")]),
        ),
        (
            "branches/sub.conf",
            &conf(&[&format!("{s} create-file ^.*$")]),
        ),
    ]);
    let before = server.push_cert_count();

    let sw = Workdir::clone(&sub, &server);
    sw.switch_orphan("sub/work");
    sw.write("file", "x\n");
    sw.commit_all("by subkey");
    sw.push_signed(&["origin", "sub/work"]).assert_ok();
    assert_eq!(server.push_cert_count(), before + 1);
    assert_eq!(
        server.push_certs()[0].pusher.trim_end(),
        s,
        "pusher is the primary key's fingerprint"
    );
}

#[test]
fn rsa_user_can_push() {
    let owner = User::new("owner");
    let rsa = User::rsa("rsa");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&rsa]);
    ow.grant(&[
        (
            "refs/rsa.conf",
            &format!("{} create-branch ^heads/rsa$\n", rsa.fingerprint()),
        ),
        (
            "branches/rsa.conf",
            &format!("{} create-file ^.*$\n", rsa.fingerprint()),
        ),
    ]);
    let rw = Workdir::clone(&rsa, &server);
    rw.switch_orphan("rsa");
    rw.write("file", "x\n");
    let commit = rw.commit_all("rsa");
    rw.push_signed(&["origin", "rsa"]).assert_ok();
    assert_eq!(server.ref_value("refs/heads/rsa"), Some(commit));
}

/// An expired or revoked key in the keyring admits nothing, even where the
/// policy lets anyone push.
fn assert_unusable_key_rejected(user: &User, reason: &str) {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[user]);
    ow.grant(&[
        ("refs/anyone.conf", "anyone create-branch ^.*$\n"),
        ("branches/anyone.conf", "anyone create-file ^.*$\n"),
    ]);
    let before = server.refs();
    let uw = Workdir::clone(user, &server);
    uw.switch_orphan("topic");
    uw.write("file", "x\n");
    uw.commit_all("x");
    let out = uw.push_signed(&["origin", "topic"]);
    out.assert_failed();
    out.assert_stderr_mentions(&[reason]);
    assert_refs_unchanged(&server, &before);
}

#[test]
fn expired_key_is_rejected() {
    assert_unusable_key_rejected(&User::expired("expired"), "expired");
}

#[test]
fn revoked_key_is_rejected() {
    assert_unusable_key_rejected(&User::revoked("revoked"), "revoked");
}

#[test]
fn server_side_keyring_adds_keys() {
    let owner = User::new("owner");
    let carol = User::new("carol");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.grant(&[
        (
            "refs/anyone.conf",
            "anyone create-branch ^heads/anyone/.*$\n",
        ),
        ("branches/anyone.conf", "anyone create-file ^.*$\n"),
    ]);
    let cw = Workdir::clone(&carol, &server);
    cw.switch_orphan("anyone/carol");
    cw.write("file", "x\n");
    let commit = cw.commit_all("carol");
    cw.push_signed(&["origin", "anyone/carol"])
        .assert_rejected_with(carol.fingerprint());

    // The admin adds carol's key to a keyring file on the server.
    let keyring = carol.public_key_file();
    server.set_config("gitapps.keyring", keyring.to_str().unwrap());
    cw.push_signed(&["origin", "anyone/carol"]).assert_ok();
    assert_eq!(server.ref_value("refs/heads/anyone/carol"), Some(commit));
    assert!(server
        .read_file("apps/access-control", &carol.key_path())
        .is_none());
}

/// The rules an owner adds so that registered users get a namespace.
fn grant_user_namespaces(ow: &Workdir<'_>) {
    ow.grant(&[
        (
            "refs/users.conf",
            "anyone create-branch,fast-forward ^heads/users/$user_id/.*$\n",
        ),
        (
            "branches/users.conf",
            &conf(&[
                "branch ^heads/users/$user_id/.*$",
                "anyone create-directory,create-file,modify,delete ^.*$",
            ]),
        ),
    ]);
}

#[test]
fn self_registration_with_open_registration() {
    let owner = User::new("owner");
    let newcomer = User::new("newcomer");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let ow = Workdir::clone(&owner, &server);
    grant_user_namespaces(&ow);
    let n = newcomer.fingerprint();
    let branch = format!("users/{n}/topic");

    let nw = Workdir::clone(&newcomer, &server);
    nw.switch_orphan(&branch);
    nw.write("hello.txt", "hello\n");
    nw.commit_all("hello");
    // Not registered yet: rejected.
    nw.push_signed(&["origin", &branch]).assert_rejected_with(n);
    assert_eq!(server.ref_value(&format!("refs/heads/{branch}")), None);

    // Register: add keys/<own FPR>.asc on apps/access-control.
    let files = [(
        newcomer.key_path(),
        newcomer.public_key_armored().to_string(),
    )];
    let files: Vec<(&str, Option<&str>)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), Some(c.as_str())))
        .collect();
    nw.edit_access_control(&files).assert_ok();
    assert_eq!(
        server
            .read_file("apps/access-control", &newcomer.key_path())
            .as_deref(),
        Some(newcomer.public_key_armored())
    );
    assert_eq!(server.push_certs()[0].pusher.trim_end(), n);

    // Now the newcomer pushes where the policy lets them ...
    nw.push_signed(&["origin", &branch]).assert_ok();
    assert!(server.ref_value(&format!("refs/heads/{branch}")).is_some());
    // ... and nowhere else.
    nw.switch_orphan("main");
    nw.write("x", "x\n");
    nw.commit_all("x");
    nw.push_signed(&["origin", "main"])
        .assert_denied("create-branch", "heads/main");

    // They may update their own key (here: a new user id on it).
    newcomer
        .gpg(&["--quick-add-uid", n, "Newcomer Two <two@example.com>"])
        .assert_ok();
    let updated = newcomer.export_public_key();
    assert_ne!(updated, newcomer.public_key_armored());
    nw.edit_access_control(&[(&newcomer.key_path(), Some(&updated))])
        .assert_ok();
}

#[test]
fn registration_is_closed_without_open_registration() {
    let owner = User::new("owner");
    let newcomer = User::new("newcomer");
    let server = Server::install(&owner);
    let before = server.refs();
    let nw = Workdir::clone(&newcomer, &server);
    let out =
        nw.edit_access_control(&[(&newcomer.key_path(), Some(newcomer.public_key_armored()))]);
    out.assert_denied("fast-forward", "heads/apps/access-control");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn registration_grants_nothing_else() {
    let owner = User::new("owner");
    let newcomer = User::new("newcomer");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let before = server.refs();
    let nw = Workdir::clone(&newcomer, &server);
    let out = nw.edit_access_control(&[
        (&newcomer.key_path(), Some(newcomer.public_key_armored())),
        (
            "refs/mine.conf",
            Some("anyone create-branch,fast-forward,force,delete ^.*$\n"),
        ),
    ]);
    out.assert_denied("create-file", "refs/mine.conf");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn key_file_named_with_someone_elses_fingerprint_is_rejected() {
    let owner = User::new("owner");
    let newcomer = User::new("newcomer");
    let other = User::new("other");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let ow = Workdir::clone(&owner, &server);
    let before = server.refs();

    // A newcomer's own key under another person's fingerprint.
    let nw = Workdir::clone(&newcomer, &server);
    nw.edit_access_control(&[(&other.key_path(), Some(newcomer.public_key_armored()))])
        .assert_rejected_with(newcomer.fingerprint());
    assert_refs_unchanged(&server, &before);

    // Another person's real key, correctly named, pushed by a newcomer: the
    // newcomer's key is still unknown, and it is not their $user_id.
    nw.edit_access_control(&[(&other.key_path(), Some(other.public_key_armored()))])
        .assert_rejected_with(newcomer.fingerprint());
    assert_refs_unchanged(&server, &before);

    // Even the owner, who may write any file, cannot name a key wrongly.
    let out = ow.edit_access_control(&[(&other.key_path(), Some(newcomer.public_key_armored()))]);
    out.assert_failed();
    out.assert_stderr_contains(&other.key_path());
    assert_refs_unchanged(&server, &before);
}

#[test]
fn a_key_file_with_more_than_one_certificate_is_rejected() {
    let owner = User::new("owner");
    let newcomer = User::new("newcomer");
    let stowaway = User::new("stowaway");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let before = server.refs();
    // The newcomer's own key file, named right, carrying a second key.
    let two = format!(
        "{}{}",
        newcomer.public_key_armored(),
        stowaway.public_key_armored()
    );
    let nw = Workdir::clone(&newcomer, &server);
    nw.edit_access_control(&[(&newcomer.key_path(), Some(&two))])
        .assert_rejected_with(newcomer.fingerprint());
    assert_refs_unchanged(&server, &before);
    // Not even the owner may add such a file.
    let ow = Workdir::clone(&owner, &server);
    ow.edit_access_control(&[(&newcomer.key_path(), Some(&two))])
        .assert_failed()
        .assert_stderr_contains(&newcomer.key_path());
    assert_refs_unchanged(&server, &before);
}

#[test]
fn registered_user_cannot_add_someone_elses_key() {
    let owner = User::new("owner");
    let bob = User::new("bob");
    let carol = User::new("carol");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&bob]);
    let before = server.refs();
    let bw = Workdir::clone(&bob, &server);
    let out = bw.edit_access_control(&[(&carol.key_path(), Some(carol.public_key_armored()))]);
    out.assert_denied("create-file", &carol.key_path());
    assert_refs_unchanged(&server, &before);
}

#[test]
fn a_denied_ref_rejects_the_whole_push() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.register(&[&alice]);
    grant_user_namespaces(&ow);
    let before = server.refs();
    let aw = Workdir::clone(&alice, &server);
    aw.switch_orphan("work");
    aw.write("file", "x\n");
    aw.commit_all("x");
    let mine = format!("work:refs/heads/users/{}/work", alice.fingerprint());
    let out = aw.push_signed(&["origin", &mine, "work:refs/heads/main"]);
    out.assert_denied("create-branch", "heads/main");
    out.assert_not_denied(
        "create-branch",
        &format!("heads/users/{}/work", alice.fingerprint()),
    );
    assert_refs_unchanged(&server, &before);
}

/// `key` (armored) with `extra` bytes of a user-attribute packet appended:
/// what issue 9's attacker registered (400 MB; smaller here).
fn key_with_big_attribute(user: &User, extra: usize) -> String {
    let dir = user.scratch_dir();
    let armored = dir.join("key.asc");
    std::fs::write(&armored, user.public_key_armored()).unwrap();
    let binary = dir.join("key.gpg");
    user.gpg(&[
        "--dearmor",
        "-o",
        binary.to_str().unwrap(),
        armored.to_str().unwrap(),
    ])
    .assert_ok();
    let mut bytes = std::fs::read(&binary).unwrap();
    // New-format user attribute packet (tag 17), five-octet length.
    bytes.push(0xD1);
    bytes.push(0xFF);
    bytes.extend((extra as u32).to_be_bytes());
    bytes.extend(std::iter::repeat_n(0u8, extra));
    std::fs::write(&binary, &bytes).unwrap();
    let out = user.gpg(&["--enarmor", "-o", "-", binary.to_str().unwrap()]);
    out.assert_ok();
    out.stdout
        .replace("PGP ARMORED FILE", "PGP PUBLIC KEY BLOCK")
}

/// Issue 9: a self-registered key file with a huge user attribute made every
/// push signed by an unknown key or a subkey slow. Key files are capped when
/// a push adds them.
#[test]
fn a_key_file_over_the_limits_cannot_be_registered() {
    use gitapps_policy::RejectCode;
    let owner = User::new("owner");
    let newcomer = User::new("newcomer");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let before = server.refs();
    let big = key_with_big_attribute(&newcomer, 1 << 20);
    let nw = Workdir::clone(&newcomer, &server);
    let out = nw.edit_access_control(&[(&newcomer.key_path(), Some(&big))]);
    out.assert_reject_code(RejectCode::InvalidPolicy);
    out.assert_stderr_mentions(&[&newcomer.key_path(), "gitapps.maxKeyFileSize"]);
    // Not even the owner may add it.
    let ow = Workdir::clone(&owner, &server);
    ow.edit_access_control(&[(&newcomer.key_path(), Some(&big))])
        .assert_reject_code(RejectCode::InvalidPolicy);
    assert_refs_unchanged(&server, &before);
    // Nor a key of 40 user ids.
    for i in 0..40 {
        newcomer
            .gpg(&[
                "--quick-add-uid",
                newcomer.fingerprint(),
                &format!("Newcomer {i} <n{i}@example.com>"),
            ])
            .assert_ok();
    }
    let out =
        nw.edit_access_control(&[(&newcomer.key_path(), Some(&newcomer.export_public_key()))]);
    out.assert_reject_code(RejectCode::InvalidPolicy);
    out.assert_stderr_mentions(&["user ids", "gitapps.maxKeyUserIds"]);
    assert_refs_unchanged(&server, &before);
}

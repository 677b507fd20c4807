//! SPEC section 3, the audit log: `refs/apps/push-certs`.

use gitapps_policy::RejectCode;
use gitapps_tests::{Server, User, Workdir};

use crate::common::{assert_refs_unchanged, push_main};

#[test]
fn each_accepted_push_adds_one_certificate_and_rejected_ones_none() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    assert_eq!(server.push_cert_count(), 0, "install pushes nothing");
    let genesis = server.audit_log();
    assert_eq!(genesis.len(), 1, "install writes the genesis record");
    let ow = Workdir::clone(&owner, &server);

    let main = push_main(&ow, &[("README", "1\n")]);
    let log = server.push_certs();
    assert_eq!(log.len(), 1);
    let first = &log[0];
    assert_eq!(
        first.parents,
        [genesis[0].commit.clone(), main.clone()],
        "the first push record follows the genesis, and keeps the pushed commit: {first:?}"
    );
    assert_eq!(first.files, ["cert", "push", "pusher", "settings"]);
    assert_eq!(first.pusher, format!("{}\n", owner.fingerprint()));
    let cert = &first.cert;
    assert!(cert.starts_with("certificate version 0.1\n"), "{cert}");
    assert!(
        cert.contains(&format!("\npusher {} ", owner.fingerprint())),
        "{cert}"
    );
    assert!(
        cert.contains(&format!(
            "\n0000000000000000000000000000000000000000 {main} refs/heads/main\n"
        )),
        "{cert}"
    );
    assert!(
        cert.trim_end().ends_with("-----END PGP SIGNATURE-----"),
        "{cert}"
    );
    assert_certificate_verifies(&owner, cert);

    // A second push: one more entry, on top of the first.
    ow.register(&[&alice]);
    let log = server.push_certs();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].parents[0], log[1].commit);
    assert!(
        log[0].cert.contains("refs/heads/apps/access-control"),
        "{}",
        log[0].cert
    );
    assert_certificate_verifies(&owner, &log[0].cert);

    // Rejected pushes, signed or not, by a known user or not, add nothing.
    let tip = server.ref_value("refs/apps/push-certs");
    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.write("README", "alice\n");
    aw.commit_all("alice");
    aw.push_signed(&["origin", "main"])
        .assert_denied("fast-forward", "heads/main");
    aw.push_unsigned(&["origin", "main"])
        .assert_rejected_with("--signed");
    ow.edit_access_control(&[("refs/bad.conf", Some("owner nonsense ^x$\n"))])
        .assert_rejected_with("refs/bad.conf:1:");
    assert_eq!(server.ref_value("refs/apps/push-certs"), tip);

    // A push by another user records that user.
    ow.grant(&[
        ("refs/main.conf", "anyone fast-forward ^heads/main$\n"),
        ("branches/main.conf", "anyone modify ^README$\n"),
    ]);
    aw.push_signed(&["origin", "main"]).assert_ok();
    let log = server.push_certs();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].pusher, format!("{}\n", alice.fingerprint()));
    assert_certificate_verifies(&alice, &log[0].cert);

    // Any clone can fetch the log.
    aw.git_ok(&[
        "fetch",
        "--quiet",
        "origin",
        "refs/apps/push-certs:refs/apps/push-certs",
    ]);
    assert_eq!(aw.rev_parse("refs/apps/push-certs"), log[0].commit);
}

#[test]
fn an_atomic_push_of_several_refs_is_one_entry() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    ow.git_ok(&["tag", "v1"]);
    ow.push_signed(&["--atomic", "origin", "main:next", "main:stable", "v1"])
        .assert_ok();
    let log = server.push_certs();
    assert_eq!(log.len(), 2);
    for refname in ["refs/heads/next", "refs/heads/stable", "refs/tags/v1"] {
        assert!(
            log[0].cert.contains(refname),
            "{refname} missing from {}",
            log[0].cert
        );
    }
}

/// The `cert` file is the certificate exactly as signed: gpg verifies its
/// signature over the text before it.
fn assert_certificate_verifies(user: &User, cert: &str) {
    let at = cert
        .find("-----BEGIN PGP SIGNATURE-----")
        .expect("signature in certificate");
    let dir = user.scratch_dir();
    let payload = dir.join("cert-payload");
    let signature = dir.join("cert-payload.asc");
    std::fs::write(&payload, &cert[..at]).unwrap();
    std::fs::write(&signature, &cert[at..]).unwrap();
    user.gpg(&[
        "--verify",
        signature.to_str().unwrap(),
        payload.to_str().unwrap(),
    ])
    .assert_ok();
}

/// `install` starts the log with a genesis record naming the owner and the
/// first `apps/access-control` commit; installing again writes no second
/// one; installing on a server that has no log yet (an upgrade) starts it.
#[test]
fn install_writes_the_genesis_record_once() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let log = server.audit_log();
    assert_eq!(log.len(), 1, "{log:?}");
    let genesis = &log[0];
    let policy = server
        .ref_value("refs/heads/apps/access-control")
        .expect("apps/access-control");
    assert_eq!(
        genesis.parents,
        std::slice::from_ref(&policy),
        "it keeps the policy's commit"
    );
    assert_eq!(genesis.files, ["genesis", "settings"]);
    let text = server.genesis().expect("a genesis record");
    let head = format!(
        "gitapps genesis 1\nowner {}\naccess-control {policy}\ntime ",
        owner.fingerprint()
    );
    assert!(text.starts_with(&head), "{text}");
    assert!(
        text.ends_with(&format!("\nref {policy} refs/heads/apps/access-control\n")),
        "{text}"
    );

    // Again: hooks and config are refreshed, the log is left as it is.
    let key = owner.public_key_file();
    server
        .hook(&["install", &server.url(), "--owner", key.to_str().unwrap()])
        .assert_ok();
    assert_eq!(server.audit_log().len(), 1);
    assert_eq!(server.audit_log()[0].commit, genesis.commit);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    server
        .hook(&["install", &server.url(), "--owner", key.to_str().unwrap()])
        .assert_ok();
    let log = server.audit_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].commit, genesis.commit, "still the one genesis");

    // A server from before the log had a genesis: install upgrades it.
    server.git_ok(&["update-ref", "-d", "refs/apps/push-certs"]);
    assert_eq!(server.audit_log().len(), 0);
    server
        .hook(&["install", &server.url(), "--owner", key.to_str().unwrap()])
        .assert_ok();
    let upgraded = server.audit_log();
    assert_eq!(upgraded.len(), 1);
    assert!(upgraded[0].is_genesis());
    let policy = server
        .ref_value("refs/heads/apps/access-control")
        .expect("apps/access-control");
    assert!(
        server
            .genesis()
            .is_some_and(|g| g.contains(&format!("access-control {policy}\n"))),
        "{:?}",
        server.genesis()
    );
}

/// Issue 9, attack 3: on a fresh server the owner could create
/// `refs/apps/push-certs/x`, after which git can never write the log again
/// (a ref cannot be both a file and a directory). Nothing at, under or
/// above the log's name may be created, moved or deleted by a client.
#[test]
fn no_push_touches_the_audit_log_or_any_ref_around_it() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let main = push_main(&ow, &[("README", "1\n")]);
    let before = server.refs();
    ow.git_ok(&["fetch", "--quiet", "origin", "refs/apps/push-certs"]);
    let previous = ow.rev_parse("FETCH_HEAD~1");
    for target in [
        "refs/apps/push-certs/x",
        "refs/apps/push-certs/deep/er",
        "refs/apps/push-certs",
        "refs/apps",
        "refs/APPS/Push-Certs/x",
    ] {
        let out = ow.push_signed(&["--force", "origin", &format!("{main}:{target}")]);
        assert!(!out.success(), "{target} was accepted:\n{out}");
        out.assert_reject_code(RejectCode::Denied);
        out.assert_stderr_contains("audit log");
    }
    // Deleting it, or moving it back a record.
    let out = ow.push_signed(&["origin", ":refs/apps/push-certs"]);
    out.assert_reject_code(RejectCode::Denied);
    let out = ow.push_signed(&[
        "--force",
        "origin",
        &format!("{previous}:refs/apps/push-certs"),
    ]);
    out.assert_reject_code(RejectCode::Denied);
    assert_refs_unchanged(&server, &before);

    // The log is still written.
    ow.write("README", "2\n");
    ow.commit_all("2");
    ow.push_signed(&["origin", "main"]).assert_ok();
    assert_eq!(server.push_cert_count(), 2);
}

//! Hostile signatures sent by a real `git push --signed`: git runs the
//! test's `gpg.program` (see `Workdir::set_gpg_program`), so whatever it
//! prints reaches the hook as the certificate's signature, exactly as an
//! attacker's client would send it. Issue 9: the memory bomb, oversized
//! blocks, and keys that expired or retired since a backdated signature.

use gitapps_policy::RejectCode;
use gitapps_tests::{now_secs, run, Server, User, Workdir};

use crate::common::assert_refs_unchanged;

/// A server where anyone may create branches with files, `alice` registered
/// (whatever her key's state), and `main` ready to push in her clone.
fn setup<'a>(owner: &User, alice: &'a User, args: &[&str]) -> (Server, Workdir<'a>) {
    let server = Server::install_with(owner, args);
    let ow = Workdir::clone(owner, &server);
    ow.register(&[alice]);
    ow.grant(&[
        ("refs/anyone.conf", "anyone create-branch ^.*$\n"),
        ("branches/anyone.conf", "anyone create-file ^.*$\n"),
    ]);
    let aw = Workdir::clone(alice, &server);
    aw.switch_orphan("main");
    aw.write("README", "hello\n");
    aw.commit_all("main");
    (server, aw)
}

/// An ASCII-armored OpenPGP message that gpg makes of `mib` MiB of zeros
/// compressed with bzip2 (under 1 KiB), relabelled as a signature: what
/// issue 9's attacker sent.
fn bzip2_bomb(user: &User, mib: u64) -> String {
    let mut cmd = user.command("sh");
    cmd.args([
        "-c",
        &format!(
            "head -c {mib}M /dev/zero | gpg --batch --no-tty --store -z 9 --compress-algo bzip2 --armor"
        ),
    ]);
    let out = run(cmd, None);
    out.assert_ok();
    assert!(
        out.stdout.len() < 2048,
        "not a bomb: {} bytes",
        out.stdout.len()
    );
    out.stdout.replace("PGP MESSAGE", "PGP SIGNATURE")
}

/// A `gpg.program` that reads the payload and answers with `signature`
/// (written to a file next to the clone), as gpg would.
fn sign_with(wd: &Workdir<'_>, signature: &str) {
    let path = wd.path().with_file_name("signature.asc");
    std::fs::write(&path, signature).expect("write signature");
    wd.set_gpg_program(&format!(
        "cat >/dev/null\ncat '{}'\necho '[GNUPG:] SIG_CREATED D 22 8 00 1700000000 X' >&2",
        path.display()
    ));
}

#[test]
fn a_compressed_signature_is_refused_unexpanded() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let (server, aw) = setup(&owner, &alice, &[]);
    let before = server.refs();
    sign_with(&aw, &bzip2_bomb(&alice, 96));
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Signature);
    out.assert_stderr_contains("compressed");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn signature_blocks_and_certificates_over_their_limits_are_refused() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let (server, aw) = setup(&owner, &alice, &[]);
    let before = server.refs();

    // 20 KiB of well-formed armor: over the 16 KiB the block may have.
    let line = "A".repeat(64);
    let body: String = (0..320).map(|_| format!("{line}\n")).collect();
    let big = format!("-----BEGIN PGP SIGNATURE-----\n\n{body}-----END PGP SIGNATURE-----\n");
    sign_with(&aw, &big);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Limit);
    out.assert_stderr_contains("gitapps.maxSignatureSize");

    // A certificate of 17 MiB (git sends it line by line, each under
    // 64 KiB, and checks the lines before the signature itself): refused
    // by its size, before it is read.
    let huge = format!(
        "-----BEGIN PGP SIGNATURE-----\n\n{}-----END PGP SIGNATURE-----\n",
        format!("{}\n", "x".repeat(1023)).repeat(17 << 10)
    );
    sign_with(&aw, &huge);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Limit);
    out.assert_stderr_contains("gitapps.maxCertSize");

    // The limits are the server's to change.
    server.set_config("gitapps.maxSignatureSize", "64k");
    sign_with(&aw, &big);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Signature);
    assert_refs_unchanged(&server, &before);
}

#[test]
fn more_signature_packets_than_allowed_are_refused() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let (server, aw) = setup(&owner, &alice, &[]);
    let before = server.refs();
    // Five real signatures, one after the other in one armored block.
    let mut cmd = alice.command("sh");
    cmd.args([
        "-c",
        "for i in 1 2 3 4 5; do echo $i | gpg --batch --no-tty --detach-sign; done | gpg --batch --no-tty --enarmor",
    ]);
    let out = run(cmd, None);
    out.assert_ok();
    let five = out.stdout.replace("PGP ARMORED FILE", "PGP SIGNATURE");
    sign_with(&aw, &five);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Signature);
    out.assert_stderr_contains("more than 4 packets");
    assert_refs_unchanged(&server, &before);
}

/// git signs with `gpg.program`; this one is gpg with its clock moved by
/// `offset` seconds (negative: in the past).
fn sign_at_offset(wd: &Workdir<'_>, offset: i64) {
    let at = now_secs()
        .checked_add_signed(offset)
        .expect("a time after 1970");
    wd.set_gpg_program(&format!("exec gpg --faked-system-time {at}! \"$@\""));
}

#[test]
fn a_key_that_expired_cannot_sign_in_the_past() {
    let owner = User::new("owner");
    // Expired 30 s ago; the signature claims a minute ago, when the key
    // was still valid, within the server's window of 120 s.
    let alice = User::expiring("alice", 30);
    let (server, aw) = setup(&owner, &alice, &["--nonce-slop", "120"]);
    let before = server.refs();
    sign_at_offset(&aw, -60);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Signature);
    out.assert_stderr_contains("expired");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn a_retired_key_cannot_sign_in_the_past() {
    let owner = User::new("owner");
    // Soft-revoked ("key is no longer used") 30 s ago: signatures made
    // before that stay valid for OpenPGP, but the push is made now.
    let alice = User::retired("alice", 30);
    let (server, aw) = setup(&owner, &alice, &["--nonce-slop", "120"]);
    let before = server.refs();
    sign_at_offset(&aw, -60);
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Signature);
    out.assert_stderr_contains("revoked");
    assert_refs_unchanged(&server, &before);
}

#[test]
fn a_signature_dated_outside_the_nonce_slop_is_refused() {
    let owner = User::new("owner");
    // A key made an hour ago, so that gpg signs ten minutes ago.
    let alice = User::created_ago("alice", 3600);
    let (server, aw) = setup(&owner, &alice, &[]);
    let before = server.refs();
    for offset in [-600, 600] {
        sign_at_offset(&aw, offset);
        let out = aw.push_signed(&["origin", "main"]);
        out.assert_reject_code(RejectCode::Signature);
        out.assert_stderr_mentions(&["dated", "receive.certNonceSlop"]);
    }
    assert_refs_unchanged(&server, &before);
    // A clock a few seconds off is fine.
    sign_at_offset(&aw, -5);
    aw.push_signed(&["origin", "main"]).assert_ok();
}

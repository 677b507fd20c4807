//! `gitapps-hook pre-receive` run directly, as git runs it, with certificates
//! and environments that a well-behaved `git push --signed` would never send
//! (SPEC section 2: fail closed).
//!
//! Each test starts from one well-formed signed update that the hook accepts
//! ([`accepted_control`]) and changes exactly one thing, so a rejection is for
//! the stated reason. Every rejection must leave the repository unchanged.

use std::collections::BTreeMap;

use gitapps_policy::RejectCode;
use gitapps_tests::cert::{
    run_pre_receive, run_pre_receive_measured, ssh_signed, stdin_for, store_blob, CertEnv,
    PushCert, RefUpdate,
};
use gitapps_tests::{run, Output, Server, User, Workdir, ZERO_OID};

/// A nonce of git's shape (`<timestamp>-<hmac>`), different on every call:
/// the hook may remember the nonces it accepted, to refuse replays.
fn fresh_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "{now}-{:040x}",
        u128::from(std::process::id()) << 64 | u128::from(n)
    )
}

/// A server owned by `owner` whose policy lets anyone create `main` with
/// files, and one commit (in the repository, on no ref) to create it with.
struct Fixture {
    owner: User,
    server: Server,
    commit: String,
    second_commit: String,
}

impl Fixture {
    fn new() -> Fixture {
        let owner = User::new("owner");
        let server = Server::install(&owner);
        server.admin_commit(
            "refs/heads/apps/access-control",
            &[
                (
                    "refs/anyone.conf",
                    Some("anyone create-branch ^heads/(main|other)$\n"),
                ),
                (
                    "branches/anyone.conf",
                    Some("anyone create-directory,create-file ^.*$\n"),
                ),
            ],
            "let anyone create main",
        );
        let (commit, second_commit) = {
            let wd = Workdir::clone(&owner, &server);
            wd.switch_orphan("main");
            wd.write("README", "hello\n");
            let first = wd.commit_all("first");
            wd.write("src/lib.rs", "// lib\n");
            let second = wd.commit_all("second");
            server.import(&wd, &second);
            (first, second)
        };
        Fixture {
            owner,
            server,
            commit,
            second_commit,
        }
    }

    /// Adds users' keys to the keyring, as the admin.
    fn register(&self, users: &[&User]) {
        let files: Vec<(String, String)> = users
            .iter()
            .map(|u| (u.key_path(), u.public_key_armored().to_string()))
            .collect();
        let files: Vec<(&str, Option<&str>)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), Some(c.as_str())))
            .collect();
        self.server
            .admin_commit("refs/heads/apps/access-control", &files, "register");
    }

    /// The update the certificates are about: create main at the commit.
    fn update(&self) -> RefUpdate {
        RefUpdate::new(ZERO_OID, &self.commit, "refs/heads/main")
    }

    /// A certificate for `updates`, as `git push --signed` by `signer` makes
    /// it, with a fresh nonce.
    fn cert(&self, signer: &User, updates: &[RefUpdate]) -> PushCert {
        PushCert::new(signer, &self.server.url(), &fresh_nonce(), updates)
    }

    /// Stores `cert_text` (made from `cert`) and returns the environment git
    /// would give the hook.
    fn env(&self, signer: &User, cert: &PushCert, cert_text: &str) -> CertEnv {
        let blob = store_blob(&self.server, cert_text);
        CertEnv::good(signer, &blob, &cert.nonce)
    }

    /// Runs the hook; asserts the repository's refs are unchanged by it.
    fn run(&self, env: &CertEnv, stdin: &str) -> Output {
        let before = self.server.refs();
        let out = run_pre_receive(&self.server, env, stdin);
        assert_eq!(
            self.server.refs(),
            before,
            "pre-receive changed refs:\n{out}"
        );
        out
    }

    /// A good signed update of `main` by `signer`, with `tweak` applied to the
    /// environment before running.
    fn run_signed(&self, signer: &User, tweak: impl FnOnce(&mut CertEnv)) -> Output {
        let update = self.update();
        let cert = self.cert(signer, std::slice::from_ref(&update));
        let text = cert.signed_by(signer);
        let mut env = self.env(signer, &cert, &text);
        tweak(&mut env);
        self.run(&env, &stdin_for(&[update]))
    }

    fn refs(&self) -> BTreeMap<String, String> {
        self.server.refs()
    }
}

#[track_caller]
fn assert_rejected(out: &Output, needles: &[&str]) {
    out.assert_failed();
    out.assert_stderr_mentions(needles);
}

#[test]
fn accepted_control() {
    let f = Fixture::new();
    let before = f.refs();
    let out = f.run_signed(&f.owner, |_| {});
    out.assert_ok();
    assert_eq!(f.refs(), before, "the hook itself moves no ref");

    // Any registered signer, and several updates in one certificate.
    let alice = User::new("alice");
    f.register(&[&alice]);
    let updates = [
        f.update(),
        RefUpdate::new(ZERO_OID, &f.second_commit, "refs/heads/other"),
    ];
    let cert = f.cert(&alice, &updates);
    let text = cert.signed_by(&alice);
    f.run(&f.env(&alice, &cert, &text), &stdin_for(&updates))
        .assert_ok();
}

/// git gives every push to a repository within one second the same nonce
/// (`<seconds>-<HMAC(path, seconds)>`) and calls it `OK`: two different
/// certificates with one nonce are two pushes, not a replay.
#[test]
fn different_certificates_may_share_a_nonce() {
    let f = Fixture::new();
    let nonce = fresh_nonce();
    let first = f.update();
    let second = RefUpdate::new(ZERO_OID, &f.second_commit, "refs/heads/other");
    for update in [first, second] {
        let cert = PushCert::new(
            &f.owner,
            &f.server.url(),
            &nonce,
            std::slice::from_ref(&update),
        );
        let text = cert.signed_by(&f.owner);
        f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[update]))
            .assert_ok();
    }
}

#[test]
fn gpg_status_from_git_is_not_what_counts() {
    // The server's own gpg usually lacks the keys: git then says E (cannot
    // check) or N; the hook verifies the signature itself.
    let f = Fixture::new();
    for status in ["E", "N", "U"] {
        f.run_signed(&f.owner, |env| env.status = Some(status.to_string()))
            .assert_ok();
    }
    f.run_signed(&f.owner, |env| {
        env.status = None;
        env.signer = None;
        env.key = None;
    })
    .assert_ok();
}

#[test]
fn nonce_status_bad_is_rejected() {
    let f = Fixture::new();
    let out = f.run_signed(&f.owner, |env| env.nonce_status = Some("BAD".into()));
    assert_rejected(&out, &["nonce"]);
}

#[test]
fn nonce_status_missing_is_rejected() {
    let f = Fixture::new();
    let out = f.run_signed(&f.owner, |env| env.nonce_status = Some("MISSING".into()));
    assert_rejected(&out, &["nonce"]);
}

#[test]
fn nonce_status_unsolicited_is_rejected() {
    let f = Fixture::new();
    let out = f.run_signed(&f.owner, |env| {
        env.nonce_status = Some("UNSOLICITED".into())
    });
    assert_rejected(&out, &["nonce"]);
}

#[test]
fn nonce_status_unset_is_rejected() {
    let f = Fixture::new();
    let out = f.run_signed(&f.owner, |env| env.nonce_status = None);
    assert_rejected(&out, &["nonce"]);
}

#[test]
fn nonce_slop_is_rejected_unless_allowed() {
    let f = Fixture::new();
    let slop = |env: &mut CertEnv| {
        env.nonce_status = Some("SLOP".into());
        env.nonce_slop = Some("45".into());
    };
    assert_rejected(&f.run_signed(&f.owner, slop), &["nonce"]);
    f.server.set_config("gitapps.allowNonceSlop", "false");
    assert_rejected(&f.run_signed(&f.owner, slop), &["nonce"]);
    f.server.set_config("gitapps.allowNonceSlop", "true");
    f.run_signed(&f.owner, slop).assert_ok();
    // Allowing slop allows nothing worse.
    assert_rejected(
        &f.run_signed(&f.owner, |env| env.nonce_status = Some("BAD".into())),
        &["nonce"],
    );
}

#[test]
fn unsigned_push_is_rejected() {
    let f = Fixture::new();
    // What git gives the hook for a plain `git push`: no certificate variables.
    let out = f.run(&CertEnv::default(), &stdin_for(&[f.update()]));
    assert_rejected(&out, &["--signed"]);
    // A certificate's other variables without GIT_PUSH_CERT.
    let out = f.run_signed(&f.owner, |env| env.cert = None);
    assert_rejected(&out, &["sign"]);
}

#[test]
fn certificate_for_another_ref_is_rejected() {
    let f = Fixture::new();
    let signed_for = [RefUpdate::new(ZERO_OID, &f.commit, "refs/heads/other")];
    let cert = f.cert(&f.owner, &signed_for);
    let text = cert.signed_by(&f.owner);
    let out = f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[f.update()]));
    assert_rejected(&out, &["certificate"]);
}

#[test]
fn certificate_for_another_commit_is_rejected() {
    let f = Fixture::new();
    let signed_for = [RefUpdate::new(
        ZERO_OID,
        &f.second_commit,
        "refs/heads/main",
    )];
    let cert = f.cert(&f.owner, &signed_for);
    let text = cert.signed_by(&f.owner);
    let out = f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[f.update()]));
    assert_rejected(&out, &["certificate"]);
}

#[test]
fn certificate_with_more_or_fewer_updates_than_stdin_is_rejected() {
    let f = Fixture::new();
    let other = RefUpdate::new(ZERO_OID, &f.second_commit, "refs/heads/other");
    // The certificate lists an update the push does not make.
    let cert = f.cert(&f.owner, &[f.update(), other.clone()]);
    let text = cert.signed_by(&f.owner);
    let out = f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[f.update()]));
    assert_rejected(&out, &["certificate"]);
    // The push makes an update the certificate does not list.
    let cert = f.cert(&f.owner, &[f.update()]);
    let text = cert.signed_by(&f.owner);
    let out = f.run(
        &f.env(&f.owner, &cert, &text),
        &stdin_for(&[f.update(), other]),
    );
    assert_rejected(&out, &["certificate"]);
}

#[test]
fn tampered_certificate_is_rejected() {
    let f = Fixture::new();
    let cert = f.cert(&f.owner, &[f.update()]);
    let signed = cert.signed_by(&f.owner);
    // Change the pushee after signing: the commands still match stdin, the
    // signature no longer verifies.
    let tampered = signed.replacen(
        &format!("pushee {}", cert.pushee),
        "pushee /somewhere/else.git",
        1,
    );
    assert_ne!(tampered, signed);
    let out = f.run(
        &f.env(&f.owner, &cert, &tampered),
        &stdin_for(&[f.update()]),
    );
    assert_rejected(&out, &["signature"]);
}

#[test]
fn certificate_signed_by_an_unknown_key_is_rejected() {
    let f = Fixture::new();
    let stranger = User::new("stranger");
    let out = f.run_signed(&stranger, |_| {});
    out.assert_failed();
    out.assert_stderr_contains(stranger.fingerprint());
}

#[test]
fn signature_by_a_revoked_key_is_rejected() {
    let f = Fixture::new();
    let revoked = User::revoked("revoked");
    f.register(&[&revoked]);
    let out = f.run_signed(&revoked, |_| {});
    assert_rejected(&out, &["revoked"]);
}

#[test]
fn signature_by_an_expired_key_is_rejected() {
    let f = Fixture::new();
    let expired = User::expired("expired");
    f.register(&[&expired]);
    let out = f.run_signed(&expired, |_| {});
    assert_rejected(&out, &["expired"]);
}

#[test]
fn certificate_that_does_not_parse_is_rejected() {
    let f = Fixture::new();
    let stdin = stdin_for(&[f.update()]);
    let cert = f.cert(&f.owner, &[f.update()]);
    let other_version =
        cert.payload()
            .replacen("certificate version 0.1", "certificate version 9.9", 1);
    // (text, what the message must mention)
    let cases = [
        ("this is not a push certificate\n".to_string(), "certificate"),
        (String::new(), "certificate"),
        // No signature at all.
        (cert.payload(), "signature"),
        // A signature block that is not OpenPGP data.
        (
            format!(
                "{}-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n=AAAA\n-----END PGP SIGNATURE-----\n",
                cert.payload()
            ),
            "signature",
        ),
        // An unknown certificate version, signed.
        (other_version.clone() + &f.owner.sign_detached(other_version.as_bytes()), "version"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let out = f.run(&f.env(&f.owner, &cert, text), &stdin);
        assert!(!out.success(), "case {i} accepted:\n{text}\n{out}");
        out.assert_stderr_mentions(&[needle]);
    }
}

#[test]
fn certificate_blob_that_does_not_exist_is_rejected() {
    let f = Fixture::new();
    let out = f.run_signed(&f.owner, |env| {
        env.cert = Some("0123456789abcdef0123456789abcdef01234567".into())
    });
    assert_rejected(&out, &["certificate"]);
}

#[test]
fn ssh_signed_certificate_is_rejected() {
    let f = Fixture::new();
    let cert = f.cert(&f.owner, &[f.update()]);
    let text = ssh_signed(&cert.payload(), f.owner.scratch_dir());
    let out = f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[f.update()]));
    out.assert_failed();
    let stderr = out.stderr.to_ascii_lowercase();
    assert!(
        ["ssh", "openpgp", "pgp signature"]
            .iter()
            .any(|w| stderr.contains(w)),
        "expected the rejection to say the signature is not OpenPGP:\n{out}"
    );
}

/// The signature of `armored` as bytes (`gpg --dearmor`).
fn dearmor(user: &User, armored: &str) -> Vec<u8> {
    let mut cmd = user.command("gpg");
    cmd.args(["--batch", "--no-tty", "--dearmor"]);
    let out = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(armored.as_bytes())?;
            child.wait_with_output()
        })
        .expect("gpg --dearmor");
    assert!(out.status.success(), "gpg --dearmor failed");
    out.stdout
}

/// `bytes` armored anew by gpg (`gpg --enarmor`: with a `Comment:` header),
/// labelled as a signature.
fn enarmor(user: &User, bytes: &[u8]) -> String {
    let scratch = user.scratch_dir().join("enarmor.bin");
    std::fs::write(&scratch, bytes).expect("write");
    let mut cmd = user.command("gpg");
    cmd.args(["--batch", "--no-tty", "--enarmor", "-o", "-"])
        .arg(&scratch);
    let out = run(cmd, None);
    out.assert_ok();
    assert!(out.stdout.contains("Comment:"), "{out}");
    out.stdout.replace("PGP ARMORED FILE", "PGP SIGNATURE")
}

/// The armored `signature` with its base64 wrapped at `width` columns.
fn rewrap(signature: &str, width: usize) -> String {
    let lines: Vec<&str> = signature.lines().collect();
    let blank = lines.iter().position(|l| l.is_empty()).expect("blank line");
    let crc = lines
        .iter()
        .position(|l| l.starts_with('='))
        .expect("checksum");
    let body: String = lines[blank + 1..crc].concat();
    let mut out: String = lines[..=blank].iter().map(|l| format!("{l}\n")).collect();
    for chunk in body.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(chunk).expect("base64"));
        out.push('\n');
    }
    for l in &lines[crc..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Issue 9, attack 4: replays were recognised by the certificate blob's id,
/// so the same signature armored differently was a new certificate. The
/// hook keys replays on what was signed.
#[test]
fn a_certificate_armored_differently_is_still_a_replay() {
    let f = Fixture::new();
    let update = f.update();
    let cert = f.cert(&f.owner, std::slice::from_ref(&update));
    let payload = cert.payload();
    let signature = f.owner.sign_detached(payload.as_bytes());
    let stdin = stdin_for(std::slice::from_ref(&update));
    let env = |text: &str| f.env(&f.owner, &cert, text);
    f.run(&env(&format!("{payload}{signature}")), &stdin)
        .assert_ok();

    let bytes = dearmor(&f.owner, &signature);
    // The same packet with its length in the other header format (gpg
    // writes an old-format header: tag 2, one length octet).
    assert_eq!(bytes[0], 0x88, "an old-format signature packet header");
    let mut new_format = vec![0xC2];
    new_format.extend_from_slice(&bytes[1..]);
    let variants = [
        (
            "a Comment: header",
            signature.replacen("\n\n", "\nComment: hello\n\n", 1),
        ),
        ("base64 at 40 columns", rewrap(&signature, 40)),
        ("base64 at 76 columns", rewrap(&signature, 76)),
        ("armored by gpg --enarmor", enarmor(&f.owner, &bytes)),
        ("a new-format packet header", enarmor(&f.owner, &new_format)),
    ];
    for (what, variant) in variants {
        assert_ne!(variant, signature, "{what}");
        let out = f.run(&env(&format!("{payload}{variant}")), &stdin);
        assert!(!out.success(), "{what}: the replay was accepted:\n{out}");
        out.assert_reject_code(RejectCode::Replay);
    }
}

/// Issue 9, attack 1, with the cost measured: a 96 MiB bzip2 bomb under
/// 1 KiB, as the certificate's signature. Refused before any key is looked
/// at, without inflating it.
#[test]
fn a_compression_bomb_costs_the_hook_little() {
    let f = Fixture::new();
    let update = f.update();
    let cert = f.cert(&f.owner, std::slice::from_ref(&update));
    let mut cmd = f.owner.command("sh");
    cmd.args([
        "-c",
        "head -c 96M /dev/zero | gpg --batch --no-tty --store -z 9 --compress-algo bzip2 --armor",
    ]);
    let out = run(cmd, None);
    out.assert_ok();
    let bomb = out.stdout.replace("PGP MESSAGE", "PGP SIGNATURE");
    // Three of them in one block, as the attacker also tried.
    let bytes = dearmor(&f.owner, &bomb);
    let three = enarmor(&f.owner, &[bytes.as_slice(), &bytes, &bytes].concat());
    for (what, signature) in [("one bomb", bomb), ("three bombs", three)] {
        let text = format!("{}{signature}", cert.payload());
        let env = f.env(&f.owner, &cert, &text);
        let (out, cost) =
            run_pre_receive_measured(&f.server, &env, &stdin_for(std::slice::from_ref(&update)));
        out.assert_reject_code(RejectCode::Signature);
        out.assert_stderr_contains("compressed");
        eprintln!(
            "{what}: peak RSS {} KiB, {:?}",
            cost.max_rss >> 10,
            cost.wall
        );
        assert!(
            cost.max_rss < 64 << 20,
            "{what}: {} bytes of RSS",
            cost.max_rss
        );
    }
}

/// The largest certificate the server takes (16 MiB), signed: the hook
/// checks it within the memory goal.
#[test]
fn the_largest_certificate_costs_the_hook_little() {
    let f = Fixture::new();
    let update = f.update();
    let mut cert = f.cert(&f.owner, std::slice::from_ref(&update));
    let nonce = cert.nonce.clone();
    // Push options are the one header git repeats; fill the certificate
    // up to just under the limit with them (after the nonce line).
    let option = format!("push-option {}\n", "o".repeat(1000));
    let n = (16 << 20) / option.len() - 2;
    cert.nonce = format!("{nonce}\n{}", option.repeat(n).trim_end());
    let payload = cert.payload();
    let text = format!("{payload}{}", f.owner.sign_detached(payload.as_bytes()));
    assert!(
        text.len() > 15 << 20 && text.len() < 16 << 20,
        "{}",
        text.len()
    );
    let env = CertEnv::good(&f.owner, &store_blob(&f.server, &text), &nonce);
    let (out, cost) =
        run_pre_receive_measured(&f.server, &env, &stdin_for(std::slice::from_ref(&update)));
    out.assert_ok();
    eprintln!(
        "16 MiB certificate: peak RSS {} KiB, {:?}",
        cost.max_rss >> 10,
        cost.wall
    );
    assert!(cost.max_rss < 64 << 20, "{} bytes of RSS", cost.max_rss);
}

/// `pushee` is the URL the client pushed to, which differs by transport and
/// alias; the nonce (an HMAC of this repository's path and the server's
/// secret seed) already binds the certificate to this server. So a
/// certificate naming another URL is accepted (docs/decisions.md).
#[test]
fn pushee_is_not_checked() {
    let f = Fixture::new();
    let update = f.update();
    let mut cert = f.cert(&f.owner, std::slice::from_ref(&update));
    cert.pushee = "https://elsewhere.example/mirror.git".into();
    let text = cert.signed_by(&f.owner);
    f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[update]))
        .assert_ok();
}

/// Every rejection ends with its machine-readable code line.
#[test]
fn every_rejection_carries_its_code() {
    let f = Fixture::new();
    let stranger = User::new("stranger");
    let cases: Vec<(&str, Output, RejectCode)> = vec![
        (
            "unsigned",
            f.run(&CertEnv::default(), &stdin_for(&[f.update()])),
            RejectCode::Unsigned,
        ),
        (
            "bad nonce",
            f.run_signed(&f.owner, |env| env.nonce_status = Some("BAD".into())),
            RejectCode::Nonce,
        ),
        (
            "unknown key",
            f.run_signed(&stranger, |_| {}),
            RejectCode::UnknownKey,
        ),
        (
            "no such certificate",
            f.run_signed(&f.owner, |env| {
                env.cert = Some("0123456789abcdef0123456789abcdef01234567".into())
            }),
            RejectCode::Error,
        ),
        (
            "garbage stdin",
            f.run(&CertEnv::default(), "not an update\n"),
            RejectCode::Error,
        ),
    ];
    for (what, out, code) in cases {
        assert_eq!(out.reject_code(), Some(code), "{what}:\n{out}");
        let last = out.stderr.lines().last().unwrap_or_default();
        assert_eq!(last, code.line(), "{what}: the code line comes last");
    }
}

/// A tree nested deeper than git walks (`core.maxTreeDepth`, 4096) is
/// refused with a message, not followed until the hook's stack runs out.
/// git's own client will not send one (pack-objects stops at that depth),
/// so the objects are written on the server (`git fast-import`, on no ref)
/// and the hook run directly.
#[test]
fn a_tree_deeper_than_git_walks_is_refused() {
    let f = Fixture::new();
    let path = format!("{}f", "d/".repeat(4200));
    let script = format!(
        "commit refs/gitapps-tests/deep\ncommitter A <a@example.com> 1700000000 +0000\ndata 4\ndeep\nM 100644 inline {path}\ndata 2\nx\n\n"
    );
    f.server
        .git_with_input(&["fast-import", "--quiet"], script.as_bytes())
        .assert_ok();
    let commit = f.server.git_ok(&["rev-parse", "refs/gitapps-tests/deep"]);
    f.server
        .git_ok(&["update-ref", "-d", "refs/gitapps-tests/deep"]);
    let update = RefUpdate::new(ZERO_OID, &commit, "refs/heads/main");
    let cert = f.cert(&f.owner, std::slice::from_ref(&update));
    let text = cert.signed_by(&f.owner);
    let out = f.run(&f.env(&f.owner, &cert, &text), &stdin_for(&[update]));
    out.assert_reject_code(RejectCode::Malformed);
    out.assert_stderr_contains("more than 4096 directories deep");
}

/// Issue 9: a huge key file on the branch (registered before key files were
/// capped) made every push by a subkey signer parse it: 3.5 s and 1.6 GB for
/// 400 MB. Keys are found through the key index now, and a file over the
/// limit is never read.
#[test]
fn a_huge_key_file_on_the_branch_costs_a_subkey_signer_nothing() {
    let f = Fixture::new();
    let signer = User::with_signing_subkey("subkey");
    f.register(&[&signer]);
    // 64 MiB in keys/, named like a key: the admin's commit, no hook.
    let zeros = "\0".repeat(64 << 20);
    let big = format!("keys/{}.asc", "B".repeat(40));
    f.server.admin_commit(
        "refs/heads/apps/access-control",
        &[(big.as_str(), Some(zeros.as_str()))],
        "a key file from before the limits",
    );
    let update = f.update();
    let cert = f.cert(&signer, std::slice::from_ref(&update));
    let text = cert.signed_by(&signer);
    let env = f.env(&signer, &cert, &text);
    let (out, cost) = run_pre_receive_measured(&f.server, &env, &stdin_for(&[update]));
    out.assert_ok();
    eprintln!(
        "subkey signer next to a 64 MiB key file: peak RSS {} KiB, {:?}",
        cost.max_rss >> 10,
        cost.wall
    );
    assert!(cost.max_rss < 64 << 20, "{} bytes of RSS", cost.max_rss);
}

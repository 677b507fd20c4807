//! Push certificates made by hand, as `git push --signed` makes them, and
//! `gitapps-hook pre-receive` run directly with the environment git gives it.
//!
//! git (send-pack.c) builds a certificate as
//!
//! ```text
//! certificate version 0.1
//! pusher <signing key> <timestamp> <tz>
//! pushee <url>
//! nonce <nonce>
//!
//! <old> <new> <ref>
//! ```
//!
//! and appends an ASCII-armored detached signature over those bytes;
//! receive-pack stores the whole text as a blob and hands the hook its id in
//! `GIT_PUSH_CERT`, with `GIT_PUSH_CERT_NONCE`, `GIT_PUSH_CERT_NONCE_STATUS`,
//! `GIT_PUSH_CERT_STATUS`, `GIT_PUSH_CERT_SIGNER` and `GIT_PUSH_CERT_KEY`.

use std::fmt;
use std::path::Path;

use crate::{bin, run, Output, Server, User};

/// One ref update: a line of the hook's stdin and of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub refname: String,
}

impl RefUpdate {
    pub fn new(old: &str, new: &str, refname: &str) -> RefUpdate {
        RefUpdate {
            old: old.to_string(),
            new: new.to_string(),
            refname: refname.to_string(),
        }
    }
}

impl fmt::Display for RefUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.old, self.new, self.refname)
    }
}

/// The hook's stdin for these updates: one `OLD NEW REF` line each.
pub fn stdin_for(updates: &[RefUpdate]) -> String {
    updates.iter().map(|u| format!("{u}\n")).collect()
}

/// The unsigned part of a push certificate.
#[derive(Clone, Debug)]
pub struct PushCert {
    /// `<signing key> <timestamp> <tz>`.
    pub pusher: String,
    pub pushee: String,
    pub nonce: String,
    /// The command lines, after the blank line.
    pub commands: Vec<String>,
}

impl PushCert {
    /// A certificate as `git push --signed` would make for `signer`
    /// (`user.signingkey` = their fingerprint), now.
    pub fn new(signer: &User, pushee: &str, nonce: &str, updates: &[RefUpdate]) -> PushCert {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs();
        PushCert {
            pusher: format!("{} {now} +0000", signer.fingerprint()),
            pushee: pushee.to_string(),
            nonce: nonce.to_string(),
            commands: updates.iter().map(|u| u.to_string()).collect(),
        }
    }

    /// The signed bytes.
    pub fn payload(&self) -> String {
        let mut s = String::from("certificate version 0.1\n");
        s.push_str(&format!("pusher {}\n", self.pusher));
        s.push_str(&format!("pushee {}\n", self.pushee));
        s.push_str(&format!("nonce {}\n\n", self.nonce));
        for command in &self.commands {
            s.push_str(command);
            s.push('\n');
        }
        s
    }

    /// The payload followed by `user`'s armored detached signature over it,
    /// as git stores it.
    pub fn signed_by(&self, user: &User) -> String {
        let payload = self.payload();
        let signature = user.sign_detached(payload.as_bytes());
        payload + &signature
    }
}

/// The payload followed by a real SSH signature over it (`ssh-keygen -Y sign`
/// with a fresh ed25519 key made in `scratch`, namespace `git`), as git makes
/// with `gpg.format=ssh`.
pub fn ssh_signed(payload: &str, scratch: &Path) -> String {
    let key = scratch.join("ssh_key");
    if !key.exists() {
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&key)
            .status()
            .expect("run ssh-keygen");
        assert!(status.success(), "ssh-keygen -t ed25519 failed");
    }
    let file = scratch.join("payload");
    std::fs::write(&file, payload).expect("write payload");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "git", "-f"])
        .arg(&key)
        .arg(&file)
        .status()
        .expect("run ssh-keygen -Y sign");
    assert!(status.success(), "ssh-keygen -Y sign failed");
    let signature = std::fs::read_to_string(scratch.join("payload.sig")).expect("read payload.sig");
    assert!(
        signature.contains("BEGIN SSH SIGNATURE"),
        "not an SSH signature: {signature}"
    );
    payload.to_string() + &signature
}

/// Stores `content` in the server repository as a blob (`git hash-object -w`)
/// and returns its id: what receive-pack does with a certificate.
pub fn store_blob(server: &Server, content: &str) -> String {
    let out = server.git_with_input(&["hash-object", "-w", "--stdin"], content.as_bytes());
    out.assert_ok();
    out.stdout_trimmed().to_string()
}

/// The variables git sets for a pre-receive hook of a signed push. `None`
/// leaves a variable unset.
#[derive(Clone, Debug, Default)]
pub struct CertEnv {
    pub cert: Option<String>,
    pub nonce: Option<String>,
    pub nonce_status: Option<String>,
    pub nonce_slop: Option<String>,
    pub status: Option<String>,
    pub signer: Option<String>,
    pub key: Option<String>,
}

impl CertEnv {
    /// What git sets for a good signed push by `signer` whose certificate is
    /// the blob `cert` and nonce is `nonce`: nonce status `OK`, status `G`.
    pub fn good(signer: &User, cert: &str, nonce: &str) -> CertEnv {
        CertEnv {
            cert: Some(cert.to_string()),
            nonce: Some(nonce.to_string()),
            nonce_status: Some("OK".to_string()),
            nonce_slop: None,
            status: Some("G".to_string()),
            signer: Some(signer.ident()),
            key: Some(signer.signing_key_id().to_string()),
        }
    }

    fn vars(&self) -> [(&'static str, &Option<String>); 7] {
        [
            ("GIT_PUSH_CERT", &self.cert),
            ("GIT_PUSH_CERT_NONCE", &self.nonce),
            ("GIT_PUSH_CERT_NONCE_STATUS", &self.nonce_status),
            ("GIT_PUSH_CERT_NONCE_SLOP", &self.nonce_slop),
            ("GIT_PUSH_CERT_STATUS", &self.status),
            ("GIT_PUSH_CERT_SIGNER", &self.signer),
            ("GIT_PUSH_CERT_KEY", &self.key),
        ]
    }
}

/// Runs `gitapps-hook pre-receive` as git would: in the bare repository with
/// `GIT_DIR=.`, the certificate variables of `env`, and `stdin` (ref updates).
pub fn run_pre_receive(server: &Server, env: &CertEnv, stdin: &str) -> Output {
    run(pre_receive_command(server, env), Some(stdin.as_bytes()))
}

/// What one run of the hook cost: its peak resident memory and its time.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// The process's peak resident set size (`ru_maxrss`), in bytes.
    pub max_rss: u64,
    /// Wall-clock time from spawn to exit.
    pub wall: std::time::Duration,
}

/// [`run_pre_receive`], measuring the hook's peak memory and its time
/// (see [`crate::peak_rss`]). For limits that must hold whatever a client
/// sends, not for benchmarks.
pub fn run_pre_receive_measured(server: &Server, env: &CertEnv, stdin: &str) -> (Output, Cost) {
    let report = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut cmd = server.command(bin("peak-rss"));
    cmd.arg(bin("gitapps-hook"))
        .env("PEAK_RSS_FILE", report.path());
    add_pre_receive_env(&mut cmd, env);
    let started = std::time::Instant::now();
    let out = run(cmd, Some(stdin.as_bytes()));
    let wall = started.elapsed();
    let max_rss = crate::peak_rss(report.path());
    (out, Cost { max_rss, wall })
}

fn pre_receive_command(server: &Server, env: &CertEnv) -> std::process::Command {
    let mut cmd = server.command(bin("gitapps-hook"));
    add_pre_receive_env(&mut cmd, env);
    cmd
}

/// `pre-receive` and git's variables for it, with `GIT_DIR=.`.
fn add_pre_receive_env(cmd: &mut std::process::Command, env: &CertEnv) {
    cmd.arg("pre-receive").env("GIT_DIR", ".");
    for (name, value) in env.vars() {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
}

//! The pre-receive hook: admit a push only when it is signed by a known key,
//! fresh, self-consistent, and every operation is allowed by the policy.
//! Every error path rejects.
//!
//! The checks run cheapest first, and nothing a client sent is parsed
//! beyond a bound before its signer is known: the number of ref updates,
//! the nonce, the certificate's size, its text, its commands against the
//! push, the signature block's size and packets, the signature's date;
//! then the keys (found through [`crate::keyindex`], never by parsing every
//! key file) and the signature itself; only then the policy's judgement of
//! every operation, which reads what the push carries.

use std::path::Path;
use std::time::SystemTime;

use gitapps_policy::{RejectCode, ACCESS_CONTROL_REF};

use crate::cert::PushCertificate;
use crate::config::{
    ServerConfig, ALLOW_SLOP_KEY, MAX_CERT_SIZE_KEY, MAX_REF_UPDATES_KEY, NONCE_SLOP_KEY,
};
use crate::env::{NonceStatus, PushEnv};
use crate::error::HookError;
use crate::fsmode::Shared;
use crate::judgement::{check_certificate, load_policy, Judge};
pub use crate::judgement::{Accepted, Rejection};
use crate::ledger::{self, Ledger, Pending};
use crate::repo::{read_blob_capped, ref_target, ServerRepo};
use crate::testing::pause;
use crate::updates::RefUpdate;

/// The hook that records pushes ([`crate::transaction`]).
pub const TRANSACTION_HOOK: &str = "reference-transaction";

pub fn run(git_dir: &Path, stdin: &str, env: &PushEnv) -> Result<Accepted, Rejection> {
    let updates = RefUpdate::parse_all(stdin).map_err(|e| {
        Rejection::one(
            RejectCode::Error,
            format!("gitapps: error: {e}; the push is rejected"),
        )
    })?;
    let now = SystemTime::now();
    let server = ServerRepo::open(git_dir, &env.objects)?;
    let repo = &server.repo;
    let config = ServerConfig::read(repo)?;
    let limits = &config.limits;
    check_hooks(repo)?;
    if updates.len() > limits.ref_updates {
        return Err(Rejection::new(
            RejectCode::Limit,
            vec![
                format!(
                    "gitapps: rejected: this push makes {} ref updates, over {MAX_REF_UPDATES_KEY} = {}",
                    updates.len(),
                    limits.ref_updates
                ),
                "gitapps: hint: push in smaller batches".into(),
            ],
        ));
    }
    let cert_id = env.cert.ok_or_else(|| {
        Rejection::new(RejectCode::Unsigned, vec![
            "gitapps: this push is not signed; the server accepts only signed pushes.".into(),
            "gitapps: hint: push with `git push --signed` (and set user.signingkey to your OpenPGP key).".into(),
        ])
    })?;
    check_nonce(env, &config)?;

    let cert_bytes = read_blob_capped(repo, cert_id, limits.cert_size)
        .map_err(|e| HookError::Protocol(format!("reading the push certificate {cert_id}: {e}")))?
        .map_err(|size| {
        Rejection::one(
            RejectCode::Limit,
            format!(
                "gitapps: rejected: the push certificate is {size} bytes, over {MAX_CERT_SIZE_KEY} = {}",
                limits.cert_size
            ),
        )
    })?;
    let cert = PushCertificate::parse(&cert_bytes)
        .map_err(|e| Rejection::one(RejectCode::Certificate, format!("gitapps: rejected: {e}")))?;
    check_certificate_nonce(&cert, env, &config, now)?;
    // The signature, before any key: its size, its packets, its date.
    let sig = check_certificate(&cert, &updates, &config, now)?;

    let Some(policy_tip) = ref_target(repo, ACCESS_CONTROL_REF)? else {
        return Err(Rejection::one(RejectCode::InvalidPolicy, format!(
            "gitapps: rejected: the server has no {ACCESS_CONTROL_REF}, so no policy: the admin must run `gitapps-hook install`"
        )));
    };
    let policy = load_policy(repo, Some(git_dir), policy_tip, &config)?;
    let keyring = config.keyring_certs()?;
    let accepted = Judge {
        repo,
        git_dir,
        config: &config,
        keyring: &keyring,
        now,
    }
    .decide(&cert, &sig, &updates, &policy)?;

    pause("pre-receive-judged");
    // A clock before 1970 counts as 0: every recorded certificate then
    // looks fresh, which refuses more, never less.
    let now_secs = unix_secs(now);
    let pending = Pending {
        when: now_secs,
        cert: cert_id,
        pusher: accepted.pusher.clone(),
        signed: ledger::signed_digest(cert.payload)?,
        access_control: policy_tip,
        settings: config.settings_id(repo.object_hash())?,
        keyring: accepted
            .keyring_keys
            .iter()
            .map(|c| c.fingerprint().to_hex())
            .collect(),
        receive_pack: std::os::unix::process::parent_id(),
    };
    let mut ledger = Ledger::lock(
        git_dir,
        Shared::of(repo),
        now_secs,
        Ledger::window(config.nonce_slop_secs),
    )?;
    if ledger.seen(&pending.signed) {
        return Err(Rejection::one(
            RejectCode::Replay,
            "gitapps: rejected: this push certificate was used before (a replay): push again to get a fresh nonce",
        ));
    }
    ledger.accept(&pending)?;
    drop(ledger);
    pause("pre-receive-done");
    Ok(accepted)
}

/// The transaction hook records the push in the audit log: without it,
/// git would apply the push unrecorded. (git runs hooks from
/// `core.hooksPath` when it is set.)
fn check_hooks(repo: &gix::Repository) -> Result<(), Rejection> {
    use std::os::unix::fs::PermissionsExt;
    let dir = repo
        .config_snapshot()
        .trusted_path("core.hooksPath")
        .ok()
        .flatten()
        .map(|p| repo.git_dir().join(p))
        .unwrap_or_else(|| repo.git_dir().join("hooks"));
    let hook = dir.join(TRANSACTION_HOOK);
    let runnable =
        std::fs::metadata(&hook).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if runnable {
        return Ok(());
    }
    Err(Rejection::new(RejectCode::Error, vec![
        format!("gitapps: error: {} is missing, so git would apply this push without recording it in the audit log; the push is rejected", hook.display()),
        "gitapps: hint: the server's admin must run `gitapps-hook install` again".into(),
    ]))
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn check_nonce(env: &PushEnv, config: &ServerConfig) -> Result<(), Rejection> {
    let problem = match env.nonce_status {
        Some(NonceStatus::Ok) => return Ok(()),
        Some(NonceStatus::Slop) if config.allow_nonce_slop => return Ok(()),
        Some(NonceStatus::Slop) => format!(
            "the certificate's nonce is stale (SLOP): it was issued longer ago than {NONCE_SLOP_KEY} allows, so it may be a replay; push again (set {ALLOW_SLOP_KEY}=true on the server to accept SLOP)"
        ),
        Some(NonceStatus::Bad) => {
            "the certificate's nonce is not one this server issued (BAD): a replayed or forged certificate".to_owned()
        }
        Some(NonceStatus::Missing) => {
            "the certificate carries no nonce (MISSING): push with a git that sends one".to_owned()
        }
        Some(NonceStatus::Unsolicited) => {
            "the server did not ask for a nonce (UNSOLICITED): receive.certNonceSeed is not set; the admin must run `gitapps-hook install`".to_owned()
        }
        None => {
            "git reported no nonce status: receive.certNonceSeed is not set on the server; the admin must run `gitapps-hook install`".to_owned()
        }
    };
    Err(Rejection::one(
        RejectCode::Nonce,
        format!("gitapps: rejected: {problem}"),
    ))
}

/// The certificate's nonce is the one git checked, and the time it holds
/// is recent enough for the ledger to still know of any
/// certificate that used it.
fn check_certificate_nonce(
    cert: &PushCertificate<'_>,
    env: &PushEnv,
    config: &ServerConfig,
    now: SystemTime,
) -> Result<(), Rejection> {
    let reject =
        |why: String| Rejection::one(RejectCode::Nonce, format!("gitapps: rejected: {why}"));
    // git exports the certificate's nonce only when it is fresh; for SLOP
    // it exports its own new one, after checking the certificate's HMAC
    // (a forged nonce is BAD). So the two differ exactly when SLOP was
    // accepted above, by the admin's choice.
    let slop_accepted = env.nonce_status == Some(NonceStatus::Slop) && config.allow_nonce_slop;
    if env.nonce.as_deref() != Some(cert.nonce.as_str()) && !slop_accepted {
        return Err(reject(
            "the certificate's nonce is not the one git checked".into(),
        ));
    }
    let issued = cert.nonce_time().ok_or_else(|| {
        reject(format!(
            "the certificate's nonce {:?} is not git's `<seconds>-<HMAC>`",
            cert.nonce
        ))
    })?;
    // A SLOP nonce may be old; one older than the ledger's memory could be
    // a replay the ledger has forgotten.
    let memory = config.nonce_slop_secs + ledger::MARGIN_SECS;
    if slop_accepted && unix_secs(now).saturating_sub(issued) > memory {
        return Err(reject(format!(
            "the certificate's nonce was issued more than {memory} s ago, too long to tell it from a replay; push again"
        )));
    }
    Ok(())
}

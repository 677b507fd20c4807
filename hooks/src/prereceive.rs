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
use sequoia_openpgp::Cert;

use crate::cert::PushCertificate;
use crate::config::{
    Limits, ServerConfig, ALLOW_SLOP_KEY, MAX_CERT_SIZE_KEY, MAX_REF_UPDATES_KEY, NONCE_SLOP_KEY,
};
use crate::env::{NonceStatus, PushEnv};
use crate::error::HookError;
use crate::fsmode::Shared;
use crate::judgement::{check_certificate, load_policy, Judge};
pub use crate::judgement::{Accepted, Rejection};
use crate::keyfile::parse_certs;
use crate::ledger;
use crate::repo::{read_blob_capped, ref_target, ServerRepo};
use crate::updates::RefUpdate;

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
    let policy = load_policy(repo, policy_tip, &config)?;
    let keyring = admin_certs(&config)?;
    let accepted = Judge {
        repo,
        git_dir,
        config: &config,
        keyring: &keyring,
        now,
    }
    .decide(&cert, &sig, &updates, &policy)?;
    let pusher = &accepted.pusher;

    // A clock before 1970 counts as 0: every recorded certificate then
    // looks fresh, which refuses more, never less.
    let now_secs = unix_secs(now);
    let signed = ledger::signed_digest(cert.payload)?;
    let shared = Shared::of(repo);
    if !ledger::accept(
        git_dir,
        shared,
        cert_id,
        &signed,
        pusher,
        now_secs,
        config.nonce_slop_secs,
    )? {
        return Err(Rejection::one(
            RejectCode::Replay,
            "gitapps: rejected: this push certificate was used before (a replay): push again to get a fresh nonce",
        ));
    }
    Ok(accepted)
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

/// The certificates of the admin's keyring file, `gitapps.keyring`.
fn admin_certs(config: &ServerConfig) -> Result<Vec<Cert>, HookError> {
    let Some(path) = &config.keyring else {
        return Ok(Vec::new());
    };
    let bytes = std::fs::read(path).map_err(|e| {
        HookError::Config(format!(
            "gitapps.keyring = {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    // The admin's own file: not bounded like the key files clients write.
    let unbounded = Limits {
        key_file_size: u64::MAX,
        key_user_ids: usize::MAX,
        ..config.limits
    };
    parse_certs(&bytes, &unbounded).map_err(|e| {
        HookError::Config(format!(
            "gitapps.keyring = {}: not an OpenPGP keyring: {e}",
            path.display()
        ))
    })
}

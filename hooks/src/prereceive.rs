//! The pre-receive hook: admit a push only when it is signed by a known key,
//! fresh, self-consistent, and every operation is allowed by the policy.
//! Every error path rejects.

use std::path::Path;
use std::time::SystemTime;

use gitapps_policy::{Fingerprint, Policy, ACCESS_CONTROL_REF};

use crate::cert::{PushCertificate, SignatureKind};
use crate::classify::diff_trees;
use crate::config::{ServerConfig, ALLOW_SLOP_KEY};
use crate::env::{NonceStatus, PushEnv};
use crate::error::{GitContext, HookError};
use crate::judge::{judge, Detail};
use crate::keyring::{check_key_file, keyring_file_has, Keyring, VerifyError};
use crate::ledger;
use crate::repo::{commit_tree, ref_target, BranchFiles, ServerRepo};
use crate::updates::RefUpdate;

/// At most this many denied operations are listed; the rest are counted.
const MAX_DENIALS_SHOWN: usize = 20;

/// Why a push is rejected: the lines the pusher sees (as `remote:` lines).
#[derive(Debug)]
pub struct Rejection(pub Vec<String>);

impl Rejection {
    fn one(line: impl Into<String>) -> Self {
        Rejection(vec![line.into()])
    }
}

impl From<HookError> for Rejection {
    fn from(e: HookError) -> Self {
        Rejection::one(format!("gitapps: error: {e}; the push is rejected"))
    }
}

/// The outcome of an accepted push: who pushed.
#[derive(Debug)]
pub struct Accepted {
    pub pusher: Fingerprint,
}

pub fn run(git_dir: &Path, stdin: &str, env: &PushEnv) -> Result<Accepted, Rejection> {
    let updates = RefUpdate::parse_all(stdin)
        .map_err(|e| Rejection::one(format!("gitapps: error: {e}; the push is rejected")))?;
    let cert_id = env.cert.ok_or_else(|| {
        Rejection(vec![
            "gitapps: this push is not signed; the server accepts only signed pushes.".into(),
            "gitapps: hint: push with `git push --signed` (and set user.signingkey to your OpenPGP key).".into(),
        ])
    })?;

    let now = SystemTime::now();
    let server = ServerRepo::open(git_dir, &env.objects)?;
    let repo = &server.repo;
    let config = ServerConfig::read(repo)?;
    check_nonce(env, &config)?;

    let cert_bytes = repo
        .find_object(cert_id)
        .git(format!("reading the push certificate {cert_id}"))?
        .data
        .clone();
    let cert = PushCertificate::parse(&cert_bytes)
        .map_err(|e| Rejection::one(format!("gitapps: rejected: {e}")))?;
    match cert.signature_kind {
        SignatureKind::OpenPgp => {}
        SignatureKind::Ssh | SignatureKind::X509 => {
            return Err(Rejection(vec![
                "gitapps: rejected: the push certificate is signed with an SSH or X.509 key; this server verifies OpenPGP signatures only.".into(),
                "gitapps: hint: set gpg.format=openpgp and user.signingkey to your OpenPGP key.".into(),
            ]));
        }
    }
    // git exports the certificate's nonce only when it is fresh; for SLOP
    // it exports its own new one, after checking the certificate's HMAC
    // (a forged nonce is BAD). So the two differ exactly when SLOP was
    // accepted above, by the admin's choice.
    let slop_accepted = env.nonce_status == Some(NonceStatus::Slop) && config.allow_nonce_slop;
    if env.nonce.as_deref() != Some(cert.nonce.as_str()) && !slop_accepted {
        return Err(Rejection::one(
            "gitapps: rejected: the certificate's nonce is not the one git checked",
        ));
    }
    check_commands(&cert, &updates)?;

    let Some(policy_tip) = ref_target(repo, ACCESS_CONTROL_REF)? else {
        return Err(Rejection::one(format!(
            "gitapps: rejected: the server has no {ACCESS_CONTROL_REF}, so no policy: the admin must run `gitapps-hook install`"
        )));
    };
    let current = BranchFiles::read(repo, policy_tip)?;
    let policy = current.policy().map_err(|d| {
        let mut lines = vec![
            "gitapps: error: the policy on apps/access-control is invalid; every push is rejected until the admin repairs it:".to_owned(),
        ];
        lines.extend(d.0.iter().map(|d| format!("gitapps:   {d}")));
        Rejection(lines)
    })?;
    let keyring = load_keyring(repo, &current, &config)?;

    // The access-control branch as this push leaves it, when it moves it.
    let policy_update = updates.iter().find(|u| u.name == ACCESS_CONTROL_REF);
    let new_policy_files = match policy_update.and_then(|u| u.new) {
        Some(new) => Some(BranchFiles::read(repo, new)?),
        None => None,
    };

    let pusher = identify(
        repo,
        &cert,
        &keyring,
        new_policy_files.as_ref(),
        &config,
        now,
    )?;

    let rules = policy
        .for_user(&pusher, &config.owner)
        .git("compiling the policy")?;
    // A push to apps/access-control is judged by the policy as it was
    // before the push: `policy` is the old one here.
    let mut denials = Vec::new();
    let mut denied = 0usize;
    judge(
        repo,
        &rules,
        &updates,
        config.max_file_size,
        Detail::VerdictOnly,
        &mut |judged| {
            if !judged.allowed() {
                denied += 1;
                if denials.len() < MAX_DENIALS_SHOWN {
                    denials.push(judged.denial(pusher.as_str()));
                }
            }
            Ok(())
        },
    )?;
    if denied > 0 {
        if denied > MAX_DENIALS_SHOWN {
            denials.push(format!(
                "gitapps: … and {} more denied operations (`gitapps-hook explain` lists them all)",
                denied - MAX_DENIALS_SHOWN
            ));
        }
        return Err(Rejection(denials));
    }

    if let Some(update) = policy_update {
        check_new_policy(repo, update, new_policy_files.as_ref(), &config)?;
    }
    // A clock before 1970 counts as 0: every recorded certificate then
    // looks fresh, which refuses more, never less.
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    if !ledger::accept(git_dir, cert_id, &pusher, now_secs, config.nonce_slop_secs)? {
        return Err(Rejection::one(
            "gitapps: rejected: this push certificate was used before (a replay): push again to get a fresh nonce",
        ));
    }
    Ok(Accepted { pusher })
}

fn check_nonce(env: &PushEnv, config: &ServerConfig) -> Result<(), Rejection> {
    let problem = match env.nonce_status {
        Some(NonceStatus::Ok) => return Ok(()),
        Some(NonceStatus::Slop) if config.allow_nonce_slop => return Ok(()),
        Some(NonceStatus::Slop) => format!(
            "the certificate's nonce is stale (SLOP): it was issued longer ago than receive.certNonceSlop allows, so it may be a replay; push again (set {ALLOW_SLOP_KEY}=true on the server to accept SLOP)"
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
    Err(Rejection::one(format!("gitapps: rejected: {problem}")))
}

/// The certificate is what the signer asked for; stdin is what git is about
/// to do. They must be the same updates.
fn check_commands(cert: &PushCertificate<'_>, updates: &[RefUpdate]) -> Result<(), Rejection> {
    let mut signed = cert.commands.clone();
    let mut doing = updates.to_vec();
    signed.sort();
    doing.sort();
    if signed != doing {
        return Err(Rejection::one(
            "gitapps: rejected: the ref updates differ from the ones the push certificate signs",
        ));
    }
    Ok(())
}

/// The key files of `files`, each read from `repo` only if verification
/// gets to it.
fn key_files_of<'r>(repo: &'r gix::Repository, files: &BranchFiles) -> Keyring<'r> {
    let mut keyring = Keyring::default();
    for (path, id) in &files.keys {
        let id = *id;
        keyring.add_key_file(path, move || {
            repo.find_object(id).ok().map(|o| o.data.clone())
        });
    }
    keyring
}

fn load_keyring<'r>(
    repo: &'r gix::Repository,
    current: &BranchFiles,
    config: &ServerConfig,
) -> Result<Keyring<'r>, HookError> {
    let mut keyring = key_files_of(repo, current);
    if let Some(path) = &config.keyring {
        let bytes = std::fs::read(path).map_err(|e| {
            HookError::Config(format!(
                "gitapps.keyring = {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        keyring.add_all(&bytes).map_err(|e| {
            HookError::Config(format!(
                "gitapps.keyring = {}: not an OpenPGP keyring: {e}",
                path.display()
            ))
        })?;
    }
    Ok(keyring)
}

/// Who signed. A key not yet in the keyring may be one this very push
/// registers on apps/access-control (self-registration): then the policy
/// decides, as for anyone else, whether that user may add it.
fn identify(
    repo: &gix::Repository,
    cert: &PushCertificate<'_>,
    keyring: &Keyring<'_>,
    new_policy_files: Option<&BranchFiles>,
    config: &ServerConfig,
    now: SystemTime,
) -> Result<Fingerprint, Rejection> {
    let first = keyring.verify(cert.payload, cert.signature, now);
    let err = match first {
        Ok(fpr) => return Ok(fpr),
        Err(e) => e,
    };
    if err.is_unknown_key() {
        if let Some(files) = new_policy_files {
            match key_files_of(repo, files).verify(cert.payload, cert.signature, now) {
                Ok(fpr) => return Ok(fpr),
                Err(e) if !e.is_unknown_key() => return Err(signature_rejection(&e, config)),
                Err(_) => {}
            }
        }
    }
    Err(signature_rejection(&err, config))
}

fn signature_rejection(e: &VerifyError, config: &ServerConfig) -> Rejection {
    let mut lines = vec![format!("gitapps: rejected: {e}")];
    match e {
        VerifyError::UnknownKey { .. } => {
            lines.push(
                "gitapps: hint: register your public key as keys/<FINGERPRINT>.asc on apps/access-control:".into(),
            );
            lines.push(
                "gitapps: hint:   gpg --export --armor <FINGERPRINT> > keys/<FINGERPRINT>.asc (upper-case hex, your primary key's full fingerprint)".into(),
            );
            lines.push(format!(
                "gitapps: hint: commit it on apps/access-control and push it with `git push --signed` if the server allows registration, else send it to the owner ({})",
                config.owner
            ));
        }
        VerifyError::Revoked(_) | VerifyError::Expired { .. } => lines.push(
            "gitapps: hint: extend or replace the key, then update keys/<FINGERPRINT>.asc (ask the owner if you cannot push)".into(),
        ),
        _ => {}
    }
    Rejection(lines)
}

/// After a push to apps/access-control the policy must still be valid, the
/// key files must be what they claim, and the owner must not be locked out.
fn check_new_policy(
    repo: &gix::Repository,
    update: &RefUpdate,
    new_files: Option<&BranchFiles>,
    config: &ServerConfig,
) -> Result<(), Rejection> {
    let owner = &config.owner;
    let Some(new_files) = new_files else {
        return Err(Rejection::one(format!(
            "gitapps: rejected: deleting {ACCESS_CONTROL_REF} would remove the policy and lock everyone out, the owner included"
        )));
    };
    let mut lines = Vec::new();
    let new_policy: Option<Policy> = match new_files.policy() {
        Ok(p) => Some(p),
        Err(diagnostics) => {
            lines.push(
                "gitapps: rejected: this push would make the policy on apps/access-control invalid:"
                    .to_owned(),
            );
            lines.extend(diagnostics.0.iter().map(|d| format!("gitapps:   {d}")));
            None
        }
    };
    for (path, problem) in changed_key_file_problems(repo, update, new_files)? {
        lines.push(format!("gitapps: rejected: {path}: {problem}"));
    }
    if let Some(policy) = new_policy {
        for problem in policy.lockout_problems(owner) {
            lines.push(format!(
                "gitapps: rejected: this push would lock the owner out: {problem}"
            ));
        }
    }
    if !owner_keeps_a_key(repo, new_files, config)? {
        lines.push(format!(
            "gitapps: rejected: this push would lock the owner out: keys/{owner}.asc must stay (or the owner's key be in gitapps.keyring), else no push of the owner verifies"
        ));
    }
    if lines.is_empty() {
        Ok(())
    } else {
        Err(Rejection(lines))
    }
}

/// Whether the owner can still sign pushes after this one: their key file is
/// on the branch and sound, or the admin's keyring holds their key.
fn owner_keeps_a_key(
    repo: &gix::Repository,
    new_files: &BranchFiles,
    config: &ServerConfig,
) -> Result<bool, HookError> {
    let owner_file = format!("keys/{}.asc", config.owner);
    if let Some(bytes) = new_files.key_bytes(repo, &owner_file)? {
        if check_key_file(&owner_file, &bytes).is_ok() {
            return Ok(true);
        }
    }
    let Some(path) = &config.keyring else {
        return Ok(false);
    };
    let bytes = std::fs::read(path).map_err(|e| {
        HookError::Config(format!(
            "gitapps.keyring = {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    Ok(keyring_file_has(&bytes, &config.owner))
}

/// Every key file this push adds or changes must hold one public key whose
/// fingerprint is its name.
fn changed_key_file_problems(
    repo: &gix::Repository,
    update: &RefUpdate,
    new_files: &BranchFiles,
) -> Result<Vec<(String, String)>, HookError> {
    let (Some(new), old) = (update.new, update.old) else {
        return Ok(Vec::new());
    };
    let old_tree = match old {
        Some(old) => Some(commit_tree(repo, old)?),
        None => None,
    };
    let mut problems = Vec::new();
    diff_trees(
        repo,
        old_tree,
        Some(commit_tree(repo, new)?),
        &mut |change| {
            let (Some(path), Some(blob)) = (
                std::str::from_utf8(change.path)
                    .ok()
                    .filter(|p| p.starts_with("keys/")),
                change.blob,
            ) else {
                return Ok(());
            };
            let result = if new_files.keys.iter().any(|(p, _)| p == path) {
                let bytes = repo.find_object(blob).git(format!("reading {path}"))?;
                check_key_file(path, &bytes.data).map(|_| ())
            } else {
                Err("key files live directly in keys/, named <FINGERPRINT>.asc".to_owned())
            };
            if let Err(problem) = result {
                problems.push((path.to_owned(), problem));
            }
            Ok(())
        },
    )?;
    Ok(problems)
}

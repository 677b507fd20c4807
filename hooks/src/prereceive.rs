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

use gitapps_policy::{Fingerprint, Policy, RejectCode, ACCESS_CONTROL_REF};
use gix::ObjectId;
use sequoia_openpgp::{Cert, KeyID};

use crate::cert::{PushCertificate, SignatureKind};
use crate::classify::diff_trees;
use crate::config::{
    Limits, ServerConfig, ALLOW_SLOP_KEY, MAX_CERT_SIZE_KEY, MAX_REF_UPDATES_KEY, NONCE_SLOP_KEY,
};
use crate::env::{NonceStatus, PushEnv};
use crate::error::{GitContext, HookError};
use crate::fsmode::Shared;
use crate::judge::{judge, Detail};
use crate::keyfile::{parse_certs, usable_at};
use crate::keyindex::{self, keys_tree_of};
use crate::keyring::{self, parse_signature, ParsedSignature, VerifyError, Window};
use crate::ledger;
use crate::policycache;
use crate::repo::{
    commit_tree, key_files_of, object_header, read_blob_capped, read_key_file, ref_target,
    BranchFiles, BranchTrees, ServerRepo,
};
use crate::updates::RefUpdate;

/// At most this many denied operations are listed; the rest are counted.
const MAX_DENIALS_SHOWN: usize = 20;

/// The objects read before the signer is known that the push itself
/// brings (a self-registering push's commit and trees) are at most this big.
const PREAUTH_OBJECT_CAP: u64 = 16 << 20;

/// A self-registering push signed by a subkey is matched against at most
/// this many of the key files it adds (a registration adds one).
const MAX_SELF_REGISTERED_FILES: usize = 4;

/// Why a push is rejected: the lines the pusher sees (as `remote:` lines),
/// and the code that ends them.
#[derive(Debug)]
pub struct Rejection {
    pub lines: Vec<String>,
    pub code: RejectCode,
}

impl Rejection {
    fn new(code: RejectCode, lines: Vec<String>) -> Self {
        Rejection { lines, code }
    }

    fn one(code: RejectCode, line: impl Into<String>) -> Self {
        Rejection::new(code, vec![line.into()])
    }

    /// Everything the hook prints: the lines, then `gitapps: code=<code>`.
    pub fn output(&self) -> impl Iterator<Item = String> + '_ {
        self.lines.iter().cloned().chain([self.code.line()])
    }
}

impl From<HookError> for Rejection {
    fn from(e: HookError) -> Self {
        let code = e.reject_code();
        let line = match code {
            RejectCode::Error => format!("gitapps: error: {e}; the push is rejected"),
            _ => format!("gitapps: rejected: {e}"),
        };
        Rejection::one(code, line)
    }
}

/// The outcome of an accepted push: who pushed.
#[derive(Debug)]
pub struct Accepted {
    pub pusher: Fingerprint,
}

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
    match cert.signature_kind {
        SignatureKind::OpenPgp => {}
        SignatureKind::Ssh | SignatureKind::X509 => {
            return Err(Rejection::new(RejectCode::Signature, vec![
                "gitapps: rejected: the push certificate is signed with an SSH or X.509 key; this server verifies OpenPGP signatures only.".into(),
                "gitapps: hint: set gpg.format=openpgp and user.signingkey to your OpenPGP key.".into(),
            ]));
        }
    }
    let nonce_time = check_certificate_nonce(&cert, env, &config, now)?;
    check_commands(&cert, &updates)?;

    // The signature, before any key: its size, its packets, its date.
    let reject_signature = |e: &VerifyError| signature_rejection(e, &config);
    let sig = parse_signature(cert.signature, limits).map_err(|e| reject_signature(&e))?;
    Window {
        nonce_time,
        now,
        slop: config.signature_slop_secs(),
    }
    .check(sig.signed_at)
    .map_err(|e| reject_signature(&e))?;

    let Some(policy_tip) = ref_target(repo, ACCESS_CONTROL_REF)? else {
        return Err(Rejection::one(RejectCode::InvalidPolicy, format!(
            "gitapps: rejected: the server has no {ACCESS_CONTROL_REF}, so no policy: the admin must run `gitapps-hook install`"
        )));
    };
    let current = BranchTrees::read(repo, policy_tip)?;
    let policy = policycache::load(repo, git_dir, &current, limits.policy_file_size)?.map_err(|d| {
        let mut lines = vec![
            "gitapps: error: the policy on apps/access-control is invalid; every push is rejected until the admin repairs it:".to_owned(),
        ];
        lines.extend(d.0.iter().map(|d| format!("gitapps:   {d}")));
        Rejection::new(RejectCode::InvalidPolicy, lines)
    })?;

    let policy_update = updates.iter().find(|u| u.name == ACCESS_CONTROL_REF);
    let pusher = identify(
        repo,
        git_dir,
        &sig,
        cert.payload,
        &current,
        policy_update.and_then(|u| u.new),
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
    let mut code = RejectCode::Limit;
    judge(
        repo,
        &rules,
        &updates,
        config.max_file_size,
        Detail::VerdictOnly,
        &mut |judged| {
            if !judged.allowed() {
                denied += 1;
                if judged.reject_code() == RejectCode::Denied {
                    code = RejectCode::Denied;
                }
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
        return Err(Rejection::new(code, denials));
    }

    if let Some(update) = policy_update {
        check_new_policy(repo, update, &current, &config, now)?;
    }
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
        &pusher,
        now_secs,
        config.nonce_slop_secs,
    )? {
        return Err(Rejection::one(
            RejectCode::Replay,
            "gitapps: rejected: this push certificate was used before (a replay): push again to get a fresh nonce",
        ));
    }
    Ok(Accepted { pusher })
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
/// (returned) is recent enough for the ledger to still know of any
/// certificate that used it.
fn check_certificate_nonce(
    cert: &PushCertificate<'_>,
    env: &PushEnv,
    config: &ServerConfig,
    now: SystemTime,
) -> Result<u64, Rejection> {
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
    Ok(issued)
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
            RejectCode::Certificate,
            "gitapps: rejected: the ref updates differ from the ones the push certificate signs",
        ));
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

/// The key files `refs` name, read within the limits; those that are too
/// big or do not check out are left out (they verify nothing: fail closed).
fn load_key_files(
    repo: &gix::Repository,
    files: impl IntoIterator<Item = (String, ObjectId)>,
    limits: &Limits,
) -> Result<Vec<Cert>, HookError> {
    let mut certs = Vec::new();
    for (path, blob) in files {
        if let Ok(cert) = read_key_file(repo, &path, blob, limits)? {
            certs.push(cert);
        }
    }
    Ok(certs)
}

/// Who signed: the admin's keyring and the key files of the access-control
/// branch (the one the index names for the signature's key). A key in
/// neither may be one this very push registers on apps/access-control
/// (self-registration): then the policy decides, as for anyone else,
/// whether that user may add it.
#[allow(clippy::too_many_arguments)]
fn identify(
    repo: &gix::Repository,
    git_dir: &Path,
    sig: &ParsedSignature,
    payload: &[u8],
    current: &BranchTrees,
    new_policy_tip: Option<ObjectId>,
    config: &ServerConfig,
    now: SystemTime,
) -> Result<Fingerprint, Rejection> {
    let limits = &config.limits;
    let key_ids: Vec<KeyID> = sig.issuers.iter().map(KeyID::from).collect();
    let mut candidates = admin_certs(config)?;
    let indexed = keyindex::lookup(repo, git_dir, current.keys_tree, &key_ids, limits)?;
    candidates.extend(load_key_files(
        repo,
        indexed.into_iter().map(|f| (f.path(), f.blob)),
        limits,
    )?);
    let err = match keyring::verify(&candidates, sig, payload, now) {
        Ok(fpr) => return Ok(fpr),
        Err(e) => e,
    };
    if let (true, Some(new_tip)) = (err.is_unknown_key(), new_policy_tip) {
        let registering = match self_registered_keys(repo, current, new_tip, sig, limits)? {
            Ok(certs) => certs,
            // The signer's own key file, refused: say why, not "unknown key".
            Err((path, problem)) => {
                return Err(Rejection::one(
                    RejectCode::InvalidPolicy,
                    format!("gitapps: rejected: {path}: {problem}"),
                ))
            }
        };
        match keyring::verify(&registering, sig, payload, now) {
            Ok(fpr) => return Ok(fpr),
            Err(e) if !e.is_unknown_key() => return Err(signature_rejection(&e, config)),
            Err(_) => {}
        }
    }
    Err(signature_rejection(&err, config))
}

/// The key files a push to apps/access-control adds or changes that may
/// hold the signature's key: the one named after an issuer fingerprint,
/// else (a subkey signed) all of them, when there are few. Read before the
/// signer is known, so every object is bounded. `Err((path, problem))` when
/// the file named after the signer's key does not check out.
fn self_registered_keys(
    repo: &gix::Repository,
    current: &BranchTrees,
    new_tip: ObjectId,
    sig: &ParsedSignature,
    limits: &Limits,
) -> Result<Result<Vec<Cert>, (String, String)>, HookError> {
    // Each object is sized before it is read: a commit (not a tag, which
    // would lead to more objects), its root tree, its keys/ tree.
    let small = |id: ObjectId, kind: gix::object::Kind| -> Result<bool, HookError> {
        let (k, size) = object_header(repo, id)?;
        Ok(k == kind && size <= PREAUTH_OBJECT_CAP)
    };
    let none = || Ok(Ok(Vec::new()));
    if !small(new_tip, gix::object::Kind::Commit)? {
        return none();
    }
    let root = commit_tree(repo, new_tip)?;
    if !small(root, gix::object::Kind::Tree)? {
        return none();
    }
    let Some(new_keys) = keys_tree_of(repo, new_tip)? else {
        return none();
    };
    if current.keys_tree == Some(new_keys) || !small(new_keys, gix::object::Kind::Tree)? {
        return none();
    }
    let old = key_files_of(repo, current.keys_tree)?;
    let added: Vec<(String, ObjectId)> = key_files_of(repo, Some(new_keys))?
        .into_iter()
        .filter(|f| !old.contains(f))
        .collect();
    let named: Vec<(String, ObjectId)> = added
        .iter()
        .filter(|(path, _)| {
            sig.issuers.iter().any(|h| {
                matches!(h, sequoia_openpgp::KeyHandle::Fingerprint(_))
                    && *path == format!("keys/{}.asc", h.to_hex())
            })
        })
        .cloned()
        .collect();
    if let [(path, blob)] = named.as_slice() {
        let checked = read_key_file(repo, path, *blob, limits)?;
        return Ok(checked
            .map(|cert| vec![cert])
            .map_err(|p| (path.clone(), p)));
    }
    if added.len() > MAX_SELF_REGISTERED_FILES {
        return none();
    }
    load_key_files(repo, added, limits).map(Ok)
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
    Rejection::new(e.reject_code(), lines)
}

/// After a push to apps/access-control the policy must still be valid, the
/// key files must be what they claim, and the owner must not be locked out.
fn check_new_policy(
    repo: &gix::Repository,
    update: &RefUpdate,
    current: &BranchTrees,
    config: &ServerConfig,
    now: SystemTime,
) -> Result<(), Rejection> {
    let owner = &config.owner;
    let Some(new_tip) = update.new else {
        return Err(Rejection::one(RejectCode::Lockout, format!(
            "gitapps: rejected: deleting {ACCESS_CONTROL_REF} would remove the policy and lock everyone out, the owner included"
        )));
    };
    let new_files = BranchFiles::read(repo, new_tip, config.limits.policy_file_size)?;
    let mut lines = Vec::new();
    let mut code = RejectCode::InvalidPolicy;
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
    for (path, problem) in changed_key_file_problems(repo, update, current, &config.limits)? {
        lines.push(format!("gitapps: rejected: {path}: {problem}"));
    }
    let mut lockout = Vec::new();
    if let Some(policy) = new_policy {
        lockout.extend(policy.lockout_problems(owner));
    }
    if let Err(why) = owner_key_stays_usable(repo, &new_files, config, now)? {
        lockout.push(why);
    }
    if !lockout.is_empty() {
        code = RejectCode::Lockout;
    }
    lines.extend(
        lockout
            .into_iter()
            .map(|p| format!("gitapps: rejected: this push would lock the owner out: {p}")),
    );
    if lines.is_empty() {
        Ok(())
    } else {
        Err(Rejection::new(code, lines))
    }
}

/// Whether the owner can still sign pushes after this one: their key file
/// is on the branch, sound, and usable now (neither revoked nor expired),
/// or the admin's keyring holds a usable key of theirs. `Err` says why not.
fn owner_key_stays_usable(
    repo: &gix::Repository,
    new_files: &BranchFiles,
    config: &ServerConfig,
    now: SystemTime,
) -> Result<Result<(), String>, HookError> {
    let owner = &config.owner;
    let path = format!("keys/{owner}.asc");
    let from_admin = admin_certs(config)?
        .into_iter()
        .filter(|c| c.fingerprint().to_hex() == owner.as_str())
        .find_map(|c| usable_at(&c, now).ok());
    if from_admin.is_some() {
        return Ok(Ok(()));
    }
    let Some(blob) = new_files.key_file(repo, &path)? else {
        return Ok(Err(format!(
            "{path} must stay (or the owner's key be in gitapps.keyring), else no push of the owner verifies"
        )));
    };
    let problem =
        match read_key_file(repo, &path, blob, &config.limits)?.and_then(|c| usable_at(&c, now)) {
            Ok(()) => return Ok(Ok(())),
            Err(problem) => problem,
        };
    Ok(Err(format!(
        "{path} would no longer be a key the owner can sign with ({problem})"
    )))
}

/// Every key file this push adds or changes must hold one public key whose
/// fingerprint is its name, within the limits.
fn changed_key_file_problems(
    repo: &gix::Repository,
    update: &RefUpdate,
    current: &BranchTrees,
    limits: &Limits,
) -> Result<Vec<(String, String)>, HookError> {
    let Some(new) = update.new else {
        return Ok(Vec::new());
    };
    let old_tree = match update.old {
        Some(old) => Some(commit_tree(repo, old)?),
        None => None,
    };
    let new_keys = keys_tree_of(repo, new)?;
    // Only what this push changes in keys/: unchanged files were checked
    // when they came.
    if old_tree.is_some() && new_keys == current.keys_tree {
        return Ok(Vec::new());
    }
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
            let direct_file = !path["keys/".len()..].contains('/');
            let result = if !direct_file {
                Err("key files live directly in keys/, named <FINGERPRINT>.asc".to_owned())
            } else {
                read_key_file(repo, path, blob, limits)?.map(drop)
            };
            if let Err(problem) = result {
                problems.push((path.to_owned(), problem));
            }
            Ok(())
        },
    )?;
    Ok(problems)
}

//! The decision on one push, shared by the hook and by `verify`: given a
//! push certificate, the ref updates it makes, the access-control commit it
//! is judged against, the server's settings, the keys of the server's
//! keyring and the server's time, is the push acceptable, and who made it?
//!
//! The hook runs it on every push (after the checks only git's environment
//! allows: the nonce's status, replays); `verify` runs it on every record of
//! the audit log in any clone, with the inputs the record carries. One code
//! path, so that a clone judges exactly as the server did.
//!
//! The checks run cheapest first ([`check_certificate`] needs neither keys
//! nor policy), and nothing a client sent is parsed beyond a bound before
//! its signer is known.

use std::path::Path;
use std::time::SystemTime;

use gitapps_policy::{Fingerprint, Policy, RejectCode, ACCESS_CONTROL_REF};
use gix::ObjectId;
use sequoia_openpgp::{Cert, KeyID};

use crate::cert::{PushCertificate, SignatureKind};
use crate::classify::diff_trees;
use crate::config::ServerConfig;
use crate::error::{GitContext, HookError};
use crate::judge::{judge, Detail};
use crate::keyfile::usable_at;
use crate::keyindex::{self, keys_tree_of};
use crate::keyring::{self, parse_signature, ParsedSignature, VerifyError, Window};
use crate::policycache;
use crate::repo::{
    commit_tree, key_files_of, object_header, read_key_file, BranchFiles, BranchTrees,
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
    pub fn new(code: RejectCode, lines: Vec<String>) -> Self {
        Rejection { lines, code }
    }

    pub fn one(code: RejectCode, line: impl Into<String>) -> Self {
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

/// An accepted push: who made it, and which keys of the server's keyring
/// the decision rested on (the signer's, when it is not in the repository;
/// the owner's, when it kept the owner from being locked out). The audit
/// log records those keys, since a clone cannot see the keyring.
#[derive(Debug)]
pub struct Accepted {
    pub pusher: Fingerprint,
    pub keyring_keys: Vec<Cert>,
}

/// The policy in force: an `apps/access-control` commit, its trees, and
/// the policy they make.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub tip: ObjectId,
    pub trees: BranchTrees,
    pub policy: Policy,
}

/// The policy of the access-control commit `tip`, or the rejection of every
/// push while it is invalid. A server passes its `git_dir`, whose policy
/// cache ([`crate::policycache`]) spares it the parse; `None` (a clone
/// replaying the audit log) parses it.
pub fn load_policy(
    repo: &gix::Repository,
    cache_in: Option<&Path>,
    tip: ObjectId,
    config: &ServerConfig,
) -> Result<LoadedPolicy, Rejection> {
    let trees = BranchTrees::read(repo, tip)?;
    let max_file = config.limits.policy_file_size;
    let policy = match cache_in {
        Some(git_dir) => policycache::load(repo, git_dir, &trees, max_file)?,
        None => BranchFiles::read_trees(repo, &trees, max_file)?.policy(),
    }
    .map_err(|d| {
        let mut lines = vec![
            "gitapps: error: the policy on apps/access-control is invalid; every push is rejected until the admin repairs it:".to_owned(),
        ];
        lines.extend(d.0.iter().map(|d| format!("gitapps:   {d}")));
        Rejection::new(RejectCode::InvalidPolicy, lines)
    })?;
    Ok(LoadedPolicy { tip, trees, policy })
}

/// The checks on a certificate that need neither keys nor policy: its
/// signature's kind, its nonce's time, its commands against `updates`, the
/// signature block's size and packets, and the signature's date against the
/// push's window (from the nonce's time to `now`, give or take the slop).
pub fn check_certificate(
    cert: &PushCertificate<'_>,
    updates: &[RefUpdate],
    config: &ServerConfig,
    now: SystemTime,
) -> Result<ParsedSignature, Rejection> {
    match cert.signature_kind {
        SignatureKind::OpenPgp => {}
        SignatureKind::Ssh | SignatureKind::X509 => {
            return Err(Rejection::new(RejectCode::Signature, vec![
                "gitapps: rejected: the push certificate is signed with an SSH or X.509 key; this server verifies OpenPGP signatures only.".into(),
                "gitapps: hint: set gpg.format=openpgp and user.signingkey to your OpenPGP key.".into(),
            ]));
        }
    }
    let nonce_time = cert.nonce_time().ok_or_else(|| {
        Rejection::one(
            RejectCode::Nonce,
            format!(
                "gitapps: rejected: the certificate's nonce {:?} is not git's `<seconds>-<HMAC>`",
                cert.nonce
            ),
        )
    })?;
    check_commands(cert, updates)?;
    let reject_signature = |e: &VerifyError| signature_rejection(e, config);
    let sig = parse_signature(cert.signature, &config.limits).map_err(|e| reject_signature(&e))?;
    Window {
        nonce_time,
        now,
        slop: config.signature_slop_secs(),
    }
    .check(sig.signed_at)
    .map_err(|e| reject_signature(&e))?;
    Ok(sig)
}

/// The certificate is what the signer asked for; `updates` is what git is
/// about to do. They must be the same updates.
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

/// Everything a decision reads besides the push itself.
pub struct Judge<'a> {
    pub repo: &'a gix::Repository,
    /// Where the key index lives (`$GIT_DIR`, of the server or of a clone).
    pub git_dir: &'a Path,
    pub config: &'a ServerConfig,
    /// The keys of the server's keyring (`gitapps.keyring`); for `verify`,
    /// the ones the audit log recorded.
    pub keyring: &'a [Cert],
    /// The server's time of the push.
    pub now: SystemTime,
}

impl Judge<'_> {
    /// Decide a push whose certificate passed [`check_certificate`] (its
    /// signature is `sig`), against `policy`: who signed, whether every
    /// operation is allowed, and whether a new policy it brings is sound.
    pub fn decide(
        &self,
        cert: &PushCertificate<'_>,
        sig: &ParsedSignature,
        updates: &[RefUpdate],
        policy: &LoadedPolicy,
    ) -> Result<Accepted, Rejection> {
        let config = self.config;
        let policy_update = updates.iter().find(|u| u.name == ACCESS_CONTROL_REF);
        let (pusher, signer_key) = self.identify(
            sig,
            cert.payload,
            &policy.trees,
            policy_update.and_then(|u| u.new),
        )?;
        let rules = policy
            .policy
            .for_user(&pusher, &config.owner)
            .git("compiling the policy")?;
        // A push to apps/access-control is judged by the policy as it was
        // before the push: `policy` is the old one here.
        let mut denials = Vec::new();
        let mut denied = 0usize;
        let mut code = RejectCode::Limit;
        judge(
            self.repo,
            &rules,
            updates,
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
        let mut keyring_keys: Vec<Cert> = signer_key.into_iter().collect();
        if let Some(update) = policy_update {
            if let Some(owner_key) = self.check_new_policy(update, &policy.trees)? {
                if !keyring_keys
                    .iter()
                    .any(|k| k.fingerprint() == owner_key.fingerprint())
                {
                    keyring_keys.push(owner_key);
                }
            }
        }
        Ok(Accepted {
            pusher,
            keyring_keys,
        })
    }

    /// Who signed: the key files of the access-control branch (the one the
    /// index names for the signature's key), then the server's keyring. A
    /// key in neither may be one this very push registers on
    /// apps/access-control (self-registration): then the policy decides, as
    /// for anyone else, whether that user may add it. Returns the signer,
    /// and the keyring's key when that is what verified.
    fn identify(
        &self,
        sig: &ParsedSignature,
        payload: &[u8],
        current: &BranchTrees,
        new_policy_tip: Option<ObjectId>,
    ) -> Result<(Fingerprint, Option<Cert>), Rejection> {
        let (repo, limits) = (self.repo, &self.config.limits);
        let key_ids: Vec<KeyID> = sig.issuers.iter().map(KeyID::from).collect();
        let indexed = keyindex::lookup(repo, self.git_dir, current.keys_tree, &key_ids, limits)?;
        let mut candidates = load_key_files(
            repo,
            indexed.into_iter().map(|f| (f.path(), f.blob)),
            limits,
        )?;
        let from_repository = candidates.len();
        candidates.extend(self.keyring.iter().cloned());
        let err = match keyring::verify_which(&candidates, sig, payload, self.now) {
            Ok((fpr, i)) if i >= from_repository => {
                return Ok((fpr, Some(candidates.swap_remove(i))))
            }
            Ok((fpr, _)) => return Ok((fpr, None)),
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
            match keyring::verify(&registering, sig, payload, self.now) {
                Ok(fpr) => return Ok((fpr, None)),
                Err(e) if !e.is_unknown_key() => return Err(signature_rejection(&e, self.config)),
                Err(_) => {}
            }
        }
        Err(signature_rejection(&err, self.config))
    }

    /// After a push to apps/access-control the policy must still be valid,
    /// the key files must be what they claim, and the owner must not be
    /// locked out. Returns the owner's key from the keyring when that is
    /// what keeps the owner in.
    fn check_new_policy(
        &self,
        update: &RefUpdate,
        current: &BranchTrees,
    ) -> Result<Option<Cert>, Rejection> {
        let (repo, config) = (self.repo, self.config);
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
        let owner_key = match self.owner_key_stays_usable(&new_files)? {
            Ok(key) => key,
            Err(why) => {
                lockout.push(why);
                None
            }
        };
        if !lockout.is_empty() {
            code = RejectCode::Lockout;
        }
        lines.extend(
            lockout
                .into_iter()
                .map(|p| format!("gitapps: rejected: this push would lock the owner out: {p}")),
        );
        if lines.is_empty() {
            Ok(owner_key)
        } else {
            Err(Rejection::new(code, lines))
        }
    }

    /// Whether the owner can still sign pushes after this one: their key
    /// file is on the branch, sound, and usable now (neither revoked nor
    /// expired), or the keyring holds a usable key of theirs (returned).
    /// `Err` says why not.
    fn owner_key_stays_usable(
        &self,
        new_files: &BranchFiles,
    ) -> Result<Result<Option<Cert>, String>, HookError> {
        let (repo, config) = (self.repo, self.config);
        let owner = &config.owner;
        let path = format!("keys/{owner}.asc");
        let from_keyring = self
            .keyring
            .iter()
            .filter(|c| c.fingerprint().to_hex() == owner.as_str())
            .find(|c| usable_at(c, self.now).is_ok());
        if let Some(key) = from_keyring {
            return Ok(Ok(Some(key.clone())));
        }
        let Some(blob) = new_files.key_file(repo, &path)? else {
            return Ok(Err(format!(
                "{path} must stay (or the owner's key be in gitapps.keyring), else no push of the owner verifies"
            )));
        };
        let problem = match read_key_file(repo, &path, blob, &config.limits)?
            .and_then(|c| usable_at(&c, self.now))
        {
            Ok(()) => return Ok(Ok(None)),
            Err(problem) => problem,
        };
        Ok(Err(format!(
            "{path} would no longer be a key the owner can sign with ({problem})"
        )))
    }
}

/// The key files `refs` name, read within the limits; those that are too
/// big or do not check out are left out (they verify nothing: fail closed).
fn load_key_files(
    repo: &gix::Repository,
    files: impl IntoIterator<Item = (String, ObjectId)>,
    limits: &crate::config::Limits,
) -> Result<Vec<Cert>, HookError> {
    let mut certs = Vec::new();
    for (path, blob) in files {
        if let Ok(cert) = read_key_file(repo, &path, blob, limits)? {
            certs.push(cert);
        }
    }
    Ok(certs)
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
    limits: &crate::config::Limits,
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

/// Every key file this push adds or changes must hold one public key whose
/// fingerprint is its name, within the limits.
fn changed_key_file_problems(
    repo: &gix::Repository,
    update: &RefUpdate,
    current: &BranchTrees,
    limits: &crate::config::Limits,
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

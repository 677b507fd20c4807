//! The keyring of users and the verification of push certificates with
//! sequoia-openpgp.
//!
//! The hook only *verifies*: it handles public keys and signatures, never a
//! secret. That is why the pure-Rust crypto backend (no C toolchain, no
//! system libraries on the server) is acceptable here; packagers who prefer
//! nettle can build with `--no-default-features --features crypto-nettle`.

use std::time::{Duration, SystemTime};

use gitapps_policy::Fingerprint;
use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, Policy as _, StandardPolicy};
use openpgp::types::RevocationStatus;
use openpgp::{Cert, KeyHandle, Packet, PacketPile};

/// How far a signature's creation time may lie in the future: clocks drift.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// How old a push certificate's signature may be. The key is judged at the
/// signature's time (SPEC section 2), and the signer chooses that time: a
/// bound keeps a key retired since from signing "in the past". (The nonce
/// already proves the certificate itself is fresh.)
const MAX_SIGNATURE_AGE: Duration = Duration::from_secs(60 * 60);

/// The keys a push may be signed with: certificates from the admin's
/// keyring file, and `keys/<FPR>.asc` files from the access-control branch,
/// which are parsed only when needed (a server may hold thousands; the file
/// named after the signature's issuer is tried first).
#[derive(Default)]
pub struct Keyring<'r> {
    certs: Vec<Cert>,
    key_files: Vec<(String, KeyLoader<'r>)>,
}

/// Reads a key file's content when it is needed; `None` when it cannot be
/// read (the key then verifies nothing: fail closed).
pub type KeyLoader<'r> = Box<dyn Fn() -> Option<Vec<u8>> + 'r>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the signature does not parse as OpenPGP: {0}")]
    Malformed(String),
    #[error("the certificate carries {0} signatures; exactly one is expected")]
    SignatureCount(usize),
    #[error("the signature names no issuer key")]
    NoIssuer,
    #[error("the signature was made with key {issuers}, which is not in the keyring")]
    UnknownKey { issuers: String },
    #[error("the signature is not acceptable: {0}")]
    Policy(String),
    #[error("key {0} is revoked")]
    Revoked(Fingerprint),
    #[error("key {fingerprint} is not valid now (expired or not yet valid): {reason}")]
    Expired {
        fingerprint: Fingerprint,
        reason: String,
    },
    #[error("key {0} has no signing-capable key with the signature's issuer id")]
    NotSigningCapable(Fingerprint),
    #[error("the signature does not verify with key {0}: the certificate was altered or signed by someone else")]
    Bad(Fingerprint),
    #[error("the signature's creation time is missing, in the future, or more than an hour old: check your clock")]
    BadTime,
}

impl VerifyError {
    /// Only an unknown key may be cured by looking at keys the push itself
    /// brings (self-registration); every other failure is final.
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, VerifyError::UnknownKey { .. })
    }
}

impl<'r> Keyring<'r> {
    /// Add every certificate in `bytes` (armored or binary, one or many).
    pub fn add_all(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let parser = CertParser::from_bytes(bytes).map_err(|e| e.to_string())?;
        let mut n = 0;
        for cert in parser {
            self.certs.push(cert.map_err(|e| e.to_string())?);
            n += 1;
        }
        Ok(n)
    }

    /// Add `keys/<FPR>.asc` from the access-control branch. It is checked
    /// (see [`check_key_file`]) when it is used: a file that does not check
    /// out must not let anyone in, and must not lock everyone else out.
    pub fn add_key_file(&mut self, path: &str, load: impl Fn() -> Option<Vec<u8>> + 'r) {
        self.key_files.push((path.to_owned(), Box::new(load)));
    }

    /// The certificates that may hold a key with one of `issuers`: the
    /// admin's, then the key file named after an issuer fingerprint (the
    /// usual case: the primary key signs), and only if none of those holds
    /// the key, every other key file.
    fn candidates(&self, issuers: &[KeyHandle]) -> Vec<Cert> {
        let holds = |c: &Cert| holds_any(c, issuers);
        let parse = |(path, load): &(String, KeyLoader<'r>)| {
            load().and_then(|bytes| check_key_file(path, &bytes).ok())
        };
        let (named, others): (Vec<_>, Vec<_>) = self
            .key_files
            .iter()
            .partition(|(path, _)| named_after_issuer(path, issuers));
        let mut found: Vec<Cert> = self
            .certs
            .iter()
            .filter(|c| holds(c))
            .cloned()
            .chain(named.into_iter().filter_map(parse).filter(holds))
            .collect();
        if found.is_empty() {
            found = others.into_iter().filter_map(parse).filter(holds).collect();
        }
        found
    }

    /// Verify a detached signature over `payload` and return the signer's
    /// user id: the fingerprint of the primary key of the certificate that
    /// holds the signing key. The key must be valid, alive and not revoked
    /// at the signature's time, which must lie within an hour before `now`.
    pub fn verify(
        &self,
        payload: &[u8],
        armored_signature: &[u8],
        now: SystemTime,
    ) -> Result<Fingerprint, VerifyError> {
        let policy = StandardPolicy::new();
        let pile = PacketPile::from_bytes(armored_signature)
            .map_err(|e| VerifyError::Malformed(one_line(&e)))?;
        let sigs: Vec<_> = pile
            .descendants()
            .filter_map(|p| match p {
                Packet::Signature(s) => Some(s),
                _ => None,
            })
            .collect();
        let [sig] = sigs.as_slice() else {
            return Err(VerifyError::SignatureCount(sigs.len()));
        };
        policy
            .signature(sig, HashAlgoSecurity::CollisionResistance)
            .map_err(|e| VerifyError::Policy(one_line(&e)))?;
        let signed_at = match sig.signature_creation_time() {
            Some(t) if t <= now + CLOCK_SKEW && t + MAX_SIGNATURE_AGE >= now => t,
            _ => return Err(VerifyError::BadTime),
        };
        let issuers = sig.get_issuers();
        if issuers.is_empty() {
            return Err(VerifyError::NoIssuer);
        }

        let mut last_error = None;
        for cert in self.candidates(&issuers) {
            match verify_with(&cert, sig, payload, &issuers, &policy, signed_at) {
                Ok(fpr) => return Ok(fpr),
                Err(e) => last_error = Some(e),
            }
        }
        // Name the key by its fingerprint when the signature says it, else
        // by its key id.
        let named = issuers
            .iter()
            .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
            .unwrap_or(&issuers[0]);
        Err(last_error.unwrap_or_else(|| VerifyError::UnknownKey {
            issuers: named.to_hex(),
        }))
    }
}

fn named_after_issuer(path: &str, issuers: &[KeyHandle]) -> bool {
    let Some(name) = path
        .strip_prefix("keys/")
        .and_then(|p| p.strip_suffix(".asc"))
    else {
        return false;
    };
    issuers
        .iter()
        .any(|h| matches!(h, KeyHandle::Fingerprint(_)) && h.to_hex() == name)
}

fn holds_any(cert: &Cert, issuers: &[KeyHandle]) -> bool {
    cert.keys()
        .any(|ka| issuers.iter().any(|h| ka.key().key_handle().aliases(h)))
}

fn verify_with(
    cert: &Cert,
    sig: &openpgp::packet::Signature,
    payload: &[u8],
    issuers: &[KeyHandle],
    policy: &StandardPolicy,
    now: SystemTime,
) -> Result<Fingerprint, VerifyError> {
    let fingerprint = fingerprint_of(cert);
    let expired = |e: openpgp::anyhow::Error| VerifyError::Expired {
        fingerprint: fingerprint.clone(),
        reason: one_line(&e),
    };
    let valid = cert.with_policy(policy, now).map_err(expired)?;
    if let RevocationStatus::Revoked(_) = valid.revocation_status() {
        return Err(VerifyError::Revoked(fingerprint));
    }
    valid.alive().map_err(expired)?;

    let mut saw_key = false;
    for ka in valid.keys().key_handles(issuers.iter().cloned()) {
        saw_key = true;
        if let RevocationStatus::Revoked(_) = ka.revocation_status() {
            return Err(VerifyError::Revoked(fingerprint));
        }
        ka.alive().map_err(expired)?;
        if !ka.for_signing() {
            continue;
        }
        return match sig.verify_message(ka.key(), payload) {
            Ok(()) => Ok(fingerprint),
            Err(_) => Err(VerifyError::Bad(fingerprint)),
        };
    }
    if saw_key {
        Err(VerifyError::NotSigningCapable(fingerprint))
    } else {
        // The key exists but has no valid binding now (e.g. a subkey whose
        // binding signature the policy rejects).
        Err(VerifyError::Expired {
            fingerprint,
            reason: "the signing key has no valid binding to its certificate".into(),
        })
    }
}

fn fingerprint_of(cert: &Cert) -> Fingerprint {
    // sequoia's hex fingerprint is upper-case hex of the right length, which
    // is exactly our user id format.
    Fingerprint::parse(&cert.fingerprint().to_hex())
        .expect("an OpenPGP fingerprint is 40 or 64 hex digits")
}

/// Check a `keys/<FPR>.asc` file: one public certificate whose primary
/// fingerprint is the file's name.
pub fn check_key_file(path: &str, bytes: &[u8]) -> Result<Cert, String> {
    let name = path
        .strip_prefix("keys/")
        .and_then(|n| n.strip_suffix(".asc"))
        .ok_or_else(|| "key files are named keys/<FINGERPRINT>.asc".to_owned())?;
    let named = Fingerprint::parse(name)
        .ok()
        .filter(|f| f.as_str() == name)
        .ok_or_else(|| {
            format!("`{name}` is not a full upper-case hex fingerprint (40 or 64 digits)")
        })?;
    let cert = single_cert(bytes)?;
    if cert.is_tsk() {
        return Err(
            "the file holds SECRET key material: export only the public key (gpg --export --armor)"
                .into(),
        );
    }
    let actual = fingerprint_of(&cert);
    if actual != named {
        return Err(format!(
            "the key in this file has fingerprint {actual}, not {named}: a key file must be named after its own key"
        ));
    }
    Ok(cert)
}

/// The one certificate in `bytes` (armored or binary).
fn single_cert(bytes: &[u8]) -> Result<Cert, String> {
    let mut certs = CertParser::from_bytes(bytes)
        .map_err(|e| format!("not an OpenPGP key: {}", one_line(&e)))?;
    let cert = match certs.next() {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(format!("not an OpenPGP key: {}", one_line(&e))),
        None => return Err("the file holds no OpenPGP key".into()),
    };
    if certs.next().is_some() {
        return Err("the file holds more than one key; one key per file".into());
    }
    Ok(cert)
}

fn one_line(e: &openpgp::anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

/// Whether a keyring file (the admin's `gitapps.keyring`) holds `fpr`.
pub fn keyring_file_has(bytes: &[u8], fpr: &Fingerprint) -> bool {
    CertParser::from_bytes(bytes).is_ok_and(|certs| {
        certs
            .flatten()
            .any(|c| c.fingerprint().to_hex() == fpr.as_str())
    })
}

/// Read a user's public key as given to `install --owner`: exactly one
/// certificate. Returns its fingerprint and its public part, armored (a
/// secret key given by mistake is reduced to its public part).
pub fn public_key_file(bytes: &[u8]) -> Result<(Fingerprint, Vec<u8>), String> {
    use openpgp::serialize::SerializeInto;
    let cert = single_cert(bytes)?;
    let armored = cert
        .armored()
        .to_vec()
        .map_err(|e| format!("cannot armor the key: {}", one_line(&e)))?;
    Ok((fingerprint_of(&cert), armored))
}

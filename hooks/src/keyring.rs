//! Verifying a push certificate's signature with sequoia-openpgp.
//!
//! In the order of cost: the signature block is dearmored within its size
//! limit and its packets counted from their headers ([`crate::packets`]:
//! nothing is ever decompressed); the one signature is parsed, its time
//! checked against the push's window; only then are keys looked up (by the
//! caller, see [`crate::keyindex`]) and the signature verified.
//!
//! The hook only *verifies*: it handles public keys and signatures, never a
//! secret. That is why the pure-Rust crypto backend (no C toolchain, no
//! system libraries on the server) is acceptable here; packagers who prefer
//! nettle can build with `--no-default-features --features crypto-nettle`.

use std::time::{SystemTime, UNIX_EPOCH};

use gitapps_policy::Fingerprint;
use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::{Signature, Tag};
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, Policy as _, StandardPolicy};
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, KeyHandle};

use crate::config::{Limits, MAX_SIGNATURE_PACKETS_KEY, MAX_SIGNATURE_SIZE_KEY};
use crate::keyfile::{fingerprint_of, one_line};
use crate::packets::{dearmor, scan, PacketError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the signature block is {size} bytes, over {MAX_SIGNATURE_SIZE_KEY} = {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("the signature block holds more than {0} packets (over {MAX_SIGNATURE_PACKETS_KEY})")]
    TooManyPackets(usize),
    #[error("the signature is not OpenPGP as a push certificate carries it: {0}")]
    Malformed(String),
    #[error("the certificate carries {0} signatures; exactly one is expected")]
    SignatureCount(usize),
    #[error("the signature is a {0} signature, not a signature of the certificate's text")]
    WrongType(SignatureType),
    #[error("the signature names no issuer key")]
    NoIssuer,
    #[error("the signature was made with key {issuers}, which is not in the keyring")]
    UnknownKey { issuers: String },
    #[error("the signature is not acceptable: {0}")]
    Policy(String),
    #[error("key {0} is revoked")]
    Revoked(Fingerprint),
    #[error("key {fingerprint} has expired or is not valid at {when}: {reason}")]
    Expired {
        fingerprint: Fingerprint,
        when: &'static str,
        reason: String,
    },
    #[error("key {0} has no signing-capable key with the signature's issuer id")]
    NotSigningCapable(Fingerprint),
    #[error("the signature does not verify with key {0}: the certificate was altered or signed by someone else")]
    Bad(Fingerprint),
    #[error("the signature has no creation time")]
    NoTime,
    #[error("the signature is dated {signed} (unix time), outside this push's window {earliest}..={latest}: the signer's clock is more than receive.certNonceSlop = {slop} s off, or the signature was backdated; check your clock and push again")]
    Dated {
        signed: u64,
        earliest: u64,
        latest: u64,
        slop: u64,
    },
}

impl VerifyError {
    /// Only an unknown key may be cured by looking at keys the push itself
    /// brings (self-registration); every other failure is final.
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, VerifyError::UnknownKey { .. })
    }

    /// The rejection code of a push refused for this.
    pub fn reject_code(&self) -> gitapps_policy::RejectCode {
        use gitapps_policy::RejectCode;
        match self {
            VerifyError::TooLarge { .. } => RejectCode::Limit,
            VerifyError::UnknownKey { .. } => RejectCode::UnknownKey,
            _ => RejectCode::Signature,
        }
    }
}

/// The one signature of a certificate, parsed, and the raw bytes it was
/// parsed from.
#[derive(Debug)]
pub struct ParsedSignature {
    pub signature: Signature,
    pub issuers: Vec<KeyHandle>,
    pub signed_at: SystemTime,
}

/// The signature of a push certificate, from its armored block, within
/// `limits`: the block's size, then its packets by their headers (only
/// signature packets, and at most `limits.signature_packets` of them), then
/// exactly one signature, of a document, under the standard policy, with a
/// creation time and an issuer.
pub fn parse_signature(armored: &[u8], limits: &Limits) -> Result<ParsedSignature, VerifyError> {
    let size = armored.len() as u64;
    if size > limits.signature_size {
        return Err(VerifyError::TooLarge {
            size,
            limit: limits.signature_size,
        });
    }
    let data = dearmor(armored).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let packets = scan(&data, |tag| tag == Tag::Signature, limits.signature_packets).map_err(
        |e| match e {
            PacketError::TooMany(n) => VerifyError::TooManyPackets(n),
            e => VerifyError::Malformed(e.to_string()),
        },
    )?;
    let [packet] = packets.as_slice() else {
        return Err(VerifyError::SignatureCount(packets.len()));
    };
    // Only a signature packet's body, whose bounds are known: nothing for
    // sequoia to recurse into or decompress.
    let signature = Signature::from_bytes(&data[packet.body..packet.end])
        .map_err(|e| VerifyError::Malformed(one_line(&e)))?;
    if !matches!(signature.typ(), SignatureType::Binary | SignatureType::Text) {
        return Err(VerifyError::WrongType(signature.typ()));
    }
    StandardPolicy::new()
        .signature(&signature, HashAlgoSecurity::CollisionResistance)
        .map_err(|e| VerifyError::Policy(one_line(&e)))?;
    let signed_at = signature
        .signature_creation_time()
        .ok_or(VerifyError::NoTime)?;
    let issuers = signature.get_issuers();
    if issuers.is_empty() {
        return Err(VerifyError::NoIssuer);
    }
    Ok(ParsedSignature {
        signature,
        issuers,
        signed_at,
    })
}

/// When a push's signature may be dated: no earlier than the nonce's time
/// (the server's clock when it began this push; the signature covers the
/// nonce, so it cannot be older) and no later than now, give or take
/// `slop` seconds for clocks that differ.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub nonce_time: u64,
    pub now: SystemTime,
    pub slop: u64,
}

impl Window {
    pub fn check(&self, signed_at: SystemTime) -> Result<(), VerifyError> {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let signed = secs(signed_at);
        let earliest = self.nonce_time.saturating_sub(self.slop);
        let latest = secs(self.now).saturating_add(self.slop);
        if (earliest..=latest).contains(&signed) {
            Ok(())
        } else {
            Err(VerifyError::Dated {
                signed,
                earliest,
                latest,
                slop: self.slop,
            })
        }
    }
}

/// Whether `cert` holds a key with one of `issuers`' handles.
pub fn holds_any(cert: &Cert, issuers: &[KeyHandle]) -> bool {
    cert.keys()
        .any(|ka| issuers.iter().any(|h| ka.key().key_handle().aliases(h)))
}

/// Verify `sig` over `payload` against the first of `candidates` that
/// holds its key, and return the signer's user id: the fingerprint of the
/// primary key of that certificate. The certificate and the signing key
/// must be valid, alive and not revoked both at the signature's time and
/// now: a key that expired or was retired since cannot sign "in the past".
pub fn verify(
    candidates: &[Cert],
    sig: &ParsedSignature,
    payload: &[u8],
    now: SystemTime,
) -> Result<Fingerprint, VerifyError> {
    verify_which(candidates, sig, payload, now).map(|(fpr, _)| fpr)
}

/// [`verify`], also saying which of `candidates` verified (its index).
pub fn verify_which(
    candidates: &[Cert],
    sig: &ParsedSignature,
    payload: &[u8],
    now: SystemTime,
) -> Result<(Fingerprint, usize), VerifyError> {
    let policy = StandardPolicy::new();
    let mut last_error = None;
    for (i, cert) in candidates.iter().enumerate() {
        if !holds_any(cert, &sig.issuers) {
            continue;
        }
        match verify_with(cert, sig, payload, &policy, now) {
            Ok(fpr) => return Ok((fpr, i)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| unknown_key(&sig.issuers)))
}

/// The error for a signature whose key no candidate holds: it names the
/// key by its fingerprint when the signature says it, else by its key id.
pub fn unknown_key(issuers: &[KeyHandle]) -> VerifyError {
    let named = issuers
        .iter()
        .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
        .or(issuers.first());
    VerifyError::UnknownKey {
        issuers: named.map(KeyHandle::to_hex).unwrap_or_default(),
    }
}

fn verify_with(
    cert: &Cert,
    sig: &ParsedSignature,
    payload: &[u8],
    policy: &StandardPolicy,
    now: SystemTime,
) -> Result<Fingerprint, VerifyError> {
    let fingerprint = fingerprint_of(cert);
    let mut signing_key = None;
    for (t, when) in [
        (sig.signed_at, "the signature's time"),
        (now, "the time of the push"),
    ] {
        let expired = |e: openpgp::anyhow::Error| VerifyError::Expired {
            fingerprint: fingerprint.clone(),
            when,
            reason: one_line(&e),
        };
        let valid = cert.with_policy(policy, t).map_err(expired)?;
        if let RevocationStatus::Revoked(_) = valid.revocation_status() {
            return Err(VerifyError::Revoked(fingerprint));
        }
        valid.alive().map_err(expired)?;
        let mut saw_key = false;
        let mut found = None;
        for ka in valid.keys().key_handles(sig.issuers.iter().cloned()) {
            saw_key = true;
            if let RevocationStatus::Revoked(_) = ka.revocation_status() {
                return Err(VerifyError::Revoked(fingerprint));
            }
            ka.alive().map_err(expired)?;
            if ka.for_signing() {
                found = Some(ka.key().clone());
                break;
            }
        }
        match found {
            Some(key) => signing_key = Some(key),
            None if saw_key => return Err(VerifyError::NotSigningCapable(fingerprint)),
            // The key exists but has no valid binding then (e.g. a subkey
            // whose binding signature the policy rejects).
            None => {
                return Err(VerifyError::Expired {
                    fingerprint,
                    when,
                    reason: "the signing key has no valid binding to its certificate".into(),
                })
            }
        }
    }
    let key = signing_key.ok_or(VerifyError::NotSigningCapable(fingerprint.clone()))?;
    match sig.signature.verify_message(&key, payload) {
        Ok(()) => Ok(fingerprint),
        Err(_) => Err(VerifyError::Bad(fingerprint)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> std::time::Duration {
        std::time::Duration::from_secs(n)
    }

    #[test]
    fn the_window_is_the_push_give_or_take_the_slop() {
        let now = UNIX_EPOCH + secs(10_000);
        let w = Window {
            nonce_time: 9_900,
            now,
            slop: 30,
        };
        for ok in [9_870, 9_900, 10_000, 10_030] {
            assert!(w.check(UNIX_EPOCH + secs(ok)).is_ok(), "{ok}");
        }
        for bad in [0, 9_869, 10_031, 20_000] {
            assert!(
                matches!(
                    w.check(UNIX_EPOCH + secs(bad)),
                    Err(VerifyError::Dated { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn blocks_are_bounded_before_they_are_parsed() {
        let limits = Limits::default();
        let big = vec![b'A'; (16 << 10) + 1];
        assert_eq!(
            parse_signature(&big, &limits).err(),
            Some(VerifyError::TooLarge {
                size: (16 << 10) + 1,
                limit: 16 << 10
            })
        );
        // Five empty signature packets: counted from their headers.
        let five = [0x88u8, 0].repeat(5);
        assert_eq!(
            parse_signature(&five, &limits).err(),
            Some(VerifyError::TooManyPackets(4))
        );
        let two = [0x88u8, 0].repeat(2);
        assert_eq!(
            parse_signature(&two, &limits).err(),
            Some(VerifyError::SignatureCount(2))
        );
        // A compressed packet is refused by its tag.
        let err = parse_signature(&[0xC8, 2, 1, 0], &limits).expect_err("compressed");
        assert!(err.to_string().contains("compressed"), "{err}");
    }
}

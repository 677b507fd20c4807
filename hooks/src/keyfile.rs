//! Key files: `keys/<FPR>.asc` on the access-control branch (anyone may
//! write their own with open registration), the admin's keyring, the key
//! `install --owner` is given. Parsed within bounds: a size, a number of
//! user ids, and only the packets a public key is made of, so that no key
//! file can make the hook decompress anything or spend long parsing.

use std::time::SystemTime;

use gitapps_policy::Fingerprint;
use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::Tag;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::types::RevocationStatus;
use openpgp::Cert;

use crate::config::{Limits, MAX_KEY_FILE_SIZE_KEY, MAX_KEY_USER_IDS_KEY};
use crate::packets::{dearmor, scan};

/// The packets of a public certificate. Secret keys are named apart, to
/// say what went wrong.
fn public_key_packet(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::PublicKey
            | Tag::PublicSubkey
            | Tag::UserID
            | Tag::UserAttribute
            | Tag::Signature
            | Tag::Trust
            | Tag::Marker
            | Tag::SecretKey
            | Tag::SecretSubkey
    )
}

/// More packets than a key file within the size limit would plausibly
/// hold; the size limit is the real bound.
const MAX_KEY_PACKETS: usize = 4096;

/// Why a key file of `size` bytes is refused.
pub fn too_big(size: u64, limits: &Limits) -> String {
    format!(
        "the file is {size} bytes, over {MAX_KEY_FILE_SIZE_KEY} = {}: export only the key itself (`gpg --export --armor --export-options export-minimal FPR`)",
        limits.key_file_size
    )
}

/// The certificates in `bytes` (armored or binary), read within `limits`.
/// Every problem is one line for the user.
pub fn parse_certs(bytes: &[u8], limits: &Limits) -> Result<Vec<Cert>, String> {
    let size = bytes.len() as u64;
    if size > limits.key_file_size {
        return Err(too_big(size, limits));
    }
    let data = dearmor(bytes).map_err(|e| format!("not an OpenPGP key: {e}"))?;
    let packets = scan(&data, public_key_packet, MAX_KEY_PACKETS)
        .map_err(|e| format!("not an OpenPGP public key: {e}"))?;
    if packets
        .iter()
        .any(|p| matches!(p.tag, Tag::SecretKey | Tag::SecretSubkey))
    {
        return Err(
            "the file holds SECRET key material: export only the public key (gpg --export --armor)"
                .into(),
        );
    }
    let user_ids = packets
        .iter()
        .filter(|p| matches!(p.tag, Tag::UserID | Tag::UserAttribute))
        .count();
    if user_ids > limits.key_user_ids {
        return Err(format!(
            "the key has {user_ids} user ids, over {MAX_KEY_USER_IDS_KEY} = {}: export it with fewer",
            limits.key_user_ids
        ));
    }
    let certs = CertParser::from_bytes(&data)
        .map_err(|e| format!("not an OpenPGP key: {}", one_line(&e)))?
        .map(|c| c.map_err(|e| format!("not an OpenPGP key: {}", one_line(&e))))
        .collect();
    certs
}

/// The one certificate in `bytes` (armored or binary), within `limits`.
pub fn single_cert(bytes: &[u8], limits: &Limits) -> Result<Cert, String> {
    let mut certs = parse_certs(bytes, limits)?.into_iter();
    let cert = certs
        .next()
        .ok_or_else(|| "the file holds no OpenPGP key".to_owned())?;
    if certs.next().is_some() {
        return Err("the file holds more than one key; one key per file".into());
    }
    Ok(cert)
}

/// Check a `keys/<FPR>.asc` file: one public certificate, within `limits`,
/// whose primary fingerprint is the file's name.
pub fn check_key_file(path: &str, bytes: &[u8], limits: &Limits) -> Result<Cert, String> {
    let named = key_file_fingerprint(path)?;
    let cert = single_cert(bytes, limits)?;
    let actual = fingerprint_of(&cert);
    if actual != named {
        return Err(format!(
            "the key in this file has fingerprint {actual}, not {named}: a key file must be named after its own key"
        ));
    }
    Ok(cert)
}

/// The fingerprint a key file's path names: `keys/<FPR>.asc`, in full,
/// upper-case hex.
pub fn key_file_fingerprint(path: &str) -> Result<Fingerprint, String> {
    let name = path
        .strip_prefix("keys/")
        .and_then(|n| n.strip_suffix(".asc"))
        .ok_or_else(|| "key files are named keys/<FINGERPRINT>.asc".to_owned())?;
    Fingerprint::parse(name)
        .ok()
        .filter(|f| f.as_str() == name)
        .ok_or_else(|| {
            format!("`{name}` is not a full upper-case hex fingerprint (40 or 64 digits)")
        })
}

/// Whether `cert` can sign a push at `now`: valid under the standard
/// policy, neither revoked (softly or not) nor expired, with a signing key
/// that is neither. `Err` says why not.
pub fn usable_at(cert: &Cert, now: SystemTime) -> Result<(), String> {
    let policy = StandardPolicy::new();
    let valid = cert
        .with_policy(&policy, now)
        .map_err(|e| format!("the key is not valid now: {}", one_line(&e)))?;
    if let RevocationStatus::Revoked(_) = valid.revocation_status() {
        return Err("the key is revoked".into());
    }
    valid
        .alive()
        .map_err(|e| format!("the key has expired or is not yet valid: {}", one_line(&e)))?;
    let signs = valid.keys().for_signing().any(|ka| {
        ka.alive().is_ok() && !matches!(ka.revocation_status(), RevocationStatus::Revoked(_))
    });
    if signs {
        Ok(())
    } else {
        Err("the key has no signing key that is valid now (expired or revoked)".into())
    }
}

pub fn fingerprint_of(cert: &Cert) -> Fingerprint {
    // sequoia's hex fingerprint is upper-case hex of the right length, which
    // is exactly our user id format.
    Fingerprint::parse(&cert.fingerprint().to_hex())
        .expect("an OpenPGP fingerprint is 40 or 64 hex digits")
}

pub fn one_line(e: &openpgp::anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

/// Read a user's public key as given to `install --owner` (the admin's own
/// input): exactly one certificate, usable now, and small enough for a key
/// file. Returns its fingerprint and its public part, armored (a secret key
/// given by mistake is reduced to its public part).
pub fn public_key_file(bytes: &[u8], limits: &Limits) -> Result<(Fingerprint, Vec<u8>), String> {
    use openpgp::serialize::SerializeInto;
    let not_a_key = |e: openpgp::anyhow::Error| format!("not an OpenPGP key: {}", one_line(&e));
    let mut certs = CertParser::from_bytes(bytes).map_err(not_a_key)?;
    let cert = match certs.next() {
        Some(cert) => cert.map_err(not_a_key)?,
        None => return Err("the file holds no OpenPGP key".into()),
    };
    if certs.next().is_some() {
        return Err("the file holds more than one key; give the owner's alone".into());
    }
    let cert = cert.strip_secret_key_material();
    let armored = cert
        .armored()
        .to_vec()
        .map_err(|e| format!("cannot armor the key: {}", one_line(&e)))?;
    single_cert(&armored, limits)
        .map_err(|e| format!("as keys/<FPR>.asc the hook would refuse it: {e}"))?;
    usable_at(&cert, SystemTime::now())
        .map_err(|e| format!("{e}: the owner must be able to sign pushes"))?;
    Ok((fingerprint_of(&cert), armored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn paths_name_fingerprints() {
        let a = "A".repeat(40);
        assert!(key_file_fingerprint(&format!("keys/{a}.asc")).is_ok());
        for bad in [
            format!("keys/{}.asc", a.to_lowercase()),
            format!("keys/{a}"),
            format!("keys/x/{a}.asc"),
            "keys/0123456789ABCDEF.asc".to_owned(),
        ] {
            assert!(key_file_fingerprint(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_before_parsing() {
        let big = vec![b'x'; (64 << 10) + 1];
        let err = parse_certs(&big, &limits()).expect_err("too big");
        assert!(err.contains("gitapps.maxKeyFileSize"), "{err}");
        // A compressed packet where a key should be is refused by its tag.
        let err = parse_certs(&[0xC8, 2, 1, 0], &limits()).expect_err("compressed");
        assert!(err.contains("compressed"), "{err}");
        let err = parse_certs(b"not a key\n", &limits()).expect_err("text");
        assert!(err.starts_with("not an OpenPGP key"), "{err}");
    }
}

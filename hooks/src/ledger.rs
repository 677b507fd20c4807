//! The ledger of accepted push certificates, `$GIT_DIR/gitapps/ledger`:
//! one line per accepted push,
//! `<unix seconds> <certificate blob id> <pusher> <signed digest>`.
//!
//! It does two jobs:
//! - **Replays.** git's nonce is a timestamp (in seconds) and an HMAC of it,
//!   so every push in the same second gets the same nonce, and over HTTP git
//!   calls a nonce `OK` for `receive.certNonceSlop` seconds: within that
//!   window a captured certificate could be sent again. A certificate whose
//!   *signed text* was accepted before within the window plus a margin is
//!   refused: the digest is the SHA-256 of the payload, what the signature
//!   covers. Keying on the certificate's bytes (its blob id) let the same
//!   signature through again with another armor (a `Comment:` header,
//!   another line width), and keying on the signature's bytes would still
//!   let through a packet re-encoded (another length format, an unhashed
//!   subpacket added) or, for ECDSA, a signature made malleable: none of
//!   those change what was signed. Two different certificates that share a
//!   nonce are two pushes, not a replay: they sign different commands or
//!   times.
//! - **Hand-over.** pre-receive verifies who signed; post-receive, which
//!   runs after git updated the refs, reads it here to write the audit log.
//!
//! The file only grows by appends (under a lock); it is rewritten without
//! its old lines once there are many of them. Rewriting or removing files
//! on every push cost milliseconds here (freeing disk blocks).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use gitapps_policy::Fingerprint;
use gix::ObjectId;

use crate::error::{HookError, IoContext};
use crate::fsmode::Shared;

/// How long past the slop window a certificate is remembered.
pub const MARGIN_SECS: u64 = 300;

/// Old lines are dropped when there are this many of them.
const PRUNE_AT: usize = 512;

fn path(git_dir: &Path) -> PathBuf {
    git_dir.join("gitapps").join("ledger")
}

struct Line<'a> {
    when: u64,
    cert: &'a str,
    pusher: &'a str,
    /// `None` on lines written before replays were keyed on the payload.
    signed: Option<&'a str>,
}

fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    text.lines().filter_map(|line| {
        let mut parts = line.split(' ');
        let when = parts.next()?.parse().ok()?;
        let cert = parts.next()?;
        let pusher = parts.next()?;
        let signed = parts.next();
        Some(Line {
            when,
            cert,
            pusher,
            signed,
        })
    })
}

/// The ledger's key for a certificate: the SHA-256 of its payload (the
/// text the signature covers), in hex.
pub fn signed_digest(payload: &[u8]) -> Result<String, HookError> {
    use sequoia_openpgp::types::HashAlgorithm;
    let mut hash = HashAlgorithm::SHA256
        .context()
        .map_err(|e| HookError::Protocol(format!("SHA-256 is not available: {e}")))?
        .for_digest();
    hash.update(payload);
    let digest = hash
        .into_digest()
        .map_err(|e| HookError::Protocol(format!("SHA-256 failed: {e}")))?;
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Record that `pusher`'s certificate `cert`, whose payload has the digest
/// `signed` ([`signed_digest`]), was accepted at `now` (seconds since the
/// epoch). Returns `false`, recording nothing, when a certificate with the
/// same payload was accepted before within the window: a replay.
pub fn accept(
    git_dir: &Path,
    shared: Shared,
    cert: ObjectId,
    signed: &str,
    pusher: &Fingerprint,
    now: u64,
    slop_secs: u64,
) -> Result<bool, HookError> {
    let path = path(git_dir);
    if let Some(dir) = path.parent() {
        shared.create_dir_all(dir)?;
    }
    let existed = path.exists();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .io(format!("opening {}", path.display()))?;
    if !existed {
        shared.apply(&path)?;
    }
    // Concurrent pushes serialise here.
    file.lock().io(format!("locking {}", path.display()))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .io(format!("reading {}", path.display()))?;

    let fresh_after = now.saturating_sub(slop_secs + MARGIN_SECS);
    if lines(&text).any(|l| l.signed == Some(signed) && l.when >= fresh_after) {
        return Ok(false);
    }
    let entry = format!("{now} {cert} {pusher} {signed}\n");
    let old = lines(&text).filter(|l| l.when < fresh_after).count();
    if old >= PRUNE_AT {
        let mut kept: String = text
            .lines()
            .filter(|line| lines(line).all(|l| l.when >= fresh_after))
            .flat_map(|line| [line, "\n"])
            .collect();
        kept.push_str(&entry);
        // In append mode, writing after truncating starts the file anew.
        file.set_len(0)
            .and_then(|()| file.write_all(kept.as_bytes()))
            .io(format!("rewriting {}", path.display()))?;
    } else {
        file.write_all(entry.as_bytes())
            .io(format!("writing {}", path.display()))?;
    }
    Ok(true)
}

/// Who pushed the certificate `cert`, as pre-receive recorded it.
pub fn pusher_of(git_dir: &Path, cert: ObjectId) -> Result<Option<Fingerprint>, HookError> {
    let path = path(git_dir);
    let mut file = std::fs::File::open(&path).io(format!("opening {}", path.display()))?;
    file.lock_shared()
        .io(format!("locking {}", path.display()))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .io(format!("reading {}", path.display()))?;
    let cert = cert.to_string();
    let Some(line) = lines(&text).filter(|l| l.cert == cert).last() else {
        return Ok(None);
    };
    Fingerprint::parse(line.pusher)
        .map(Some)
        .map_err(|e| HookError::Protocol(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> ObjectId {
        ObjectId::from_hex(c.to_string().repeat(40).as_bytes()).expect("hex")
    }

    fn accept(
        dir: &Path,
        cert: ObjectId,
        signed: &str,
        pusher: &Fingerprint,
        now: u64,
        slop: u64,
    ) -> Result<bool, HookError> {
        super::accept(dir, Shared::Umask, cert, signed, pusher, now, slop)
    }

    #[test]
    fn a_payload_is_accepted_once_within_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let alice = Fingerprint::parse(&"A".repeat(40)).expect("fpr");
        assert!(accept(dir.path(), id('1'), "p1", &alice, 100, 30).expect("accept"));
        assert!(!accept(dir.path(), id('1'), "p1", &alice, 110, 30).expect("accept"));
        // Another certificate (another armor, say) of the same payload.
        assert!(!accept(dir.path(), id('3'), "p1", &alice, 110, 30).expect("accept"));
        assert!(accept(dir.path(), id('2'), "p2", &alice, 110, 30).expect("accept"));
        assert_eq!(
            pusher_of(dir.path(), id('2')).expect("read"),
            Some(alice.clone())
        );
        assert_eq!(pusher_of(dir.path(), id('3')).expect("read"), None);
        // Long after the window the certificate would be stale for git anyway.
        assert!(accept(
            dir.path(),
            id('1'),
            "p1",
            &alice,
            100 + 30 + MARGIN_SECS + 1,
            30
        )
        .expect("accept"));
        assert_eq!(
            signed_digest(b"abc").expect("sha256"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn old_lines_are_pruned_in_bulk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bob = Fingerprint::parse(&"B".repeat(40)).expect("fpr");
        for i in 0..PRUNE_AT as u64 {
            let cert = ObjectId::from_hex(format!("{i:040x}").as_bytes()).expect("hex");
            assert!(accept(dir.path(), cert, &i.to_string(), &bob, i, 0).expect("accept"));
        }
        let before = std::fs::read_to_string(path(dir.path()))
            .expect("read")
            .lines()
            .count();
        assert_eq!(before, PRUNE_AT);
        let late = 10 * PRUNE_AT as u64 + MARGIN_SECS;
        assert!(accept(dir.path(), id('f'), "late", &bob, late, 0).expect("accept"));
        let after = std::fs::read_to_string(path(dir.path())).expect("read");
        assert_eq!(after.lines().count(), 1, "{after}");
        assert_eq!(pusher_of(dir.path(), id('f')).expect("read"), Some(bob));
    }
}

//! One use per certificate. git's nonce is a timestamp (in seconds) and an
//! HMAC of it, so every push in the same second gets the same nonce, and
//! over HTTP git calls a nonce `OK` for `receive.certNonceSlop` seconds:
//! within that window a captured certificate could be sent again. We
//! remember the certificates (by blob id: same bytes, same id) of accepted
//! pushes for longer than the window and refuse a second use. Two different
//! certificates that share a nonce are two pushes, not a replay.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{HookError, IoContext};

/// How long past the slop window a certificate is remembered.
const MARGIN_SECS: u64 = 300;

/// Record the certificate `cert` (its blob id) as used at `now` (seconds
/// since the epoch). Returns `false` when it was used before within the window.
pub fn claim(git_dir: &Path, cert: &str, now: u64, slop_secs: u64) -> Result<bool, HookError> {
    let dir = git_dir.join("gitapps");
    std::fs::create_dir_all(&dir).io(format!("creating {}", dir.display()))?;
    let path = dir.join("used-certificates");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .io(format!("opening {}", path.display()))?;
    // Concurrent pushes serialise here; the file is small.
    file.lock().io(format!("locking {}", path.display()))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .io(format!("reading {}", path.display()))?;

    let keep_after = now.saturating_sub(slop_secs + MARGIN_SECS);
    let mut kept = String::with_capacity(text.len() + cert.len() + 24);
    let mut seen = false;
    for line in text.lines() {
        let Some((when, used)) = line.split_once(' ') else {
            continue;
        };
        let Ok(when) = when.parse::<u64>() else {
            continue;
        };
        if when < keep_after {
            continue;
        }
        seen |= used == cert;
        kept.push_str(line);
        kept.push('\n');
    }
    if !seen {
        kept.push_str(&format!("{now} {cert}\n"));
    }
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.set_len(0))
        .and_then(|_| file.write_all(kept.as_bytes()))
        .io(format!("writing {}", path.display()))?;
    Ok(!seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_used_once_within_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(claim(dir.path(), "100-abc", 100, 30).expect("claim"));
        assert!(!claim(dir.path(), "100-abc", 110, 30).expect("claim"));
        assert!(claim(dir.path(), "105-def", 110, 30).expect("claim"));
        // Long after the window the record is pruned (and git would call
        // its nonce stale anyway).
        assert!(claim(dir.path(), "100-abc", 100 + 30 + MARGIN_SECS + 1, 30).expect("claim"));
    }
}

//! What git tells a hook about the push, through environment variables.
//! Read once, typed, and never trusted beyond what git itself guarantees:
//! `GIT_PUSH_CERT_STATUS` depends on the server's gpg keyring, so it is
//! ignored; we verify the signature ourselves.

use std::ffi::OsString;
use std::path::PathBuf;

use gix::ObjectId;

/// `GIT_PUSH_CERT_NONCE_STATUS`, as documented in githooks(5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceStatus {
    /// The client sent a nonce the server did not ask for.
    Unsolicited,
    /// The server asked for a nonce and the certificate has none.
    Missing,
    /// The nonce is not the one the server issued.
    Bad,
    /// The nonce is the one the server issued.
    Ok,
    /// Stateless transport: a nonce issued earlier, within `receive.certNonceSlop`.
    Slop,
}

impl NonceStatus {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "UNSOLICITED" => Self::Unsolicited,
            "MISSING" => Self::Missing,
            "BAD" => Self::Bad,
            "OK" => Self::Ok,
            "SLOP" => Self::Slop,
            _ => return None,
        })
    }
}

/// Where the pushed objects wait during pre-receive (git's quarantine).
#[derive(Clone, Debug, Default)]
pub struct ObjectDirs {
    pub object_directory: Option<PathBuf>,
    pub alternates: Vec<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct PushEnv {
    /// The certificate blob; `None` for an unsigned push.
    pub cert: Option<ObjectId>,
    pub nonce: Option<String>,
    pub nonce_status: Option<NonceStatus>,
    pub objects: ObjectDirs,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("GIT_PUSH_CERT is not an object id: {0:?}")]
    BadCert(String),
    #[error("GIT_PUSH_CERT_NONCE_STATUS has an unknown value: {0:?}")]
    BadNonceStatus(String),
    #[error("{0} is not valid UTF-8")]
    NotUnicode(&'static str),
}

impl PushEnv {
    pub fn from_process() -> Result<Self, EnvError> {
        Self::from_lookup(|k| std::env::var_os(k))
    }

    /// Built from any lookup so tests can feed exact environments.
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Result<Self, EnvError> {
        let text = |key: &'static str| -> Result<Option<String>, EnvError> {
            get(key)
                .map(|v| v.into_string().map_err(|_| EnvError::NotUnicode(key)))
                .transpose()
        };
        let cert = match text("GIT_PUSH_CERT")? {
            None => None,
            Some(s) if s.is_empty() => None,
            Some(s) => Some(
                ObjectId::from_hex(s.as_bytes())
                    .ok()
                    .filter(|id| !id.is_null())
                    .ok_or(EnvError::BadCert(s))?,
            ),
        };
        let nonce_status = text("GIT_PUSH_CERT_NONCE_STATUS")?
            .map(|s| NonceStatus::parse(&s).ok_or(EnvError::BadNonceStatus(s)))
            .transpose()?;
        let objects = ObjectDirs {
            object_directory: get("GIT_OBJECT_DIRECTORY").map(PathBuf::from),
            alternates: get("GIT_ALTERNATE_OBJECT_DIRECTORIES")
                .map(|v| split_alternates(&v.to_string_lossy()))
                .unwrap_or_default(),
        };
        Ok(PushEnv {
            cert,
            nonce: text("GIT_PUSH_CERT_NONCE")?,
            nonce_status,
            objects,
        })
    }
}

/// `GIT_ALTERNATE_OBJECT_DIRECTORIES` is a `:`-separated list in which an
/// entry may be double-quoted with C-style escapes (git's `quote.c`).
fn split_alternates(value: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    while chars.peek().is_some() {
        let mut entry = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => entry.push('\n'),
                        Some('t') => entry.push('\t'),
                        Some(other) => entry.push(other),
                        None => {}
                    },
                    c => entry.push(c),
                }
            }
            // Skip up to the separator.
            for c in chars.by_ref() {
                if c == ':' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ':' {
                    break;
                }
                entry.push(c);
            }
        }
        if !entry.is_empty() {
            out.push(PathBuf::from(entry));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<PushEnv, EnvError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PushEnv::from_lookup(|k| map.get(k).map(OsString::from))
    }

    #[test]
    fn reads_a_signed_push() {
        let id = "a".repeat(40);
        let e = env(&[
            ("GIT_PUSH_CERT", id.as_str()),
            ("GIT_PUSH_CERT_NONCE_STATUS", "OK"),
            ("GIT_PUSH_CERT_NONCE", "123-abc"),
            ("GIT_OBJECT_DIRECTORY", "/r/objects/incoming-x"),
            (
                "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                "/r/objects:\"/q u\\\"o\"",
            ),
        ])
        .expect("valid");
        assert!(e.cert.is_some());
        assert_eq!(e.nonce_status, Some(NonceStatus::Ok));
        assert_eq!(
            e.objects.alternates,
            vec![PathBuf::from("/r/objects"), PathBuf::from("/q u\"o")]
        );
    }

    #[test]
    fn unknown_values_are_errors() {
        assert!(env(&[("GIT_PUSH_CERT_NONCE_STATUS", "FINE")]).is_err());
        assert!(env(&[("GIT_PUSH_CERT", "zzz")]).is_err());
        assert!(env(&[("GIT_PUSH_CERT", &"0".repeat(40))]).is_err());
        let unsigned = env(&[]).expect("unsigned is representable");
        assert!(unsigned.cert.is_none() && unsigned.nonce_status.is_none());
    }
}

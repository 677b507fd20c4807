//! The server's own settings, from the bare repository's config file.
//! Anything unset that must be set, or set to something we cannot read,
//! is an error: the hook rejects rather than guess.

use std::path::PathBuf;

use gitapps_policy::{parse_size, Fingerprint};

use crate::error::HookError;

pub const OWNER_KEY: &str = "gitapps.owner";
pub const KEYRING_KEY: &str = "gitapps.keyring";
pub const ALLOW_SLOP_KEY: &str = "gitapps.allowNonceSlop";
pub const MAX_FILE_SIZE_KEY: &str = "gitapps.maxFileSize";
pub const MAX_CERT_SIZE_KEY: &str = "gitapps.maxCertSize";
pub const MAX_SIGNATURE_SIZE_KEY: &str = "gitapps.maxSignatureSize";
pub const MAX_SIGNATURE_PACKETS_KEY: &str = "gitapps.maxSignaturePackets";
pub const MAX_KEY_FILE_SIZE_KEY: &str = "gitapps.maxKeyFileSize";
pub const MAX_KEY_USER_IDS_KEY: &str = "gitapps.maxKeyUserIds";
pub const MAX_REF_UPDATES_KEY: &str = "gitapps.maxRefUpdates";
pub const MAX_POLICY_FILE_SIZE_KEY: &str = "gitapps.maxPolicyFileSize";
pub const NONCE_SLOP_KEY: &str = "receive.certNonceSlop";

/// The bounds on what a client may make the hook read, parse and verify,
/// before anything is authenticated and after. Each has a config key to
/// change it; the defaults are those of issue 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The push certificate blob, as git stored it.
    pub cert_size: u64,
    /// The armored signature block at its end.
    pub signature_size: u64,
    /// OpenPGP packets in that block (exactly one must be a signature).
    pub signature_packets: usize,
    /// A `keys/<FPR>.asc` file.
    pub key_file_size: u64,
    /// User ids (and user attributes) in a key file.
    pub key_user_ids: usize,
    /// Ref updates in one push.
    pub ref_updates: usize,
    /// A policy file (`refs/*.conf`, `branches/*.conf`, `groups/*`).
    pub policy_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cert_size: 16 << 20,
            signature_size: 16 << 10,
            signature_packets: 4,
            key_file_size: 64 << 10,
            key_user_ids: 32,
            ref_updates: 10_000,
            policy_file_size: 1 << 20,
        }
    }
}

impl Limits {
    /// The limits of `config`, defaults where unset.
    pub fn read(config: &gix::config::Snapshot<'_>) -> Result<Self, HookError> {
        let d = Limits::default();
        let size = |key: &str, default: u64| -> Result<u64, HookError> {
            match config.string(key) {
                None => Ok(default),
                Some(v) => parse_size(&v.to_string()).ok_or_else(|| {
                    HookError::Config(format!(
                        "{key} = {v:?} is not a size (e.g. 1048576, 512k, 10m, 1g)"
                    ))
                }),
            }
        };
        let count = |key: &str, default: usize| -> Result<usize, HookError> {
            size(key, default as u64).and_then(|n| {
                usize::try_from(n)
                    .map_err(|_| HookError::Config(format!("{key} = {n} is too large")))
            })
        };
        Ok(Limits {
            cert_size: size(MAX_CERT_SIZE_KEY, d.cert_size)?,
            signature_size: size(MAX_SIGNATURE_SIZE_KEY, d.signature_size)?,
            signature_packets: count(MAX_SIGNATURE_PACKETS_KEY, d.signature_packets)?,
            key_file_size: size(MAX_KEY_FILE_SIZE_KEY, d.key_file_size)?,
            key_user_ids: count(MAX_KEY_USER_IDS_KEY, d.key_user_ids)?,
            ref_updates: count(MAX_REF_UPDATES_KEY, d.ref_updates)?,
            policy_file_size: size(MAX_POLICY_FILE_SIZE_KEY, d.policy_file_size)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub owner: Fingerprint,
    /// An admin-managed keyring file, in addition to `keys/*.asc`.
    pub keyring: Option<PathBuf>,
    pub allow_nonce_slop: bool,
    pub max_file_size: Option<u64>,
    /// `receive.certNonceSlop`: how long git calls an HTTP nonce fresh.
    pub nonce_slop_secs: u64,
    pub limits: Limits,
}

/// How far a signature's time may lie from the push's when
/// `receive.certNonceSlop` is unset or 0 (clocks are never exact).
pub const DEFAULT_SIGNATURE_SLOP_SECS: u64 = 30;

impl ServerConfig {
    /// How far a certificate's signature may be dated before the nonce
    /// (the moment the server began the push) or after now: the nonce slop,
    /// or [`DEFAULT_SIGNATURE_SLOP_SECS`] where there is none.
    pub fn signature_slop_secs(&self) -> u64 {
        match self.nonce_slop_secs {
            0 => DEFAULT_SIGNATURE_SLOP_SECS,
            n => n,
        }
    }
}

impl ServerConfig {
    pub fn read(repo: &gix::Repository) -> Result<Self, HookError> {
        let config = repo.config_snapshot();
        let get = |key: &str| config.string(key).map(|v| v.to_string());

        let owner = get(OWNER_KEY).ok_or_else(|| {
            HookError::Config(format!(
                "{OWNER_KEY} is not set: run `gitapps-hook install REPO --owner KEY.asc`"
            ))
        })?;
        let owner = Fingerprint::parse(owner.trim()).map_err(|e| {
            HookError::Config(format!("{OWNER_KEY} = {owner:?} is not a fingerprint: {e}"))
        })?;

        let keyring = get(KEYRING_KEY).map(|p| {
            let path = PathBuf::from(p);
            if path.is_relative() {
                repo.git_dir().join(path)
            } else {
                path
            }
        });
        let allow_nonce_slop = match get(ALLOW_SLOP_KEY) {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| {
                HookError::Config(format!("{ALLOW_SLOP_KEY} = {v:?} is not a boolean"))
            })?,
        };
        let max_file_size = get(MAX_FILE_SIZE_KEY)
            .map(|v| {
                parse_size(&v).ok_or_else(|| {
                    HookError::Config(format!(
                        "{MAX_FILE_SIZE_KEY} = {v:?} is not a size (e.g. 1048576, 512k, 10m, 1g)"
                    ))
                })
            })
            .transpose()?;
        let nonce_slop_secs = match get(NONCE_SLOP_KEY) {
            None => 0,
            Some(v) => parse_size(&v).ok_or_else(|| {
                HookError::Config(format!("{NONCE_SLOP_KEY} = {v:?} is not a number"))
            })?,
        };
        Ok(ServerConfig {
            nonce_slop_secs,
            owner,
            keyring,
            allow_nonce_slop,
            max_file_size,
            limits: Limits::read(&config)?,
        })
    }
}

/// git's boolean spellings.
fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("nope"), None);
    }
}

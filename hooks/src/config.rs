//! The server's own settings, from the bare repository's config file.
//! Anything unset that must be set, or set to something we cannot read,
//! is an error: the hook rejects rather than guess.

use std::path::PathBuf;

use gitapps_policy::Fingerprint;

use crate::error::HookError;

pub const OWNER_KEY: &str = "gitapps.owner";
pub const KEYRING_KEY: &str = "gitapps.keyring";
pub const ALLOW_SLOP_KEY: &str = "gitapps.allowNonceSlop";
pub const MAX_FILE_SIZE_KEY: &str = "gitapps.maxFileSize";

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub owner: Fingerprint,
    /// An admin-managed keyring file, in addition to `keys/*.asc`.
    pub keyring: Option<PathBuf>,
    pub allow_nonce_slop: bool,
    pub max_file_size: Option<u64>,
    /// `receive.certNonceSlop`: how long git calls an HTTP nonce fresh.
    pub nonce_slop_secs: u64,
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
        let nonce_slop_secs = match get("receive.certNonceSlop") {
            None => 0,
            Some(v) => parse_size(&v).ok_or_else(|| {
                HookError::Config(format!("receive.certNonceSlop = {v:?} is not a number"))
            })?,
        };
        Ok(ServerConfig {
            nonce_slop_secs,
            owner,
            keyring,
            allow_nonce_slop,
            max_file_size,
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

/// git's integer spellings with k/m/g suffixes.
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let (digits, factor) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 1u64 << 10),
        'm' => (&v[..v.len() - 1], 1 << 20),
        'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v.as_str(), 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_booleans() {
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("nope"), None);
    }
}

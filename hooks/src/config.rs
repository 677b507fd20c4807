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

impl ServerConfig {
    /// The certificates of the admin's keyring file, `gitapps.keyring`.
    pub fn keyring_certs(&self) -> Result<Vec<sequoia_openpgp::Cert>, HookError> {
        let Some(path) = &self.keyring else {
            return Ok(Vec::new());
        };
        let bytes = std::fs::read(path).map_err(|e| {
            HookError::Config(format!(
                "{KEYRING_KEY} = {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        // The admin's own file: not bounded like the key files clients write.
        let unbounded = Limits {
            key_file_size: u64::MAX,
            key_user_ids: usize::MAX,
            ..self.limits
        };
        crate::keyfile::parse_certs(&bytes, &unbounded).map_err(|e| {
            HookError::Config(format!(
                "{KEYRING_KEY} = {}: not an OpenPGP keyring: {e}",
                path.display()
            ))
        })
    }

    /// The blob id of [`ServerConfig::settings_text`].
    pub fn settings_id(&self, kind: gix::hash::Kind) -> Result<gix::ObjectId, HookError> {
        gix::objs::compute_hash(
            kind,
            gix::object::Kind::Blob,
            self.settings_text().as_bytes(),
        )
        .map_err(|e| HookError::Protocol(format!("hashing the settings: {e}")))
    }
}

/// The first line of the settings text ([`ServerConfig::settings_text`]).
pub const SETTINGS_MAGIC: &str = "gitapps settings 1";

impl ServerConfig {
    /// The settings a decision depends on, as the audit log records them:
    /// one `key value` line each after [`SETTINGS_MAGIC`], the keys named
    /// as in the config file. Every record carries them (the same text is
    /// the same blob, so it costs nothing until a setting changes), which
    /// is how a clone, which cannot see the server's config, judges as the
    /// server did. Whether a keyring is set is recorded; its keys are
    /// recorded where a decision used them.
    pub fn settings_text(&self) -> String {
        let l = &self.limits;
        let max_file = self
            .max_file_size
            .map_or_else(|| "none".to_owned(), |n| n.to_string());
        format!(
            "{SETTINGS_MAGIC}\n\
             {OWNER_KEY} {}\n\
             {NONCE_SLOP_KEY} {}\n\
             {ALLOW_SLOP_KEY} {}\n\
             {MAX_FILE_SIZE_KEY} {max_file}\n\
             {MAX_CERT_SIZE_KEY} {}\n\
             {MAX_SIGNATURE_SIZE_KEY} {}\n\
             {MAX_SIGNATURE_PACKETS_KEY} {}\n\
             {MAX_KEY_FILE_SIZE_KEY} {}\n\
             {MAX_KEY_USER_IDS_KEY} {}\n\
             {MAX_REF_UPDATES_KEY} {}\n\
             {MAX_POLICY_FILE_SIZE_KEY} {}\n\
             {KEYRING_KEY} {}\n",
            self.owner,
            self.nonce_slop_secs,
            self.allow_nonce_slop,
            l.cert_size,
            l.signature_size,
            l.signature_packets,
            l.key_file_size,
            l.key_user_ids,
            l.ref_updates,
            l.policy_file_size,
            if self.keyring.is_some() { "yes" } else { "no" },
        )
    }

    /// The settings of a [`ServerConfig::settings_text`]: unknown keys are
    /// ignored (a later version may add some), missing ones take their
    /// defaults; the owner must be there. The keyring path is not known:
    /// `keyring` is `Some("")` when the server had one.
    pub fn from_settings_text(text: &str) -> Result<ServerConfig, String> {
        let mut lines = text.lines();
        if lines.next() != Some(SETTINGS_MAGIC) {
            return Err(format!("the settings do not start with `{SETTINGS_MAGIC}`"));
        }
        let mut owner = None;
        let mut config = ServerConfig {
            owner: Fingerprint::parse(&"0".repeat(40)).map_err(|e| e.to_string())?,
            keyring: None,
            allow_nonce_slop: false,
            max_file_size: None,
            nonce_slop_secs: 0,
            limits: Limits::default(),
        };
        for line in lines {
            let Some((key, value)) = line.split_once(' ') else {
                return Err(format!("settings line {line:?} is not `key value`"));
            };
            let number = || -> Result<u64, String> {
                value
                    .parse()
                    .map_err(|_| format!("settings: {key} = {value:?} is not a number"))
            };
            let count = || number().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            let l = &mut config.limits;
            match key {
                OWNER_KEY => {
                    owner = Some(
                        Fingerprint::parse(value)
                            .map_err(|e| format!("settings: {key} = {value:?}: {e}"))?,
                    )
                }
                NONCE_SLOP_KEY => config.nonce_slop_secs = number()?,
                ALLOW_SLOP_KEY => {
                    config.allow_nonce_slop = parse_bool(value)
                        .ok_or_else(|| format!("settings: {key} = {value:?} is not a boolean"))?
                }
                MAX_FILE_SIZE_KEY if value == "none" => config.max_file_size = None,
                MAX_FILE_SIZE_KEY => config.max_file_size = Some(number()?),
                MAX_CERT_SIZE_KEY => l.cert_size = number()?,
                MAX_SIGNATURE_SIZE_KEY => l.signature_size = number()?,
                MAX_SIGNATURE_PACKETS_KEY => l.signature_packets = count()?,
                MAX_KEY_FILE_SIZE_KEY => l.key_file_size = number()?,
                MAX_KEY_USER_IDS_KEY => l.key_user_ids = count()?,
                MAX_REF_UPDATES_KEY => l.ref_updates = count()?,
                MAX_POLICY_FILE_SIZE_KEY => l.policy_file_size = number()?,
                KEYRING_KEY => config.keyring = (value == "yes").then(PathBuf::new),
                _ => {}
            }
        }
        config.owner = owner.ok_or_else(|| format!("the settings name no {OWNER_KEY}"))?;
        Ok(config)
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
    fn settings_read_back_as_written() {
        let config = ServerConfig {
            owner: Fingerprint::parse(&"A".repeat(40)).expect("fpr"),
            keyring: Some(PathBuf::from("/etc/keys.gpg")),
            allow_nonce_slop: true,
            max_file_size: Some(1 << 20),
            nonce_slop_secs: 30,
            limits: Limits {
                ref_updates: 7,
                ..Limits::default()
            },
        };
        let text = config.settings_text();
        assert!(text.contains("\ngitapps.owner AAAA"), "{text}");
        let back = ServerConfig::from_settings_text(&text).expect("reads back");
        assert_eq!(back.owner, config.owner);
        assert_eq!(back.limits, config.limits);
        assert_eq!(back.max_file_size, config.max_file_size);
        assert!(back.allow_nonce_slop && back.keyring.is_some());
        assert_eq!(
            back.settings_text().replace("yes", "?"),
            text.replace("yes", "?")
        );
        // Later versions may add keys; the owner may not be missing.
        let more = format!("{text}gitapps.somethingNew 5\n");
        assert!(ServerConfig::from_settings_text(&more).is_ok());
        assert!(ServerConfig::from_settings_text("gitapps settings 1\n").is_err());
        assert!(ServerConfig::from_settings_text("nonsense").is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("nope"), None);
    }
}

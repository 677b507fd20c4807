//! The library's error type.

/// Everything that can go wrong in `git_mr`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not in a git repository ({0})")]
    NotARepository(String),
    #[error("git object database: {0}")]
    Git(String),
    #[error(
        "the remote {remote} has no merge-requests data branch (refs/heads/apps/merge-reqs/data)"
    )]
    NoDataBranch { remote: String },
    #[error("the remote {remote} has no access-control branch (refs/heads/apps/access-control)")]
    NoAccessControl { remote: String },
    #[error("no signing key configured (git config user.signingkey)")]
    NoSigningKey,
    #[error("gpg cannot resolve the signing key {key}: {detail}")]
    Gpg { key: String, detail: String },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("the push was rejected:\n{stderr}")]
    PushRejected {
        code: Option<crate::push::RejectCode>,
        stderr: String,
    },
    #[error("the data branch kept moving: gave up after {attempts} attempts in {seconds} s")]
    TooManyRetries { attempts: u32, seconds: u64 },
    #[error("cannot reach the remote {remote}:\n{detail}")]
    Transport { remote: String, detail: String },
    #[error("no merge request {0}")]
    NoSuchMr(String),
    #[error("`{spec}` could mean more than one:\n  {}", candidates.join("\n  "))]
    Ambiguous {
        spec: String,
        candidates: Vec<String>,
    },
    #[error("invalid merge request name `{0}`: expected <who>/<n> or <n>")]
    BadMrName(String),
    #[error("nobody known as `{0}`")]
    UnknownUser(String),
    #[error("`{0}` is too short for a fingerprint prefix, and nobody's name")]
    ShortPrefix(String),
    #[error("{0}")]
    NotMaintainer(String),
    #[error("label `{0}` does not exist")]
    UnknownLabel(String),
    #[error("invalid label name `{0}`")]
    BadLabel(String),
    #[error("{mr} has no revision {revision}")]
    NoSuchRevision { mr: String, revision: u32 },
    #[error("cannot resolve revision `{0}`")]
    BadRevision(String),
    #[error("{0}")]
    Invalid(String),
    #[error("merging {mr} into {target} conflicts:\n{detail}")]
    MergeConflict {
        mr: String,
        target: String,
        detail: String,
    },
    #[error("{mr} revision {revision} does not meet the merge requirements ({}):\n  missing: {}", crate::review::SETTINGS_PATH, missing.join("\n  missing: "))]
    NotMergeable {
        mr: String,
        revision: u32,
        missing: Vec<String>,
    },
    #[error("invalid GITAPPS_NOW `{0}`: expected RFC 3339, e.g. 2026-11-26T11:00:00Z")]
    BadClock(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turn any displayable error of gix into [`Error::Git`].
pub(crate) trait GitResultExt<T> {
    fn git(self) -> Result<T>;
}

impl<T, E: std::fmt::Display> GitResultExt<T> for std::result::Result<T, E> {
    fn git(self) -> Result<T> {
        self.map_err(|e| Error::Git(e.to_string()))
    }
}

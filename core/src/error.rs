//! The core's error type: what can go wrong in any app's machinery (the
//! repository, git and gpg, the remote, the push, names). An app's own error
//! type wraps it (`#[error(transparent)] Core(#[from] gitapps_core::Error)`).

/// Everything that can go wrong in `gitapps_core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not in a git repository ({0})")]
    NotARepository(String),
    #[error("git object database: {0}")]
    Git(String),
    /// The app's data branch is missing on the remote (`what`: the app's data,
    /// e.g. `merge-requests`).
    #[error("the remote {remote} has no {what} data branch ({data_ref})")]
    NoDataBranch {
        remote: String,
        what: &'static str,
        data_ref: String,
    },
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
    #[error("`{spec}` could mean more than one:\n  {}", candidates.join("\n  "))]
    Ambiguous {
        spec: String,
        candidates: Vec<String>,
    },
    #[error("nobody known as `{0}`")]
    UnknownUser(String),
    #[error("`{0}` is too short for a fingerprint prefix, and nobody's name")]
    ShortPrefix(String),
    #[error("invalid GITAPPS_NOW `{0}`: expected RFC 3339, e.g. 2026-11-26T11:00:00Z")]
    BadClock(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turn any displayable error of gix into [`Error::Git`].
pub trait GitResultExt<T> {
    fn git(self) -> Result<T>;
}

impl<T, E: std::fmt::Display> GitResultExt<T> for std::result::Result<T, E> {
    fn git(self) -> Result<T> {
        self.map_err(|e| Error::Git(e.to_string()))
    }
}

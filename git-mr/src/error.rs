//! The library's error type: the merge requests' own errors, and the core's.

/// Everything that can go wrong in `git_mr`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What every app can meet: the repository, git and gpg, the remote, the
    /// push, names of users.
    #[error(transparent)]
    Core(#[from] gitapps_core::Error),
    #[error("no merge request {0}")]
    NoSuchMr(String),
    #[error("invalid merge request name `{0}`: expected <who>/<n> or <n>")]
    BadMrName(String),
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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Core(e.into())
    }
}

impl Error {
    /// The core's error, when it is one.
    pub fn core(&self) -> Option<&gitapps_core::Error> {
        match self {
            Error::Core(e) => Some(e),
            _ => None,
        }
    }

    /// [`gitapps_core::Error::Git`]: the object database failed.
    pub fn git(detail: impl Into<String>) -> Error {
        Error::Core(gitapps_core::Error::Git(detail.into()))
    }
}

pub use gitapps_core::error::GitResultExt;

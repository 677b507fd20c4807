//! What can go wrong in `git_issue`.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] gitapps_core::Error),
    /// No issue has that name.
    #[error("no issue {0}")]
    NotFound(String),
    /// Bad input from the user, said in full.
    #[error("{0}")]
    Invalid(String),
    /// No such label name on the data branch.
    #[error("no label `{label}` (labels: {known})")]
    UnknownLabel { label: String, known: String },
    /// The policy would refuse it: said before pushing.
    #[error("{0}")]
    NotAllowed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

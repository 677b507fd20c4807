//! The one user-facing error type: a kind that maps to an exit code, a message,
//! and hints telling the user what to do next.

use git_mr::Error;

/// What went wrong, as far as the user is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The user asked for something that cannot be done (exit 1).
    User,
    /// The server refused (exit 1).
    Denied,
    /// Missing or wrong configuration (exit 3).
    Config,
    /// A bug or an environment failure (exit 4).
    Internal,
}

#[derive(Debug)]
pub struct CommandError {
    pub kind: Kind,
    pub message: String,
    pub hints: Vec<String>,
}

impl CommandError {
    pub fn user(message: impl Into<String>) -> Self {
        CommandError {
            kind: Kind::User,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::User | Kind::Denied => 1,
            Kind::Config => 3,
            Kind::Internal => 4,
        }
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        let (kind, hints): (Kind, Vec<String>) = match &e {
            Error::NotARepository(_) => (Kind::User, vec!["run git mr inside a clone of the project".into()]),
            Error::NoDataBranch { remote } => (
                Kind::Config,
                vec![format!("the project's owner sets merge requests up once with `git mr init --remote {remote}`")],
            ),
            Error::NoAccessControl { .. } => (
                Kind::Config,
                vec!["the server needs `gitapps-hook install REPO --owner KEY.asc` first".into()],
            ),
            Error::NoSigningKey => (
                Kind::Config,
                vec!["tell git which key signs your pushes: git config user.signingkey <FINGERPRINT>".into()],
            ),
            Error::Gpg { .. } => (
                Kind::Config,
                vec!["check `gpg --list-secret-keys` and `git config user.signingkey`".into()],
            ),
            Error::PushRejected { .. } => (Kind::Denied, Vec::new()),
            Error::TooManyRetries { .. } => (Kind::User, vec!["others are pushing right now: try again in a moment (GITAPPS_RETRY_SECS sets how long to keep trying)".into()]),
            Error::NoSuchMr(_) => (Kind::User, vec!["`git mr list --state all` shows them all".into()]),
            Error::Ambiguous { .. } => (Kind::User, vec!["names are claims anyone can make: name the key by its fingerprint (8 hex digits or more), e.g. `git mr show 9A3F1C2B/1`".into()]),
            Error::BadMrName(_) => (Kind::User, vec!["e.g. `me/1`, `alice/2`, `9A3F1C2B/3` or `3`".into()]),
            Error::UnknownUser(_) => (Kind::User, vec!["use a fingerprint prefix (8 hex digits or more), a name or an e-mail from keys/*.asc, or `me`".into()]),
            Error::ShortPrefix(_) => (Kind::User, vec!["a fingerprint prefix needs 8 hex digits or more: shorter ones are easy to grind".into()]),
            Error::UnknownLabel(_) | Error::BadLabel(_) => (Kind::User, Vec::new()),
            Error::NotMaintainer(_) => (Kind::Denied, vec!["maintainers are listed in groups/maintainers on apps/access-control".into()]),
            Error::NoSuchRevision { .. } | Error::BadRevision(_) | Error::Invalid(_) => (Kind::User, Vec::new()),
            Error::NotMergeable { mr, .. } => (
                Kind::User,
                vec![
                    format!("`git mr show {mr}` shows the votes and CI results; `git mr settings` what is required"),
                    "merge anyway with --force: the merge comment records what was missing".into(),
                ],
            ),
            Error::MergeConflict { .. } => (
                Kind::User,
                vec!["ask the author to rebase onto the target and `git mr revise`".into()],
            ),
            Error::BadClock(_) => (Kind::Config, Vec::new()),
            Error::Transport { remote, .. } => (
                Kind::Config,
                vec![format!("check the remote's address (`git remote get-url {remote}`) and that it is up; then try again")],
            ),
            Error::Git(_) | Error::Command { .. } | Error::Io(_) => (Kind::Internal, Vec::new()),
        };
        CommandError {
            kind,
            message,
            hints,
        }
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError {
            kind: Kind::Internal,
            message: e.to_string(),
            hints: Vec::new(),
        }
    }
}

pub type CommandResult<T = ()> = Result<T, CommandError>;

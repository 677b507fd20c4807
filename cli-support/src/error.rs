//! The one user-facing error type of every app's command line: a kind that maps
//! to an exit code, a message, and hints telling the user what to do next. The
//! core's errors get their hints here, in the words of the app's command
//! ([`set_app`]); an app adds `From` conversions for its own errors.

use std::sync::OnceLock;

use gitapps_core::{App, Error as CoreError};

static APP: OnceLock<App> = OnceLock::new();

/// Name the app whose command runs (once, first thing in `main`): hints about
/// the core's errors name its command (`git mr init`, `git issue init`).
pub fn set_app(app: App) {
    let _ = APP.set(app);
}

/// The app [`set_app`] named, if any.
pub fn app() -> Option<&'static App> {
    APP.get()
}

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

impl Kind {
    /// The exit code: 1 for the user's or the server's no, 3 for
    /// configuration, 4 for bugs and the environment.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::User | Kind::Denied => 1,
            Kind::Config => 3,
            Kind::Internal => 4,
        }
    }
}

/// The hints of the core's errors in the words of the app [`set_app`] named.
pub fn hints_for_core(e: &CoreError) -> (Kind, Vec<String>) {
    const NONE: App = App {
        name: "",
        what: "the app's",
        command: "git <app>",
        tag_prefix: None,
        cache_name: "gitapps",
        groups: &[],
        version: "",
    };
    core_hints(e, app().unwrap_or(&NONE))
}

/// How a core error counts, and its hints in the words of `app`'s command.
pub fn core_hints(e: &CoreError, app: &App) -> (Kind, Vec<String>) {
    {
        let cmd = app.command;
        match e {
            CoreError::NotARepository(_) => (Kind::User, vec![format!("run {cmd} inside a clone of the project")]),
            CoreError::NoDataBranch { remote, what, .. } => (
                Kind::Config,
                vec![format!("the project's owner sets {} up once with `{cmd} init --remote {remote}`", what.replace('-', " "))],
            ),
            CoreError::NoAccessControl { .. } => (
                Kind::Config,
                vec!["the server needs `gitapps-hook install REPO --owner KEY.asc` first".into()],
            ),
            CoreError::NoSigningKey => (
                Kind::Config,
                vec!["tell git which key signs your pushes: git config user.signingkey <FINGERPRINT>".into()],
            ),
            CoreError::Gpg { .. } => (
                Kind::Config,
                vec!["check `gpg --list-secret-keys` and `git config user.signingkey`".into()],
            ),
            CoreError::PushRejected { .. } => (Kind::Denied, Vec::new()),
            CoreError::TooManyRetries { .. } => (Kind::User, vec!["others are pushing right now: try again in a moment (GITAPPS_RETRY_SECS sets how long to keep trying)".into()]),
            CoreError::Ambiguous { .. } => (Kind::User, vec![format!("names are claims anyone can make: name the key by its fingerprint (8 hex digits or more), e.g. `{cmd} show 9A3F1C2B/1`")]),
            CoreError::UnknownUser(_) => (Kind::User, vec!["use a fingerprint prefix (8 hex digits or more), a name or an e-mail from keys/*.asc, or `me`".into()]),
            CoreError::ShortPrefix(_) => (Kind::User, vec!["a fingerprint prefix needs 8 hex digits or more: shorter ones are easy to grind".into()]),
            CoreError::BadClock(_) => (Kind::Config, Vec::new()),
            CoreError::Transport { remote, .. } => (
                Kind::Config,
                vec![format!("check the remote's address (`git remote get-url {remote}`) and that it is up; then try again")],
            ),
            CoreError::Git(_) | CoreError::Command { .. } | CoreError::Io(_) => (Kind::Internal, Vec::new()),
        }
    }
}

/// Define the app's `CommandError` (kind, message, hints; exit codes from
/// [`Kind`]) with conversions from the core's errors (hints from
/// [`core_hints`]), from I/O errors and from the editor's, and
/// `CommandResult`. A macro because each app adds `From` conversions of its
/// own library's errors, which Rust allows only for a type of the app's crate.
#[macro_export]
macro_rules! command_error {
    () => {
        /// An error as the user sees it: a kind (the exit code), a message,
        /// and hints saying what to do next.
        #[derive(Debug)]
        pub struct CommandError {
            pub kind: $crate::error::Kind,
            pub message: String,
            pub hints: Vec<String>,
        }

        impl CommandError {
            pub fn user(message: impl Into<String>) -> Self {
                CommandError {
                    kind: $crate::error::Kind::User,
                    message: message.into(),
                    hints: Vec::new(),
                }
            }

            pub fn hint(mut self, hint: impl Into<String>) -> Self {
                self.hints.push(hint.into());
                self
            }

            pub fn exit_code(&self) -> u8 {
                self.kind.exit_code()
            }
        }

        impl From<gitapps_core::Error> for CommandError {
            fn from(e: gitapps_core::Error) -> Self {
                let (kind, hints) = $crate::error::hints_for_core(&e);
                CommandError {
                    kind,
                    message: e.to_string(),
                    hints,
                }
            }
        }

        impl From<std::io::Error> for CommandError {
            fn from(e: std::io::Error) -> Self {
                CommandError {
                    kind: $crate::error::Kind::Internal,
                    message: e.to_string(),
                    hints: Vec::new(),
                }
            }
        }

        impl From<$crate::editor::EditError> for CommandError {
            fn from(e: $crate::editor::EditError) -> Self {
                match e {
                    $crate::editor::EditError::User(m) => CommandError::user(m),
                    $crate::editor::EditError::Io(e) => e.into(),
                    $crate::editor::EditError::Core(e) => e.into(),
                }
            }
        }

        pub type CommandResult<T = ()> = Result<T, CommandError>;
    };
}

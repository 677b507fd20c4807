//! The one error type of the hook. Every variant is a reason to reject: the
//! hook never turns an error into an acceptance.

use std::fmt::Display;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Reading or writing the repository failed.
    #[error("{context}: {message}")]
    Git { context: String, message: String },
    /// The server is misconfigured (config values, missing owner, keyring file).
    #[error("server configuration: {0}")]
    Config(String),
    /// Something git handed us (stdin, environment) is not what git sends.
    #[error("{0}")]
    Protocol(String),
    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The user asked for something that cannot be done (bad arguments, foreign hook …).
    #[error("{0}")]
    Usage(String),
    /// The push carries an object git would not write, or would read
    /// differently from the hook (a malformed tree, a mode git never writes).
    #[error("{0}")]
    Malformed(String),
    /// Something the push brings is larger than the server takes.
    #[error("{0}")]
    Limit(String),
}

impl HookError {
    /// The rejection code of a push refused for this error.
    pub fn reject_code(&self) -> gitapps_policy::RejectCode {
        use gitapps_policy::RejectCode;
        match self {
            HookError::Malformed(_) => RejectCode::Malformed,
            HookError::Limit(_) => RejectCode::Limit,
            HookError::Git { .. }
            | HookError::Config(_)
            | HookError::Protocol(_)
            | HookError::Io { .. }
            | HookError::Usage(_) => RejectCode::Error,
        }
    }
}

/// Attach a human context to gix's errors, which do not carry one we can show.
pub trait GitContext<T> {
    fn git(self, context: impl Into<String>) -> Result<T, HookError>;
}

impl<T, E: Display> GitContext<T> for Result<T, E> {
    fn git(self, context: impl Into<String>) -> Result<T, HookError> {
        self.map_err(|e| HookError::Git {
            context: context.into(),
            message: e.to_string(),
        })
    }
}

pub trait IoContext<T> {
    fn io(self, context: impl Into<String>) -> Result<T, HookError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, context: impl Into<String>) -> Result<T, HookError> {
        self.map_err(|source| HookError::Io {
            context: context.into(),
            source,
        })
    }
}

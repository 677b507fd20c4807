//! Why the server refused a push, in a form programs can read.
//!
//! Every rejection the hook prints ends with one line
//!
//! ```text
//! gitapps: code=<code>
//! ```
//!
//! where `<code>` is one of [`RejectCode::ALL`]. The English lines above it
//! are for people and may change; the code is for programs (`git mr`,
//! `ci-bot`) and does not. git shows the hook's lines as `remote: …`, with
//! trailing spaces or a terminal escape after them;
//! [`RejectCode::from_output`] reads the code back from such output.

use std::fmt;
use std::str::FromStr;

/// What every code line starts with.
pub const REJECT_CODE_PREFIX: &str = "gitapps: code=";

/// The reason for a refused push, one per rejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectCode {
    /// The push was not signed (`git push --signed`).
    Unsigned,
    /// The certificate's nonce is missing, stale, forged or not the one git checked.
    Nonce,
    /// The certificate is malformed, or its ref updates differ from the push.
    Certificate,
    /// The signature does not verify, is badly dated, or its key is expired,
    /// revoked or not allowed to sign.
    Signature,
    /// The signing key is not in the keyring.
    UnknownKey,
    /// The certificate was accepted before.
    Replay,
    /// The policy allows some operation of the push to nobody, or the ref is
    /// one only the server writes.
    Denied,
    /// The push carries objects git would not write, or would read
    /// differently from the server: a malformed tree, a tree entry mode git
    /// does not use.
    Malformed,
    /// A size or count limit was exceeded (a file, the certificate, the
    /// number of ref updates).
    Limit,
    /// The policy is invalid, or the push would make it invalid.
    InvalidPolicy,
    /// The push would lock the owner out.
    Lockout,
    /// The server could not judge the push (an I/O error, a broken
    /// repository, a misconfiguration): it refuses rather than guess.
    Error,
}

impl RejectCode {
    /// Every code, in declaration order.
    pub const ALL: [RejectCode; 12] = [
        RejectCode::Unsigned,
        RejectCode::Nonce,
        RejectCode::Certificate,
        RejectCode::Signature,
        RejectCode::UnknownKey,
        RejectCode::Replay,
        RejectCode::Denied,
        RejectCode::Malformed,
        RejectCode::Limit,
        RejectCode::InvalidPolicy,
        RejectCode::Lockout,
        RejectCode::Error,
    ];

    /// The code as it appears after `code=`, e.g. `unknown-key`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Unsigned => "unsigned",
            RejectCode::Nonce => "nonce",
            RejectCode::Certificate => "certificate",
            RejectCode::Signature => "signature",
            RejectCode::UnknownKey => "unknown-key",
            RejectCode::Replay => "replay",
            RejectCode::Denied => "denied",
            RejectCode::Malformed => "malformed",
            RejectCode::Limit => "limit",
            RejectCode::InvalidPolicy => "invalid-policy",
            RejectCode::Lockout => "lockout",
            RejectCode::Error => "error",
        }
    }

    /// The code named `s` (exactly as [`RejectCode::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The line the hook prints last: `gitapps: code=<code>`.
    pub fn line(self) -> String {
        format!("{REJECT_CODE_PREFIX}{}", self.as_str())
    }

    /// Whether pushing the same change again, later, may succeed without
    /// anyone changing the policy or the keys: a fresh nonce or signature
    /// cures `nonce` and `replay`, and `error` may be passing.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            RejectCode::Nonce | RejectCode::Replay | RejectCode::Error
        )
    }

    /// The code of one line of output, if it is a code line: the hook's own
    /// line, or git's `remote: ` copy of it, with any trailing white space
    /// or terminal escape (`ESC [ K`) that git adds.
    pub fn from_line(line: &str) -> Option<Self> {
        let line = line.trim_start();
        let line = line.strip_prefix("remote:").unwrap_or(line).trim_start();
        let rest = line.strip_prefix(REJECT_CODE_PREFIX)?;
        let code = rest.trim_end();
        Self::parse(code.strip_suffix("\u{1b}[K").unwrap_or(code).trim_end())
    }

    /// The code of a rejection in `output` (a hook's stderr, or the stderr
    /// of `git push`): the last code line in it.
    pub fn from_output(output: &str) -> Option<Self> {
        output.lines().rev().find_map(Self::from_line)
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of [`RejectCode::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown rejection code `{0}`")]
pub struct UnknownRejectCode(pub String);

impl FromStr for RejectCode {
    type Err = UnknownRejectCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownRejectCode(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in RejectCode::ALL {
            assert_eq!(RejectCode::parse(code.as_str()), Some(code));
            assert_eq!(code.as_str().parse::<RejectCode>(), Ok(code));
            assert_eq!(RejectCode::from_line(&code.line()), Some(code));
        }
        assert_eq!(RejectCode::parse("Denied"), None);
        assert!("nope".parse::<RejectCode>().is_err());
    }

    #[test]
    fn reads_the_code_from_what_git_shows() {
        let stderr = "To /srv/x.git\n\
            remote: gitapps: denied: modify README on heads/main for AAAA (no rule allows it)        \n\
            remote: gitapps: code=denied        \n\
            ! [remote rejected] main -> main (pre-receive hook declined)\n";
        assert_eq!(RejectCode::from_output(stderr), Some(RejectCode::Denied));
        assert_eq!(
            RejectCode::from_output("remote: gitapps: code=unknown-key\u{1b}[K\n"),
            Some(RejectCode::UnknownKey)
        );
        assert_eq!(
            RejectCode::from_output("gitapps: code=limit"),
            Some(RejectCode::Limit)
        );
        // Only whole code lines count.
        assert_eq!(
            RejectCode::from_output("remote: say gitapps: code=denied"),
            None
        );
        assert_eq!(RejectCode::from_output("gitapps: code=denied-ish"), None);
        assert_eq!(RejectCode::from_output(""), None);
    }
}

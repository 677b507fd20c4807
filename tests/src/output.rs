//! A finished command and assertions on it.

use std::fmt;
use std::process::ExitStatus;

/// What a command did: its exit status and its output as (lossy) UTF-8.
///
/// Every assertion prints the whole output when it fails.
#[derive(Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Describes a process that ran, `command` naming it in messages (for
    /// one spawned and waited for by hand; [`crate::run`] makes the others).
    pub fn new(command: String, out: std::process::Output) -> Self {
        Output {
            command,
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The machine-readable code of a rejection: the last
    /// `gitapps: code=<code>` line of stderr (also as git shows it,
    /// `remote: gitapps: code=<code>`).
    pub fn reject_code(&self) -> Option<gitapps_policy::RejectCode> {
        gitapps_policy::RejectCode::from_output(&self.stderr)
    }

    /// Asserts the command failed and its stderr ends its rejection with
    /// `gitapps: code=<code>`.
    #[track_caller]
    pub fn assert_reject_code(&self, code: gitapps_policy::RejectCode) -> &Self {
        assert!(
            !self.success(),
            "expected a rejection ({code}), got success:\n{self}"
        );
        assert_eq!(
            self.reject_code(),
            Some(code),
            "expected the rejection code {code}:\n{self}"
        );
        self
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// stdout without trailing white space.
    pub fn stdout_trimmed(&self) -> &str {
        self.stdout.trim_end()
    }

    /// The lines of stdout, trailing white space removed from each.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().map(str::trim_end).collect()
    }

    /// The lines of stderr with git's `remote: ` prefix and padding removed.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .map(|l| l.strip_prefix("remote: ").unwrap_or(l).trim_end())
            .collect()
    }

    /// The `gitapps: denied: …` lines of stderr, without that prefix.
    pub fn denials(&self) -> Vec<&str> {
        self.stderr_lines()
            .into_iter()
            .filter_map(|l| l.split_once("gitapps: denied: ").map(|(_, rest)| rest))
            .collect()
    }

    /// Asserts the command succeeded.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.success(), "expected success:\n{self}");
        self
    }

    /// Asserts the command succeeded and returns its stdout as it is.
    #[track_caller]
    pub fn success_stdout(&self) -> &str {
        self.assert_ok();
        &self.stdout
    }

    /// Asserts the command failed.
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert!(!self.success(), "expected failure:\n{self}");
        self
    }

    /// Asserts the command exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit code {code}:\n{self}"
        );
        self
    }

    /// Asserts the command failed and `needle` is in its stderr.
    #[track_caller]
    pub fn assert_rejected_with(&self, needle: &str) -> &Self {
        self.assert_failed();
        self.assert_stderr_contains(needle)
    }

    /// Asserts the command failed and a `remote: ` line of stderr (what the
    /// server's hook printed, as git relays it) contains `needle`. Unlike
    /// [`Output::assert_rejected_with`], git's own summary lines
    /// (`! [remote rejected] …`) do not count.
    #[track_caller]
    pub fn assert_remote_said(&self, needle: &str) -> &Self {
        self.assert_failed();
        let said = self
            .stderr
            .lines()
            .any(|l| l.starts_with("remote: ") && l.contains(needle));
        assert!(
            said,
            "expected a `remote:` line with {needle:?} in stderr:\n{self}"
        );
        self
    }

    /// Asserts `needle` is in stderr.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "expected {needle:?} in stderr:\n{self}"
        );
        self
    }

    /// Asserts `needle` is not in stderr.
    #[track_caller]
    pub fn assert_stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "expected no {needle:?} in stderr:\n{self}"
        );
        self
    }

    /// Asserts every one of `needles` is in stderr, ignoring ASCII case.
    #[track_caller]
    pub fn assert_stderr_mentions(&self, needles: &[&str]) -> &Self {
        let haystack = self.stderr.to_ascii_lowercase();
        for needle in needles {
            assert!(
                haystack.contains(&needle.to_ascii_lowercase()),
                "expected {needle:?} (any case) in stderr:\n{self}"
            );
        }
        self
    }

    /// Asserts `needle` is in stdout.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "expected {needle:?} in stdout:\n{self}"
        );
        self
    }

    /// Asserts the command failed with a `gitapps: denied: OP NAME` line
    /// (what may follow NAME, like ` on heads/x for FPR (…)`, is not checked).
    #[track_caller]
    pub fn assert_denied(&self, op: &str, name: &str) -> &Self {
        self.assert_failed();
        assert!(
            self.has_denial(op, name),
            "expected `gitapps: denied: {op} {name}` in stderr:\n{self}"
        );
        self
    }

    /// Asserts there is no `gitapps: denied: OP NAME` line.
    #[track_caller]
    pub fn assert_not_denied(&self, op: &str, name: &str) -> &Self {
        assert!(
            !self.has_denial(op, name),
            "expected no `gitapps: denied: {op} {name}` in stderr:\n{self}"
        );
        self
    }

    /// Whether stderr has a `gitapps: denied: OP NAME` line.
    pub fn has_denial(&self, op: &str, name: &str) -> bool {
        let wanted = format!("{op} {name}");
        self.denials().iter().any(|rest| {
            rest.strip_prefix(&wanted)
                .is_some_and(|after| after.is_empty() || after.starts_with(char::is_whitespace))
        })
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(f, "exit: {}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}--------------", self.stderr)
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

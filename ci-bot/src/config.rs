//! `ci-bot.toml`: the fields of SPEC section 6, plus `lease_secs`, the sandbox and
//! its limits, `test_all_revisions` and `comment_max_bytes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What goes wrong while reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The file as written; every field but `remote`, `workdir` and `command` has a default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    remote: Option<String>,
    workdir: Option<PathBuf>,
    command: Option<String>,
    timeout_secs: Option<u64>,
    poll_secs: Option<u64>,
    signing_key: Option<String>,
    log_tail_lines: Option<usize>,
    lease_secs: Option<u64>,
    test_all_revisions: Option<bool>,
    sandbox: Option<String>,
    network: Option<bool>,
    read_only_paths: Option<Vec<PathBuf>>,
    environment: Option<BTreeMap<String, String>>,
    memory_limit_mib: Option<u64>,
    process_limit: Option<u64>,
    comment_max_bytes: Option<usize>,
}

pub const DEFAULT_TIMEOUT_SECS: u64 = 1800;
pub const DEFAULT_POLL_SECS: u64 = 30;
pub const DEFAULT_LOG_TAIL_LINES: usize = 200;
/// The default lease is the timeout plus this margin (for checkout and the two pushes).
pub const LEASE_MARGIN_SECS: u64 = 300;
pub const DEFAULT_MEMORY_LIMIT_MIB: u64 = 4096;
/// Processes and threads together (the pids cgroup counts both).
pub const DEFAULT_PROCESS_LIMIT: u64 = 4096;
/// Well under the 1 MiB a data branch's size cap allows per file.
pub const DEFAULT_COMMENT_MAX_BYTES: usize = 64 * 1024;
/// The smallest comment limit that still has room for the headers and some log.
pub const MIN_COMMENT_MAX_BYTES: usize = 2 * 1024;
/// The largest: `git mr init` caps the data branch's files at 1 MiB at most.
pub const MAX_COMMENT_MAX_BYTES: usize = 1024 * 1024;

/// How jobs are isolated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxMode {
    /// bubblewrap: the default.
    Bwrap,
    /// Jobs run as the bot's user, seeing what it sees (a warning on every pass).
    None,
}

/// The sandbox a job runs in (see `sandbox.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sandbox {
    pub mode: SandboxMode,
    /// Whether jobs reach the network (off by default: only a private loopback).
    pub network: bool,
    /// Absolute paths jobs may read (a toolchain …), besides the system's directories.
    pub read_only_paths: Vec<PathBuf>,
}

/// Resource limits of a job; `None`: unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub processes: Option<u64>,
}

/// A validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// A URL, or an absolute path (a relative path is taken from the config file's folder).
    pub remote: String,
    /// Absolute (a relative path is taken from the config file's folder).
    pub workdir: PathBuf,
    pub command: String,
    pub timeout_secs: u64,
    pub poll_secs: u64,
    pub signing_key: Option<String>,
    pub log_tail_lines: usize,
    /// How long a claim holds before another bot may take the revision over.
    pub lease_secs: u64,
    /// Test every revision, not only each merge request's newest.
    pub test_all_revisions: bool,
    pub sandbox: Sandbox,
    pub limits: Limits,
    /// Extra environment for jobs, in order.
    pub environment: Vec<(String, String)>,
    /// The most bytes a result comment takes (headers included).
    pub comment_max_bytes: usize,
}

impl Config {
    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::path::absolute(&base).unwrap_or(base);
        Config::parse(&text, &base).map_err(|e| match e {
            Problem::Parse(message) => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            Problem::Invalid(message) => ConfigError::Invalid {
                path: path.display().to_string(),
                message,
            },
        })
    }

    /// Parse and validate a configuration whose relative paths start at `base`.
    fn parse(text: &str, base: &Path) -> Result<Config, Problem> {
        let raw: Raw = toml::from_str(text).map_err(|e| Problem::Parse(e.to_string()))?;
        let missing = |field: &str, example: &str| {
            Problem::Invalid(format!("missing `{field}` (for example: {example})"))
        };
        let remote = raw
            .remote
            .ok_or_else(|| missing("remote", "remote = \"/srv/git/project.git\""))?;
        let remote = remote.trim().to_owned();
        if remote.is_empty() {
            return Err(Problem::Invalid("`remote` is empty".to_owned()));
        }
        let remote = if is_local_path(&remote) && Path::new(&remote).is_relative() {
            base.join(&remote).display().to_string()
        } else {
            remote
        };
        let workdir = raw
            .workdir
            .ok_or_else(|| missing("workdir", "workdir = \"/var/lib/ci-bot\""))?;
        if workdir.as_os_str().is_empty() {
            return Err(Problem::Invalid("`workdir` is empty".to_owned()));
        }
        let workdir = if workdir.is_relative() {
            base.join(workdir)
        } else {
            workdir
        };
        let command = raw
            .command
            .ok_or_else(|| missing("command", "command = \"cargo test\""))?;
        if command.trim().is_empty() {
            return Err(Problem::Invalid(
                "`command` is empty: say what to run in each revision".to_owned(),
            ));
        }
        let timeout_secs = raw.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if timeout_secs == 0 {
            return Err(Problem::Invalid(
                "`timeout_secs` must be at least 1".to_owned(),
            ));
        }
        let poll_secs = raw.poll_secs.unwrap_or(DEFAULT_POLL_SECS);
        if poll_secs == 0 {
            return Err(Problem::Invalid(
                "`poll_secs` must be at least 1".to_owned(),
            ));
        }
        let lease_secs = raw
            .lease_secs
            .unwrap_or(timeout_secs.saturating_add(LEASE_MARGIN_SECS));
        if lease_secs <= timeout_secs {
            return Err(Problem::Invalid(format!(
                "`lease_secs` ({lease_secs}) must exceed `timeout_secs` ({timeout_secs}): \
                 else another bot could take over a revision that is still running"
            )));
        }
        let signing_key = raw
            .signing_key
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        let mode = match raw.sandbox.as_deref().map(str::trim) {
            None | Some("bwrap") => SandboxMode::Bwrap,
            Some("none") => SandboxMode::None,
            Some(other) => {
                return Err(Problem::Invalid(format!(
                    "`sandbox = {other:?}`: say \"bwrap\" (the default: jobs run in bubblewrap) \
                     or \"none\" (jobs run as the bot's user and can use its key)"
                )))
            }
        };
        let read_only_paths = raw.read_only_paths.unwrap_or_default();
        for p in &read_only_paths {
            if !p.is_absolute() {
                return Err(Problem::Invalid(format!(
                    "`read_only_paths`: {} is not an absolute path",
                    p.display()
                )));
            }
        }
        let mut environment = Vec::new();
        for (k, v) in raw.environment.unwrap_or_default() {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                return Err(Problem::Invalid(format!(
                    "`environment`: {k:?} is not a variable name (no `=`, no NUL)"
                )));
            }
            environment.push((k, v));
        }
        let memory_limit_mib = raw.memory_limit_mib.unwrap_or(DEFAULT_MEMORY_LIMIT_MIB);
        let process_limit = raw.process_limit.unwrap_or(DEFAULT_PROCESS_LIMIT);
        let limits = Limits {
            memory_bytes: (memory_limit_mib > 0).then(|| memory_limit_mib.saturating_mul(1 << 20)),
            processes: (process_limit > 0).then_some(process_limit),
        };
        let comment_max_bytes = raw.comment_max_bytes.unwrap_or(DEFAULT_COMMENT_MAX_BYTES);
        if !(MIN_COMMENT_MAX_BYTES..=MAX_COMMENT_MAX_BYTES).contains(&comment_max_bytes) {
            return Err(Problem::Invalid(format!(
                "`comment_max_bytes` ({comment_max_bytes}) must be between \
                 {MIN_COMMENT_MAX_BYTES} and {MAX_COMMENT_MAX_BYTES} (and under the data \
                 branch's size cap)"
            )));
        }
        Ok(Config {
            remote,
            workdir,
            command,
            timeout_secs,
            poll_secs,
            signing_key,
            log_tail_lines: raw.log_tail_lines.unwrap_or(DEFAULT_LOG_TAIL_LINES),
            lease_secs,
            test_all_revisions: raw.test_all_revisions.unwrap_or(false),
            sandbox: Sandbox {
                mode,
                network: raw.network.unwrap_or(false),
                read_only_paths,
            },
            limits,
            environment,
            comment_max_bytes,
        })
    }

    /// The bot's own clone.
    pub fn repo_dir(&self) -> PathBuf {
        self.workdir.join("repo.git")
    }

    /// Scratch space for checkouts, emptied on start.
    pub fn jobs_dir(&self) -> PathBuf {
        self.workdir.join("jobs")
    }

    /// Held while a bot uses `workdir`.
    pub fn lock_path(&self) -> PathBuf {
        self.workdir.join("ci-bot.lock")
    }

    /// What the running bot is doing, for `ci-bot status`.
    pub fn status_path(&self) -> PathBuf {
        self.workdir.join("status.json")
    }
}

enum Problem {
    Parse(String),
    Invalid(String),
}

/// Whether git reads `remote` as a local path rather than a URL (`scheme://…`) or
/// scp-like `host:path` (a colon before the first slash).
pub fn is_local_path(remote: &str) -> bool {
    if remote.contains("://") {
        return false;
    }
    match (remote.find(':'), remote.find('/')) {
        (Some(colon), Some(slash)) => slash < colon,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/ci")).map_err(|e| match e {
            Problem::Parse(m) | Problem::Invalid(m) => m,
        })
    }

    const MINIMAL: &str =
        "remote = \"/srv/p.git\"\nworkdir = \"/var/lib/ci\"\ncommand = \"true\"\n";

    #[test]
    fn defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.timeout_secs, 1800);
        assert_eq!(c.poll_secs, 30);
        assert_eq!(c.log_tail_lines, 200);
        assert_eq!(c.lease_secs, 2100);
        assert_eq!(c.signing_key, None);
        assert!(!c.test_all_revisions);
        assert_eq!(c.sandbox.mode, SandboxMode::Bwrap);
        assert!(!c.sandbox.network);
        assert_eq!(c.limits.memory_bytes, Some(4096 << 20));
        assert_eq!(c.limits.processes, Some(4096));
        assert_eq!(c.comment_max_bytes, 64 * 1024);
    }

    #[test]
    fn sandbox_and_limits() {
        let c = parse(&format!(
            "{MINIMAL}sandbox = \"none\"\nnetwork = true\nread_only_paths = [\"/opt/rust\"]\n\
             environment = {{ CARGO_HOME = \"/tmp/cargo\", A = \"1\" }}\n\
             memory_limit_mib = 0\nprocess_limit = 64\ntest_all_revisions = true\n\
             comment_max_bytes = 4096\n"
        ))
        .unwrap();
        assert_eq!(c.sandbox.mode, SandboxMode::None);
        assert!(c.sandbox.network);
        assert_eq!(c.sandbox.read_only_paths, vec![PathBuf::from("/opt/rust")]);
        assert_eq!(
            c.environment,
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("CARGO_HOME".to_owned(), "/tmp/cargo".to_owned())
            ]
        );
        assert_eq!(c.limits.memory_bytes, None);
        assert_eq!(c.limits.processes, Some(64));
        assert!(c.test_all_revisions);
        assert_eq!(c.comment_max_bytes, 4096);
        let e = parse(&format!("{MINIMAL}sandbox = \"docker\"\n")).unwrap_err();
        assert!(e.contains("\"bwrap\""), "{e}");
        let e = parse(&format!("{MINIMAL}read_only_paths = [\"rel\"]\n")).unwrap_err();
        assert!(e.contains("not an absolute path"), "{e}");
        let e = parse(&format!("{MINIMAL}comment_max_bytes = 2000000\n")).unwrap_err();
        assert!(e.contains("must be between"), "{e}");
        let e = parse(&format!("{MINIMAL}environment = {{ \"A=B\" = \"x\" }}\n")).unwrap_err();
        assert!(e.contains("not a variable name"), "{e}");
    }

    #[test]
    fn the_spec_example_parses() {
        let c = parse(
            r#"
remote = "/srv/git/project.git"   # URL or path the bot fetches from and pushes to
workdir = "/var/lib/ci-bot"       # the bot's own clone and scratch space
command = "cargo test"            # run with sh -c in the checked-out revision
timeout_secs = 1800
poll_secs = 30
signing_key = "FPR"               # optional; else git's user.signingkey
log_tail_lines = 200
"#,
        )
        .unwrap();
        assert_eq!(c.command, "cargo test");
        assert_eq!(c.signing_key.as_deref(), Some("FPR"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = parse(&format!("{MINIMAL}timeout = 3\n")).unwrap_err();
        assert!(e.contains("unknown field `timeout`"), "{e}");
        assert!(e.contains("timeout_secs"), "{e}");
    }

    #[test]
    fn missing_or_empty_command() {
        let e = parse("remote = \"/srv/p.git\"\nworkdir = \"w\"\n").unwrap_err();
        assert!(e.contains("missing `command`"), "{e}");
        let e = parse("remote = \"/srv/p.git\"\nworkdir = \"w\"\ncommand = \"  \"\n").unwrap_err();
        assert!(e.contains("`command` is empty"), "{e}");
    }

    #[test]
    fn bad_numbers() {
        let e = parse(&format!("{MINIMAL}timeout_secs = -1\n")).unwrap_err();
        assert!(e.contains("timeout_secs"), "{e}");
        let e = parse(&format!("{MINIMAL}timeout_secs = 0\n")).unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = parse(&format!("{MINIMAL}timeout_secs = 10\nlease_secs = 10\n")).unwrap_err();
        assert!(e.contains("must exceed"), "{e}");
    }

    #[test]
    fn relative_paths_start_at_the_config_file() {
        let c = parse("remote = \"../p.git\"\nworkdir = \"w\"\ncommand = \"true\"\n").unwrap();
        assert_eq!(c.remote, "/etc/ci/../p.git");
        assert_eq!(c.workdir, PathBuf::from("/etc/ci/w"));
        let c =
            parse("remote = \"git@host:p.git\"\nworkdir = \"/w\"\ncommand = \"true\"\n").unwrap();
        assert_eq!(c.remote, "git@host:p.git");
    }

    #[test]
    fn local_paths() {
        assert!(is_local_path("/srv/p.git"));
        assert!(is_local_path("p.git"));
        assert!(is_local_path("./a:b"));
        assert!(!is_local_path("https://h/p.git"));
        assert!(!is_local_path("host:p.git"));
        assert!(!is_local_path("file:///srv/p.git"));
    }
}

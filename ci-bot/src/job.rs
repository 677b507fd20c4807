//! One job: check a revision out into a fresh directory and run the command there,
//! in the sandbox, in its own process group and cgroups, with limits and a timeout.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use git_mr::git::Git;

use crate::cgroup::{JobCgroups, Places};
use crate::config::Limits;
use crate::record::{self, Group, Record};
use crate::sandbox::{JobDirs, Sandbox};

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Error,
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Timeout => "timeout",
        }
    }

    /// The label the result sets: `ci-pass` for a pass, `ci-fail` for anything else.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "ci-pass",
            _ => "ci-fail",
        }
    }
}

/// The result of a job that ran to its end (or its timeout).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub duration: Duration,
    /// `exit code 1`, `killed by signal 9`, `timed out after 2 s`, or the checkout's error.
    pub detail: String,
    /// The last lines of stdout+stderr.
    pub log_tail: String,
}

/// What to run, and how.
pub struct Job<'a> {
    /// The bot's own clone, which has the revision's commit.
    pub repo: &'a Path,
    /// Where fresh directories are made.
    pub jobs_dir: &'a Path,
    pub commit: &'a str,
    pub command: &'a str,
    pub timeout: Duration,
    pub log_tail_lines: usize,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
    pub sandbox: &'a Sandbox,
    pub cgroups: &'a Places,
    pub limits: Limits,
}

/// Why a job has no outcome.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The bot is stopping: the command was killed, and nothing is to be reported.
    #[error("interrupted: the bot is stopping")]
    Interrupted,
    /// Something on the bot's side (no scratch space …): try again later.
    #[error("{0}")]
    Bot(String),
}

/// Variables that would point git somewhere else than the checkout, or hand the job
/// the bot's agents: never passed on (see also `main`, which drops the git ones).
/// In the sandbox a job gets none of the bot's variables in the first place.
pub const SCRUBBED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
];

/// How long a process group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// How often a running job is looked at.
const TICK: Duration = Duration::from_millis(50);
/// The most of the log kept, in bytes (the end is kept): as much as the largest
/// comment may carry (`comment_max_bytes` cuts it further).
const MAX_TAIL_BYTES: usize = crate::config::MAX_COMMENT_MAX_BYTES;
/// How long killing what is left of a job may take.
const KILL_PATIENCE: Duration = Duration::from_secs(10);

impl Job<'_> {
    /// Check out and run. `stop` turning true kills the job ([`JobError::Interrupted`]).
    /// The job's directory is removed afterwards, unless something still uses it.
    pub fn run(&self, stop: &AtomicBool) -> Result<Outcome, JobError> {
        std::fs::create_dir_all(self.jobs_dir).map_err(|e| {
            JobError::Bot(format!("cannot create {}: {e}", self.jobs_dir.display()))
        })?;
        let dir = tempfile::Builder::new()
            .prefix("job-")
            .tempdir_in(self.jobs_dir)
            .map_err(|e| JobError::Bot(format!("no scratch directory: {e}")))?
            .keep();
        let result = self.run_in(&dir, stop);
        record::finish(&dir);
        result
    }

    fn run_in(&self, dir: &Path, stop: &AtomicBool) -> Result<Outcome, JobError> {
        let src = dir.join("src");
        let log_path = dir.join("log");
        let started = Instant::now();
        if let Err(detail) = checkout(self.repo, self.commit, &src) {
            return Ok(Outcome {
                status: Status::Error,
                duration: started.elapsed(),
                detail: format!("cannot check out {}", self.commit),
                log_tail: tail_of(&detail, self.log_tail_lines),
            });
        }
        if let Some((uid, gid)) = self.sandbox.job_owner() {
            crate::sandbox::chown_tree(&src, uid, gid).map_err(JobError::Bot)?;
        }
        let name = format!(
            "ci-bot.{}.{}",
            std::process::id(),
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("job")
        );
        // Recorded before they exist: a bot killed in between leaves none unnamed.
        let mut record = Record {
            boot_id: record::boot_id(),
            cgroups: self.cgroups.dirs_for(&name),
            group: None,
        };
        record
            .write(dir)
            .map_err(|e| JobError::Bot(format!("cannot record the job: {e}")))?;
        let cgroups = self
            .cgroups
            .create(&name, &self.limits)
            .map_err(JobError::Bot)?;
        let ran = self.spawn_and_wait(&src, &log_path, dir, &cgroups, &mut record, stop);
        // Whatever the job left running goes with its cgroups.
        cgroups.kill_all(KILL_PATIENCE);
        let oom_kills = cgroups.oom_kills();
        let _ = cgroups.remove();
        let (ended, duration) = ran?;
        let log_tail = read_tail(&log_path, self.log_tail_lines)
            .unwrap_or_else(|e| format!("(cannot read the log: {e})\n"));
        let (status, mut detail) = match ended {
            Ended::Interrupted => return Err(JobError::Interrupted),
            Ended::TimedOut => (
                Status::Timeout,
                format!("timed out after {} s", self.timeout.as_secs()),
            ),
            Ended::Exited(s) if s.success() => (Status::Pass, "exit code 0".to_owned()),
            Ended::Exited(s) => (Status::Fail, describe_status(s)),
            Ended::Lost(e) => (Status::Error, format!("lost the command: {e}")),
        };
        if oom_kills > 0 {
            let limit = self.limits.memory_bytes.unwrap_or(0) >> 20;
            detail.push_str(&format!(
                "; out of memory: the kernel killed {oom_kills} process(es) of the job at its \
                 limit of {limit} MiB (memory_limit_mib)"
            ));
        }
        Ok(Outcome {
            status,
            duration,
            detail,
            log_tail,
        })
    }

    /// Start the command in its cgroups (recorded first) and wait for it.
    fn spawn_and_wait(
        &self,
        src: &Path,
        log_path: &Path,
        dir: &Path,
        cgroups: &JobCgroups,
        record: &mut Record,
        stop: &AtomicBool,
    ) -> Result<(Ended, Duration), JobError> {
        let bot = |what: &str, e: std::io::Error| JobError::Bot(format!("{what}: {e}"));
        let log = File::create(log_path)
            .map_err(|e| bot(&format!("cannot create {}", log_path.display()), e))?;
        let err = log
            .try_clone()
            .map_err(|e| bot("cannot duplicate the log's handle", e))?;
        let objects = objects_dir(self.repo);
        let dirs = JobDirs {
            checkout: src,
            objects: &objects,
        };
        let mut env = vec![("CI".to_owned(), "true".to_owned())];
        env.extend(self.env.iter().cloned());
        let mut cmd = self.sandbox.command(&dirs, self.command, &env);
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0);
        let procs = cgroups.open_procs().map_err(JobError::Bot)?;
        let rlimits = Rlimits {
            // A cgroup limits the job as a whole; failing that, each process.
            address_space: self
                .limits
                .memory_bytes
                .filter(|_| !self.cgroups.limits_memory()),
            processes: self
                .limits
                .processes
                .filter(|_| !self.cgroups.limits_processes()),
        };
        in_child(&mut cmd, procs, rlimits);
        let started = Instant::now();
        // Not the revision's fault: no result, tried again on the next pass.
        let child = cmd
            .spawn()
            .map_err(|e| bot(&format!("cannot run {:?}", cmd.get_program()), e))?;
        let pgid = child.id() as libc::pid_t;
        if let Some(start_time) = record::start_time(pgid) {
            record.group = Some(Group { pgid, start_time });
            // Best effort: the cgroups are recorded already.
            let _ = record.write(dir);
        }
        let ended = supervise(child, self.timeout, stop, cgroups);
        Ok((ended, started.elapsed()))
    }
}

/// The object store of `repo` (bare, or a work tree's `.git`).
fn objects_dir(repo: &Path) -> PathBuf {
    let bare = repo.join("objects");
    if bare.is_dir() {
        bare
    } else {
        repo.join(".git").join("objects")
    }
}

/// Per-process limits, for what no cgroup limits.
#[derive(Clone, Copy)]
struct Rlimits {
    address_space: Option<u64>,
    processes: Option<u64>,
}

/// What the child does between fork and exec: join the job's cgroups, set the
/// rlimits, and (on Linux) die with the bot. Only async-signal-safe calls.
fn in_child(cmd: &mut Command, procs: Vec<File>, rlimits: Rlimits) {
    let bot = std::process::id() as libc::pid_t;
    // SAFETY: write, setrlimit, prctl and getppid are async-signal-safe; nothing
    // allocates.
    unsafe {
        cmd.pre_exec(move || {
            // First, and then check that the bot has not died already: a bot killed
            // before the prctl would leave the job running on, unrecorded.
            die_with_parent(bot)?;
            crate::cgroup::join_from_child(&procs)?;
            for (resource, value) in [
                (libc::RLIMIT_AS, rlimits.address_space),
                (libc::RLIMIT_NPROC, rlimits.processes),
            ] {
                if let Some(v) = value {
                    let limit = libc::rlimit {
                        rlim_cur: v as libc::rlim_t,
                        rlim_max: v as libc::rlim_t,
                    };
                    if libc::setrlimit(resource, &limit) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        });
    }
}

/// A fresh clone sharing the bot's object store, with `commit` checked out (detached).
fn checkout(repo: &Path, commit: &str, dest: &Path) -> Result<(), String> {
    Git::clone_shared(repo, dest).map_err(|e| e.to_string())?;
    Git::new(dest)
        .run([
            "checkout",
            "--quiet",
            "--detach",
            &format!("{commit}^{{commit}}"),
        ])
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// SIGKILL when the bot (`bot`, the parent) dies (Linux; bwrap passes it on with
/// --die-with-parent); an error when it is gone already.
#[cfg(target_os = "linux")]
fn die_with_parent(bot: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: prctl and getppid are async-signal-safe.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    if unsafe { libc::getppid() } != bot {
        return Err(std::io::Error::other("the bot died"));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_bot: libc::pid_t) -> std::io::Result<()> {
    Ok(())
}

enum Ended {
    Exited(ExitStatus),
    TimedOut,
    Interrupted,
    Lost(std::io::Error),
}

/// Wait for `child` (a process group leader) until it exits, the timeout passes or
/// `stop` is set; then kill whatever is left of its process group and cgroups.
fn supervise(
    mut child: Child,
    timeout: Duration,
    stop: &AtomicBool,
    cgroups: &JobCgroups,
) -> Ended {
    let pgid = child.id() as libc::pid_t;
    let deadline = Instant::now() + timeout;
    loop {
        match exited(pgid) {
            Ok(true) => {
                // The leader is a zombie until reaped, so the group id is not reused:
                // kill what it left behind, then reap.
                kill_group(pgid, libc::SIGKILL);
                cgroups.kill_all(KILL_PATIENCE);
                return match child.wait() {
                    Ok(s) => Ended::Exited(s),
                    Err(e) => Ended::Lost(e),
                };
            }
            Ok(false) => {}
            Err(e) => {
                kill_group(pgid, libc::SIGKILL);
                cgroups.kill_all(KILL_PATIENCE);
                let _ = child.wait();
                return Ended::Lost(e);
            }
        }
        let interrupted = stop.load(Ordering::SeqCst);
        if interrupted || Instant::now() >= deadline {
            terminate(&mut child, pgid);
            cgroups.kill_all(KILL_PATIENCE);
            return if interrupted {
                Ended::Interrupted
            } else {
                Ended::TimedOut
            };
        }
        std::thread::sleep(TICK);
    }
}

/// SIGTERM to the group, SIGKILL after [`GRACE`] (or as soon as the leader is gone).
fn terminate(child: &mut Child, pgid: libc::pid_t) {
    kill_group(pgid, libc::SIGTERM);
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if exited(pgid).unwrap_or(true) {
            break;
        }
        std::thread::sleep(TICK);
    }
    kill_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

/// Whether the process `pid` has exited, without reaping it.
fn exited(pid: libc::pid_t) -> std::io::Result<bool> {
    // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid only writes into `info`.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: waitid filled `info` (si_pid stays 0 when nothing changed).
    Ok(unsafe { info.si_pid() } != 0)
}

fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: killpg has no memory effects; ESRCH (nobody left) is fine.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

fn describe_status(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => s.to_string(),
    }
}

/// The last `lines` lines of a file, reading only its end.
pub fn read_tail(path: &Path, lines: usize) -> std::io::Result<String> {
    if lines == 0 {
        return Ok(String::new());
    }
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut window: u64 = 8 * 1024;
    loop {
        let start = len.saturating_sub(window);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        let newlines = buf.iter().filter(|b| **b == b'\n').count();
        // One newline more than lines wanted: the first line of the window may be cut.
        if start == 0 || newlines > lines || window >= 4 * MAX_TAIL_BYTES as u64 {
            let mut text = String::from_utf8_lossy(&buf).into_owned();
            if start > 0 {
                // Drop the partial first line.
                if let Some(i) = text.find('\n') {
                    text.drain(..=i);
                }
            }
            return Ok(tail_of(&text, lines));
        }
        window *= 4;
    }
}

/// The last `lines` lines of `text`, at most [`MAX_TAIL_BYTES`] of them, ending in a newline.
pub fn tail_of(text: &str, lines: usize) -> String {
    if lines == 0 {
        return String::new();
    }
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    if trimmed.is_empty() {
        return String::new();
    }
    let all: Vec<&str> = trimmed.split('\n').collect();
    let from = all.len().saturating_sub(lines);
    let mut out = all[from..].join("\n");
    if out.len() > MAX_TAIL_BYTES {
        let rest = crate::report::tail_bytes(&out, MAX_TAIL_BYTES);
        out = format!("[… cut to the last {MAX_TAIL_BYTES} bytes …]\n{rest}");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMITS: Limits = Limits {
        memory_bytes: None,
        processes: None,
    };

    fn run(command: &str, timeout: Duration) -> (Outcome, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.org")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.org")
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        std::fs::create_dir_all(&repo).unwrap();
        git(&["init", "-q"]);
        std::fs::write(repo.join("ok"), "yes\n").unwrap();
        git(&["add", "ok"]);
        git(&["commit", "-q", "-m", "x"]);
        let commit = git(&["rev-parse", "HEAD"]).trim().to_owned();
        let jobs = dir.path().join("jobs");
        let stop = AtomicBool::new(false);
        let outcome = Job {
            repo: &repo,
            jobs_dir: &jobs,
            commit: &commit,
            command,
            timeout,
            log_tail_lines: 3,
            env: vec![("EXTRA".into(), "42".into())],
            sandbox: &Sandbox::unsandboxed(),
            cgroups: &Places::default(),
            limits: NO_LIMITS,
        }
        .run(&stop)
        .unwrap();
        assert_eq!(
            std::fs::read_dir(&jobs).unwrap().count(),
            0,
            "the scratch directory is removed"
        );
        (outcome, dir)
    }

    #[test]
    fn pass_and_fail_with_the_log_tail() {
        let (o, _d) = run(
            "for i in 1 2 3 4 5; do echo out $i; done; echo err >&2; cat ok; echo $EXTRA $CI",
            Duration::from_secs(20),
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.log_tail, "err\nyes\n42 true\n");
        let (o, _d) = run("echo nope; exit 3", Duration::from_secs(20));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.detail, "exit code 3");
        assert_eq!(o.log_tail, "nope\n");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let t = Instant::now();
        let (o, d) = run(
            "(sleep 30; echo late > /dev/null) & echo started; sleep 30",
            Duration::from_millis(500),
        );
        assert_eq!(o.status, Status::Timeout, "{o:?}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert_eq!(o.log_tail, "started\n");
        drop(d);
    }

    #[test]
    fn a_bad_commit_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let o = Job {
            repo: dir.path(),
            jobs_dir: &dir.path().join("jobs"),
            commit: "0123456789012345678901234567890123456789",
            command: "true",
            timeout: Duration::from_secs(5),
            log_tail_lines: 10,
            env: Vec::new(),
            sandbox: &Sandbox::unsandboxed(),
            cgroups: &Places::default(),
            limits: NO_LIMITS,
        }
        .run(&stop)
        .unwrap();
        assert_eq!(o.status, Status::Error);
    }

    #[test]
    fn stopping_interrupts() {
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(true);
        let child = Command::new("sh")
            .args(["-c", "sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let t = Instant::now();
        assert!(matches!(
            supervise(
                child,
                Duration::from_secs(30),
                &stop,
                &JobCgroups::default()
            ),
            Ended::Interrupted
        ));
        assert!(t.elapsed() < Duration::from_secs(6));
        drop(dir);
    }

    #[test]
    fn tails() {
        assert_eq!(tail_of("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail_of("a\nb\nc", 5), "a\nb\nc\n");
        assert_eq!(tail_of("", 5), "");
        assert_eq!(tail_of("a\n", 0), "");
        // One huge line: its end is kept, not dropped for being cut.
        let big = "x".repeat(3 * MAX_TAIL_BYTES);
        let t = tail_of(&format!("{big}\nend\n"), 5);
        assert!(t.len() < MAX_TAIL_BYTES + 100, "{}", t.len());
        assert!(t.len() > MAX_TAIL_BYTES / 2, "{}", t.len());
        assert!(t.ends_with("xx\nend\n"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let lines: Vec<String> = (0..100_000).map(|i| format!("line {i}")).collect();
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        assert_eq!(read_tail(&p, 2).unwrap(), "line 99998\nline 99999\n");
    }
}

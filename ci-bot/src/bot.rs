//! The bot: its clone, its identity, and one pass over the merge requests.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use git_mr::forge::Committed;
use git_mr::layout;
use git_mr::store::Depth;
use git_mr::{Fingerprint, Forge, MrId, Snapshot, State};
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::job::{Job, JobError, Outcome};
use crate::state::{self, Claim, Decision};
use crate::{report, Error};

/// One revision to test.
#[derive(Clone, Debug)]
pub struct Target {
    pub mr: MrId,
    pub k: u32,
    /// The tag's target (a commit, or an annotated tag that peels to one).
    pub commit: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.mr, self.k)
    }
}

/// A result that could not be posted yet.
struct Pending {
    target: Target,
    attempt: u32,
    outcome: Outcome,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Jobs run to their end.
    pub ran: usize,
    /// Results posted.
    pub posted: usize,
    /// Revisions left to other bots (a live claim, or a lost race).
    pub busy: usize,
    /// Revisions that failed on the bot's side (logged; tried again next pass).
    pub errors: usize,
    /// The pass stopped early because the bot is stopping.
    pub interrupted: bool,
}

pub struct Bot {
    config: Config,
    forge: Forge,
    me: Fingerprint,
    /// Names this process in its claims: `<host>/<pid>/<start time>`.
    instance: String,
    stop: Arc<AtomicBool>,
    pending: Vec<Pending>,
    /// An exclusive lock on the workdir, held while the bot lives.
    _lock: File,
}

impl Bot {
    /// Check the configuration against the world: the workdir (locked), the remote
    /// (reachable, with a data branch), the bot's own clone, its key, its membership
    /// of the `ci` group.
    pub fn start(config: Config, stop: Arc<AtomicBool>) -> Result<Bot, Error> {
        std::fs::create_dir_all(&config.workdir).map_err(|e| {
            Error::Start(format!(
                "cannot create the workdir {}: {e}",
                config.workdir.display()
            ))
        })?;
        let lock = lock_workdir(&config)?;
        check_remote(&config)?;
        let repo_dir = config.repo_dir();
        if !repo_dir.join("HEAD").exists() {
            git(
                &config.workdir,
                &["init", "--quiet", "--bare"],
                Some(&repo_dir),
            )
            .map_err(|e| Error::Start(format!("cannot create the bot's clone: {e}")))?;
        }
        match &config.signing_key {
            Some(key) => git(&repo_dir, &["config", "user.signingKey", key], None).map(|_| ()),
            None => {
                // A key set by an earlier configuration must not linger.
                let _ = git(&repo_dir, &["config", "--unset", "user.signingKey"], None);
                Ok(())
            }
        }
        .map_err(|e| Error::Start(format!("cannot configure the bot's clone: {e}")))?;
        let repo = gix::open(&repo_dir).map_err(|e| {
            Error::Start(format!(
                "{} is not a git repository: {e}",
                repo_dir.display()
            ))
        })?;
        let forge = Forge::from_repo(repo, &config.remote);
        let me = forge.me().map_err(|e| match e {
            git_mr::Error::NoSigningKey => Error::Start(
                "no signing key: set `signing_key` in the configuration, or git's user.signingkey"
                    .to_owned(),
            ),
            e => Error::Start(e.to_string()),
        })?;
        clean_jobs(&config);
        fetch(&forge)
            .map_err(|e| Error::Start(format!("cannot fetch from {}: {e}", config.remote)))?;
        let people = forge.people().map_err(|e| Error::Start(e.to_string()))?;
        if !people.is_ci(&me) {
            return Err(Error::Start(format!(
                "this bot ({me}) is not in the group `ci` on apps/access-control: \
                 its claims and labels would be refused (the owner adds it to groups/ci)"
            )));
        }
        let instance = format!(
            "{}/{}/{:x}",
            hostname(),
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        info!(bot = %me, remote = %config.remote, instance = %instance, "ci-bot started");
        Ok(Bot {
            config,
            forge,
            me,
            instance,
            stop,
            pending: Vec::new(),
            _lock: lock,
        })
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Fetch, then test every revision without a result (newest revisions first),
    /// one at a time: claim, run, post.
    pub fn pass(&mut self) -> Result<PassStats, Error> {
        let mut stats = PassStats::default();
        fetch(&self.forge)?;
        let snapshot = self.forge.snapshot(Depth::Full)?;
        if snapshot.commit.is_none() {
            return Err(git_mr::Error::NoDataBranch {
                remote: self.config.remote.clone(),
            }
            .into());
        }
        let ci: Vec<Fingerprint> = self.forge.people()?.ci.users.into_iter().collect();
        for p in std::mem::take(&mut self.pending) {
            self.post(p, &ci, &mut stats);
        }
        let targets = self.todo(&snapshot, &ci)?;
        if !targets.is_empty() {
            info!(count = targets.len(), "revisions without a result");
        }
        for t in targets {
            if self.stopping() {
                stats.interrupted = true;
                break;
            }
            self.test(t, &ci, &mut stats);
        }
        if self.stopping() {
            stats.interrupted = true;
        }
        Ok(stats)
    }

    /// Revisions of open merge requests without a result and without another bot's
    /// live claim: every merge request's newest revision first, then the older ones.
    fn todo(&self, snapshot: &Snapshot, ci: &[Fingerprint]) -> Result<Vec<Target>, Error> {
        let now = git_mr::clock::now()?;
        let mut newest = Vec::new();
        let mut older = Vec::new();
        for mr in &snapshot.mrs {
            if mr.state() != State::Open {
                continue;
            }
            let latest = mr.latest_revision().map(|r| r.number);
            for rev in mr.revisions.iter().rev() {
                if self
                    .pending
                    .iter()
                    .any(|p| p.target.mr == mr.id && p.target.k == rev.number)
                {
                    continue;
                }
                let claims = state::read_claims(
                    self.forge.repo(),
                    snapshot.commit.as_deref(),
                    &mr.id,
                    rev.number,
                )
                .map_err(git_mr::Error::Git)?;
                if state::result(mr, rev.number, &self.me, ci, &claims).is_some() {
                    continue;
                }
                let decision = state::decide(
                    &claims,
                    &self.me,
                    &self.instance,
                    now,
                    self.config.lease_secs,
                );
                if let Decision::Busy { bot, age_secs } = decision {
                    debug!(
                        mr = %mr.id, revision = rev.number,
                        claimed_by = %bot.map(|b| b.to_string()).unwrap_or_default(),
                        age_secs, "claimed by another bot: left to it"
                    );
                    continue;
                }
                let t = Target {
                    mr: mr.id.clone(),
                    k: rev.number,
                    commit: rev.commit.clone(),
                };
                if Some(rev.number) == latest {
                    newest.push(t);
                } else {
                    older.push(t);
                }
            }
        }
        newest.extend(older);
        Ok(newest)
    }

    /// Claim, run and post one revision; errors are logged and counted.
    fn test(&mut self, t: Target, ci: &[Fingerprint], stats: &mut PassStats) {
        let attempt = match self.claim(&t, ci) {
            Ok(Claimed::Mine { attempt, takeover }) => {
                info!(revision = %t, attempt, takeover, "claimed");
                attempt
            }
            Ok(Claimed::Busy) => {
                info!(revision = %t, "another bot claimed it first");
                stats.busy += 1;
                return;
            }
            Ok(Claimed::Skip(why)) => {
                info!(revision = %t, "skipped: {why}");
                return;
            }
            Err(e) => {
                error!(revision = %t, "cannot claim: {e}{}", claim_hint(&e));
                stats.errors += 1;
                return;
            }
        };
        info!(revision = %t, commit = %t.commit, command = %self.config.command, "running");
        let env = vec![
            ("GITAPPS_MR".to_owned(), t.mr.to_string()),
            ("GITAPPS_REVISION".to_owned(), t.k.to_string()),
            ("GITAPPS_COMMIT".to_owned(), t.commit.clone()),
        ];
        let repo_dir = self.config.repo_dir();
        let jobs_dir = self.config.jobs_dir();
        let job = Job {
            repo: &repo_dir,
            jobs_dir: &jobs_dir,
            commit: &t.commit,
            command: &self.config.command,
            timeout: Duration::from_secs(self.config.timeout_secs),
            log_tail_lines: self.config.log_tail_lines,
            env,
        };
        let outcome = match job.run(&self.stop) {
            Ok(o) => o,
            Err(JobError::Interrupted) => {
                warn!(revision = %t, "stopping: the job was killed and is not reported");
                stats.interrupted = true;
                return;
            }
            Err(JobError::Bot(e)) => {
                error!(revision = %t, "cannot run the job: {e}");
                stats.errors += 1;
                return;
            }
        };
        stats.ran += 1;
        info!(
            revision = %t, status = outcome.status.as_str(),
            duration = %report::seconds(outcome.duration), detail = %outcome.detail, "finished"
        );
        self.post(
            Pending {
                target: t,
                attempt,
                outcome,
            },
            ci,
            stats,
        );
    }

    /// Create the next claim file, unless the revision has a result or a live claim
    /// on the new tip: the push is the compare-and-swap, retried on a moved branch.
    fn claim(&self, t: &Target, ci: &[Fingerprint]) -> Result<Claimed, Error> {
        let committed: Committed<Claimed> = transact(&self.forge, |forge, snapshot, tx| {
            let Some(mr) = snapshot.get(&t.mr) else {
                return Ok(Claimed::Skip("the merge request is gone".to_owned()));
            };
            if mr.state() != State::Open {
                return Ok(Claimed::Skip(format!(
                    "the merge request is {}",
                    mr.state()
                )));
            }
            let claims = state::read_claims(forge.repo(), snapshot.commit.as_deref(), &t.mr, t.k)
                .map_err(git_mr::Error::Git)?;
            if state::result(mr, t.k, &self.me, ci, &claims).is_some() {
                return Ok(Claimed::Skip("it has a result already".to_owned()));
            }
            let now = git_mr::clock::now()?;
            match state::decide(
                &claims,
                &self.me,
                &self.instance,
                now,
                self.config.lease_secs,
            ) {
                Decision::Busy { .. } => Ok(Claimed::Busy),
                Decision::Resume { attempt } => Ok(Claimed::Mine {
                    attempt,
                    takeover: false,
                }),
                Decision::Claim { attempt, takeover } => {
                    tx.message = format!("ci-bot: claim {} v{} ({attempt})\n", t.mr, t.k);
                    tx.file(
                        state::claim_path(&t.mr, t.k, attempt),
                        Claim::render(&self.me, &self.instance, &now, self.config.lease_secs),
                    );
                    Ok(Claimed::Mine { attempt, takeover })
                }
            }
        })?;
        Ok(committed.value)
    }

    /// Post a result: one comment, and the `ci-*` label when it is the newest
    /// revision; one signed push, re-applied on a moved branch. A failure keeps the
    /// result for the next pass.
    fn post(&mut self, p: Pending, ci: &[Fingerprint], stats: &mut PassStats) {
        let t = &p.target;
        let (headers, body) = report::comment(
            t.k,
            &t.commit,
            &self.config.command,
            &p.outcome,
            self.config.log_tail_lines,
        );
        let label = p.outcome.status.label();
        let other = if label == "ci-pass" {
            "ci-fail"
        } else {
            "ci-pass"
        };
        let result = transact(&self.forge, |forge, snapshot, tx| {
            let Some(mr) = snapshot.get(&t.mr) else {
                return Ok(Posted::Skip("the merge request is gone".to_owned()));
            };
            let claims = state::read_claims(forge.repo(), snapshot.commit.as_deref(), &t.mr, t.k)
                .map_err(git_mr::Error::Git)?;
            if let Some(c) = state::result(mr, t.k, &self.me, ci, &claims) {
                return Ok(Posted::Skip(format!(
                    "it has a result already ({})",
                    c.reference()
                )));
            }
            if state::superseded(&claims, p.attempt) {
                return Ok(Posted::Skip(
                    "another bot took the revision over (the lease ran out)".to_owned(),
                ));
            }
            tx.message = format!(
                "ci-bot: {} on {} v{}\n",
                p.outcome.status.as_str(),
                t.mr,
                t.k
            );
            let index = git_mr::ops::add_comment(tx, snapshot, &t.mr, &self.me, &headers, &body)?;
            let newest = mr.latest_revision().map(|r| r.number) == Some(t.k);
            let mut labels = Vec::new();
            if newest {
                if mr.has_label(other) {
                    tx.remove(layout::mr_label_path(&t.mr, other));
                    tx.remove(layout::label_index_path(other, &t.mr));
                    labels.push(format!("-{other}"));
                }
                if !mr.has_label(label) {
                    if snapshot.label_exists(label) {
                        tx.symlink(
                            layout::mr_label_path(&t.mr, label),
                            layout::label_link_target(label),
                        );
                        tx.symlink(
                            layout::label_index_path(label, &t.mr),
                            layout::mr_link_target(&t.mr),
                        );
                        labels.push(format!("+{label}"));
                    } else {
                        warn!("the label {label} does not exist on the data branch: not set");
                    }
                }
            }
            Ok(Posted::Now { index, labels })
        });
        match result {
            Ok(c) => match c.value {
                Posted::Now { index, labels } => {
                    stats.posted += 1;
                    info!(
                        revision = %t, comment = %format!("{}/{index}", self.me),
                        labels = %labels.join(" "), attempts = c.attempts, "posted"
                    );
                }
                Posted::Skip(why) => info!(revision = %t, "result not posted: {why}"),
            },
            Err(e) => {
                error!(revision = %t, "cannot post the result (kept for the next pass): {e}");
                stats.errors += 1;
                self.pending.push(p);
            }
        }
    }
}

enum Claimed {
    Mine { attempt: u32, takeover: bool },
    Busy,
    Skip(String),
}

enum Posted {
    Now { index: u32, labels: Vec<String> },
    Skip(String),
}

/// Fetch the data branch, `apps/access-control` and the revision tags (forced and
/// pruned: a tag the owner moved or deleted must not stop every later fetch), in
/// the library's one fetch.
fn fetch(forge: &Forge) -> Result<(), git_mr::Error> {
    forge.fetch().map(|_| ())
}

/// [`Forge::transact_at`] with every comment read. The library re-applies the
/// change when the push lost a race (read from git's porcelain status and the
/// hook's `gitapps: code=` line, never from translated text), for a bounded time.
fn transact<T>(
    forge: &Forge,
    change: impl FnMut(&Forge, &Snapshot, &mut git_mr::tx::Tx) -> git_mr::Result<T>,
) -> git_mr::Result<Committed<T>> {
    forge.transact_at(Depth::Full, change)
}

/// A hint for a refused claim: policies from before ci-bot lack the claim rules.
fn claim_hint(e: &Error) -> &'static str {
    let text = e.to_string();
    if text.contains("denied") && text.contains("/ci") {
        "\nhint: the policies on apps/access-control lack the ci-bot claim rules: the owner \
         adds the `ci create-…` lines for merge-reqs/<id>/<n>/ci that `git mr init` writes \
         to branches/merge-reqs.conf"
    } else {
        ""
    }
}

/// `git args…` in `dir` (plus one path argument), failing with git's stderr.
fn git(dir: &Path, args: &[&str], path: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args).stdin(Stdio::null());
    if let Some(p) = path {
        cmd.arg(p);
    }
    let out = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The remote answers, and has a data branch.
fn check_remote(config: &Config) -> Result<(), Error> {
    let out = git(
        &config.workdir,
        &["ls-remote", "--quiet", &config.remote, layout::DATA_REF],
        None,
    )
    .map_err(|e| Error::Start(format!("cannot reach the remote {}: {e}", config.remote)))?;
    if out.trim().is_empty() {
        return Err(Error::Start(format!(
            "the remote {} has no merge-requests data branch ({}): \
             the owner runs `git mr init --ci <this bot's fingerprint>` first",
            config.remote,
            layout::DATA_REF
        )));
    }
    Ok(())
}

/// One bot per workdir: an exclusive, non-blocking `flock` on `workdir/ci-bot.lock`.
fn lock_workdir(config: &Config) -> Result<File, Error> {
    use std::os::fd::AsRawFd;
    let path = config.lock_path();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Start(format!("cannot open {}: {e}", path.display())))?;
    // SAFETY: flock on a file descriptor we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        return Err(Error::Start(format!(
            "another ci-bot is using the workdir {} (locked: {})",
            config.workdir.display(),
            path.display()
        )));
    }
    Ok(file)
}

/// Remove checkouts an earlier, killed bot left behind (the lock makes them ours).
fn clean_jobs(config: &Config) {
    let Ok(entries) = std::fs::read_dir(config.jobs_dir()) else {
        return;
    };
    for e in entries.flatten() {
        if let Err(err) = std::fs::remove_dir_all(e.path()) {
            warn!("cannot remove {}: {err}", e.path().display());
        }
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "localhost".to_owned();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name.replace('/', "_")
    }
}

//! The bot: its clone, its identity, and one pass over the merge requests.

use git_mr::Item;
use std::ffi::OsStr;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use git_mr::ci_retry::{self, Request};
use git_mr::forge::Committed;
use git_mr::git::Git;
use git_mr::layout;
use git_mr::people::Roles;
use git_mr::store::Depth;
use git_mr::{Comment, Fingerprint, Forge, MergeRequest, MrId, Snapshot, State};
use tracing::{debug, error, info, warn};

use crate::cgroup::Places;
use crate::config::{Config, SandboxMode};
use crate::job::{Job, JobError, Outcome};
use crate::report::Report;
use crate::sandbox::Sandbox;
use crate::state::{self, Claim, Decision};
use crate::status::{self, JobStatus, PassStatus, Status};
use crate::{record, Error};

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

/// What a claim is for, decided when it is made.
#[derive(Clone, Debug)]
struct Work {
    attempt: u32,
    /// The revision had no result: the run is its first.
    first: bool,
    /// The maintainers' requests the run answers (a re-run).
    answers: Vec<Request>,
}

impl Work {
    /// Whether the data branch no longer needs this run's result: a first run when a
    /// result exists, a re-run when every request it answers has been answered.
    fn served(&self, results: &[&Comment], maintainers: &[Fingerprint], k: u32) -> bool {
        if self.first {
            !results.is_empty()
        } else {
            state::unanswered(&self.answers, results, maintainers, k).is_empty()
        }
    }
}

/// A result that could not be posted yet.
struct Pending {
    target: Target,
    work: Work,
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

/// What a revision needs, as read from one snapshot.
struct Needs {
    claims: Vec<Claim>,
    results_exist: bool,
    unanswered: Vec<Request>,
}

pub struct Bot {
    config: Config,
    forge: Forge,
    me: Fingerprint,
    /// Names this process in its claims: `<host>/<pid>/<start time>`.
    instance: String,
    stop: Arc<AtomicBool>,
    pending: Vec<Pending>,
    sandbox: Sandbox,
    cgroups: Places,
    status: Status,
    /// An exclusive lock on the workdir, held while the bot lives.
    _lock: File,
}

impl Bot {
    /// Check the configuration against the world: the workdir (locked), the sandbox
    /// (a job runs in it, confined), the remote (reachable, with a data branch), the
    /// bot's own clone, its key, its membership of the `ci` group. A workdir this
    /// start created is removed again when the start fails.
    pub fn start(config: Config, stop: Arc<AtomicBool>) -> Result<Bot, Error> {
        let created = !config.workdir.exists();
        let bot = Bot::start_in(config.clone(), stop);
        if bot.is_err() && created {
            if let Err(e) = std::fs::remove_dir_all(&config.workdir) {
                warn!("cannot remove {}: {e}", config.workdir.display());
            }
        }
        bot
    }

    fn start_in(config: Config, stop: Arc<AtomicBool>) -> Result<Bot, Error> {
        std::fs::create_dir_all(&config.workdir).map_err(|e| {
            Error::Start(format!(
                "cannot create the workdir {}: {e}",
                config.workdir.display()
            ))
        })?;
        let lock = lock_workdir(&config)?;
        // Jobs an earlier life of this bot left (it was killed): killed and removed
        // before anything else runs.
        record::finish_all(&config.jobs_dir());
        let sandbox = Sandbox::new(&config).map_err(Error::Start)?;
        let cgroups = Places::discover();
        check_remote(&config)?;
        let repo_dir = config.repo_dir();
        if !repo_dir.join("HEAD").exists() {
            Git::new(&config.workdir)
                .run([
                    OsStr::new("init"),
                    OsStr::new("--quiet"),
                    OsStr::new("--bare"),
                    repo_dir.as_os_str(),
                ])
                .map_err(|e| Error::Start(format!("cannot create the bot's clone: {e}")))?;
        }
        let git = Git::new(&repo_dir);
        match &config.signing_key {
            Some(key) => git
                .run(["config", "user.signingKey", key.as_str()])
                .map(|_| ()),
            None => {
                // A key set by an earlier configuration must not linger.
                let _ = git.run(["config", "--unset", "user.signingKey"]);
                Ok(())
            }
        }
        .map_err(|e| Error::Start(format!("cannot configure the bot's clone: {e}")))?;
        let scratch = config
            .jobs_dir()
            .join(format!("probe-{}", std::process::id()));
        sandbox
            .probe(&scratch, &repo_dir.join("objects"))
            .map_err(|e| {
                Error::Start(format!(
                    "the sandbox does not work here: {e}\nhint: jobs run in bubblewrap \
                     (bwrap), which needs user namespaces (or root); set `sandbox = \"none\"` \
                     to run jobs unsandboxed, as the bot's user, able to use its key"
                ))
            })?;
        let repo = gix::open(&repo_dir).map_err(|e| {
            Error::Start(format!(
                "{} is not a git repository: {e}",
                repo_dir.display()
            ))
        })?;
        let forge = Forge::from_repo(repo, &config.remote);
        let me = forge.me().map_err(|e| match e {
            gitapps_core::Error::NoSigningKey => Error::Start(
                "no signing key: set `signing_key` in the configuration, or git's user.signingkey"
                    .to_owned(),
            ),
            e => Error::Start(e.to_string()),
        })?;
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
        let isolation = sandbox.describe();
        let limits = describe_limits(&config, &cgroups);
        info!(bot = %me, remote = %config.remote, instance = %instance, "ci-bot started");
        info!("jobs: {isolation}");
        info!("limits: {limits}");
        if sandbox.mode() == SandboxMode::None {
            warn!("{UNSANDBOXED}");
        }
        let status = Status {
            pid: std::process::id(),
            instance: instance.clone(),
            bot: me.to_string(),
            remote: config.remote.clone(),
            started: status::now(),
            state: "starting".to_owned(),
            sandbox: isolation,
            limits,
            ..Status::default()
        };
        let mut bot = Bot {
            config,
            forge,
            me,
            instance,
            stop,
            pending: Vec::new(),
            sandbox,
            cgroups,
            status,
            _lock: lock,
        };
        bot.save_status();
        Ok(bot)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn save_status(&mut self) {
        self.status.pending = self.pending.iter().map(|p| p.target.to_string()).collect();
        let path = self.config.status_path();
        if let Err(e) = self.status.write(&path) {
            debug!("cannot write {}: {e}", path.display());
        }
    }

    fn set_state(&mut self, state: &str) {
        self.status.state = state.to_owned();
        self.save_status();
    }

    /// Log an error and keep it in the status.
    pub fn note_error(&mut self, message: &str) {
        error!("{message}");
        self.status.error(message);
        self.save_status();
    }

    /// The bot is stopping: the status says so.
    pub fn stopped(&mut self) {
        self.status.job = None;
        self.set_state("stopped");
    }

    /// Fetch, then test what needs it (newest revisions first), one at a time:
    /// claim, run, post.
    pub fn pass(&mut self) -> Result<PassStats, Error> {
        let stats = self.pass_inner();
        let (ok, s) = match &stats {
            Ok(s) => (s.errors == 0, *s),
            Err(_) => (false, PassStats::default()),
        };
        self.status.last_pass = Some(PassStatus {
            ended: status::now(),
            ok,
            ran: s.ran,
            posted: s.posted,
            busy: s.busy,
            errors: s.errors,
        });
        self.status.job = None;
        self.set_state("idle");
        stats
    }

    fn pass_inner(&mut self) -> Result<PassStats, Error> {
        let mut stats = PassStats::default();
        if self.sandbox.mode() == SandboxMode::None {
            warn!("{UNSANDBOXED}");
        }
        self.set_state("fetching");
        fetch(&self.forge)?;
        let snapshot = self.forge.snapshot(Depth::Full)?;
        if snapshot.commit.is_none() {
            return Err(self.forge.app().no_data_branch(&self.config.remote).into());
        }
        let people = self.forge.people()?;
        let ci: Vec<Fingerprint> = people.ci().users.into_iter().collect();
        let maintainers: Vec<Fingerprint> = people.maintainers().users.into_iter().collect();
        for p in std::mem::take(&mut self.pending) {
            self.post(p, &ci, &maintainers, &mut stats);
        }
        let targets = self.todo(&snapshot, &ci, &maintainers)?;
        if !targets.is_empty() {
            info!(count = targets.len(), "revisions to test");
        }
        for t in targets {
            if self.stopping() {
                stats.interrupted = true;
                break;
            }
            self.test(t, &ci, &maintainers, &mut stats);
        }
        if self.stopping() {
            stats.interrupted = true;
        }
        Ok(stats)
    }

    /// The revisions of open merge requests to test, newest revisions first: each
    /// newest revision (every revision with `test_all_revisions`) without a result,
    /// or with maintainers' requests to run it again, and without another bot's live
    /// claim.
    fn todo(
        &self,
        snapshot: &Snapshot,
        ci: &[Fingerprint],
        maintainers: &[Fingerprint],
    ) -> Result<Vec<Target>, Error> {
        let now = git_mr::clock::now()?;
        let mut newest = Vec::new();
        let mut older = Vec::new();
        for mr in &snapshot.mrs {
            if mr.state() != State::Open {
                continue;
            }
            let latest = mr.latest_revision().map(|r| r.number);
            for rev in mr.revisions.iter().rev() {
                let is_latest = Some(rev.number) == latest;
                if !is_latest && !self.config.test_all_revisions {
                    continue;
                }
                if self
                    .pending
                    .iter()
                    .any(|p| p.target.mr == mr.id && p.target.k == rev.number)
                {
                    continue;
                }
                let needs = self.needs(snapshot, mr, rev.number, ci, maintainers)?;
                if needs.results_exist && needs.unanswered.is_empty() {
                    continue;
                }
                let decision = state::decide(
                    &needs.claims,
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
                    commit: rev.commit.to_string(),
                };
                if is_latest {
                    newest.push(t);
                } else {
                    older.push(t);
                }
            }
        }
        newest.extend(older);
        Ok(newest)
    }

    /// The claims, results and open requests of revision `k` in `snapshot`.
    fn needs(
        &self,
        snapshot: &Snapshot,
        mr: &MergeRequest,
        k: u32,
        ci: &[Fingerprint],
        maintainers: &[Fingerprint],
    ) -> Result<Needs, Error> {
        let repo = self.forge.repo();
        let mut claims = state::read_claims(repo, snapshot.commit, &mr.id, k)?;
        let results = state::results(mr, k, &self.me, ci, &claims);
        state::close_claims(&mut claims, &results);
        let requests = ci_retry::read(repo, snapshot.tree, &mr.id)?;
        // Requests count for the newest revision (any, with test_all_revisions).
        let counts =
            self.config.test_all_revisions || mr.latest_revision().map(|r| r.number) == Some(k);
        let unanswered = if counts {
            state::unanswered(&requests, &results, maintainers, k)
        } else {
            Vec::new()
        };
        Ok(Needs {
            claims,
            results_exist: !results.is_empty(),
            unanswered,
        })
    }

    /// Claim, run and post one revision; errors are logged and counted.
    fn test(
        &mut self,
        t: Target,
        ci: &[Fingerprint],
        maintainers: &[Fingerprint],
        stats: &mut PassStats,
    ) {
        let work = match self.claim(&t, ci, maintainers) {
            Ok(Claimed::Mine { work, takeover }) => {
                if work.answers.is_empty() {
                    info!(revision = %t, attempt = work.attempt, takeover, "claimed");
                } else {
                    info!(
                        revision = %t, attempt = work.attempt, takeover,
                        requests = %state::answer(&work.answers), "claimed for a re-run"
                    );
                }
                work
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
                self.note_error(&format!("{t}: cannot claim: {e}{}", claim_hint(&e)));
                stats.errors += 1;
                return;
            }
        };
        info!(revision = %t, commit = %t.commit, command = %self.config.command, "running");
        self.status.job = Some(JobStatus {
            mr: t.mr.to_string(),
            revision: t.k,
            commit: t.commit.clone(),
            attempt: work.attempt,
            started: status::now(),
        });
        self.set_state("running");
        let mut env = vec![
            ("GITAPPS_MR".to_owned(), t.mr.to_string()),
            ("GITAPPS_REVISION".to_owned(), t.k.to_string()),
            ("GITAPPS_COMMIT".to_owned(), t.commit.clone()),
        ];
        env.extend(self.config.environment.iter().cloned());
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
            sandbox: &self.sandbox,
            cgroups: &self.cgroups,
            limits: self.config.limits,
        };
        let ran = job.run(&self.stop);
        self.status.job = None;
        let outcome = match ran {
            Ok(o) => o,
            Err(JobError::Interrupted) => {
                warn!(revision = %t, "stopping: the job was killed and is not reported");
                stats.interrupted = true;
                return;
            }
            Err(JobError::Bot(e)) => {
                self.note_error(&format!("{t}: cannot run the job: {e}"));
                stats.errors += 1;
                return;
            }
        };
        stats.ran += 1;
        info!(
            revision = %t, status = outcome.status.as_str(),
            duration = %crate::report::seconds(outcome.duration), detail = %outcome.detail, "finished"
        );
        self.post(
            Pending {
                target: t,
                work,
                outcome,
            },
            ci,
            maintainers,
            stats,
        );
    }

    /// Create the next claim file, unless the revision needs no run or another bot
    /// holds a live claim on the new tip: the push is the compare-and-swap, retried
    /// on a moved branch.
    fn claim(
        &self,
        t: &Target,
        ci: &[Fingerprint],
        maintainers: &[Fingerprint],
    ) -> Result<Claimed, Error> {
        let committed: Committed<Claimed> = transact(&self.forge, &t.mr, |_, snapshot, tx| {
            let Some(mr) = snapshot.get(&t.mr) else {
                return Ok(Claimed::Skip("the merge request is gone".to_owned()));
            };
            if mr.state() != State::Open {
                return Ok(Claimed::Skip(format!(
                    "the merge request is {}",
                    mr.state()
                )));
            }
            if !self.config.test_all_revisions
                && mr.latest_revision().map(|r| r.number) != Some(t.k)
            {
                return Ok(Claimed::Skip("a newer revision came".to_owned()));
            }
            let needs = self
                .needs(snapshot, mr, t.k, ci, maintainers)
                .map_err(|e| match e {
                    Error::Mr(e) => e,
                    e => git_mr::Error::Invalid(e.to_string()),
                })?;
            if needs.results_exist && needs.unanswered.is_empty() {
                return Ok(Claimed::Skip("it has a result already".to_owned()));
            }
            let now = git_mr::clock::now()?;
            let work = |attempt| Work {
                attempt,
                first: !needs.results_exist,
                answers: needs.unanswered.clone(),
            };
            match state::decide(
                &needs.claims,
                &self.me,
                &self.instance,
                now,
                self.config.lease_secs,
            ) {
                Decision::Busy { .. } => Ok(Claimed::Busy),
                Decision::Resume { attempt } => Ok(Claimed::Mine {
                    work: work(attempt),
                    takeover: false,
                }),
                Decision::Claim { attempt, takeover } => {
                    tx.message = format!("ci-bot: claim {} v{} ({attempt})\n", t.mr, t.k);
                    tx.file(
                        state::claim_path(&t.mr, t.k, attempt),
                        Claim::render(&self.me, &self.instance, &now, self.config.lease_secs),
                    );
                    Ok(Claimed::Mine {
                        work: work(attempt),
                        takeover,
                    })
                }
            }
        })?;
        Ok(committed.value)
    }

    /// Post a result: one comment, and the `ci-*` label when it is the newest
    /// revision; one signed push, re-applied on a moved branch. A result is posted
    /// unless the data branch no longer needs it (another bot's result came first);
    /// a failure keeps it for the next pass.
    fn post(
        &mut self,
        p: Pending,
        ci: &[Fingerprint],
        maintainers: &[Fingerprint],
        stats: &mut PassStats,
    ) {
        let t = &p.target;
        let mut extra = vec![(state::CI_CLAIM.to_owned(), p.work.attempt.to_string())];
        if !p.work.answers.is_empty() {
            extra.push((
                ci_retry::CI_RETRY.to_owned(),
                state::answer(&p.work.answers),
            ));
        }
        let (headers, body) = Report {
            revision: t.k,
            commit: &t.commit,
            command: &self.config.command,
            outcome: &p.outcome,
            log_tail_lines: self.config.log_tail_lines,
            extra_headers: extra,
            max_bytes: self.config.comment_max_bytes,
        }
        .comment();
        let label = p.outcome.status.label();
        let other = if label == "ci-pass" {
            "ci-fail"
        } else {
            "ci-pass"
        };
        let result = transact(&self.forge, &t.mr, |forge, snapshot, tx| {
            let Some(mr) = snapshot.get(&t.mr) else {
                return Ok(Posted::Skip("the merge request is gone".to_owned()));
            };
            let claims = state::read_claims(forge.repo(), snapshot.commit, &t.mr, t.k)?;
            let results = state::results(mr, t.k, &self.me, ci, &claims);
            if p.work.served(&results, maintainers, t.k) {
                let by: Vec<String> = results.iter().map(|c| c.reference()).collect();
                return Ok(Posted::Skip(format!(
                    "another result came first ({})",
                    by.join(", ")
                )));
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
                    git_mr::ops::unlink_label(tx, &t.mr, other);
                    labels.push(format!("-{other}"));
                }
                if !mr.has_label(label) {
                    if snapshot.label_exists(label) {
                        git_mr::ops::link_label(tx, &t.mr, label);
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
                self.note_error(&format!(
                    "{t}: cannot post the result (kept for the next pass): {e}"
                ));
                stats.errors += 1;
                self.pending.push(p);
                self.save_status();
            }
        }
    }
}

/// Said at start and on every pass when jobs run unsandboxed.
const UNSANDBOXED: &str = "sandbox = \"none\": jobs run unsandboxed, as the bot's user: \
    code from any merge request can read the bot's key and sign as the bot";

/// The limits, and what enforces them here.
fn describe_limits(config: &Config, cgroups: &Places) -> String {
    let memory = match config.limits.memory_bytes {
        None => "memory unlimited".to_owned(),
        Some(b) if cgroups.limits_memory() => format!("memory {} MiB (cgroup)", b >> 20),
        Some(b) => format!(
            "memory {} MiB per process (RLIMIT_AS: no memory cgroup here)",
            b >> 20
        ),
    };
    let processes = match config.limits.processes {
        None => "processes unlimited".to_owned(),
        Some(n) if cgroups.limits_processes() => format!("{n} processes and threads (pids cgroup)"),
        Some(n) => format!(
            "{n} processes of the job's user (RLIMIT_NPROC: no pids cgroup here; it does not \
             bind uid 0)"
        ),
    };
    format!(
        "{memory}; {processes}; {} s per job; {}",
        config.timeout_secs,
        cgroups.describe()
    )
}

enum Claimed {
    Mine { work: Work, takeover: bool },
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
    Ok(forge.fetch().map(|_| ())?)
}

/// [`Forge::transact_on`] the merge request `mr` alone, every comment read. The
/// library re-applies the change when the push lost a race (read from git's
/// porcelain status and the hook's `gitapps: code=` line, never from translated
/// text), for a bounded time.
fn transact<T>(
    forge: &Forge,
    mr: &MrId,
    change: impl FnMut(&Forge, &Snapshot, &mut git_mr::tx::Tx) -> git_mr::Result<T>,
) -> git_mr::Result<Committed<T>> {
    let result = forge.transact_on(mr, Depth::Full, &[], change);
    // The push's output is the library's; what the hook warned about (its
    // audit log repaired, say) goes to the bot's log.
    for warning in forge.take_server_warnings() {
        warn!("the server said: {warning}");
    }
    result
}

/// A hint for a refused claim: policies from before ci-bot lack the claim rules
/// (the hook said `denied`, naming a path under `/ci`).
fn claim_hint(e: &Error) -> &'static str {
    use gitapps_core::push::RejectCode;
    let denied_ci = match e {
        Error::Mr(git_mr::Error::Core(gitapps_core::Error::PushRejected {
            code: Some(RejectCode::Denied),
            stderr,
        })) => stderr.contains("/ci"),
        _ => false,
    };
    if denied_ci {
        "\nhint: the policies on apps/access-control lack the ci-bot claim rules: the owner \
         adds the `ci create-…` lines for merge-reqs/<id>/<n>/ci that `git mr init` writes \
         to branches/merge-reqs.conf"
    } else {
        ""
    }
}

/// The remote answers, and has a data branch (the core's git runner: the
/// transport's messages in English, whatever the locale).
fn check_remote(config: &Config) -> Result<(), Error> {
    let there = Git::new(&config.workdir)
        .remote_refs(&config.remote, &[layout::DATA_REF.to_owned()])
        .map_err(|e| match e {
            gitapps_core::Error::Transport { detail, .. } => Error::Start(format!(
                "cannot reach the remote {}: {detail}",
                config.remote
            )),
            e => Error::Start(format!("cannot reach the remote {}: {e}", config.remote)),
        })?;
    if there.is_empty() {
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

/// Whether a bot holds the workdir's lock now (for `ci-bot status`).
pub fn workdir_locked(config: &Config) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = File::open(config.lock_path()) else {
        return false;
    };
    // SAFETY: flock on a file descriptor we own; the lock goes with the file.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    r != 0
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

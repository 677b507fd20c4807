//! `ci-bot`: tests the newest revision of every open merge request and reports back
//! on the data branch (SPEC section 5).
//!
//! * [`config`]: `ci-bot.toml`, validated.
//! * [`bot`]: the bot's clone and identity; one pass: fetch, find, claim, run, post.
//! * [`state`]: claims, results and re-run requests as read back from the data branch.
//! * [`job`]: a checkout in a fresh directory and the command, sandboxed and limited.
//! * [`sandbox`]: bubblewrap, and what a job sees.
//! * [`cgroup`]: a job's cgroups: memory and process limits, and killing it whole.
//! * [`record`]: what a job leaves in the workdir so that a restarted bot can kill it.
//! * [`report`]: the result comment.
//! * [`status`]: `workdir/status.json` and `ci-bot status`.

mod bot;
mod cgroup;
mod config;
mod job;
mod record;
mod report;
mod sandbox;
mod state;
mod status;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tracing::{info, warn};

/// Everything that stops the bot or a pass.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The configuration does not work with the world (remote, key, group …).
    #[error("{0}")]
    Start(String),
    #[error(transparent)]
    Mr(#[from] git_mr::Error),
}

impl From<gitapps_core::Error> for Error {
    fn from(e: gitapps_core::Error) -> Error {
        Error::Mr(e.into())
    }
}

/// The CI bot of git apps: tests merge-request revisions and reports back.
///
/// Each pass fetches the data branch and the revision tags from the remote, and for
/// the newest revision of each open merge request without a CI result (or with a
/// maintainer's `git mr ci-retry` request): claims it (so that several bots share the
/// work), checks it out in a fresh directory, runs the command in a sandbox
/// (bubblewrap) with limits and a timeout, and posts one comment with the result and
/// the log's tail, setting ci-pass or ci-fail on the merge request.
///
/// Logs go to stderr (RUST_LOG filters them; default: info; colours only on a
/// terminal, and never with NO_COLOR). SIGTERM or SIGINT stop the bot after killing
/// the running job, which is then not reported; a second signal exits at once.
///
/// Exit status: 0 on success, 1 when a --once pass met an error, 2 when the
/// configuration or the start failed. `ci-bot status`: 0 when a bot runs in the
/// workdir, 1 when none does, 2 when the configuration cannot be read.
#[derive(Parser, Debug)]
#[command(name = "ci-bot", version, args_conflicts_with_subcommands = true)]
struct Args {
    /// The configuration file (TOML: remote, workdir, command, timeout_secs,
    /// poll_secs, signing_key, log_tail_lines, lease_secs, test_all_revisions,
    /// sandbox, network, read_only_paths, environment, memory_limit_mib,
    /// process_limit, comment_max_bytes; see examples/ci-bot.toml).
    #[arg(long, value_name = "FILE", required = true)]
    config: Option<PathBuf>,
    /// Do one pass and exit.
    #[arg(long)]
    once: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// What the bot of a configuration is doing: running or not, its state and
    /// current job, its open claims, its last pass, its recent errors, results
    /// waiting to be posted. Reads the workdir and the bot's clone; fetches nothing.
    Status {
        /// The bot's configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print JSON: {running, workdir, pid, instance, bot, remote, started,
        /// updated, state, sandbox, limits, job, last_pass, errors, pending, claims}.
        #[arg(long)]
        json: bool,
    },
}

/// The longest wait between passes after errors.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Sub::Status { config, json }) = &args.command {
        return match config::Config::load(config) {
            Ok(c) => status::show(&c, *json),
            Err(e) => {
                eprintln!("ci-bot: error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let Some(config_path) = args.config.clone() else {
        eprintln!("ci-bot: error: --config FILE is required");
        return ExitCode::from(2);
    };
    // The bot's own git commands run in its clone (`git -C`): a GIT_DIR or GIT_WORK_TREE
    // from the environment would send them elsewhere. No other thread runs yet.
    for k in job::SCRUBBED_ENV.iter().filter(|k| k.starts_with("GIT_")) {
        std::env::remove_var(k);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_target(false)
        .init();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // The second signal exits at once: registered first, it sees the flag the
        // first one set.
        let registered =
            signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
                .and_then(|_| signal_hook::flag::register(signal, stop.clone()));
        if let Err(e) = registered {
            eprintln!("ci-bot: error: cannot handle signal {signal}: {e}");
            return ExitCode::from(2);
        }
    }
    let config = match config::Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ci-bot: error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut bot = match bot::Bot::start(config.clone(), stop.clone()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ci-bot: error: {e}");
            return ExitCode::from(2);
        }
    };
    let poll = Duration::from_secs(config.poll_secs);
    let mut failures: u32 = 0;
    loop {
        let ok = match bot.pass() {
            Ok(stats) => {
                if failures > 0 {
                    info!(
                        "the remote {} is reachable again, after {failures} failed pass(es)",
                        config.remote
                    );
                }
                failures = 0;
                if stats.ran + stats.posted + stats.busy + stats.errors > 0 {
                    info!(
                        ran = stats.ran,
                        posted = stats.posted,
                        busy = stats.busy,
                        errors = stats.errors,
                        "pass done"
                    );
                }
                stats.errors == 0
            }
            Err(e) => {
                failures += 1;
                bot.note_error(&format!("pass failed: {e}"));
                false
            }
        };
        if args.once || stop.load(Ordering::SeqCst) {
            bot.stopped();
            if stop.load(Ordering::SeqCst) {
                info!("stopped");
                return ExitCode::SUCCESS;
            }
            return if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        let wait = if failures == 0 {
            poll
        } else {
            let backoff = poll.saturating_mul(1 << failures.min(10));
            let wait = backoff.min(MAX_BACKOFF.max(poll));
            warn!(
                "backing off: next pass in {} s ({failures} failed in a row)",
                wait.as_secs()
            );
            wait
        };
        if !sleep(wait, &stop) {
            bot.stopped();
            info!("stopped");
            return ExitCode::SUCCESS;
        }
    }
}

/// Sleep for `d`, or until `stop` is set (then false).
fn sleep(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
    !stop.load(Ordering::SeqCst)
}

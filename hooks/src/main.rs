//! `gitapps-hook`: the server side of git apps.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gitapps_hooks::{
    classify, env::PushEnv, explain, install, prereceive, transaction, validate, verify,
};

/// Exit codes: 0 = accepted / allowed / valid, 1 = rejected / denied /
/// invalid, 2 = could not do the job (bad arguments, unreadable repository).
const DENIED: u8 = 1;
const FAILED: u8 = 2;

#[derive(Parser)]
#[command(
    name = "gitapps-hook",
    version,
    about = "The server side of git apps: admit only signed pushes that the policy allows",
    long_about = "The server side of git apps.\n\n\
        A git apps server is a plain bare repository with this program as its pre-receive \
        hook. Every push must be signed (`git push --signed`) by a key in the repository's \
        keyring (keys/<FINGERPRINT>.asc on the branch apps/access-control), and every ref \
        update and file change it makes must be allowed by the rules on that branch \
        (refs/*.conf, branches/*.conf, groups/*). Every accepted push is recorded on \
        refs/apps/push-certs before git applies it, and `gitapps-hook verify` checks that \
        log, and every ref, in any clone.",
    after_help = "Start with `gitapps-hook install /srv/git/project.git --owner owner.asc`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make REPO a git apps server: hooks, config, and the apps/access-control branch.
    ///
    /// Creates REPO as a bare repository if it does not exist; sets gitapps.owner,
    /// receive.certNonceSeed (random, kept if already set), receive.certNonceSlop,
    /// receive.maxInputSize and gc.pruneExpire (1.hour.ago unless set: objects of
    /// pushes that lost a race are pruned by the next auto-gc); installs hooks/pre-receive and hooks/reference-transaction
    /// (which records each push in the audit log before git applies it); creates
    /// apps/access-control with the default rules (the owner may do anything) and
    /// keys/<owner>.asc; starts the audit log refs/apps/push-certs with its genesis
    /// record. Running it again is safe: it updates hooks and config and leaves the
    /// branch alone; a server without a log gets one, and an older log an upgrade
    /// record (never a second genesis).
    #[command(
        after_help = "Example:\n  gpg --export --armor you@example.org > owner.asc\n  \
        gitapps-hook install /srv/git/project.git --owner owner.asc --open-registration"
    )]
    Install {
        /// The server repository (created bare if missing).
        repo: PathBuf,
        /// The owner's public key, ASCII-armored (`gpg --export --armor KEY`).
        #[arg(long, value_name = "KEY.asc")]
        owner: PathBuf,
        /// Let anyone register their own key (keys/$user_id.asc) and nothing else.
        #[arg(long)]
        open_registration: bool,
        /// Seconds an HTTP push's nonce stays valid (receive.certNonceSlop).
        #[arg(long, value_name = "N", default_value_t = 30)]
        nonce_slop: u32,
        /// The largest pack one push may send (receive.maxInputSize): git
        /// reads and indexes all of it before any hook runs. Bytes, or with a
        /// k, m or g suffix.
        #[arg(long, value_name = "SIZE", default_value = "1g", value_parser = parse_size_arg)]
        max_input_size: u64,
        /// Replace existing hooks that gitapps-hook did not install.
        #[arg(long)]
        force: bool,
        /// The gitapps-hook binary the hooks run (default: this one).
        #[arg(long, value_name = "PATH")]
        hook_binary: Option<PathBuf>,
    },
    /// Run as git's pre-receive hook (reads ref updates on stdin).
    PreReceive,
    /// Run as git's reference-transaction hook: record an accepted push in the
    /// audit log once git has locked its refs, before it applies them.
    ReferenceTransaction {
        /// The transaction's state: prepared, committed or aborted.
        state: String,
    },
    /// Show which rule allows each operation of some ref updates, without pushing.
    ///
    /// Prints `allow OP NAME (FILE:LINE)` or `deny OP NAME` per operation: first the
    /// ref operation of each update, then its file operations. Exit 0 when all are
    /// allowed, 1 otherwise.
    #[command(
        after_help = "Example:\n  gitapps-hook explain --repo /srv/git/p.git --user 9A3F… \\\n    \
        refs/heads/main 4f2a1c0 refs/heads/old delete"
    )]
    Explain {
        /// The server repository.
        #[arg(long)]
        repo: PathBuf,
        /// The user: a fingerprint (40 or 64 hex digits), or a name, e-mail or
        /// fingerprint prefix (8+ hex digits) of exactly one key on the branch.
        #[arg(long, value_name = "FPR")]
        user: String,
        /// Pairs of REFNAME NEWREV (a revision in REPO, or `delete`). A REFNAME
        /// without `refs/` is a branch.
        #[arg(value_name = "REFNAME NEWREV", num_args = 2.., required = true)]
        updates: Vec<String>,
    },
    /// Check, in any clone, the remote's whole audit log and every ref it shows.
    ///
    /// Fetches (unless --offline) every ref of the remote and its audit log
    /// refs/apps/push-certs into refs/gitapps/verify/<remote>/, then checks: the log
    /// starts at a genesis record naming an owner you trust (--owner, or pinned the
    /// first time in remote.<remote>.gitappsOwner); every push in it was signed by a key
    /// valid at its time and allowed by the policy in force at its place in the log,
    /// judged by the hook's own code; every ref update follows from the records before
    /// it; the log extends the copy verified last time; and every ref the remote shows
    /// is where the log says. Only records new since the last run are checked again.
    ///
    /// Prints one line per problem (the record's position, its pusher, the check that
    /// failed), then a summary. Exit 0 when everything holds, 1 when a problem was
    /// found, 2 when it could not run.
    #[command(after_help = "Examples:\n  \
        git clone https://git.example.org/project.git && cd project\n  \
        gitapps-hook verify --owner 9A3F0C1E5B7D2A4F6E8C0B1D3F5A7C9E1B3D5F7A\n  \
        gitapps-hook verify --json | jq .problems")]
    Verify {
        /// The remote whose log to check.
        #[arg(long, value_name = "NAME", default_value = "origin")]
        remote: String,
        /// Check what was fetched last, without fetching.
        #[arg(long)]
        offline: bool,
        /// The owner's fingerprint you trust (repeat it to also accept an owner
        /// the log changes to). Without it, the genesis's owner is trusted on first
        /// use and pinned.
        #[arg(long, value_name = "FPR")]
        owner: Vec<String>,
        /// Print one JSON object: {remote, ok, records, new, refs, tip,
        /// problems: [{check, record, commit, pusher, pusher_name, ref, message}], notes}.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// For bash: `gitapps-hook completions bash > /etc/bash_completion.d/gitapps-hook`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Check a policy: a checkout of apps/access-control, or REPO:REV.
    ///
    /// Prints `FILE:LINE: message` per problem; exit 0 when valid, 1 otherwise.
    Validate {
        /// A directory, or REPO:REV (REPO alone means REPO:apps/access-control).
        path: String,
    },
}

fn main() -> ExitCode {
    // sequoia's errors are anyhow errors, which capture a backtrace when
    // RUST_BACKTRACE is set (common on developer machines and in some
    // containers), and some are made and dropped on the way to an accepted
    // push: 35 % of a push signed by a subkey went there. We never show
    // them; RUST_LIB_BACKTRACE takes precedence for errors while panics
    // still follow RUST_BACKTRACE. Set before any thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // Installed as hooks/pre-receive and hooks/post-receive (symlinks to
    // this binary), git runs us by those names.
    let invoked_as = std::env::args_os()
        .next()
        .and_then(|a| PathBuf::from(a).file_name().map(|n| n.to_owned()));
    match invoked_as.as_ref().and_then(|n| n.to_str()) {
        Some("pre-receive") => return pre_receive(),
        Some(prereceive::TRANSACTION_HOOK) => {
            let state = std::env::args().nth(1).unwrap_or_default();
            return reference_transaction(&state);
        }
        // Older installs linked post-receive, which wrote the log; the
        // transaction hook does now. A link left behind does nothing.
        Some("post-receive") => {
            let _ = read_stdin();
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Install {
            repo,
            owner,
            open_registration,
            nonce_slop,
            max_input_size,
            force,
            hook_binary,
        } => {
            let opts = install::InstallOptions {
                repo,
                owner_key: owner,
                open_registration,
                nonce_slop,
                max_input_size,
                force,
                hook_binary,
            };
            match install::install(&opts) {
                Ok(report) => {
                    for line in report {
                        println!("{line}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "gitapps-hook",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::PreReceive => pre_receive(),
        Command::ReferenceTransaction { state } => reference_transaction(&state),
        Command::Explain {
            repo,
            user,
            updates,
        } => {
            if updates.len() % 2 != 0 {
                eprintln!("gitapps-hook: explain takes pairs of REFNAME NEWREV");
                return ExitCode::from(FAILED);
            }
            let pairs: Vec<(String, String)> = updates
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect();
            // Deep trees need a deep stack (see classify::MAX_TREE_DEPTH).
            let explained = classify::with_diff_stack(|| {
                explain::explain(&repo, &user, &pairs, &mut std::io::stdout())
            });
            match explained {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(DENIED),
                Err(e) => fail(&e),
            }
        }
        Command::Verify {
            remote,
            offline,
            owner,
            json,
        } => {
            let opts = verify::Options {
                remote,
                offline,
                owners: owner,
                json,
            };
            // Judging a record diffs trees: deep trees need a deep stack.
            match classify::with_diff_stack(|| verify::verify(&opts)) {
                Ok(report) => {
                    let written = if opts.json {
                        report.write_json(&mut std::io::stdout())
                    } else {
                        report.write_text(&mut std::io::stdout(), &mut std::io::stderr())
                    };
                    if let Err(e) = written {
                        eprintln!("gitapps-hook: error: writing the report: {e}");
                        return ExitCode::from(FAILED);
                    }
                    if report.ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(DENIED)
                    }
                }
                Err(e) => fail(&e),
            }
        }
        Command::Validate { path } => match validate::validate(&path) {
            Ok(problems) if problems.is_empty() => {
                eprintln!("gitapps-hook: {path}: the policy is valid");
                ExitCode::SUCCESS
            }
            Ok(problems) => {
                for p in problems {
                    println!("{p}");
                }
                ExitCode::from(DENIED)
            }
            Err(e) => fail(&e),
        },
    }
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    gitapps_policy::parse_size(text)
        .ok_or_else(|| format!("`{text}` is not a size (e.g. 1073741824, 512m, 1g)"))
}

fn fail(e: &gitapps_hooks::error::HookError) -> ExitCode {
    eprintln!("gitapps-hook: error: {e}");
    ExitCode::from(FAILED)
}

fn git_dir() -> PathBuf {
    std::env::var_os("GIT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn read_stdin() -> Result<String, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the ref updates on stdin: {e}"))?;
    Ok(input)
}

fn pre_receive() -> ExitCode {
    use gitapps_policy::RejectCode;
    // Every rejection ends with its code line, for programs to read.
    let reject = |lines: Vec<String>, code: RejectCode| {
        let mut stderr = std::io::stderr().lock();
        for line in lines.into_iter().chain([code.line()]) {
            let _ = writeln!(stderr, "{line}");
        }
        ExitCode::from(DENIED)
    };
    let stdin = match read_stdin() {
        Ok(s) => s,
        Err(e) => {
            return reject(
                vec![format!("gitapps: error: {e}; the push is rejected")],
                RejectCode::Error,
            )
        }
    };
    let env = match PushEnv::from_process() {
        Ok(env) => env,
        Err(e) => {
            return reject(
                vec![format!("gitapps: error: {e}; the push is rejected")],
                RejectCode::Error,
            )
        }
    };
    let git_dir = git_dir();
    // Deep trees need a deep stack (see classify::MAX_TREE_DEPTH).
    match classify::with_diff_stack(|| prereceive::run(&git_dir, &stdin, &env)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(rejection) => reject(rejection.lines, rejection.code),
    }
}

fn reference_transaction(state: &str) -> ExitCode {
    // git writes the updates to every state's hook; read them all.
    let stdin = match read_stdin() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gitapps: error: {e}; the push is not applied");
            return ExitCode::from(DENIED);
        }
    };
    if state != "prepared" {
        return ExitCode::SUCCESS;
    }
    // Deep trees need a deep stack when a push is judged again.
    match classify::with_diff_stack(|| transaction::run(&git_dir(), state, &stdin)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(refusal) => {
            // Ends with the code line, as pre-receive's rejections do, for
            // programs (git mr, ci-bot) to read.
            let mut stderr = std::io::stderr().lock();
            let code = gitapps_policy::RejectCode::Error.line();
            for line in refusal.0.into_iter().chain([code]) {
                let _ = writeln!(stderr, "{line}");
            }
            ExitCode::from(DENIED)
        }
    }
}

//! `gitapps-hook`: the server side of git apps.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gitapps_hooks::{audit, classify, env::PushEnv, explain, install, prereceive, validate};

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
        (refs/*.conf, branches/*.conf, groups/*). Accepted push certificates are recorded \
        on refs/apps/push-certs.",
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
    /// receive.certNonceSeed (random, kept if already set), receive.certNonceSlop and
    /// receive.maxInputSize; installs hooks/pre-receive and hooks/post-receive; creates
    /// apps/access-control with the default rules (the owner may do anything) and
    /// keys/<owner>.asc; starts the audit log refs/apps/push-certs with its genesis
    /// record. Running it again is safe: it updates hooks and config and leaves the
    /// branch and the log alone (a server without a log gets one).
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
    /// Run as git's post-receive hook: record the accepted push certificate.
    PostReceive,
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
        Some("post-receive") => return post_receive(),
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
        Command::PostReceive => post_receive(),
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

fn post_receive() -> ExitCode {
    let warn = |msg: String| {
        eprintln!("gitapps: warning: the audit log was not written: {msg}");
        ExitCode::from(FAILED)
    };
    let stdin = match read_stdin() {
        Ok(s) => s,
        Err(e) => return warn(e),
    };
    let env = match PushEnv::from_process() {
        Ok(env) => env,
        Err(e) => return warn(e.to_string()),
    };
    let Some(cert) = env.cert else {
        return warn("the push was not signed".into());
    };
    match audit::record(&git_dir(), cert, &stdin) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => warn(e.to_string()),
    }
}

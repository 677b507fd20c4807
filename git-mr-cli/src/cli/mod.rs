//! The `git mr` command line: clap and presentation only; the work is in `git_mr`.

mod checkout;
mod ci_retry;
mod close;
mod comment;
mod create;
mod diff;
mod edit;
mod error;
mod export;
mod fetch;
mod html;
mod init;
mod label;
mod labels;
mod list;
mod merge;
mod register;
mod revise;
mod search;
mod settings;
mod show;
mod ui;
mod vote;

use git_mr::policy::Roles;
use gitapps_core::Error as CoreError;
use std::collections::BTreeSet;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use git_mr::forge::Tags;
use git_mr::people::People;
use git_mr::store::{Depth, Names, Snapshot};
use git_mr::{Error, Fingerprint, Forge, MrId};
use gix::ObjectId;

pub use error::{CommandError, CommandResult};
use ui::Ui;

#[derive(Parser)]
#[command(
    name = "git mr",
    bin_name = "git mr",
    about = "Merge requests stored in the repository, on the branch apps/merge-reqs/data",
    after_help = "A merge request is named <who>/<n>: <who> is a fingerprint prefix, a name or \
e-mail from a key, or `me`; <n> alone when it is unique.\nEnvironment: NO_COLOR, GITAPPS_OFFLINE=1 (read without fetching)."
)]
struct Cli {
    /// The remote the merge requests live on.
    #[arg(long, global = true, default_value = "origin")]
    remote: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(init::Args),
    Create(create::Args),
    List(list::Args),
    Show(show::Args),
    Comment(comment::Args),
    Edit(edit::Args),
    Approve(vote::ApproveArgs),
    RequestChanges(vote::RequestChangesArgs),
    Unvote(vote::UnvoteArgs),
    Revise(revise::Args),
    Label(label::Args),
    Labels(labels::Args),
    Diff(diff::Args),
    Checkout(checkout::Args),
    Merge(merge::Args),
    Settings(settings::Args),
    CiRetry(ci_retry::Args),
    Close(close::Args),
    Reopen(close::ReopenArgs),
    Search(search::Args),
    Fetch(fetch::Args),
    Export(export::Args),
    Register(register::Args),
    /// Print a shell completion script for git-mr (bash, zsh, fish, elvish, powershell).
    ///
    /// For bash: `git-mr completions bash > /etc/bash_completion.d/git-mr` (or
    /// `~/.local/share/bash-completion/completions/git-mr`). The bash script also
    /// defines `_git_mr`, which git's own completion calls for `git mr <TAB>`.
    Completions {
        /// The shell to complete for.
        shell: gitapps_cli::manual::Shell,
    },
    /// Write the manual pages (git-mr.1, git-mr-<verb>.1) into DIR.
    ///
    /// `git mr --help` asks git, which opens `man git-mr`: install the pages where
    /// man looks, e.g. `git-mr man /usr/local/share/man/man1` (or
    /// `~/.local/share/man/man1`).
    Man {
        /// Where to write the pages.
        dir: std::path::PathBuf,
    },
}

/// A merge request found by name, with what was read to find it.
pub struct Found {
    pub snapshot: Snapshot,
    pub people: People,
    pub id: MrId,
}

/// What every command gets: the repository, the remote, the terminal.
pub struct Ctx {
    pub forge: Forge,
    pub ui: Ui,
}

impl Ctx {
    /// Fetch before reading unless GITAPPS_OFFLINE is set; a failed fetch only warns.
    pub fn refresh(&self) {
        self.refresh_with(&[]);
    }

    /// [`Ctx::refresh`], these branches of the remote in the same fetch.
    pub fn refresh_with(&self, branches: &[String]) {
        self.refresh_scoped(branches, Tags::All);
    }

    /// [`Ctx::refresh_with`], these of the revision tags ([`Tags`]).
    pub fn refresh_scoped(&self, branches: &[String], tags: Tags<'_>) {
        if offline() {
            return;
        }
        if let Err(e) = self.forge.fetch_scoped(branches, tags) {
            self.ui.warn(&format!(
                "could not fetch from {}: {e}",
                self.forge.remote()
            ));
        }
    }

    /// The merge requests as last fetched, warnings printed.
    pub fn snapshot(&self, depth: Depth) -> CommandResult<Snapshot> {
        let snapshot = self.forge.snapshot(depth)?;
        if snapshot.commit.is_none() {
            return Err(self.forge.app().no_data_branch(self.forge.remote()).into());
        }
        for w in &snapshot.warnings {
            self.ui.warn(&format!("skipped {w}"));
        }
        Ok(snapshot)
    }

    pub fn people(&self) -> CommandResult<People> {
        Ok(self.forge.people()?)
    }

    /// What every verb on one merge request starts with: fetch (unless
    /// offline), resolve `spec` among the names on the data branch, read that
    /// merge request alone to `depth` (the snapshot holds no other: a verb on
    /// one merge request costs the same among 50 or 50,000).
    pub fn find(&self, spec: &str, depth: Depth) -> CommandResult<Found> {
        self.find_fetching(spec, depth, false)
    }

    /// [`Ctx::find`]; with `target`, the merge request's target branch comes in
    /// the same fetch when the data as last fetched already knows the merge
    /// request (else the verb fetches it with its change).
    pub fn find_fetching(&self, spec: &str, depth: Depth, target: bool) -> CommandResult<Found> {
        // The name as the data last fetched has it: then the fetch brings that
        // merge request's revision tags alone (and its target, for `target`),
        // not every merge request's.
        let before = self.forge.data_tip().ok().flatten().filter(|_| !offline());
        let guess = before.and_then(|tip| self.resolve_at(Some(tip), spec).ok());
        let mut branches = Vec::new();
        if let (true, Some(id)) = (target, &guess) {
            let only = BTreeSet::from([id.clone()]);
            let s = self.forge.snapshot_of(before, &only, Depth::Summary).ok();
            branches.extend(s.and_then(|s| Some(s.get(id)?.target.clone())));
        }
        match &guess {
            Some(id) => {
                self.refresh_scoped(&branches, Tags::Of(&git_mr::layout::revision_tag_scope(id)))
            }
            None => self.refresh_with(&branches),
        }
        let tip = self.forge.data_tip()?;
        if tip.is_none() {
            return Err(self.forge.app().no_data_branch(self.forge.remote()).into());
        }
        let mut found = self.read_one(tip, spec, depth)?;
        if guess.is_some_and(|g| g != found.id) {
            // The fetch changed what the name means: fetch every tag.
            self.refresh_with(&branches);
            found = self.read_one(self.forge.data_tip()?, spec, depth)?;
        }
        for w in &found.snapshot.warnings {
            self.ui.warn(&format!("skipped {w}"));
        }
        if found.snapshot.get(&found.id).is_none() {
            // Its directory is there, but not what makes it a merge request
            // (the warnings above say what is wrong).
            return Err(git_mr::Error::NoSuchMr(spec.to_owned()).into());
        }
        Ok(found)
    }

    /// The merge request `spec` names on the data commit `tip`.
    fn resolve_at(&self, tip: Option<ObjectId>, spec: &str) -> CommandResult<MrId> {
        let people = self.people()?;
        let names = self.forge.names_at(tip)?;
        self.resolve(&names, &people, spec)
    }

    /// Resolve `spec` on the data commit `tip` and read that merge request.
    fn read_one(&self, tip: Option<ObjectId>, spec: &str, depth: Depth) -> CommandResult<Found> {
        let id = self.resolve_at(tip, spec)?;
        let people = self.people()?;
        let snapshot = self
            .forge
            .snapshot_of(tip, &BTreeSet::from([id.clone()]), depth)?;
        Ok(Found {
            snapshot,
            people,
            id,
        })
    }

    /// Resolve an MR name among `names`; `me` needs the signing key only when used.
    pub fn resolve(&self, names: &Names, people: &People, spec: &str) -> CommandResult<MrId> {
        let me = if spec.starts_with("me/") {
            Some(self.forge.me()?)
        } else {
            self.forge.me().ok()
        };
        Ok(git_mr::ops::resolve_mr(names, people, me.as_ref(), spec)?)
    }

    /// Turn a library error of a change into a user error with the right hints.
    pub fn explain(&self, e: Error) -> CommandError {
        let hints = match &e {
            Error::Core(CoreError::PushRejected { .. })
            | Error::UnknownLabel(_)
            | Error::NotMaintainer(_) => {
                let people = self.forge.people().unwrap_or_default();
                let me = self.forge.me().ok();
                self.hints_for(&e, &people, me.as_ref())
            }
            _ => Vec::new(),
        };
        let mut err = CommandError::from(e);
        err.hints.extend(hints);
        err
    }

    fn hints_for(&self, e: &Error, people: &People, me: Option<&Fingerprint>) -> Vec<String> {
        let mut hints = Vec::new();
        match e {
            Error::Core(CoreError::PushRejected { code, .. }) => {
                use git_mr::push::RejectCode;
                let unknown_key = me.filter(|me| !people.has_key(me));
                hints.push(match (code, unknown_key) {
                    (Some(RejectCode::UnknownKey) | None, Some(me)) => format!(
                        "you are not signed up yet: your key must be on apps/access-control as keys/{me}.asc \
(`git mr register` puts it there where the server lets users register; else ask the owner)"
                    ),
                    (Some(RejectCode::Limit), _) => "the change is over a size limit of the server \
(the size caps of the policy on apps/access-control, or the server's gitapps.maxFileSize): make it smaller"
                        .to_owned(),
                    (Some(RejectCode::Signature), _) => "the server cannot verify your signature: is your key \
expired or revoked? Update keys/<FPR>.asc on apps/access-control (ask the owner)"
                        .to_owned(),
                    (Some(RejectCode::InvalidPolicy), _) => "the policy on apps/access-control is invalid: \
the owner must repair it (gitapps-hook validate)"
                        .to_owned(),
                    (Some(RejectCode::Error), _) => "the server's hook failed: tell the server's admin".to_owned(),
                    (Some(RejectCode::Unsigned), _) => "the push was not signed: check git's signing setup \
(user.signingkey, gpg.program)".to_owned(),
                    (Some(RejectCode::Denied), _) => {
                        "the server's policy (branch apps/access-control) does not allow this change for you".to_owned()
                    }
                    _ => "the server refused the push: its message is above".to_owned(),
                });
            }
            Error::UnknownLabel(label) => {
                if let Ok(s) = self.forge.snapshot(Depth::Summary) {
                    let labels: Vec<&str> = s.labels.keys().map(String::as_str).collect();
                    if let Some(close) = gitapps_policy::closest(label, &labels) {
                        hints.push(format!("did you mean `{close}`?"));
                    }
                    hints.push(format!(
                        "existing labels: {} (`git mr labels` describes them)",
                        labels.join(", ")
                    ));
                }
                let me_maintainer = me.is_some_and(|me| people.is_maintainer(me));
                if me_maintainer {
                    hints.push(format!(
                        "to make a new label: git mr labels --create {label} -m DESCRIPTION"
                    ));
                } else {
                    hints.push(match maintainers(people) {
                        None => "only maintainers (groups/maintainers on apps/access-control) create label names".to_owned(),
                        Some(names) => format!("only maintainers create label names: ask {names}"),
                    });
                }
            }
            Error::NotMaintainer(_) => {
                hints.extend(maintainers(people).map(|names| format!("ask a maintainer: {names}")));
            }
            _ => {}
        }
        hints
    }
}

/// A remote given by name must be one of the repository's (a URL or a path
/// is taken as it is): a typo must not read as "merge requests are not set up".
fn check_remote(forge: &Forge) -> CommandResult {
    let name = forge.remote();
    let is_name = git_mr::layout::remote_slug(name) == name;
    let config = forge.repo().config_snapshot();
    let configured = config
        .string(format!("remote.{name}.url").as_str())
        .is_some();
    if !is_name || configured || std::path::Path::new(name).exists() {
        return Ok(());
    }
    let remotes: Vec<String> = forge
        .repo()
        .remote_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let e = CommandError::user(format!("this repository has no remote `{name}`"));
    Err(if remotes.is_empty() {
        e.hint("add one with `git remote add NAME URL`, or give --remote a URL or path")
    } else {
        e.hint(format!(
            "its remotes: {} (`git remote -v` shows where they point)",
            remotes.join(", ")
        ))
    })
}

/// The maintainers as people are shown (`Name (9A3F1C2B), …`), if any is known.
fn maintainers(people: &People) -> Option<String> {
    let names: Vec<String> = people
        .maintainers()
        .users
        .iter()
        .map(|m| people.display(m))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// GITAPPS_OFFLINE=1: read what was fetched last, fetch nothing.
fn offline() -> bool {
    std::env::var_os("GITAPPS_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0")
}

pub fn main() -> ExitCode {
    gitapps_cli::error::set_app(git_mr::layout::APP);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let ui = Ui::new();
    match run(cli, ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let ui = Ui::new();
            ui.error(&e.message, &e.hints);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli, ui: Ui) -> CommandResult {
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        gitapps_cli::manual::print_completions(Cli::command(), "git-mr", shell);
        return Ok(());
    }
    if let Command::Man { dir } = &cli.command {
        use clap::CommandFactory;
        return Ok(gitapps_cli::manual::write_man_pages(
            Cli::command(),
            "git-mr",
            dir,
        )?);
    }
    let cwd = std::env::current_dir()?;
    let forge = Forge::discover(&cwd, &cli.remote)?;
    check_remote(&forge)?;
    let ctx = Ctx { forge, ui };
    let result = dispatch(&ctx, cli.command);
    // Whether the command succeeded or not, what the server warned about.
    for warning in ctx.forge.take_server_warnings() {
        ctx.ui.warn(&format!("the server said: {warning}"));
    }
    result
}

fn dispatch(ctx: &Ctx, command: Command) -> CommandResult {
    match command {
        Command::Init(a) => init::run(ctx, a),
        Command::Create(a) => create::run(ctx, a),
        Command::List(a) => list::run(ctx, a),
        Command::Show(a) => show::run(ctx, a),
        Command::Comment(a) => comment::run(ctx, a),
        Command::Edit(a) => edit::run(ctx, a),
        Command::Approve(a) => vote::approve(ctx, a),
        Command::RequestChanges(a) => vote::request_changes(ctx, a),
        Command::Unvote(a) => vote::unvote(ctx, a),
        Command::Revise(a) => revise::run(ctx, a),
        Command::Label(a) => label::run(ctx, a),
        Command::Labels(a) => labels::run(ctx, a),
        Command::Diff(a) => diff::run(ctx, a),
        Command::Checkout(a) => checkout::run(ctx, a),
        Command::Merge(a) => merge::run(ctx, a),
        Command::Settings(a) => settings::run(ctx, a),
        Command::CiRetry(a) => ci_retry::run(ctx, a),
        Command::Close(a) => close::run_close(ctx, a),
        Command::Reopen(a) => close::run_reopen(ctx, a),
        Command::Search(a) => search::run(ctx, a),
        Command::Fetch(a) => fetch::run(ctx, a),
        Command::Export(a) => export::run(ctx, a),
        Command::Register(a) => register::run(ctx, a),
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
    }
}

//! The `git issue` command line: clap and presentation only; the work is in
//! `git_issue` and the core.

mod export;
mod read;
mod write;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use git_issue::store::{Depth, Snapshot};
use git_issue::{ops, Error, Fingerprint, Forge, ItemId, APP};
use gitapps_cli::ui::Ui;
use gitapps_core::People;

gitapps_cli::command_error!();

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(e) => e.into(),
            Error::NotAllowed(m) => CommandError {
                kind: gitapps_cli::error::Kind::Denied,
                message: m,
                hints: Vec::new(),
            },
            other => CommandError::user(other.to_string()),
        }
    }
}

#[derive(Parser)]
#[command(
    name = "git issue",
    bin_name = "git issue",
    about = "Issues stored in the repository, on the branch apps/issues/data",
    long_about = "Issues stored in the repository, on the branch apps/issues/data.\n\n\
Every change is one signed push (git push --signed) that the server's hook checks \
against the policy on apps/access-control: anyone opens issues and comments under \
their own id; the author and maintainers label, close and reopen; maintainers assign \
anyone, everyone else only themselves.",
    after_help = "An issue is named <who>/<n>: <who> is a fingerprint prefix (8 hex digits or more), \
a name or e-mail from a key, or `me`; <n> alone when it is unique.\n\
Environment: NO_COLOR, GITAPPS_OFFLINE=1 (read without fetching).\n\
Examples:\n  git issue create -t \"Crash on empty input\" -m \"Steps: …\" --label bug\n  \
git issue list --label bug --assignee me\n  git issue comment alice/3 -m \"Fixed by alice/7\"\n  \
git issue close alice/3 -m \"Duplicate of bob/1\""
)]
struct Cli {
    /// The remote the issues live on.
    #[arg(long, global = true, default_value = "origin")]
    remote: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(write::InitArgs),
    Create(write::CreateArgs),
    List(read::ListArgs),
    Show(read::ShowArgs),
    Comment(write::CommentArgs),
    Edit(write::EditArgs),
    Label(write::LabelArgs),
    Assign(write::AssignArgs),
    Unassign(write::AssignArgs),
    Close(write::CloseArgs),
    Reopen(write::CloseArgs),
    Search(read::SearchArgs),
    Export(export::Args),
    /// Fetch the issues, the merge requests' links and apps/access-control.
    Fetch,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// For bash: `git-issue completions bash > ~/.local/share/bash-completion/completions/git-issue`.
    /// The bash script also defines `_git_issue`, which git's own completion
    /// calls for `git issue <TAB>`.
    Completions {
        /// The shell to complete for.
        shell: gitapps_cli::manual::Shell,
    },
    /// Write the manual pages (git-issue.1, git-issue-<verb>.1) into DIR.
    ///
    /// `git issue --help` asks git, which opens `man git-issue`: install the
    /// pages where man looks, e.g. `git-issue man ~/.local/share/man/man1`.
    Man {
        /// Where to write the pages.
        dir: std::path::PathBuf,
    },
}

/// What every command gets: the repository, the remote, the terminal.
pub struct Ctx {
    pub forge: Forge,
    pub ui: Ui,
}

/// GITAPPS_OFFLINE=1: read what was fetched last, fetch nothing.
fn offline() -> bool {
    std::env::var_os("GITAPPS_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0")
}

impl Ctx {
    /// Fetch (with the merge requests' branch, for links) unless offline; a
    /// failed fetch only warns.
    pub fn refresh(&self) {
        if offline() {
            return;
        }
        if let Err(e) = self.forge.fetch_with(&git_issue::links::branches()) {
            self.ui.warn(&format!(
                "could not fetch from {}: {e}",
                self.forge.remote()
            ));
        }
    }

    /// The issues as last fetched, warnings printed.
    pub fn snapshot(&self, depth: Depth) -> CommandResult<Snapshot> {
        let snapshot = ops::snapshot(&self.forge, depth)?;
        if snapshot.commit.is_none() {
            return Err(CommandError::from(APP.no_data_branch(self.forge.remote())));
        }
        for w in &snapshot.warnings {
            self.ui.warn(&format!("skipped {w}"));
        }
        Ok(snapshot)
    }

    pub fn people(&self) -> CommandResult<People> {
        Ok(self.forge.people()?)
    }

    /// What every verb on one issue starts with: fetch (unless offline),
    /// resolve `spec` through the authors' directories, and read that issue
    /// alone to `depth` (with the label names): its warnings only, and the
    /// same cost among 50 issues or 50,000.
    pub fn find(&self, spec: &str, depth: Depth) -> CommandResult<(Snapshot, People, ItemId)> {
        self.refresh();
        let tip = self.forge.data_tip()?;
        if tip.is_none() {
            return Err(CommandError::from(APP.no_data_branch(self.forge.remote())));
        }
        let people = self.people()?;
        let me = self.me_for(spec)?;
        let id = ops::resolve(self.forge.repo(), tip, &people, me.as_ref(), spec)?;
        let snapshot = ops::one(self.forge.repo(), tip, &id, depth)?;
        for w in &snapshot.warnings {
            self.ui.warn(&format!("skipped {w}"));
        }
        if snapshot.get(&id).is_none() {
            // Its directory is there, but not what makes it an issue (the
            // warnings above say what is wrong).
            return Err(Error::NotFound(spec.to_owned()).into());
        }
        Ok((snapshot, people, id))
    }

    /// `me` when the name needs it (an error then when there is no key),
    /// else when known.
    fn me_for(&self, spec: &str) -> CommandResult<Option<Fingerprint>> {
        Ok(if spec == "me" || spec.starts_with("me/") {
            Some(self.forge.me()?)
        } else {
            self.forge.me().ok()
        })
    }

    /// A user named on the command line (`me`, a name, a fingerprint prefix).
    pub fn person(&self, people: &People, who: &str) -> CommandResult<Fingerprint> {
        let me = self.me_for(who)?;
        Ok(people.find(who, me.as_ref(), std::iter::empty())?)
    }

    /// Issue → the merge requests that say they fix it. Links that cannot be
    /// read are a warning naming why (the issues still show, without them).
    pub fn fixed_by(&self) -> std::collections::BTreeMap<ItemId, Vec<ItemId>> {
        git_issue::links::fixed_by(&self.forge).unwrap_or_else(|e| {
            self.ui.warn(&format!(
                "cannot read the merge requests' links to issues: {e}"
            ));
            Default::default()
        })
    }

    /// A library error of a change, with hints.
    pub fn explain(&self, e: Error) -> CommandError {
        let hint = match &e {
            Error::UnknownLabel { .. } => Some(
                "only maintainers create label names (groups/maintainers on apps/access-control)"
                    .to_owned(),
            ),
            Error::Core(gitapps_core::Error::PushRejected { .. }) => {
                let me = self.forge.me().ok();
                let people = self.forge.people().unwrap_or_default();
                Some(match me.filter(|m| !people.has_key(m)) {
                    Some(me) => format!(
                        "you are not signed up yet: your key must be on apps/access-control as keys/{me}.asc (`git mr register` puts it there where the server lets users register; else ask the owner)"
                    ),
                    None => "the server's policy (branch apps/access-control) does not allow this change for you".to_owned(),
                })
            }
            _ => None,
        };
        let mut err = CommandError::from(e);
        err.hints.extend(hint);
        err
    }
}

pub fn main() -> ExitCode {
    gitapps_cli::error::set_app(APP);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            Ui::new().error(&e.message, &e.hints);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> CommandResult {
    use clap::CommandFactory;
    match &cli.command {
        Command::Completions { shell } => {
            gitapps_cli::manual::print_completions(Cli::command(), "git-issue", *shell);
            return Ok(());
        }
        Command::Man { dir } => {
            return Ok(gitapps_cli::manual::write_man_pages(
                Cli::command(),
                "git-issue",
                dir,
            )?)
        }
        _ => {}
    }
    let cwd = std::env::current_dir()?;
    let ctx = Ctx {
        forge: ops::open(&cwd, &cli.remote)?,
        ui: Ui::new(),
    };
    match cli.command {
        Command::Init(a) => write::init(&ctx, a),
        Command::Create(a) => write::create(&ctx, a),
        Command::List(a) => read::list(&ctx, a),
        Command::Show(a) => read::show(&ctx, a),
        Command::Comment(a) => write::comment(&ctx, a),
        Command::Edit(a) => write::edit(&ctx, a),
        Command::Label(a) => write::label(&ctx, a),
        Command::Assign(a) => write::assign(&ctx, a, true),
        Command::Unassign(a) => write::assign(&ctx, a, false),
        Command::Close(a) => write::close(&ctx, a, git_issue::State::Closed),
        Command::Reopen(a) => write::close(&ctx, a, git_issue::State::Open),
        Command::Search(a) => read::search(&ctx, a),
        Command::Export(a) => export::run(&ctx, a),
        Command::Fetch => {
            let fetched = ctx.forge.fetch_with(&git_issue::links::branches())?;
            if !fetched.data {
                return Err(APP.no_data_branch(ctx.forge.remote()).into());
            }
            Ok(())
        }
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
    }
}

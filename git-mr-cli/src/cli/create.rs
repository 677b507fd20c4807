//! `git mr create`: open a merge request for a revision.

use super::ui::Draft;
use std::path::PathBuf;

use git_mr::ops::{self, NewMergeRequest};
use git_mr::store::Depth;

use super::{ui, CommandError, CommandResult, Ctx};

/// Open a merge request; prints its name, <FPR>/<n>.
#[derive(clap::Args)]
pub struct Args {
    /// The title (default: the message's first line).
    #[arg(short, long)]
    title: Option<String>,
    /// The description (several -m are paragraphs).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read the description from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The branch to merge into (default: the remote's default branch, else main).
    #[arg(long, value_name = "BRANCH")]
    target: Option<String>,
    /// A label besides `open`; repeatable.
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
    /// An issue it fixes (git issue): <who>/<n>, or <n> when unique; repeatable.
    /// Merging the merge request closes it, in the same push, when the merger
    /// may close it (its author or a maintainer).
    #[arg(long = "fixes", value_name = "ISSUE")]
    fixes: Vec<String>,
    /// The revision to review.
    #[arg(default_value = "HEAD")]
    rev: String,
}

fn default_target(ctx: &Ctx) -> String {
    let head = format!(
        "refs/remotes/{}/HEAD",
        git_mr::layout::remote_slug(ctx.forge.remote())
    );
    if let Ok(Some(r)) = ctx.forge.repo().try_find_reference(head.as_str()) {
        if let Some(name) = r.target().try_name() {
            let name = name.as_bstr().to_string();
            if let Some(branch) = name.rsplit_once('/').map(|(_, b)| b.to_owned()) {
                return branch;
            }
        }
    }
    "main".to_owned()
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let revision = ops::peel_commit(&ctx.forge, &args.rev)?;
    let target = args.target.clone().unwrap_or_else(|| default_target(ctx));
    // One fetch: the data, the labels, the target branch (and the issues).
    let mut branches = vec![target.clone()];
    if !args.fixes.is_empty() {
        branches.push(git_issue::APP.data_branch());
    }
    ctx.refresh_with(&branches);
    let fixes = resolve_issues(ctx, &args.fixes)?;
    check_target(ctx, &target, revision)?;
    // The label names alone (no merge request is read), before the editor opens.
    let labels = match args.labels.is_empty() {
        true => None,
        false => ctx
            .forge
            .snapshot_of(ctx.forge.data_tip()?, &Default::default(), Depth::Summary)
            .ok(),
    };
    if let Some(snapshot) = labels {
        for l in &args.labels {
            if !snapshot.label_exists(l) {
                return Err(ctx.explain(git_mr::Error::UnknownLabel(l.clone())));
            }
        }
    }
    warn_if_dirty(ctx, &args.rev);
    let subject = ops::commit_subject(ctx.forge.repo(), revision).unwrap_or_default();
    let (title, message) = match (&args.title, args.message.is_empty() && args.file.is_none()) {
        (Some(t), true) => {
            let template = format!(
                "\n# The description of \"{t}\".\n# Lines starting with '#' are ignored.\n"
            );
            (t.clone(), ui::message(&ctx.forge, &[], None, &template)?)
        }
        (Some(t), false) => (
            t.clone(),
            ui::message(&ctx.forge, &args.message, args.file.as_ref(), "")?,
        ),
        (None, _) => {
            let template = format!(
                "{subject}\n\n# The first line is the title, the rest the description.\n# Lines starting with '#' are ignored; a message left as it is aborts.\n"
            );
            let message = ui::message(&ctx.forge, &args.message, args.file.as_ref(), &template)?
                .ok_or_else(|| {
                    CommandError::user("aborted: no message (or the template left as it was)")
                })?;
            let mut lines = message.text.splitn(2, '\n');
            let title = lines.next().unwrap_or("").trim().to_owned();
            (title, Some(message))
        }
    };
    let description = match (&args.title, &message) {
        (None, Some(m)) => m
            .text
            .split_once('\n')
            .map(|(_, rest)| rest.trim_start_matches('\n').to_owned())
            .unwrap_or_default(),
        (_, Some(m)) => m.text.clone(),
        (_, None) => String::new(),
    };
    let new = NewMergeRequest {
        title,
        description,
        target,
        labels: args.labels,
        revision,
        fixes,
    };
    let done = ops::create(&ctx.forge, &new).map_err(|e| {
        let e = ctx.explain(e);
        match &message {
            Some(m) => m.keep_on_error(e),
            None => e,
        }
    })?;
    if let Some(m) = &message {
        m.done();
    }
    println!("{}", done.value);
    Ok(())
}

/// The target must be a branch of the remote, and the revision must bring
/// something it does not have.
fn check_target(ctx: &Ctx, target: &str, revision: gix::ObjectId) -> CommandResult {
    let remote = ctx.forge.remote();
    let Some(tip) = ctx.forge.branch_tip(target)? else {
        let mut e = CommandError::user(format!("the remote {remote} has no branch `{target}`"));
        let heads = ctx
            .forge
            .git()
            .run(["ls-remote", "--heads", remote])
            .unwrap_or_default();
        let names: Vec<&str> = heads
            .lines()
            .filter_map(|l| l.split_once("refs/heads/").map(|(_, b)| b))
            .filter(|b| !b.starts_with("apps/"))
            .collect();
        if let Some(close) = gitapps_policy::closest(target, &names) {
            e = e.hint(format!("did you mean `--target {close}`?"));
        } else if !names.is_empty() {
            e = e.hint(format!("its branches: {}", names.join(", ")));
        }
        return Err(e);
    };
    let already = ctx
        .forge
        .repo()
        .merge_base(tip, revision)
        .ok()
        .flatten()
        .is_some_and(|base| base.detach() == revision);
    if already {
        return Err(CommandError::user(format!(
            "nothing to merge: {} is already in {target} on {remote}",
            &revision.to_string()[..12]
        ))
        .hint("commit your work first, or name the revision to review (git mr create … REV)"));
    }
    Ok(())
}

/// A merge request is for a commit: uncommitted changes are not in it.
fn warn_if_dirty(ctx: &Ctx, rev: &str) {
    let dirty = ctx
        .forge
        .git()
        .run(["status", "--porcelain", "--untracked-files=no"])
        .is_ok_and(|out| !out.trim().is_empty());
    if dirty && rev == "HEAD" {
        ctx.ui.warn(
            "you have uncommitted changes: they are not part of the merge request (it is for the commit HEAD)",
        );
    }
}

/// The issues `--fixes` names, on the issues' branch as just fetched.
fn resolve_issues(ctx: &Ctx, specs: &[String]) -> CommandResult<Vec<git_mr::MrId>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let branch = git_issue::APP.data_branch();
    let tip = ctx.forge.branch_tip(&branch)?.ok_or_else(|| {
        CommandError::user(format!(
            "--fixes: the remote {} has no issues (refs/heads/{branch})",
            ctx.forge.remote()
        ))
        .hint("the project's owner sets the issue tracker up with `git issue init`")
    })?;
    let people = ctx.forge.people()?;
    let me = ctx.forge.me().ok();
    let repo = ctx.forge.repo();
    let mut ids = Vec::new();
    for spec in specs {
        // Through the authors' directories, then that issue alone: not every issue.
        let id = git_issue::ops::resolve(repo, Some(tip), &people, me.as_ref(), spec)
            .and_then(|id| {
                let one =
                    git_issue::ops::one(repo, Some(tip), &id, git_issue::store::Depth::Summary)?;
                one.get(&id)
                    .map(|_| id)
                    .ok_or_else(|| git_issue::Error::NotFound(spec.clone()))
            })
            .map_err(|e| CommandError::user(format!("--fixes {spec}: {e}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

//! `git mr approve`, `git mr request-changes`, `git mr unvote`.

use super::ui::Draft;
use std::path::PathBuf;

use git_mr::store::Depth;
use git_mr::thread::Verdict;

use super::{ui, CommandError, CommandResult, Ctx, Found};

/// Approve the newest revision of a merge request.
#[derive(clap::Args)]
#[command(
    after_help = "A vote is bound to the revision it judges: a newer revision makes it stale\n\
(`show` marks it so) and it counts no more. Maintainers' approvals count toward what\n\
`git mr merge` requires (`git mr settings`); everyone's are shown."
)]
pub struct ApproveArgs {
    /// <who>/<n> or <n>.
    mr: String,
    /// What you say with it (several -m are paragraphs; default: nothing).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read it from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Ask for changes to the newest revision of a merge request (say which).
#[derive(clap::Args)]
#[command(
    after_help = "A maintainer's request for changes blocks `git mr merge` (where the merge\n\
settings require approvals) until they approve or `git mr unvote`, or a newer revision\n\
makes it stale."
)]
pub struct RequestChangesArgs {
    /// <who>/<n> or <n>.
    mr: String,
    /// Which changes (several -m are paragraphs; without -m or -F the editor opens).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read it from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Withdraw your vote on a merge request.
#[derive(clap::Args)]
pub struct UnvoteArgs {
    /// <who>/<n> or <n>.
    mr: String,
}

pub fn approve(ctx: &Ctx, args: ApproveArgs) -> CommandResult {
    let text = if args.message.is_empty() && args.file.is_none() {
        None
    } else {
        ui::message(&ctx.forge, &args.message, args.file.as_ref(), "")?
    };
    cast(ctx, &args.mr, Verdict::Approve, text)
}

pub fn request_changes(ctx: &Ctx, args: RequestChangesArgs) -> CommandResult {
    let template = "\n# Which changes do you ask for? Lines starting with '#' are ignored.\n";
    let text = ui::message(&ctx.forge, &args.message, args.file.as_ref(), template)?
        .ok_or_else(|| CommandError::user("aborted: say which changes you ask for"))?;
    cast(ctx, &args.mr, Verdict::RequestChanges, Some(text))
}

pub fn unvote(ctx: &Ctx, args: UnvoteArgs) -> CommandResult {
    cast(ctx, &args.mr, Verdict::None, None)
}

fn cast(ctx: &Ctx, mr: &str, verdict: Verdict, text: Option<ui::Message>) -> CommandResult {
    let Found { id, .. } = ctx.find(mr, Depth::Summary)?;
    let body = text.as_ref().map(|m| m.text.as_str()).unwrap_or("");
    let done = git_mr::review_ops::vote(&ctx.forge, &id, verdict, body).map_err(|e| {
        let e = ctx.explain(e);
        match &text {
            Some(m) => m.keep_on_error(e),
            None => e,
        }
    })?;
    if let Some(m) = &text {
        m.done();
    }
    let what = match verdict {
        Verdict::Approve => "approved",
        Verdict::RequestChanges => "requested changes on",
        Verdict::None => "withdrew your vote on",
    };
    println!("{what} {id} revision {}", done.value.revision);
    Ok(())
}

//! `git mr create`: open a merge request for a revision.

use std::path::PathBuf;

use git_mr::ops::{self, NewMergeRequest};

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
    let subject = ops::commit_subject(ctx.forge.repo(), revision).unwrap_or_default();
    let (title, description) = match (&args.title, args.message.is_empty() && args.file.is_none()) {
        (Some(t), true) => {
            let template = format!(
                "\n# The description of \"{t}\".\n# Lines starting with '#' are ignored.\n"
            );
            let d = ui::message(&ctx.forge, &[], None, &template)?.unwrap_or_default();
            (t.clone(), d)
        }
        (Some(t), false) => {
            let d = ui::message(&ctx.forge, &args.message, args.file.as_ref(), "")?;
            (t.clone(), d.unwrap_or_default())
        }
        (None, _) => {
            let template = format!(
                "{subject}\n\n# The first line is the title, the rest the description.\n# Lines starting with '#' are ignored.\n"
            );
            let text = ui::message(&ctx.forge, &args.message, args.file.as_ref(), &template)?
                .ok_or_else(|| CommandError::user("aborted: empty message"))?;
            let mut lines = text.splitn(2, '\n');
            let title = lines.next().unwrap_or("").trim().to_owned();
            let rest = lines
                .next()
                .unwrap_or("")
                .trim_start_matches('\n')
                .to_owned();
            (title, rest)
        }
    };
    let target = args.target.clone().unwrap_or_else(|| default_target(ctx));
    let new = NewMergeRequest {
        title,
        description,
        target,
        labels: args.labels,
        revision,
    };
    let done = ops::create(&ctx.forge, &new).map_err(|e| ctx.explain(e))?;
    println!("{}", done.value);
    Ok(())
}

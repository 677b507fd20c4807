//! `git mr revise`.

use git_mr::ops;
use git_mr::store::Depth;

use super::{ui, CommandResult, Ctx, Found};

/// Push the next revision (tag v<k+1>) with a comment saying what changed.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The new revision.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// What changed (default: the revision's commit subject; no editor opens).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read what changed from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<std::path::PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let commit = ops::peel_commit(&ctx.forge, &args.rev)?;
    let message = match &args.file {
        Some(f) => ui::message(&ctx.forge, &[], Some(f), "")?.map(|m| m.text),
        None => (!args.message.is_empty()).then(|| args.message.join("\n\n")),
    };
    let done =
        ops::revise(&ctx.forge, &id, commit, message.as_deref()).map_err(|e| ctx.explain(e))?;
    println!("{id} v{}", done.value.revision);
    Ok(())
}

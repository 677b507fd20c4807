//! `git mr comment`.

use std::path::PathBuf;

use git_mr::store::Depth;

use super::{ui, CommandError, CommandResult, Ctx, Found};

/// Comment on a merge request.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The comment (several -m are paragraphs).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read the comment from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The comment this one answers, <FPR>/<k> (a fingerprint prefix will do).
    #[arg(long, value_name = "FPR/K")]
    reply_to: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let template = format!("\n# Your comment on {id}.\n# Lines starting with '#' are ignored.\n");
    let body = ui::message(&ctx.forge, &args.message, args.file.as_ref(), &template)?
        .ok_or_else(|| CommandError::user("aborted: empty comment"))?;
    let done = git_mr::ops::comment(&ctx.forge, &id, &body, args.reply_to.as_deref())
        .map_err(|e| ctx.explain(e))?;
    println!("{}/{}", ctx.forge.me()?, done.value);
    Ok(())
}

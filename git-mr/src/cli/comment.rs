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
    /// The comment this one answers, <who>/<k>: a fingerprint prefix (8 hex
    /// digits or more), a name or e-mail from a key, or `me`, then the number.
    #[arg(long, value_name = "WHO/K")]
    reply_to: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let template = format!("\n# Your comment on {id}.\n# Lines starting with '#' are ignored.\n");
    let body = ui::message(&ctx.forge, &args.message, args.file.as_ref(), &template)?
        .ok_or_else(|| CommandError::user("aborted: empty comment"))?;
    if body.text.trim().is_empty() {
        return Err(CommandError::user("empty comment: nothing was posted")
            .hint("write something with -m MSG, -F FILE or in the editor"));
    }
    let done = git_mr::ops::comment(&ctx.forge, &id, &body.text, args.reply_to.as_deref())
        .map_err(|e| body.keep_on_error(ctx.explain(e)))?;
    body.done();
    // Not `<FPR>/<k>` alone, which reads like a merge request's name.
    println!("comment {}/{} on {id}", ctx.forge.me()?, done.value);
    Ok(())
}

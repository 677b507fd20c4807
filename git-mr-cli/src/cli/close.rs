//! `git mr close` and `git mr reopen`.

use git_mr::store::Depth;

use super::{CommandResult, Ctx, Found};

/// Close a merge request (label `closed`, drop `open` and `needs-review`).
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
}

/// Reopen a closed merge request.
#[derive(clap::Args)]
pub struct ReopenArgs {
    /// <who>/<n> or <n>.
    mr: String,
}

pub fn run_close(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    git_mr::ops::close(&ctx.forge, &id).map_err(|e| ctx.explain(e))?;
    ctx.ui.note(&format!("{id}: closed"));
    Ok(())
}

pub fn run_reopen(ctx: &Ctx, args: ReopenArgs) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    git_mr::ops::reopen(&ctx.forge, &id).map_err(|e| ctx.explain(e))?;
    ctx.ui.note(&format!("{id}: open"));
    Ok(())
}

//! `git mr ci-retry` (maintainers).

use git_mr::store::Depth;

use super::{CommandResult, Ctx, Found};

/// Ask CI to test the newest revision again (maintainers only).
///
/// Writes a request under your own id (merge-reqs/<id>/<n>/ci/retry/<you>/<j>, one
/// signed push). The CI bots honour requests by maintainers only, run the newest
/// revision again and post the result as a new comment.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let done = git_mr::ci_retry::request(&ctx.forge, &id).map_err(|e| ctx.explain(e))?;
    let r = done.value;
    ctx.ui.note(&format!(
        "{id}: CI asked to test v{} again (request {})",
        r.revision.unwrap_or_default(),
        r.reference()
    ));
    Ok(())
}

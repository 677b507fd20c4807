//! `git mr merge` (maintainers).

use git_mr::store::Depth;

use super::{CommandResult, Ctx, Found};

/// Merge a revision into the target branch, label merged+closed, comment: one push.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The revision to merge (default: the newest).
    #[arg(long, value_name = "K")]
    revision: Option<u32>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let done = git_mr::ops::merge(&ctx.forge, &id, args.revision).map_err(|e| ctx.explain(e))?;
    let m = done.value;
    ctx.ui.note(&format!(
        "{id}: merged v{} into {} as {} ({})",
        m.revision,
        m.target,
        &m.commit.to_string()[..12],
        if m.fast_forward {
            "fast-forward"
        } else {
            "merge commit"
        }
    ));
    Ok(())
}

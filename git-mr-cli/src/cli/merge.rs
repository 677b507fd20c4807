//! `git mr merge` (maintainers).

use git_mr::store::Depth;

use super::{ui, CommandResult, Ctx, Found};

/// Merge a revision into the target branch, label merged+closed, comment: one push.
#[derive(clap::Args)]
#[command(
    after_help = "Where the project has merge settings (`git mr settings`), the merged revision
must meet them: approvals by maintainers, CI's pass. The merge refuses otherwise, naming
what is missing, unless --force. The server cannot enforce this (it runs no app code)."
)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The revision to merge (default: the newest on the remote; an older one
    /// only when asked for).
    #[arg(long, value_name = "K")]
    revision: Option<u32>,
    /// Merge even when the merge settings (`git mr settings`) are not met; the
    /// merge comment records what was missing.
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found {
        snapshot,
        people,
        id,
    } = ctx.find_fetching(&args.mr, Depth::Summary, true)?;
    let target = snapshot
        .get(&id)
        .expect("resolved ids exist")
        .target
        .clone();
    let done = git_mr::ops::merge(&ctx.forge, &id, &target, args.revision, args.force)
        .map_err(|e| ctx.explain(e))?;
    let m = done.value;
    for missing in &m.forced {
        ctx.ui.warn(&format!("merged without {missing} (--force)"));
    }
    // Names are claims: say whose work was merged by the full fingerprint.
    let older = if m.revision < m.newest {
        format!(
            " (the newest is revision {}: you asked for {})",
            m.newest, m.revision
        )
    } else {
        String::new()
    };
    ctx.ui.note(&ui::clean(&format!(
        "merged {id} revision {}{older}\n  by {}\n  into {} as {} ({})",
        m.revision,
        people.describe(&m.author),
        m.target,
        m.commit,
        if m.fast_forward {
            "fast-forward"
        } else {
            "merge commit"
        }
    )));
    for issue in &m.closed_issues {
        ctx.ui
            .note(&format!("closed issue {issue}, which it fixes"));
    }
    for (issue, why) in &m.open_issues {
        ctx.ui.warn(&format!("issue {issue} stayed open: {why}"));
    }
    Ok(())
}

//! `git mr checkout`: check a revision out (detached HEAD), like `git checkout`.

use git_mr::store::Depth;
use git_mr::{ops, Error};

use super::{CommandError, CommandResult, Ctx, Found};

/// Check out a revision of a merge request (detached HEAD).
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The revision (default: the newest).
    #[arg(long, value_name = "K")]
    revision: Option<u32>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { snapshot, id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    let rev = match args.revision {
        Some(k) => mr.revision(k),
        None => mr.latest_revision(),
    }
    .ok_or_else(|| Error::NoSuchRevision {
        mr: id.to_string(),
        revision: args.revision.unwrap_or(1),
    })?;
    let commit = ops::peel_commit(&ctx.forge, &rev.commit.to_string())?.to_string();
    let status = ctx
        .forge
        .git()
        .command(["checkout", "--detach", commit.as_str()])
        .status()?;
    if !status.success() {
        return Err(
            CommandError::user("git checkout failed").hint("commit or stash your changes first")
        );
    }
    ctx.ui.note(&format!(
        "{id} v{} is checked out ({})",
        rev.number,
        &commit[..12]
    ));
    Ok(())
}

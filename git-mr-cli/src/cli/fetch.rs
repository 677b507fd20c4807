//! `git mr fetch`.

use super::{CommandResult, Ctx};

/// Fetch the data branch, apps/access-control and the revision tags.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _args: Args) -> CommandResult {
    let fetched = ctx.forge.fetch()?;
    if !fetched.data {
        return Err(ctx.forge.app().no_data_branch(ctx.forge.remote()).into());
    }
    Ok(())
}

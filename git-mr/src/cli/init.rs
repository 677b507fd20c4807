//! `git mr init`: policies, groups and the data branch, in one signed push (the owner, once).

use git_mr::Fingerprint;

use super::{ui, CommandResult, Ctx};

/// Set merge requests up on the remote (the project's owner, once).
#[derive(clap::Args)]
pub struct Args {
    /// A maintainer (fingerprint, or a name/e-mail from keys/*.asc); repeatable.
    /// You (the owner) are always one.
    #[arg(long = "maintainer", value_name = "FPR")]
    maintainers: Vec<String>,
    /// A CI bot's user id; repeatable.
    #[arg(long = "ci", value_name = "FPR")]
    ci: Vec<String>,
}

fn user(ctx: &Ctx, who: &str) -> CommandResult<Fingerprint> {
    let people = ctx.people()?;
    let me = ctx.forge.me().ok();
    Ok(people.find(&ui::spaceless(who), me.as_ref(), [])?)
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    // Names are resolved against the keys, so fetch them first.
    let _ = ctx.forge.fetch();
    let maintainers = args
        .maintainers
        .iter()
        .map(|m| user(ctx, m))
        .collect::<CommandResult<Vec<_>>>()?;
    let ci = args
        .ci
        .iter()
        .map(|m| user(ctx, m))
        .collect::<CommandResult<Vec<_>>>()?;
    let done = git_mr::ops::init(&ctx.forge, &maintainers, &ci).map_err(|e| ctx.explain(e))?;
    ctx.ui.note(&format!(
        "merge requests are set up on {}: apps/access-control {} and apps/merge-reqs/data {}",
        ctx.forge.remote(),
        &done.access_control.to_string()[..12],
        &done.data.to_string()[..12],
    ));
    Ok(())
}

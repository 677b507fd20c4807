//! `git mr init`: policies, groups and the data branch, in one signed push (the owner, once).

use git_mr::{Error, Fingerprint};

use super::{CommandError, CommandResult, Ctx};

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
    if let Some(f) = Fingerprint::parse(who) {
        return Ok(f);
    }
    let people = ctx.people()?;
    let me = ctx.forge.me().ok();
    let found = people.resolve(who, me.as_ref(), []);
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::UnknownUser(who.to_owned()).into()),
        many => Err(CommandError::user(format!(
            "`{who}` could be {}",
            many.iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
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

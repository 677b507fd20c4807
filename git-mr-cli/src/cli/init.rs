//! `git mr init`: policies, groups and the data branch, in one signed push (the owner, once).

use git_mr::Fingerprint;

use super::{ui, CommandResult, Ctx};

/// Set merge requests up on the remote (the project's owner); run again, it
/// adds what is missing (rules of a newer version, members, standard labels).
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
    let people = ctx.people()?;
    let resolve = |list: &[String], what: &str| -> CommandResult<Vec<Fingerprint>> {
        let mut out = Vec::new();
        for who in list {
            let f = user(ctx, who)?;
            if !people.has_key(&f) {
                ctx.ui.warn(&format!(
                    "{what} {f} has no key on apps/access-control (keys/{f}.asc): its pushes \
                     are refused until the key is registered"
                ));
            }
            out.push(f);
        }
        Ok(out)
    };
    let maintainers = resolve(&args.maintainers, "maintainer")?;
    let ci = resolve(&args.ci, "CI bot")?;
    let done = git_mr::ops::init(&ctx.forge, &maintainers, &ci).map_err(|e| ctx.explain(e))?;
    let short = |id: Option<gix::ObjectId>| {
        id.map(|i| i.to_string()[..12].to_owned())
            .unwrap_or_else(|| "unchanged".to_owned())
    };
    for line in &done.retired {
        ctx.ui.warn(&format!(
            "{line}\n  is a rule older versions of git mr wrote: it lets maintainers set CI's ci-* labels. \
init never removes a line: remove it from apps/access-control yourself"
        ));
    }
    if done.repaired && done.added.is_empty() {
        ctx.ui
            .note("merge requests are set up already, and nothing is missing: nothing to do");
        return Ok(());
    }
    for a in &done.added {
        ctx.ui.note(&format!("added {a}"));
    }
    ctx.ui.note(&format!(
        "merge requests are {} on {}: apps/access-control {} and apps/merge-reqs/data {}",
        if done.repaired { "repaired" } else { "set up" },
        ctx.forge.remote(),
        short(done.access_control),
        short(done.data),
    ));
    Ok(())
}

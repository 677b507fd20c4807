//! `git mr diff`: a revision's changes against its target, or what changed between
//! two revisions the way `git range-diff` shows it (a rebase is not a change).

use git_mr::store::Depth;
use git_mr::{ops, Error, Forge, MergeRequest};

use super::{CommandError, CommandResult, Ctx, Found};

/// Show a revision's diff, or `v<J>..v<K>` with --since.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The revision (default: the newest).
    #[arg(long, value_name = "K")]
    revision: Option<u32>,
    /// Show what changed since revision J (range-diff).
    #[arg(long, value_name = "J")]
    since: Option<u32>,
}

fn revision_commit(ctx: &Ctx, mr: &MergeRequest, k: Option<u32>) -> CommandResult<String> {
    let rev = match k {
        Some(k) => mr.revision(k),
        None => mr.latest_revision(),
    }
    .ok_or_else(|| Error::NoSuchRevision {
        mr: mr.id.to_string(),
        revision: k.unwrap_or(1),
    })?;
    Ok(ops::peel_commit(&ctx.forge, &rev.commit)?.to_string())
}

/// The target branch's tip: as fetched (with the data), else the local branch.
pub fn target_tip(forge: &Forge, target: &str) -> Option<String> {
    let tracking = git_mr::layout::tracking_ref(forge.remote(), target);
    for name in [tracking, format!("refs/heads/{target}")] {
        if let Ok(Some(id)) = forge.resolve_ref(&name) {
            return Some(id.to_string());
        }
    }
    None
}

fn merge_base(ctx: &Ctx, a: &str, b: &str) -> CommandResult<String> {
    let out = ctx.forge.git().run(["merge-base", a, b])?;
    Ok(out.trim().to_owned())
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { snapshot, id, .. } = ctx.find_fetching(&args.mr, Depth::Summary, true)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    let head = revision_commit(ctx, mr, args.revision)?;
    let tip = target_tip(&ctx.forge, &mr.target);
    let base_of = |commit: &str| -> CommandResult<String> {
        match &tip {
            Some(t) => merge_base(ctx, t, commit),
            None => Ok(format!("{commit}^")),
        }
    };
    let mut git_args: Vec<String> = Vec::new();
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        git_args.extend(["-c".into(), "color.ui=never".into()]);
    }
    match args.since {
        None => {
            let base = base_of(&head)?;
            git_args.extend(["diff".into(), base, head]);
        }
        Some(j) => {
            let old = revision_commit(ctx, mr, Some(j))?;
            let old_base = base_of(&old)?;
            let new_base = base_of(&head)?;
            git_args.extend([
                "range-diff".into(),
                format!("{old_base}..{old}"),
                format!("{new_base}..{head}"),
            ]);
        }
    }
    let status = ctx.forge.git().command(&git_args).status()?;
    if !status.success() {
        return Err(CommandError::user(format!(
            "git {} failed",
            git_args.join(" ")
        )));
    }
    Ok(())
}

//! `git mr label`.

use git_mr::store::Depth;

use super::{CommandError, CommandResult, Ctx, Found};

/// Add or remove labels.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// A label to add; repeatable.
    #[arg(long = "add", value_name = "L")]
    add: Vec<String>,
    /// A label to remove; repeatable.
    #[arg(long = "remove", value_name = "L")]
    remove: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    if args.add.is_empty() && args.remove.is_empty() {
        return Err(CommandError::user("nothing to do").hint("use --add L or --remove L"));
    }
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let done =
        git_mr::ops::label(&ctx.forge, &id, &args.add, &args.remove).map_err(|e| ctx.explain(e))?;
    let c = done.value;
    if c.added.is_empty() && c.removed.is_empty() {
        ctx.ui.note(&format!("{id}: labels unchanged"));
    } else {
        let mut parts: Vec<String> = c.added.iter().map(|l| format!("+{l}")).collect();
        parts.extend(c.removed.iter().map(|l| format!("-{l}")));
        ctx.ui.note(&format!("{id}: {}", parts.join(" ")));
    }
    Ok(())
}

//! `git mr comment`: a comment, a line comment, a reply; or an edit or retraction
//! of one's own.

use super::ui::Draft;
use std::path::PathBuf;

use git_mr::ops::LineTarget;
use git_mr::store::Depth;
use git_mr::thread::{Anchor, Side};

use super::{ui, CommandError, CommandResult, Ctx, Found};

/// Comment on a merge request (on a line of its diff with --path and --line), or
/// edit or retract a comment of yours.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
git mr comment 1 -m \"Looks good\"\n  \
git mr comment 1 --path src/parse.rs --line 42 -m \"This panics on empty input\"\n  \
git mr comment 1 --path old.rs --line 7 --side old --revision 2 -F review.txt\n  \
git mr comment 1 --reply-to bob/3 -m \"Done\"\n  \
git mr comment 1 --edit me/3 -m \"Done, in v3\"      # a new version; the old stays in --history\n  \
git mr comment 1 --retract me/3\n\n\
A line comment is bound to its revision (the newest unless --revision): `show` and `diff`\n\
print it under its line in that revision's diff, and it stays there when later revisions\n\
move the line.")]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The comment (several -m are paragraphs).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read the comment from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The comment this one answers, <who>/<k>: a fingerprint prefix (8 hex
    /// digits or more), a name or e-mail from a key, or `me`, then the number.
    #[arg(long, value_name = "WHO/K")]
    reply_to: Option<String>,
    /// A line comment on this file (as the revision's diff names it).
    #[arg(long, value_name = "PATH", requires = "line")]
    path: Option<String>,
    /// The line of --path, from 1.
    #[arg(long, value_name = "N", requires = "path")]
    line: Option<u32>,
    /// Which side of the change the line number counts in: `new` (the revision's
    /// file) or `old` (the file it changes, for a removed line).
    #[arg(long, value_enum, default_value = "new", requires = "path")]
    side: SideArg,
    /// The revision the line comment is about (default: the newest).
    #[arg(long, value_name = "K", requires = "path")]
    revision: Option<u32>,
    /// Replace the text of your comment WHO/K with a new version (the old
    /// versions stay: `git mr show --history`).
    #[arg(long, value_name = "WHO/K", conflicts_with_all = ["reply_to", "path", "retract"])]
    edit: Option<String>,
    /// Take back your comment WHO/K: it shows as retracted (its versions stay
    /// in the history: nothing on the data branch is ever deleted).
    #[arg(long, value_name = "WHO/K", conflicts_with_all = ["reply_to", "path", "message", "file"])]
    retract: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SideArg {
    Old,
    New,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    if let Some(spec) = &args.retract {
        let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
        let done = git_mr::review_ops::edit_comment(&ctx.forge, &id, spec, None)
            .map_err(|e| ctx.explain(e))?;
        let (who, k, _) = done.value;
        println!("retracted comment {who}/{k} on {id}");
        return Ok(());
    }
    if let Some(spec) = &args.edit {
        return edit(ctx, &args, spec);
    }
    let Found { id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let line = match (&args.path, args.line) {
        (Some(path), Some(n)) => {
            let side = match args.side {
                SideArg::Old => Side::Old,
                SideArg::New => Side::New,
            };
            let anchor = Anchor::new(path, n, side)
                .map_err(|e| CommandError::user(format!("--path {path} --line {n}: {e}")))?;
            Some(LineTarget {
                anchor,
                revision: args.revision,
            })
        }
        _ => None,
    };
    let about = match &line {
        Some(l) => format!("line {} of {id}", l.anchor),
        None => id.to_string(),
    };
    let template =
        format!("\n# Your comment on {about}.\n# Lines starting with '#' are ignored.\n");
    let body = ui::message(&ctx.forge, &args.message, args.file.as_ref(), &template)?
        .ok_or_else(|| CommandError::user("aborted: empty comment"))?;
    if body.text.trim().is_empty() {
        return Err(CommandError::user("empty comment: nothing was posted")
            .hint("write something with -m MSG, -F FILE or in the editor"));
    }
    let done = git_mr::ops::comment(
        &ctx.forge,
        &id,
        &body.text,
        args.reply_to.as_deref(),
        line.as_ref(),
    )
    .map_err(|e| body.keep_on_error(ctx.explain(e)))?;
    body.done();
    // Not `<FPR>/<k>` alone, which reads like a merge request's name.
    println!("comment {}/{} on {id}", ctx.forge.me()?, done.value);
    Ok(())
}

fn edit(ctx: &Ctx, args: &Args, spec: &str) -> CommandResult {
    let Found {
        snapshot,
        people,
        id,
    } = ctx.find(&args.mr, Depth::Full)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    let me = ctx.forge.me().ok();
    // The editor starts from the text as it stands.
    let current = git_mr::ops::find_comment(mr, &people, me.as_ref(), spec)
        .map(|c| c.body.clone())
        .unwrap_or_default();
    let template = format!(
        "{current}\n# The new text of comment {spec} on {id}; the old one stays in its history.\n# Lines starting with '#' are ignored.\n"
    );
    let body = ui::message(&ctx.forge, &args.message, args.file.as_ref(), &template)?
        .ok_or_else(|| CommandError::user("aborted: the text was left as it was"))?;
    let done = git_mr::review_ops::edit_comment(&ctx.forge, &id, spec, Some(&body.text))
        .map_err(|e| body.keep_on_error(ctx.explain(e)))?;
    body.done();
    let (who, k, v) = done.value;
    println!("edited comment {who}/{k} on {id} (version {v})");
    Ok(())
}

//! `git mr edit`: a new title and/or description, kept next to the old ones.

use super::ui::Draft;
use git_mr::Item;
use std::path::PathBuf;

use git_mr::store::Depth;

use super::{ui, CommandError, CommandResult, Ctx, Found};

/// Change the title and/or description of your merge request (the old versions
/// stay: `git mr show --history`).
#[derive(clap::Args)]
#[command(
    after_help = "With neither -t, -m nor -F, the editor opens on the title (first line)\n\
and the description (the rest). Nothing on the data branch is rewritten: each edit is a\n\
new file under your own id, and `show` marks what was edited."
)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The new title.
    #[arg(short, long)]
    title: Option<String>,
    /// The new description (several -m are paragraphs).
    #[arg(short, long = "message", value_name = "MSG", conflicts_with = "file")]
    message: Vec<String>,
    /// Read the new description from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found { snapshot, id, .. } = ctx.find(&args.mr, Depth::Summary)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    let no_text = args.message.is_empty() && args.file.is_none();
    let (title, message) = if args.title.is_some() && no_text {
        (args.title.clone(), None)
    } else if no_text {
        let description = mr.description().map(|c| c.body.as_str()).unwrap_or("");
        let template = format!(
            "{}\n\n{description}\n# The first line is the title, the rest the description of {id}.\n# Lines starting with '#' are ignored; a text left as it was aborts.\n",
            mr.title
        );
        let m = ui::message(&ctx.forge, &[], None, &template)?
            .ok_or_else(|| CommandError::user("aborted: the text was left as it was"))?;
        let (t, rest) = m.text.split_once('\n').unwrap_or((&m.text, ""));
        let description = rest.trim_start_matches('\n').to_owned();
        let title = Some(t.trim().to_owned());
        (title, Some((m, Some(description))))
    } else {
        let m = ui::message(&ctx.forge, &args.message, args.file.as_ref(), "")?
            .ok_or_else(|| CommandError::user("aborted: no description"))?;
        let text = m.text.clone();
        (args.title.clone(), Some((m, Some(text))))
    };
    let description = message.as_ref().and_then(|(_, d)| d.clone());
    let done = git_mr::review_ops::edit(&ctx.forge, &id, title.as_deref(), description.as_deref())
        .map_err(|e| match &message {
            Some((m, _)) => m.keep_on_error(ctx.explain(e)),
            None => ctx.explain(e),
        })?;
    if let Some((m, _)) = &message {
        m.done();
    }
    let e = done.value;
    let mut what = Vec::new();
    if let Some(v) = e.title {
        what.push(format!("title (version {v})"));
    }
    if let Some(v) = e.description {
        what.push(format!("description (version {v})"));
    }
    if what.is_empty() {
        ctx.ui.note(&format!("{id}: nothing changed"));
    } else {
        println!("edited {id}: {}", what.join(", "));
    }
    Ok(())
}

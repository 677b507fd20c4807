//! `git mr labels`: the label names there are, with their descriptions; and
//! `--create` for maintainers.

use git_mr::store::Depth;

use super::{ui, CommandError, CommandResult, Ctx};

/// List the labels with their descriptions, or create one (maintainers).
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  git mr labels\n  git mr labels --create wontfix -m \"We will not do this.\""
)]
pub struct Args {
    /// Create the label NAME (maintainers): labels are never made by a typo in
    /// `git mr label --add`.
    #[arg(long, value_name = "NAME")]
    create: Option<String>,
    /// The new label's description.
    #[arg(
        short,
        long = "message",
        value_name = "DESCRIPTION",
        requires = "create"
    )]
    message: Option<String>,
    /// Print JSON: [{"name", "description"}].
    #[arg(long, conflicts_with = "create")]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    ctx.refresh();
    if let Some(name) = &args.create {
        let description = args.message.clone().unwrap_or_default();
        git_mr::ops::create_label(&ctx.forge, name, &description).map_err(|e| ctx.explain(e))?;
        ctx.ui.note(&format!("label `{name}` created"));
        return Ok(());
    }
    let snapshot = ctx.snapshot(Depth::Summary)?;
    if args.json {
        let list: Vec<serde_json::Value> = snapshot
            .labels
            .iter()
            .map(|(name, d)| serde_json::json!({"name": name, "description": d}))
            .collect();
        return Ok(ctx.ui.json(&list)?);
    }
    if snapshot.labels.is_empty() {
        return Err(CommandError::user("no labels yet")
            .hint("maintainers make them: git mr labels --create NAME -m DESCRIPTION"));
    }
    let width = snapshot.labels.keys().map(|l| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, description) in &snapshot.labels {
        let first = description.lines().next().unwrap_or("");
        out.push_str(&format!(
            "{}  {}\n",
            ctx.ui.bold(&format!("{name:<width$}")),
            ui::clean_line(first)
        ));
    }
    ui::print(&out)
}

//! `git mr search`.

use serde_json::{json, Value};

use super::{ui, CommandResult, Ctx};

/// Find text in titles and comments (case-insensitive).
#[derive(clap::Args)]
pub struct Args {
    text: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    ctx.refresh();
    if ctx.forge.data_tip()?.is_none() {
        return Err(ctx.forge.app().no_data_branch(ctx.forge.remote()).into());
    }
    let hits = git_mr::search::search(&ctx.forge, &args.text)?;
    if args.json {
        let list: Vec<Value> = hits
            .iter()
            .map(|h| {
                json!({
                    "id": h.id.to_string(),
                    "title": h.title,
                    "matches": h.matches.iter().map(|m| m.line.clone()).collect::<Vec<_>>(),
                    "locations": h.matches.iter().map(|m| json!({"where": m.location, "line": m.line})).collect::<Vec<_>>(),
                })
            })
            .collect();
        return Ok(ctx.ui.json(&Value::Array(list))?);
    }
    if hits.is_empty() {
        ctx.ui.note("no matches");
        return Ok(());
    }
    let mut out = String::new();
    for h in hits {
        out.push_str(&format!(
            "{} {}\n",
            ctx.ui
                .bold(&format!("{}/{}", h.id.author.short(), h.id.number)),
            ctx.ui.bold(&h.title)
        ));
        for m in h.matches {
            out.push_str(&format!(
                "    {}: {}\n",
                ctx.ui.dim(&m.location),
                ui::clean(&m.line)
            ));
        }
    }
    ui::print(&out)?;
    Ok(())
}

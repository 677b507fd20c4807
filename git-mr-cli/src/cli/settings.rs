//! `git mr settings`: what `git mr merge` requires (maintainers change it).

use git_mr::review::{Settings, SETTINGS_PATH};
use git_mr::store::Depth;

use super::{CommandResult, Ctx};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Ci {
    /// CI's pass on the merged revision.
    Pass,
    /// Nothing from CI.
    None,
}

/// Show or change what `git mr merge` requires (maintainers change it).
#[derive(clap::Args)]
#[command(
    after_help = "Without options: print the settings. The settings live in settings/merge on the\n\
data branch; without that file, merging requires nothing.\n\n\
`git mr merge` checks them on the revision it merges: approvals by maintainers other than\n\
the author (votes that stand, on that revision), no standing request for changes by a\n\
maintainer (when approvals are required), and CI's pass (from the `ci` group's results, not\n\
from labels). It refuses otherwise, naming what is missing, unless --force.\n\n\
The server runs no application code and cannot enforce this: whoever may push the target\n\
branch can merge by hand. The settings keep honest people from merging by mistake.\n\n\
Examples:\n  git mr settings --approvals 2 --ci pass\n  git mr settings --approvals 0 --ci none"
)]
pub struct Args {
    /// Require this many approvals by maintainers (0: none).
    #[arg(long, value_name = "N")]
    approvals: Option<u32>,
    /// Require CI's pass on the merged revision (`pass`), or not (`none`).
    #[arg(long, value_enum)]
    ci: Option<Ci>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let settings = if args.approvals.is_none() && args.ci.is_none() {
        ctx.refresh();
        ctx.snapshot(Depth::Summary)?.settings
    } else {
        let done = git_mr::review_ops::set_settings(
            &ctx.forge,
            args.approvals,
            args.ci.map(|c| c == Ci::Pass),
        )
        .map_err(|e| ctx.explain(e))?;
        if done.commit.is_none() {
            ctx.ui.note("the settings say that already: nothing to do");
        }
        Some(done.value)
    };
    if args.json {
        return Ok(ctx.ui.json(&serde_json::json!({
            "file": SETTINGS_PATH,
            "present": settings.is_some(),
            "settings": settings,
        }))?);
    }
    print!("{}", describe(settings.as_ref()));
    Ok(())
}

/// The settings as people read them, one requirement a line.
pub fn describe(settings: Option<&Settings>) -> String {
    let Some(s) = settings else {
        return format!("merging requires nothing (no {SETTINGS_PATH})\n");
    };
    let mut out = String::new();
    out.push_str(&format!(
        "approvals: {} by maintainers other than the author\n",
        s.approvals
    ));
    out.push_str(&format!(
        "ci:        {}\n",
        if s.ci_pass {
            "pass on the merged revision"
        } else {
            "not required"
        }
    ));
    for (k, v) in &s.unknown {
        out.push_str(&format!(
            "unknown:   {}: {} (this git mr does not know it: merges refuse)\n",
            super::ui::clean_line(k),
            super::ui::clean_line(v)
        ));
    }
    if let Some(p) = &s.malformed {
        out.push_str(&format!(
            "malformed: {} (merges refuse until a maintainer rewrites it)\n",
            super::ui::clean_line(p)
        ));
    }
    out
}

//! `git mr diff`: a revision's changes against its target, with the line comments
//! written on it under their lines; or what changed between two revisions: the
//! content (interdiff), or the commits the way `git range-diff` shows them.

use git_mr::diff::{self as mrdiff, FileDiff, LineKind};
use git_mr::model::header;
use git_mr::people::People;
use git_mr::store::Depth;
use git_mr::thread::Anchor;
use git_mr::{Comment, MergeRequest};

use super::{ui, CommandError, CommandResult, Ctx, Found};

/// Show a revision's diff with its line comments, or what changed since revision J.
#[derive(clap::Args)]
#[command(
    after_help = "Without --since: the revision's diff against its merge base with the target,\n\
each line comment written on that revision (and the replies to it) under its line.\n\
Comments written on other revisions stay with the revision they were written on\n\
(`--revision J` shows them): lines move between revisions.\n\n\
With --since J: the interdiff, `git diff vJ vK` limited to the paths that either revision\n\
changes against its own merge base with the target: what the author changed in the\n\
merge request's files. After a rebase onto a target that changed those paths too, the\n\
target's changes in them show as well; --range-diff compares the commits instead\n\
(`git range-diff`), which tells a rebase from a change.\n\n\
The comments make the output no patch: --no-comments for one that `git apply` takes."
)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// The revision (default: the newest).
    #[arg(long, value_name = "K")]
    revision: Option<u32>,
    /// Show what changed since revision J (the interdiff).
    #[arg(long, value_name = "J")]
    since: Option<u32>,
    /// With --since: compare the commits of the two revisions (git range-diff).
    #[arg(long, requires = "since")]
    range_diff: bool,
    /// Leave the line comments out.
    #[arg(long)]
    no_comments: bool,
}

fn git_color_args() -> Vec<String> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        vec!["-c".into(), "color.ui=never".into()]
    } else {
        Vec::new()
    }
}

/// Run git with the terminal as its output (its colors, its pager settings).
fn run_git(ctx: &Ctx, args: Vec<String>) -> CommandResult {
    let status = ctx.forge.git().command(&args).status()?;
    if !status.success() {
        return Err(CommandError::user(format!("git {} failed", args.join(" "))));
    }
    Ok(())
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found {
        snapshot,
        people,
        id,
    } = ctx.find_fetching(&args.mr, Depth::Full, true)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    let k = match args.revision {
        Some(k) => k,
        None => mr
            .latest_revision()
            .map(|r| r.number)
            .ok_or_else(|| CommandError::user(format!("{id} has no revision")))?,
    };
    let head = mrdiff::revision_commit(&ctx.forge, mr, k)?;
    if let Some(j) = args.since {
        if args.range_diff {
            let old = mrdiff::revision_commit(&ctx.forge, mr, j)?;
            let base = |c| -> CommandResult<String> {
                Ok(match mrdiff::revision_base(&ctx.forge, mr, &people, c)? {
                    Some(b) => b.to_string(),
                    None => format!("{c}^"),
                })
            };
            let mut git_args = git_color_args();
            git_args.extend([
                "range-diff".into(),
                format!("{}..{old}", base(old)?),
                format!("{}..{head}", base(head)?),
            ]);
            return run_git(ctx, git_args);
        }
        let inter = mrdiff::interdiff(&ctx.forge, mr, &people, j, k)?;
        if inter.paths.is_empty() {
            ctx.ui
                .note(&format!("v{j} and v{k} change no file against the target"));
            return Ok(());
        }
        if inter.text.is_empty() {
            ctx.ui.note(&format!(
                "v{k} changes nothing since v{j} in the files they change (a rebase, or the same content)"
            ));
        }
        return ui::print(&paint(ctx, &inter.text));
    }
    let base = mrdiff::revision_base(&ctx.forge, mr, &people, head)?;
    let comments = if args.no_comments {
        Vec::new()
    } else {
        line_threads(mr, k)
    };
    note_other_revisions(ctx, mr, k, args.no_comments);
    if comments.is_empty() {
        // Nothing to add: git's own output, colors and all.
        let mut git_args = git_color_args();
        git_args.push("diff".into());
        git_args.push(match base {
            Some(b) => b.to_string(),
            None => gix::ObjectId::empty_tree(ctx.forge.repo().object_hash()).to_string(),
        });
        git_args.push(head.to_string());
        return run_git(ctx, git_args);
    }
    let text = mrdiff::unified(&ctx.forge, base, head, None)?;
    let files = mrdiff::parse(&text);
    ui::print(&render(ctx, &people, &files, &comments))
}

/// The line comments written on revision `k`, each with the replies to it
/// (and to those), in the comments' order.
pub fn line_threads(mr: &MergeRequest, k: u32) -> Vec<(Anchor, Vec<&Comment>)> {
    let mut threads: Vec<(Anchor, Vec<&Comment>)> = Vec::new();
    let mut replies: Vec<(&Comment, &str)> = Vec::new();
    for c in &mr.comments {
        if c.revision() == Some(k) {
            if let Some(Ok(a)) = c.anchor() {
                threads.push((a, vec![c]));
                continue;
            }
        }
        if let Some(parent) = c.header(header::IN_REPLY_TO) {
            replies.push((c, parent));
        }
    }
    // Comments written in the same second sort by author, so a reply may come
    // before what it answers: attach until nothing more finds its thread.
    loop {
        let before = replies.len();
        replies.retain(|(c, parent)| {
            match threads
                .iter_mut()
                .find(|(_, t)| t.iter().any(|p| p.reference() == *parent))
            {
                Some((_, thread)) => {
                    thread.push(c);
                    false
                }
                None => true,
            }
        });
        if replies.len() == before {
            break;
        }
    }
    threads
}

/// Say (on stderr) where the line comments of other revisions are.
fn note_other_revisions(ctx: &Ctx, mr: &MergeRequest, k: u32, hidden: bool) {
    let mut others: Vec<u32> = mr
        .comments
        .iter()
        .filter(|c| matches!(c.anchor(), Some(Ok(_))))
        .filter_map(|c| c.revision())
        .filter(|r| *r != k || hidden)
        .collect();
    others.sort();
    others.dedup();
    for r in others {
        let n = mr
            .comments
            .iter()
            .filter(|c| c.revision() == Some(r) && matches!(c.anchor(), Some(Ok(_))))
            .count();
        ctx.ui.note(&format!(
            "{n} line comment{} on v{r}: git mr diff {} --revision {r}",
            if n == 1 { "" } else { "s" },
            mr.id
        ));
    }
}

/// Diff text as the terminal shows it: colored, and cleaned of terminal
/// controls (the files are anyone's); as it is into a pipe.
fn paint(ctx: &Ctx, text: &str) -> String {
    if !ctx.ui.is_color() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&paint_line(ctx, line));
        out.push('\n');
    }
    out
}

fn paint_line(ctx: &Ctx, line: &str) -> String {
    if !ctx.ui.is_color() {
        return line.to_owned();
    }
    let code =
        if line.starts_with("diff --git") || line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with("@@") {
            "36"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else {
            return ui::clean_line(line).into_owned();
        };
    ctx.ui.paint_code(code, line)
}

/// The diff with each thread under its line; threads whose line the diff does
/// not show come after their file, and those on files it does not show at the end.
fn render(
    ctx: &Ctx,
    people: &People,
    files: &[FileDiff],
    threads: &[(Anchor, Vec<&Comment>)],
) -> String {
    let mut out = String::new();
    let mut shown = vec![false; threads.len()];
    for f in files {
        for h in &f.header {
            out.push_str(&paint_line(ctx, h));
            out.push('\n');
        }
        for (hi, hunk) in f.hunks.iter().enumerate() {
            out.push_str(&paint_line(ctx, &hunk.header));
            out.push('\n');
            for (li, line) in hunk.lines.iter().enumerate() {
                out.push_str(&paint_line(ctx, &line.text));
                out.push('\n');
                if line.kind == LineKind::Note {
                    continue;
                }
                for (ti, (a, thread)) in threads.iter().enumerate() {
                    if !shown[ti] && f.locate(a) == Some((hi, li)) {
                        shown[ti] = true;
                        push_thread(ctx, people, &mut out, None, thread);
                    }
                }
            }
        }
        for (ti, (a, thread)) in threads.iter().enumerate() {
            if !shown[ti] && f.holds(a) {
                shown[ti] = true;
                push_thread(ctx, people, &mut out, Some(a), thread);
            }
        }
    }
    for (ti, (a, thread)) in threads.iter().enumerate() {
        if !shown[ti] {
            push_thread(ctx, people, &mut out, Some(a), thread);
        }
    }
    out
}

/// One line comment and its replies, boxed; `at` names the line when the diff
/// does not show it there.
fn push_thread(
    ctx: &Ctx,
    people: &People,
    out: &mut String,
    at: Option<&Anchor>,
    thread: &[&Comment],
) {
    for (i, c) in thread.iter().enumerate() {
        let mut meta = ui::comment_meta(people, c);
        if i == 0 {
            if let Some(a) = at {
                meta.push_str(&format!(" · on {a} (not in the diff's context)"));
            }
        } else {
            meta.push_str(" · reply");
        }
        if c.is_retracted() {
            meta.push_str(" · retracted");
        } else if c.is_edited() {
            meta.push_str(" · (edited)");
        }
        let corner = if i == 0 { "╭─" } else { "├─" };
        out.push_str(&format!(
            "    {}\n",
            ctx.ui.dim(&format!("{corner} {}", ui::clean_line(&meta)))
        ));
        let body = if c.is_retracted() {
            "(retracted)"
        } else {
            &c.body
        };
        for line in ui::clean(body).lines() {
            out.push_str(&format!("    │ {line}\n"));
        }
    }
    out.push_str(&format!("    {}\n", ctx.ui.dim("╰─")));
}

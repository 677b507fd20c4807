//! `git mr show`.

use super::ui::MrUi;
use git_mr::model::header;
use git_mr::people::People;
use git_mr::policy::Roles;
use git_mr::review::{self, Settings};
use git_mr::store::Depth;
use git_mr::thread::{vote, Anchor, Comment, Side, Verdict, Vote};
use git_mr::Item;
use git_mr::{Forge, MergeRequest};
use serde_json::{json, Value};

use super::{list, ui, CommandResult, Ctx, Found};

/// Show a merge request with its comments, votes and what a merge needs.
#[derive(clap::Args)]
#[command(
    after_help = "Edited texts show their newest version, marked (edited); --history shows\n\
every version. Line comments show the line they are about, in the revision they were\n\
written on. Votes on an older revision than the newest are marked stale."
)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// Show every version of edited titles and comments.
    #[arg(long)]
    history: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

use gitapps_cli::json::versions as versions_json;

/// The core's comment JSON, with what a merge request adds: the line a
/// comment is about, and a CI result (only from the `ci` group; anyone
/// else's is in `headers` only).
pub fn comment_json(c: &Comment, people: &People) -> Value {
    let mut map = gitapps_cli::json::comment(c, people);
    let anchor = match c.anchor() {
        Some(Ok(a)) => json!({"path": a.path, "line": a.line, "side": a.side}),
        _ => Value::Null,
    };
    map.insert(
        "ci_status".into(),
        json!(c
            .header(header::CI_STATUS)
            .filter(|_| people.is_ci(&c.author))),
    );
    map.insert("anchor".into(), anchor);
    Value::Object(map)
}

fn vote_json(v: &Vote, stale: bool, standing: bool, people: &People) -> Value {
    json!({
        "voter": v.voter.to_string(),
        "voter_name": ui::name_json(people, &v.voter),
        "maintainer": people.is_maintainer(&v.voter),
        "index": v.index,
        "date": git_mr::clock::format(&v.date),
        "revision": v.revision,
        "vote": v.verdict,
        "body": v.body,
        "standing": standing,
        "stale": stale,
    })
}

pub fn show_json(mr: &MergeRequest, people: &People, settings: Option<&Settings>) -> Value {
    let mut v = list::summary_json(mr, people);
    let obj = v.as_object_mut().expect("summary_json makes an object");
    obj.insert(
        "description".into(),
        Value::String(mr.description().map(|c| c.body.clone()).unwrap_or_default()),
    );
    obj.insert("title_history".into(), versions_json(&mr.title_history));
    obj.insert(
        "revision_commits".into(),
        Value::Array(
            mr.revisions
                .iter()
                .map(|r| json!({"number": r.number, "commit": r.commit.to_string()}))
                .collect(),
        ),
    );
    obj.insert(
        "comments".into(),
        Value::Array(
            mr.comments
                .iter()
                .map(|c| comment_json(c, people))
                .collect(),
        ),
    );
    let newest = mr.latest_revision().map(|r| r.number);
    let standing = vote::standing(&mr.votes, newest);
    obj.insert(
        "votes".into(),
        Value::Array(
            mr.votes
                .iter()
                .map(|v| {
                    let s = standing.iter().find(|s| std::ptr::eq(s.vote, v));
                    vote_json(v, Some(v.revision) != newest, s.is_some(), people)
                })
                .collect(),
        ),
    );
    let missing = newest
        .map(|k| review::missing(settings, mr, people, k))
        .unwrap_or_default();
    obj.insert(
        "merge_requirements".into(),
        json!({"settings": settings, "missing": missing}),
    );
    v
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found {
        snapshot,
        people,
        id,
    } = ctx.find(&args.mr, Depth::Full)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    if args.json {
        return Ok(ctx
            .ui
            .json(&show_json(mr, &people, snapshot.settings.as_ref()))?);
    }
    let now = git_mr::clock::now()?;
    let mut out = String::new();
    let edited = if mr.title_history.is_empty() {
        String::new()
    } else {
        format!(" {}", ctx.ui.dim("(edited)"))
    };
    out.push_str(&format!(
        "{} {}{edited}  [{}]\n",
        ctx.ui.bold(&ui::short_id(mr)),
        ctx.ui.bold(&mr.title),
        ctx.ui.state(mr.state())
    ));
    if args.history && !mr.title_history.is_empty() {
        for v in &mr.title_history {
            out.push_str(&format!(
                "  title v{} {}: {}\n",
                v.version,
                git_mr::clock::format(&v.date),
                ui::clean_line(v.text.as_deref().unwrap_or(""))
            ));
        }
    }
    out.push_str(&format!("id:        {}\n", mr.id));
    out.push_str(&format!(
        "author:    {}\n",
        ui::clean(&people.display(&mr.id.author))
    ));
    out.push_str(&format!("target:    {}\n", ui::clean(&mr.target)));
    let revs: Vec<String> = mr
        .revisions
        .iter()
        .map(|r| format!("v{} {}", r.number, r.commit.to_hex_with_len(12)))
        .collect();
    out.push_str(&format!("revisions: {}\n", revs.join(", ")));
    out.push_str(&format!(
        "labels:    {}\n",
        ui::clean(&mr.labels.join(", "))
    ));
    if !mr.fixes.is_empty() {
        let issues: Vec<String> = mr
            .fixes
            .iter()
            .map(|i| format!("{}/{}", i.author.short(), i.number))
            .collect();
        out.push_str(&format!(
            "fixes:     {} (issues: git issue show NAME)\n",
            issues.join(", ")
        ));
    }
    let newest = mr.latest_revision().map(|r| r.number);
    if let Some(ci) = review::newest_ci_result(mr, &people) {
        out.push_str(&format!(
            "ci:        {} (v{})\n",
            ctx.ui.ci(Some(&ci.status)),
            ci.revision
        ));
    }
    for s in vote::standing(&mr.votes, newest) {
        out.push_str(&format!(
            "vote:      {}\n",
            vote_line(ctx, &people, mr, s.vote, s.stale)
        ));
    }
    let open = mr.state() == git_mr::State::Open;
    if let (Some(settings), Some(k), true) = (snapshot.settings.as_ref(), newest, open) {
        let missing = review::missing(Some(settings), mr, &people, k);
        let text = if missing.is_empty() {
            format!("met for v{k}")
        } else {
            let what: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
            format!("v{k} lacks {}", what.join("; "))
        };
        out.push_str(&format!("merge:     {}\n", ui::clean_line(&text)));
    }
    if let Some(created) = mr.created() {
        out.push_str(&format!(
            "created:   {} ({})\n",
            git_mr::clock::format(&created),
            ui::age(created, now)
        ));
    }
    if let Some(d) = mr.description() {
        if d.is_edited() {
            out.push_str(&format!(
                "\n    {}\n",
                ctx.ui.dim(if d.is_retracted() {
                    "(description retracted)"
                } else {
                    "(description edited)"
                })
            ));
        } else if !d.body.trim().is_empty() {
            out.push('\n');
        }
        push_body(&mut out, d);
        if args.history {
            push_history(ctx, &mut out, d);
        }
    }
    let mut entries: Vec<Entry> = mr
        .comments
        .iter()
        .filter(|c| !(c.index == 0 && c.author == mr.id.author))
        .map(Entry::Comment)
        .collect();
    entries.extend(mr.votes.iter().map(Entry::Vote));
    entries.sort_by_key(|e| e.date());
    for e in entries {
        match e {
            Entry::Comment(c) => push_comment(ctx, &mut out, mr, &people, c, args.history),
            Entry::Vote(v) => {
                let stale = Some(v.revision) != newest;
                out.push_str(&format!(
                    "\n{}\n",
                    ctx.ui.dim(&format!(
                        "--- {} · {}",
                        vote_line(ctx, &people, mr, v, stale),
                        git_mr::clock::format(&v.date)
                    ))
                ));
                for line in ui::clean(&v.body).lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    ui::print(&out)?;
    Ok(())
}

/// The timeline: comments and votes by date.
enum Entry<'m> {
    Comment(&'m Comment),
    Vote(&'m Vote),
}

impl Entry<'_> {
    fn date(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Entry::Comment(c) => c.date,
            Entry::Vote(v) => v.date,
        }
    }
}

/// `Bob (ABCD1234, maintainer) approved v2 (stale)`
fn vote_line(ctx: &Ctx, people: &People, mr: &MergeRequest, v: &Vote, stale: bool) -> String {
    let what = match v.verdict {
        Verdict::Approve => format!("approved v{}", v.revision),
        Verdict::RequestChanges => format!("requested changes on v{}", v.revision),
        Verdict::None => format!("withdrew their vote (v{})", v.revision),
    };
    let mut line = format!("{} {what}", ui::clean_line(&people.display(&v.voter)));
    if v.voter == mr.id.author {
        line.push_str(" as the author (not counted)");
    } else if people.is_maintainer(&v.voter) {
        line.push_str(" as a maintainer");
    }
    if stale && v.verdict != Verdict::None {
        line.push_str(&format!(
            " {}",
            ctx.ui.dim("(stale: a newer revision exists)")
        ));
    }
    line
}

fn push_body(out: &mut String, c: &Comment) {
    if c.is_retracted() {
        out.push_str("    (retracted)\n");
        return;
    }
    for line in ui::clean(&c.body).lines() {
        out.push_str(&format!("    {line}\n"));
    }
}

fn push_history(ctx: &Ctx, out: &mut String, c: &Comment) {
    for v in &c.history {
        out.push_str(&format!(
            "    {}\n",
            ctx.ui.dim(&format!(
                "~~~ version {} · {}{}",
                v.version,
                git_mr::clock::format(&v.date),
                if v.text.is_none() {
                    " · retracted"
                } else {
                    ""
                }
            ))
        ));
        for line in ui::clean(v.text.as_deref().unwrap_or("")).lines() {
            out.push_str(&format!("    | {line}\n"));
        }
    }
}

fn push_comment(
    ctx: &Ctx,
    out: &mut String,
    mr: &MergeRequest,
    people: &People,
    c: &Comment,
    history: bool,
) {
    let mut meta = ui::comment_meta(people, c);
    if let Some(r) = c.revision() {
        meta.push_str(&format!(" · v{r}"));
    }
    let anchor = c.anchor();
    if let Some(Ok(a)) = &anchor {
        meta.push_str(&format!(" · {a}"));
    }
    if let Some(r) = c.header(header::IN_REPLY_TO) {
        meta.push_str(&format!(" · reply to {}", short_ref(r)));
    }
    if c.is_retracted() {
        meta.push_str(" · retracted");
    } else if c.is_edited() {
        meta.push_str(" · (edited)");
    }
    // Only the `ci` group reports CI: anyone else's CI-* headers are shown
    // as what they are, headers of an ordinary comment, under it.
    let from_ci = people.is_ci(&c.author);
    let mut extra = Vec::new();
    for (k, v) in &c.headers {
        let known = header::is_place(k);
        if from_ci && k.starts_with("CI-") {
            meta.push_str(&format!(" · CI result {k}: {v}"));
        } else if !known {
            extra.push(format!("{k}: {v}"));
        }
    }
    out.push_str(&format!("\n{}\n", ctx.ui.dim(&format!("--- {meta}"))));
    match anchor {
        Some(Ok(a)) => {
            if let Some(line) = c
                .revision()
                .and_then(|k| anchored_line(&ctx.forge, mr, people, k, &a))
            {
                out.push_str(&format!(
                    "    {}\n",
                    ctx.ui
                        .dim(&format!("{:>5} | {}", a.line, ui::clean_line(&line)))
                ));
            }
        }
        Some(Err(e)) => extra.push(format!("(a malformed line anchor: {e})")),
        None => {}
    }
    for h in extra {
        out.push_str(&format!("    [{}]\n", ui::clean_line(&h)));
    }
    push_body(out, c);
    if history {
        push_history(ctx, out, c);
    }
}

/// The text of the line `a` is about, in revision `k` (or in what it changes).
fn anchored_line(
    forge: &Forge,
    mr: &MergeRequest,
    people: &People,
    k: u32,
    a: &Anchor,
) -> Option<String> {
    let head = git_mr::diff::revision_commit(forge, mr, k).ok()?;
    let commit = match a.side {
        Side::New => head,
        Side::Old => git_mr::diff::revision_base(forge, mr, people, head).ok()??,
    };
    let lines = git_mr::diff::file_lines(forge.repo(), commit, &a.path).ok()??;
    lines.get(a.line as usize - 1).cloned()
}

/// `<FPR>/<k>` shortened to the 8-digit prefix; anything else (the header
/// is written by anyone) as it is.
fn short_ref(r: &str) -> String {
    match r.split_once('/') {
        Some((a, k)) if a.len() > 8 && a.is_ascii() => format!("{}/{k}", &a[..8]),
        _ => r.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::short_ref;

    #[test]
    fn short_ref_never_cuts_inside_a_character() {
        let fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
        assert_eq!(short_ref(&format!("{fpr}/3")), "01234567/3");
        // The header is anyone's text: no panic on multi-byte characters.
        assert_eq!(short_ref("aéééééé/0"), "aéééééé/0");
        assert_eq!(short_ref("no slash"), "no slash");
    }
}

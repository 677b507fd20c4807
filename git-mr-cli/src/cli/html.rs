//! The static web view that `git mr export --html` writes: plain HTML pages and one
//! shared CSS file, relative links only, no JavaScript.
//!
//! Everything read from the data branch or from a key — titles, targets, labels and
//! their descriptions, comment headers and bodies, people's names — is untrusted input
//! from any user, and reaches the page only through [`escape`]. Attribute values and
//! link targets are built from fingerprints (hex) and numbers only, checked here.
//! A Content-Security-Policy allowing nothing but the stylesheet is the second line of
//! defence.

use git_mr::policy::Roles;
use git_mr::Item;
use std::fmt::Write as _;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use git_mr::diff::{FileDiff, LineKind};
use git_mr::model::header;
use git_mr::people::People;
use git_mr::review;
use git_mr::store::Snapshot;
use git_mr::thread::{vote, Verdict};
use git_mr::{Comment, Fingerprint, MergeRequest, MrId, State};

use super::ui;

/// The index page, at the site's root.
pub const INDEX: &str = "index.html";
/// The shared stylesheet, at the site's root.
pub const STYLE: &str = "style.css";
/// The directory of the merge requests' pages.
pub const MR_DIR: &str = "mr";

/// Labels the index shows in columns of their own (state and CI), not as labels.
const STATE_LABELS: &[&str] = &["open", "closed", "merged", "ci-pass", "ci-fail"];

/// One file of the site: its path under the site's root (`/`-separated) and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: String,
}

/// What every page needs besides the merge requests.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub people: &'a People,
    /// The export's time: ages are relative to it.
    pub now: DateTime<Utc>,
    /// Each revision's diff against its base, by merge request and revision: its
    /// files, or why there is none (a revision whose commit is not here, say).
    pub diffs: &'a Diffs,
}

/// Revisions' diffs, by merge request and revision number.
pub type Diffs = BTreeMap<(MrId, u32), Result<Vec<FileDiff>, String>>;

/// The most diff lines a page shows per revision: a page stays readable, and
/// bounded whatever a revision changes (`git mr diff` shows all of it).
pub const MAX_DIFF_LINES: usize = 5000;

pub use gitapps_cli::html::escape;

/// The page of a merge request, relative to the site's root: `mr/<FPR>-<n>.html`
/// (a fingerprint is hex and `n` a number, so the name is safe in a URL and a path).
pub fn mr_path(id: &MrId) -> String {
    format!("{MR_DIR}/{}-{}.html", id.author.as_str(), id.number)
}

/// The anchor of a comment on its merge request's page.
fn comment_anchor(author: &Fingerprint, index: u32) -> String {
    format!("c-{}-{index}", author.as_str())
}

/// Every file of the site: the stylesheet, the index and one page per merge request.
pub fn site(cx: &Context<'_>) -> Vec<File> {
    let mut files = vec![
        File {
            path: STYLE.to_owned(),
            contents: CSS.to_owned(),
        },
        File {
            path: INDEX.to_owned(),
            contents: index(cx),
        },
    ];
    for mr in &cx.snapshot.mrs {
        files.push(File {
            path: mr_path(&mr.id),
            contents: mr_page(cx, mr),
        });
    }
    files
}

/// A whole page; `root` is the relative way back to the site's root (`""` or `"../"`).
fn page(title: &str, root: &str, body: &str) -> String {
    gitapps_cli::html::page(title, root, STYLE, "git mr export", body)
}

/// `Alice Example <span class="fpr">9A3F1C2B</span>`, or the short fingerprint alone.
fn person(people: &People, who: &Fingerprint) -> String {
    person_with(people, who, "")
}

/// [`person`] with `suffix` (safe markup) after the short fingerprint: `/3` names a
/// comment the way `git mr comment --reply-to` takes it.
fn person_with(people: &People, who: &Fingerprint, suffix: &str) -> String {
    match people.name(who) {
        // A name another key claims too (or imitates) says so next to the fingerprint.
        Some(name) if people.name_is_shared(who) => format!(
            "<span class=\"who\">{}</span> <span class=\"fpr\">{}{suffix}</span> \
<span class=\"shared\">(a name other keys share)</span>",
            escape(name),
            who.short()
        ),
        Some(name) => format!(
            "<span class=\"who\">{}</span> <span class=\"fpr\">{}{suffix}</span>",
            escape(name),
            who.short()
        ),
        None => format!("<span class=\"fpr\">{}{suffix}</span>", who.short()),
    }
}

/// The title, or something to click on when it is empty.
fn title(mr: &MergeRequest) -> &str {
    if mr.title.trim().is_empty() {
        "(no title)"
    } else {
        &mr.title
    }
}

/// The `ci` group's result on the newest revision (not the `ci-*` labels, which
/// maintainers may set too).
fn newest_ci(cx: &Context<'_>, mr: &MergeRequest) -> Option<String> {
    review::newest_ci_result(mr, cx.people).map(|r| r.status)
}

/// Standing approvals of the newest revision (the author's left out), and a
/// request for changes when there is one.
fn approvals(cx: &Context<'_>, mr: &MergeRequest) -> String {
    let newest = mr.latest_revision().map(|r| r.number).unwrap_or(0);
    let t = review::tally(mr, cx.people, newest);
    let mut out = t.approvals.len().to_string();
    if t.maintainer_approvals.len() != t.approvals.len() {
        write!(out, " ({} by maintainers)", t.maintainer_approvals.len())
            .expect("writing to a String cannot fail");
    }
    if !t.changes_requested.is_empty() {
        out.push_str(" <span class=\"tag changes\">changes requested</span>");
    }
    out
}

fn state_badge(state: State) -> String {
    let s = state.as_str();
    format!("<span class=\"state {s}\">{s}</span>")
}

/// The CI badge from the `ci-*` labels, or `None` when CI has not reported.
fn ci_badge(status: Option<&str>) -> Option<String> {
    let status = status?;
    let class = if status == "pass" { "pass" } else { "fail" };
    Some(format!(
        "<span class=\"ci {class}\">CI {}</span>",
        escape(status)
    ))
}

/// A `CI-Status:` header's value as a badge (any value; only known ones get a color).
fn ci_status_badge(value: &str) -> String {
    let class = match value.trim() {
        "pass" => "pass",
        "fail" | "error" | "timeout" => "fail",
        _ => "other",
    };
    format!(
        "<span class=\"ci {class}\">CI-Status: {}</span>",
        escape(value)
    )
}

fn label_list<'a>(labels: impl Iterator<Item = &'a String>, cx: &Context<'_>) -> String {
    let mut out = String::new();
    for l in labels {
        if !out.is_empty() {
            out.push(' ');
        }
        match cx.snapshot.labels.get(l).filter(|d| !d.is_empty()) {
            Some(d) => write!(
                out,
                "<span class=\"label\" title=\"{}\">{}</span>",
                escape(d),
                escape(l)
            ),
            None => write!(out, "<span class=\"label\">{}</span>", escape(l)),
        }
        .expect("writing to a String cannot fail");
    }
    out
}

use gitapps_cli::html::time;

fn footer(cx: &Context<'_>) -> String {
    let mut out = String::from("<footer>\n<p>Exported by <code>git mr export</code> on ");
    out.push_str(&time(&cx.now));
    if let Some(commit) = &cx.snapshot.commit {
        write!(
            out,
            " from the data branch at <code>{}</code>",
            escape(&commit.to_string())
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("; ages are as of then. Clone the repository and use <code>git mr</code> to take part.</p>\n");
    let skipped = cx.snapshot.warnings.len();
    if skipped > 0 {
        writeln!(
            out,
            "<p class=\"warning\">{skipped} malformed {} on the data branch {} skipped \
(<code>git mr list</code> names {}).</p>",
            if skipped == 1 { "entry" } else { "entries" },
            if skipped == 1 { "was" } else { "were" },
            if skipped == 1 { "it" } else { "them" },
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("</footer>\n");
    out
}

/// Open first, then merged, then closed; newest first within each.
fn index_order(mrs: &[MergeRequest]) -> Vec<&MergeRequest> {
    let rank = |s: State| match s {
        State::Open => 0,
        State::Merged => 1,
        State::Closed => 2,
    };
    let mut sorted: Vec<&MergeRequest> = mrs.iter().collect();
    sorted.sort_by(|a, b| {
        rank(a.state())
            .cmp(&rank(b.state()))
            .then_with(|| b.created().cmp(&a.created()))
            .then_with(|| a.id.cmp(&b.id))
    });
    sorted
}

/// The index: every merge request with its state, CI, labels, author, revisions and age.
pub fn index(cx: &Context<'_>) -> String {
    let mrs = &cx.snapshot.mrs;
    let count = |s: State| mrs.iter().filter(|m| m.state() == s).count();
    let mut body = String::from("<header>\n<h1>Merge requests</h1>\n");
    write!(
        body,
        "<p class=\"counts\">{} open · {} merged · {} closed</p>\n</header>\n<main>\n",
        count(State::Open),
        count(State::Merged),
        count(State::Closed)
    )
    .expect("writing to a String cannot fail");
    if mrs.is_empty() {
        body.push_str(
            "<p class=\"empty\">No merge requests yet. Open one with <code>git mr create</code>.</p>\n",
        );
    } else {
        body.push_str(
            "<table class=\"mrs\">\n<thead><tr><th>Merge request</th><th>State</th><th>CI</th>\
<th>Approvals</th><th>Labels</th><th>Author</th><th>Revisions</th><th>Opened</th></tr></thead>\n<tbody>\n",
        );
        for mr in index_order(mrs) {
            let labels = label_list(
                mr.labels
                    .iter()
                    .filter(|l| !STATE_LABELS.contains(&l.as_str())),
                cx,
            );
            let opened = match mr.created() {
                Some(d) => format!(
                    "<time datetime=\"{}\" title=\"{}\">{}</time>",
                    git_mr::clock::format(&d),
                    git_mr::clock::format(&d),
                    ui::age(d, cx.now)
                ),
                None => "—".to_owned(),
            };
            writeln!(
                body,
                "<tr class=\"{state}\">\
<td><a href=\"{href}\">{title}</a><br><span class=\"id\">{short}</span> → <code>{target}</code></td>\
<td>{state_badge}</td><td>{ci}</td><td class=\"num\">{approvals}</td><td>{labels}</td><td>{author}</td>\
<td class=\"num\">{revisions}</td><td>{opened}</td></tr>",
                state = mr.state().as_str(),
                href = mr_path(&mr.id),
                title = escape(title(mr)),
                short = ui::short_id(mr),
                target = escape(&mr.target),
                state_badge = state_badge(mr.state()),
                ci = ci_badge(newest_ci(cx, mr).as_deref()).unwrap_or_else(|| "—".to_owned()),
                approvals = approvals(cx, mr),
                author = person(cx.people, &mr.id.author),
                revisions = mr.revisions.len(),
            )
            .expect("writing to a String cannot fail");
        }
        body.push_str("</tbody>\n</table>\n");
    }
    body.push_str("</main>\n");
    body.push_str(&footer(cx));
    page("Merge requests", "", &body)
}

/// `In-Reply-To: <FPR>/<k>` as a link to that comment when it is on the page,
/// else as escaped text.
fn reply_to(cx: &Context<'_>, mr: &MergeRequest, value: &str) -> String {
    let target = value.split_once('/').and_then(|(a, k)| {
        let author = Fingerprint::parse(a).ok()?;
        let index = k.trim().parse::<u32>().ok()?;
        mr.comments
            .iter()
            .find(|c| c.author == author && c.index == index)
    });
    match target {
        Some(c) => format!(
            "reply to <a href=\"#{}\">{}{}/{}</a>",
            comment_anchor(&c.author, c.index),
            match cx.people.name(&c.author) {
                Some(name) => format!("{} ", escape(name)),
                None => String::new(),
            },
            c.author.short(),
            c.index
        ),
        None => format!("reply to <code>{}</code>", escape(value)),
    }
}

/// Where a comment is rendered: in the timeline, or under its line in a diff.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Timeline,
    Diff,
}

/// The anchor of a line comment under its line.
fn line_comment_anchor(author: &Fingerprint, index: u32) -> String {
    format!("lc-{}-{index}", author.as_str())
}

fn comment(
    cx: &Context<'_>,
    mr: &MergeRequest,
    c: &Comment,
    place: Place,
    placed: &[(Fingerprint, u32)],
    out: &mut String,
) {
    let is_description = c.index == 0 && c.author == mr.id.author;
    // Only the `ci` group reports CI: anyone else's CI-Status is an ordinary header.
    let ci_status = c
        .header(header::CI_STATUS)
        .filter(|_| cx.people.is_ci(&c.author));
    let is_ci = ci_status.is_some();
    let (class, id) = match (place, is_ci) {
        (Place::Diff, _) => (
            "comment line-comment",
            line_comment_anchor(&c.author, c.index),
        ),
        (Place::Timeline, true) => ("comment ci-result", comment_anchor(&c.author, c.index)),
        (Place::Timeline, false) => ("comment", comment_anchor(&c.author, c.index)),
    };
    write!(
        out,
        "<article class=\"{class}\" id=\"{id}\">\n<header>{} · {}",
        person_with(cx.people, &c.author, &format!("/{}", c.index)),
        time(&c.date),
    )
    .expect("writing to a String cannot fail");
    match c.revision() {
        Some(k) if mr.revision(k).is_some() => {
            write!(out, " · <a href=\"#v{k}\">v{k}</a>").expect("writing to a String cannot fail")
        }
        Some(k) => write!(out, " · v{k}").expect("writing to a String cannot fail"),
        None => {}
    }
    match c.anchor() {
        Some(Ok(a)) if place == Place::Timeline => {
            if placed.contains(&(c.author.clone(), c.index)) {
                write!(
                    out,
                    " · on <a href=\"#{}\"><code>{}</code></a>",
                    line_comment_anchor(&c.author, c.index),
                    escape(&a.to_string())
                )
            } else {
                write!(out, " · on <code>{}</code>", escape(&a.to_string()))
            }
            .expect("writing to a String cannot fail");
        }
        Some(Err(e)) => write!(
            out,
            " · <span class=\"warning\">a malformed line anchor: {}</span>",
            escape(&e)
        )
        .expect("writing to a String cannot fail"),
        _ => {}
    }
    if let Some(r) = c.header(header::IN_REPLY_TO) {
        write!(out, " · {}", reply_to(cx, mr, r)).expect("writing to a String cannot fail");
    }
    if c.is_retracted() {
        out.push_str(" · <span class=\"tag\">retracted</span>");
    } else if c.is_edited() {
        out.push_str(" · <span class=\"tag\">edited</span>");
    }
    if is_description {
        out.push_str(" · <span class=\"tag\">description</span>");
    }
    if let Some(status) = ci_status {
        write!(out, " · {}", ci_status_badge(status)).expect("writing to a String cannot fail");
    }
    out.push_str("</header>\n");
    let extra: Vec<&(String, String)> = c
        .headers
        .iter()
        .filter(|(k, _)| {
            let shown_above =
                header::is_place(k) || (is_ci && k.eq_ignore_ascii_case(header::CI_STATUS));
            !shown_above
        })
        .collect();
    if !extra.is_empty() {
        out.push_str("<ul class=\"headers\">");
        for (k, v) in extra {
            write!(out, "<li><code>{}: {}</code></li>", escape(k), escape(v))
                .expect("writing to a String cannot fail");
        }
        out.push_str("</ul>\n");
    }
    if c.is_retracted() {
        out.push_str("<p class=\"empty\">(retracted by its author)</p>\n");
    } else if c.body.trim().is_empty() {
        out.push_str("<p class=\"empty\">(no text)</p>\n");
    } else {
        writeln!(out, "<pre>{}</pre>", escape(c.body.trim_end()))
            .expect("writing to a String cannot fail");
    }
    out.push_str("</article>\n");
}

/// A merge request's page: title, facts, revisions with their commits, and every
/// comment in date order.
pub fn mr_page(cx: &Context<'_>, mr: &MergeRequest) -> String {
    let mut body = format!(
        "<nav><a href=\"../{INDEX}\">← All merge requests</a></nav>\n<header>\n<h1>{}</h1>\n<p class=\"meta\">{} ",
        escape(title(mr)),
        state_badge(mr.state())
    );
    if let Some(ci) = ci_badge(newest_ci(cx, mr).as_deref()) {
        body.push_str(&ci);
        body.push(' ');
    }
    write!(
        body,
        "<span class=\"id\">{}</span></p>\n</header>\n<main>\n<dl class=\"facts\">\n",
        ui::short_id(mr)
    )
    .expect("writing to a String cannot fail");
    let labels = if mr.labels.is_empty() {
        "<span class=\"empty\">none</span>".to_owned()
    } else {
        label_list(mr.labels.iter(), cx)
    };
    let opened = match mr.created() {
        Some(d) => format!("{} ({})", time(&d), ui::age(d, cx.now)),
        None => "<span class=\"empty\">unknown (no description)</span>".to_owned(),
    };
    let target = if mr.target.is_empty() {
        "<span class=\"empty\">unknown</span>".to_owned()
    } else {
        format!("<code>{}</code>", escape(&mr.target))
    };
    write!(
        body,
        "<dt>Author</dt><dd>{}</dd>\n<dt>Target</dt><dd>{target}</dd>\n<dt>Labels</dt><dd>{labels}</dd>\n\
<dt>Opened</dt><dd>{opened}</dd>\n<dt>Name</dt><dd><code>{}</code></dd>\n</dl>\n",
        person(cx.people, &mr.id.author),
        mr.id,
    )
    .expect("writing to a String cannot fail");
    votes(cx, mr, &mut body);

    write!(
        body,
        "<section class=\"revisions\">\n<h2>Revisions ({})</h2>\n",
        mr.revisions.len()
    )
    .expect("writing to a String cannot fail");
    if mr.revisions.is_empty() {
        body.push_str(
            "<p class=\"empty\">No revisions: the revision tags (<code>refs/tags/apps/merge-reqs/…</code>) were not fetched.</p>\n",
        );
    } else {
        body.push_str(
            "<table>\n<thead><tr><th>Revision</th><th>Commit</th><th>Changes</th></tr></thead>\n<tbody>\n",
        );
        for r in &mr.revisions {
            // A commit id comes from a ref, so it is hex; escaped all the same.
            writeln!(
                body,
                "<tr id=\"v{0}\"><td>v{0}</td><td><code>{1}</code></td><td><a href=\"#diff-v{0}\">diff</a></td></tr>",
                r.number,
                escape(&r.commit.to_string())
            )
            .expect("writing to a String cannot fail");
        }
        body.push_str("</tbody>\n</table>\n");
    }
    body.push_str("</section>\n");
    let mut placed = Vec::new();
    for r in &mr.revisions {
        diff_section(cx, mr, r.number, &mut placed, &mut body);
    }

    write!(
        body,
        "<section class=\"comments\">\n<h2>Comments ({})</h2>\n",
        mr.comments.len()
    )
    .expect("writing to a String cannot fail");
    if mr.comments.is_empty() {
        body.push_str("<p class=\"empty\">No comments yet.</p>\n");
    }
    for c in &mr.comments {
        comment(cx, mr, c, Place::Timeline, &placed, &mut body);
    }
    body.push_str("</section>\n</main>\n");
    body.push_str(&footer(cx));
    page(title(mr), "../", &body)
}

/// Every vote that stands (stale ones marked), and what a merge of the newest
/// revision lacks under the project's settings.
fn votes(cx: &Context<'_>, mr: &MergeRequest, out: &mut String) {
    let newest = mr.latest_revision().map(|r| r.number);
    let standing = vote::standing(&mr.votes, newest);
    out.push_str("<section class=\"votes\">\n<h2>Votes</h2>\n");
    if standing.is_empty() {
        out.push_str("<p class=\"empty\">No votes.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for s in standing {
            let v = s.vote;
            let (class, what) = match v.verdict {
                Verdict::Approve => ("approve", "approved"),
                Verdict::RequestChanges => ("changes", "requested changes on"),
                Verdict::None => continue,
            };
            write!(
                out,
                "<li class=\"vote {class}{}\">{} {what} v{} · {}",
                if s.stale { " stale" } else { "" },
                person(cx.people, &v.voter),
                v.revision,
                time(&v.date)
            )
            .expect("writing to a String cannot fail");
            if cx.people.is_maintainer(&v.voter) {
                out.push_str(" · <span class=\"tag\">maintainer</span>");
            }
            if v.voter == mr.id.author {
                out.push_str(" · <span class=\"tag\">author: not counted</span>");
            }
            if s.stale {
                out.push_str(" · <span class=\"tag\">stale: a newer revision exists</span>");
            }
            if !v.body.trim().is_empty() {
                write!(out, "<pre>{}</pre>", escape(v.body.trim_end()))
                    .expect("writing to a String cannot fail");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    if let (Some(settings), Some(k)) = (cx.snapshot.settings.as_ref(), newest) {
        let missing = review::missing(Some(settings), mr, cx.people, k);
        if missing.is_empty() {
            writeln!(
                out,
                "<p class=\"requirements met\">The merge requirements are met for v{k}.</p>"
            )
        } else {
            let what: Vec<String> = missing.iter().map(|m| escape(&m.to_string())).collect();
            writeln!(
                out,
                "<p class=\"requirements\">A merge of v{k} lacks: {}.</p>",
                what.join("; ")
            )
        }
        .expect("writing to a String cannot fail");
    }
    out.push_str("</section>\n");
}

/// Revision `k`'s diff against its base, each line comment written on `k` under
/// its line (the comments whose line the diff does not show after their file);
/// the comments placed so are added to `placed`.
fn diff_section(
    cx: &Context<'_>,
    mr: &MergeRequest,
    k: u32,
    placed: &mut Vec<(Fingerprint, u32)>,
    out: &mut String,
) {
    writeln!(
        out,
        "<section class=\"diff\" id=\"diff-v{k}\">\n<h2>Changes in v{k}</h2>"
    )
    .expect("writing to a String cannot fail");
    let anchored: Vec<(&Comment, git_mr::thread::Anchor)> = mr
        .comments
        .iter()
        .filter(|c| c.revision() == Some(k))
        .filter_map(|c| Some((c, c.anchor()?.ok()?)))
        .collect();
    let files = match cx.diffs.get(&(mr.id.clone(), k)) {
        Some(Ok(files)) => files.as_slice(),
        Some(Err(why)) => {
            writeln!(out, "<p class=\"empty\">No diff: {}</p>", escape(why))
                .expect("writing to a String cannot fail");
            &[]
        }
        None => &[],
    };
    if files.is_empty() && cx.diffs.get(&(mr.id.clone(), k)).is_some_and(|d| d.is_ok()) {
        out.push_str("<p class=\"empty\">No changes against the target.</p>\n");
    }
    let mut shown = 0usize;
    let mut placed_here: Vec<(Fingerprint, u32)> = Vec::new();
    for f in files {
        let name = match (&f.old_path, &f.new_path) {
            (Some(o), Some(n)) if o != n => format!("{} → {}", escape(o), escape(n)),
            _ => escape(f.path()),
        };
        writeln!(out, "<div class=\"file\">\n<h3><code>{name}</code></h3>")
            .expect("writing to a String cannot fail");
        if f.hunks.is_empty() {
            let meta: Vec<String> = f.header.iter().skip(1).map(|l| escape(l)).collect();
            writeln!(out, "<pre class=\"meta\">{}</pre>", meta.join("\n"))
                .expect("writing to a String cannot fail");
        } else {
            out.push_str("<table class=\"diff\">\n");
        }
        for (h, hunk) in f.hunks.iter().enumerate() {
            if shown >= MAX_DIFF_LINES {
                break;
            }
            writeln!(
                out,
                "<tr class=\"hunk\"><td></td><td></td><td><code>{}</code></td></tr>",
                escape(&hunk.header)
            )
            .expect("writing to a String cannot fail");
            for (l, line) in hunk.lines.iter().enumerate() {
                if shown >= MAX_DIFF_LINES {
                    break;
                }
                shown += 1;
                let class = match line.kind {
                    LineKind::Added => "add",
                    LineKind::Removed => "del",
                    LineKind::Context => "ctx",
                    LineKind::Note => "note",
                };
                let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
                writeln!(
                    out,
                    "<tr class=\"{class}\"><td class=\"ln\">{}</td><td class=\"ln\">{}</td><td><code>{}</code></td></tr>",
                    n(line.old),
                    n(line.new),
                    escape(&line.text)
                )
                .expect("writing to a String cannot fail");
                let here: Vec<&(&Comment, git_mr::thread::Anchor)> = anchored
                    .iter()
                    .filter(|(_, a)| f.locate(a) == Some((h, l)))
                    .collect();
                if !here.is_empty() {
                    out.push_str("<tr class=\"comments\"><td colspan=\"3\">\n");
                    for (c, _) in here {
                        comment(cx, mr, c, Place::Diff, &[], out);
                        placed_here.push((c.author.clone(), c.index));
                    }
                    out.push_str("</td></tr>\n");
                }
            }
        }
        if !f.hunks.is_empty() {
            out.push_str("</table>\n");
        }
        let elsewhere: Vec<&Comment> = anchored
            .iter()
            .filter(|(c, a)| f.holds(a) && !placed_here.contains(&(c.author.clone(), c.index)))
            .map(|(c, _)| *c)
            .collect();
        if !elsewhere.is_empty() {
            out.push_str("<div class=\"unplaced\"><p>On lines this page does not show:</p>\n");
            for c in elsewhere {
                comment(cx, mr, c, Place::Diff, &[], out);
                placed_here.push((c.author.clone(), c.index));
            }
            out.push_str("</div>\n");
        }
        out.push_str("</div>\n");
    }
    let total: usize = files
        .iter()
        .flat_map(|f| &f.hunks)
        .map(|h| h.lines.len())
        .sum();
    if total > shown {
        writeln!(
            out,
            "<p class=\"empty\">{} more lines not shown: <code>git mr diff {} --revision {k}</code> shows them all.</p>",
            total - shown,
            mr.id
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("</section>\n");
    placed.extend(placed_here);
}

/// The one stylesheet: readable without it, nothing that needs a network.
pub const CSS: &str = "\
:root { color-scheme: light dark; --muted: #6a737d; --line: #d0d7de; --pass: #1a7f37; --fail: #cf222e; --merged: #8250df; }
body { font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 0 auto; padding: 1rem; }
h1 { margin: .2rem 0; font-size: 1.6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; border-bottom: 1px solid var(--line); }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .4rem 0 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
td.num { text-align: right; }
.id, .fpr, .counts, footer, .empty { color: var(--muted); }
.fpr, .id { font-family: ui-monospace, monospace; font-size: .85em; }
.state, .ci, .label, .tag { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .85em; border: 1px solid var(--line); white-space: nowrap; }
time { white-space: nowrap; }
.state.open, .ci.pass { color: var(--pass); border-color: var(--pass); }
.state.closed, .ci.fail { color: var(--fail); border-color: var(--fail); }
.state.merged { color: var(--merged); border-color: var(--merged); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dd { margin: 0; }
article.comment { border: 1px solid var(--line); border-radius: .4rem; padding: .5rem .8rem; margin: .8rem 0; }
article.comment > header { font-size: .9em; }
article.ci-result { border-left: 4px solid var(--muted); }
article:target { outline: 2px solid var(--merged); }
ul.headers { margin: .3rem 0; padding-left: 1.2rem; font-size: .85em; }
.warning, .shared { color: var(--fail); }
footer { margin-top: 2rem; font-size: .85em; }
table.diff { font-family: ui-monospace, monospace; font-size: .85em; }
table.diff td { padding: 0 .4rem; border: none; white-space: pre-wrap; overflow-wrap: anywhere; }
table.diff td.ln { color: var(--muted); text-align: right; width: 3rem; user-select: none; }
table.diff tr.add { background: rgba(26, 127, 55, .12); }
table.diff tr.del { background: rgba(207, 34, 46, .12); }
table.diff tr.hunk td { color: var(--muted); padding-top: .4rem; }
table.diff tr.comments td { white-space: normal; font-family: system-ui, sans-serif; font-size: 1.15em; }
article.line-comment { border-left: 4px solid var(--merged); }
.vote.approve { color: var(--pass); }
.vote.changes, .tag.changes { color: var(--fail); }
.vote.stale { opacity: .6; }
";

#[cfg(test)]
mod tests {
    use super::*;
    use git_mr::people::Person;
    use git_mr::Revision;

    const NOW: &str = "2026-11-29T11:00:00Z";

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).expect("40 hex digits")
    }

    fn date(s: &str) -> DateTime<Utc> {
        git_mr::clock::parse(s).expect("a valid date")
    }

    fn comment(author: &Fingerprint, index: u32, headers: &[(&str, &str)], body: &str) -> Comment {
        let mut all = vec![("Date".to_owned(), "2026-11-26T11:00:00Z".to_owned())];
        all.extend(
            headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Comment {
            author: author.clone(),
            index,
            date: date("2026-11-26T11:00:00Z"),
            headers: all,
            body: body.to_owned(),
            history: Vec::new(),
        }
    }

    fn mr(author: char, number: u32, title: &str) -> MergeRequest {
        let author = fpr(author);
        MergeRequest {
            id: MrId {
                author: author.clone(),
                number,
            },
            title: title.to_owned(),
            target: "main".to_owned(),
            labels: vec!["open".to_owned()],
            comments: vec![comment(
                &author,
                0,
                &[("Revision", "1")],
                "The description.\n",
            )],
            revisions: vec![Revision {
                number: 1,
                commit: gix::ObjectId::from_hex("1".repeat(40).as_bytes()).unwrap(),
            }],
            title_history: Vec::new(),
            votes: Vec::new(),
            fixes: Vec::new(),
        }
    }

    fn people() -> People {
        let mut people = People::default();
        people.people.insert(
            fpr('A'),
            Person {
                name: Some("Alice".to_owned()),
                email: Some("alice@example.org".to_owned()),
                ..Person::default()
            },
        );
        people.people.insert(
            fpr('E'),
            Person {
                name: Some("<b onmouseover=\"x()\">Eve</b>".to_owned()),
                email: None,
                ..Person::default()
            },
        );
        // C reports CI (groups/ci).
        people
            .groups
            .entry(git_mr::policy::CI_GROUP.into())
            .or_default()
            .users
            .insert(fpr('C'));
        people
    }

    fn snapshot(mrs: Vec<MergeRequest>) -> Snapshot {
        let mut s = Snapshot {
            commit: Some(
                gix::ObjectId::from_hex(("c0ffee".repeat(6) + "c0ff").as_bytes()).unwrap(),
            ),
            mrs,
            ..Snapshot::default()
        };
        s.mrs.sort_by(|a, b| a.id.cmp(&b.id));
        for (l, d) in git_mr::layout::STANDARD_LABELS {
            s.labels.insert((*l).to_owned(), (*d).to_owned());
        }
        s
    }

    fn render(s: &Snapshot) -> Vec<File> {
        render_with(s, &Diffs::new())
    }

    fn render_with(s: &Snapshot, diffs: &Diffs) -> Vec<File> {
        let people = people();
        site(&Context {
            snapshot: s,
            people: &people,
            now: date(NOW),
            diffs,
        })
    }

    fn file<'a>(files: &'a [File], path: &str) -> &'a str {
        &files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} is in the site"))
            .contents
    }

    /// Every `<tag` in the page, by name: the markup the renderer wrote, and only that.
    fn tags(html: &str) -> Vec<String> {
        html.split('<')
            .skip(1)
            .map(|t| {
                t.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '!' || *c == '/')
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
            .collect()
    }

    #[test]
    fn escape_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("a\tb\nc\u{1b}[31m\0"), "a\tb\nc\u{FFFD}[31m\u{FFFD}");
        assert_eq!(escape("héllo · →"), "héllo · →");
    }

    #[test]
    fn hostile_input_comes_out_as_text() {
        let handler = regex::Regex::new(r"(?i)\son[a-z]+\s*=").expect("a valid regex");
        let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
        let mut m = mr('A', 1, &format!("Fix {payload}"));
        m.target = "main\"><script>t()</script>".to_owned();
        m.labels.push("x<script>".to_owned());
        m.comments.push(comment(
            &fpr('E'),
            0,
            &[
                ("Revision", "1"),
                ("In-Reply-To", "\"><script>r()</script>"),
                ("CI-Status", "<script>s()</script>"),
                ("X-<script>", "<script>h()</script>"),
            ],
            &format!("body {payload}\n"),
        ));
        let mut s = snapshot(vec![m]);
        s.labels
            .insert("x<script>".to_owned(), "\"><script>d()</script>".to_owned());
        let files = render(&s);
        for f in &files {
            if f.path == STYLE {
                continue;
            }
            let html = &f.contents;
            let tags = tags(html);
            for bad in ["script", "img", "iframe", "object", "embed", "style"] {
                assert!(
                    !tags.iter().any(|t| t == bad),
                    "<{bad}> in {}:\n{html}",
                    f.path
                );
            }
            // No event-handler attribute inside any tag the page really has.
            for tag in html.split('<').skip(1) {
                let inside = &tag[..tag.find('>').expect("tags are closed")];
                assert!(!handler.is_match(inside), "<{inside}> in {}", f.path);
            }
        }
        let index = file(&files, INDEX);
        assert!(
            index.contains(
                "Fix &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
            ),
            "{index}"
        );
        assert!(index.contains("<title>Merge requests</title>"), "{index}");
        let page = file(&files, &mr_path(&s.mrs[0].id));
        assert!(page.contains("<title>Fix &lt;script&gt;"), "{page}");
        assert!(
            page.contains("<pre>body &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(
            page.contains("&lt;b onmouseover=&quot;x()&quot;&gt;Eve&lt;/b&gt;"),
            "{page}"
        );
        assert!(
            page.contains("reply to <code>&quot;&gt;&lt;script&gt;r()"),
            "{page}"
        );
        // E is not in the ci group: the header is an ordinary one, no CI result.
        assert!(
            page.contains("<li><code>CI-Status: &lt;script&gt;s()"),
            "{page}"
        );
        assert!(!page.contains("ci-result"), "{page}");
        assert!(
            page.contains("<code>X-&lt;script&gt;: &lt;script&gt;h()"),
            "{page}"
        );
        assert!(
            page.contains("title=\"&quot;&gt;&lt;script&gt;d()"),
            "{page}"
        );
        assert!(
            page.contains("<code>main&quot;&gt;&lt;script&gt;t()"),
            "{page}"
        );
    }

    #[test]
    fn links_are_relative_and_lead_to_pages_of_the_site() {
        let a = mr('A', 1, "One");
        let mut b = mr('B', 2, "Two");
        let reply = comment(&fpr('A'), 0, &[("Revision", "1")], "hi\n");
        b.comments.push(Comment {
            headers: vec![
                ("Date".to_owned(), "2026-11-26T11:00:00Z".to_owned()),
                ("Revision".to_owned(), "1".to_owned()),
                ("In-Reply-To".to_owned(), format!("{}/0", fpr('B'))),
            ],
            ..reply
        });
        let s = snapshot(vec![a, b]);
        let files = render(&s);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                STYLE,
                INDEX,
                &*format!("mr/{}-1.html", fpr('A')),
                &*format!("mr/{}-2.html", fpr('B'))
            ]
        );
        for f in &files {
            let depth = f.path.matches('/').count();
            for part in f.contents.split("href=\"").skip(1) {
                let href = &part[..part.find('"').expect("a closed attribute")];
                assert!(
                    !href.starts_with('/') && !href.contains("://") && !href.contains(':'),
                    "{href} in {}",
                    f.path
                );
                if let Some(anchor) = href.strip_prefix('#') {
                    assert!(
                        f.contents.contains(&format!("id=\"{anchor}\"")),
                        "{href} in {}",
                        f.path
                    );
                    continue;
                }
                let mut target: Vec<&str> = f.path.split('/').take(depth).collect();
                for seg in href.split('/') {
                    if seg == ".." {
                        target.pop().expect("stays inside the site");
                    } else {
                        target.push(seg);
                    }
                }
                let target = target.join("/");
                assert!(
                    paths.contains(&target.as_str()),
                    "{href} in {} -> {target}",
                    f.path
                );
            }
        }
        let index = file(&files, INDEX);
        assert!(index.contains(&format!("<a href=\"mr/{}-2.html\">Two</a>", fpr('B'))));
        let page = file(&files, &mr_path(&s.mrs[1].id));
        assert!(page.contains("href=\"../style.css\""), "{page}");
        assert!(page.contains("<a href=\"../index.html\">"), "{page}");
        // The reply links to the comment it answers, the revision to its row.
        assert!(
            page.contains(&format!(
                "reply to <a href=\"#c-{}-0\">{}/0</a>",
                fpr('B'),
                &fpr('B').as_str()[..8]
            )),
            "{page}"
        );
        assert!(page.contains("<a href=\"#v1\">v1</a>"), "{page}");
        assert!(!index.contains("<script") && !page.contains("<script"));
    }

    #[test]
    fn empty_states() {
        let files = render(&snapshot(Vec::new()));
        assert_eq!(files.len(), 2);
        let index = file(&files, INDEX);
        assert!(index.contains("0 open · 0 merged · 0 closed"), "{index}");
        assert!(index.contains("No merge requests yet."), "{index}");
        assert!(!index.contains("<table"), "{index}");

        let mut bare = mr('A', 1, "");
        bare.labels.clear();
        bare.comments.clear();
        bare.revisions.clear();
        bare.target.clear();
        let s = snapshot(vec![bare]);
        let files = render(&s);
        let page = file(&files, &mr_path(&s.mrs[0].id));
        assert!(
            page.contains("Revisions (0)") && page.contains("No revisions"),
            "{page}"
        );
        assert!(
            page.contains("Comments (0)") && page.contains("No comments yet."),
            "{page}"
        );
        assert!(
            page.contains("<dt>Labels</dt><dd><span class=\"empty\">none</span>"),
            "{page}"
        );
        assert!(page.contains("unknown (no description)"), "{page}");
        assert!(page.contains("<title>(no title)</title>"), "{page}");
        assert!(page.contains("<h1>(no title)</h1>"), "{page}");
        let index = file(&files, INDEX);
        assert!(
            index.contains(".html\">(no title)</a>"),
            "a link to click: {index}"
        );
        let index = file(&files, INDEX);
        assert!(index.contains("1 open · 0 merged · 0 closed"), "{index}");
        assert!(index.contains("<td>—</td>"), "{index}");
    }

    #[test]
    fn index_shows_state_ci_labels_author_revisions_and_age() {
        // CI's state is the `ci` group's result on the newest revision, not the
        // ci-* labels (which maintainers may set).
        let mut open = mr('A', 1, "Open one");
        open.labels = vec!["ci-pass".into(), "needs-review".into(), "open".into()];
        open.comments.push(comment(
            &fpr('C'),
            0,
            &[("Revision", "1"), ("CI-Status", "fail")],
            "",
        ));
        let mut merged = mr('E', 1, "Merged one");
        merged.labels = vec!["closed".into(), "merged".into()];
        merged.revisions.push(Revision {
            number: 2,
            commit: gix::ObjectId::from_hex("2".repeat(40).as_bytes()).unwrap(),
        });
        merged.comments.push(comment(
            &fpr('C'),
            0,
            &[("Revision", "1"), ("CI-Status", "fail")],
            "",
        ));
        merged.comments.push(comment(
            &fpr('C'),
            1,
            &[("Revision", "2"), ("CI-Status", "pass")],
            "",
        ));
        let mut closed = mr('B', 1, "Closed one");
        closed.labels = vec!["closed".into(), "ci-pass".into()];
        // Not from the ci group: no CI state.
        closed.comments.push(comment(
            &fpr('E'),
            0,
            &[("Revision", "1"), ("CI-Status", "pass")],
            "",
        ));
        let s = snapshot(vec![open, merged, closed]);
        let index = file(&render(&s), INDEX).to_owned();
        assert!(index.contains("1 open · 1 merged · 1 closed"), "{index}");
        let rows: Vec<&str> = index.split("<tr class=").skip(1).collect();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].starts_with("\"open\"") && rows[0].contains("Open one"));
        assert!(
            rows[0].contains("<span class=\"ci fail\">CI fail</span>"),
            "{}",
            rows[0]
        );
        assert!(rows[0].contains(">needs-review</span>"), "{}", rows[0]);
        // State and CI labels have columns of their own.
        assert!(!rows[0].contains("class=\"label\" title=\"The merge request is open.\""));
        assert!(!rows[0].contains(">ci-fail</span>"), "{}", rows[0]);
        assert!(rows[0]
            .contains("<span class=\"who\">Alice</span> <span class=\"fpr\">AAAAAAAA</span>"));
        assert!(rows[0].contains(">3 days ago</time>"), "{}", rows[0]);
        assert!(rows[1].starts_with("\"merged\"") && rows[1].contains("Merged one"));
        assert!(rows[1].contains("<span class=\"ci pass\">CI pass</span>"));
        assert!(rows[1].contains("<td class=\"num\">2</td>"), "{}", rows[1]);
        assert!(rows[2].starts_with("\"closed\"") && rows[2].contains("Closed one"));
        assert!(!rows[2].contains("CI pass"), "{}", rows[2]);
        // Unknown authors show their short fingerprint.
        assert!(
            rows[2].contains("<span class=\"fpr\">BBBBBBBB</span>"),
            "{}",
            rows[2]
        );
        assert!(
            index.contains("c0ffeec0ffee"),
            "the data commit is named: {index}"
        );
    }

    #[test]
    fn comments_in_date_order_with_ci_status_and_headers() {
        let mut m = mr('A', 1, "T");
        m.revisions.push(Revision {
            number: 2,
            commit: gix::ObjectId::from_hex("2".repeat(40).as_bytes()).unwrap(),
        });
        let mut ci = comment(
            &fpr('C'),
            0,
            &[
                ("Revision", "2"),
                ("CI-Status", "fail"),
                ("CI-Command", "cargo test"),
            ],
            "3 tests failed\n",
        );
        ci.date = date("2026-11-27T11:00:00Z");
        m.comments.push(ci);
        let mut merge = comment(
            &fpr('B'),
            0,
            &[("Revision", "2"), ("Merge-Commit", "abc")],
            "",
        );
        merge.date = date("2026-11-28T11:00:00Z");
        m.comments.push(merge);
        let s = snapshot(vec![m]);
        let page = file(&render(&s), &mr_path(&s.mrs[0].id)).to_owned();
        let desc = page.find("The description.").expect("the description");
        let ci = page.find("3 tests failed").expect("the CI comment");
        let merge = page.find("Merge-Commit: abc").expect("the merge comment");
        assert!(desc < ci && ci < merge, "{page}");
        assert!(
            page.contains("<article class=\"comment ci-result\""),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"ci fail\">CI-Status: fail</span>"),
            "{page}"
        );
        assert!(
            page.contains("<li><code>CI-Command: cargo test</code></li>"),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"tag\">description</span>"),
            "{page}"
        );
        assert!(page.contains("(no text)"), "{page}");
        assert!(page.contains(&format!(
            "<tr id=\"v2\"><td>v2</td><td><code>{}</code>",
            "2".repeat(40)
        )));
        assert!(
            page.contains("<time datetime=\"2026-11-27T11:00:00Z\">"),
            "{page}"
        );
    }
}

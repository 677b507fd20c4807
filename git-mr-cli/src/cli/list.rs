//! `git mr list`.

use super::ui::MrUi;
use git_mr::people::People;
use git_mr::store::Depth;
use git_mr::Item;
use git_mr::{MergeRequest, State};
use serde_json::Value;

use super::{ui, CommandResult, Ctx};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateFilter {
    Open,
    Closed,
    Merged,
    All,
}

/// List merge requests.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "open")]
    state: StateFilter,
    /// Only those carrying this label.
    #[arg(long, value_name = "L")]
    label: Option<String>,
    /// Only those by WHO (fingerprint prefix, name, e-mail, or `me`).
    #[arg(long, value_name = "WHO")]
    author: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The fields every JSON view of a merge request has (SPEC section 6), plus
/// `author_name`, `ci` (the `ci` group's result on the newest revision, not the
/// labels), votes that stand on the newest revision (the author's left out) and
/// `created`.
#[derive(serde::Serialize)]
pub struct Summary<'a> {
    id: String,
    author: &'a str,
    author_name: Option<&'a str>,
    number: u32,
    title: &'a str,
    target: &'a str,
    state: &'static str,
    labels: &'a [String],
    revisions: usize,
    ci: Option<String>,
    approvals: usize,
    maintainer_approvals: usize,
    changes_requested: usize,
    created: Option<String>,
    /// The issues it says it fixes.
    fixes: Vec<String>,
}

impl<'a> Summary<'a> {
    pub fn new(mr: &'a MergeRequest, people: &'a People) -> Self {
        let newest = mr.latest_revision().map(|r| r.number).unwrap_or(0);
        let tally = git_mr::review::tally(mr, people, newest);
        Summary {
            id: mr.id.to_string(),
            author: mr.id.author.as_str(),
            author_name: people.name(&mr.id.author),
            number: mr.id.number,
            title: &mr.title,
            target: &mr.target,
            state: mr.state().as_str(),
            labels: &mr.labels,
            revisions: mr.revisions.len(),
            fixes: mr.fixes.iter().map(|i| i.to_string()).collect(),
            ci: git_mr::review::newest_ci_result(mr, people).map(|r| r.status),
            approvals: tally.approvals.len(),
            maintainer_approvals: tally.maintainer_approvals.len(),
            changes_requested: tally.changes_requested.len(),
            created: mr.created().map(|d| git_mr::clock::format(&d)),
        }
    }
}

/// [`Summary`] as a JSON value.
pub fn summary_json(mr: &MergeRequest, people: &People) -> Value {
    serde_json::to_value(Summary::new(mr, people)).expect("plain data serializes")
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    ctx.refresh();
    let snapshot = ctx.snapshot(Depth::Summary)?;
    let people = ctx.people()?;
    if let Some(l) = args.label.as_ref().filter(|l| !snapshot.label_exists(l)) {
        return Err(ctx.explain(git_mr::Error::UnknownLabel(l.clone())));
    }
    let author = match &args.author {
        Some(who) => {
            let me = ctx.forge.me().ok();
            Some(people.find(who, me.as_ref(), snapshot.mrs.iter().map(|m| &m.id.author))?)
        }
        None => None,
    };
    let selected: Vec<&MergeRequest> = snapshot
        .mrs
        .iter()
        .filter(|m| match args.state {
            StateFilter::All => true,
            StateFilter::Open => m.state() == State::Open,
            StateFilter::Closed => m.state() == State::Closed,
            StateFilter::Merged => m.state() == State::Merged,
        })
        .filter(|m| args.label.as_ref().is_none_or(|l| m.has_label(l)))
        .filter(|m| author.as_ref().is_none_or(|a| *a == m.id.author))
        .collect();
    if args.json {
        let list: Vec<Summary> = selected.iter().map(|m| Summary::new(m, &people)).collect();
        return Ok(ctx.ui.json(&list)?);
    }
    if selected.is_empty() {
        ctx.ui.note("no merge requests");
        return Ok(());
    }
    let now = git_mr::clock::now()?;
    let mut out = String::new();
    for m in selected {
        let labels: Vec<&str> = m
            .labels
            .iter()
            .map(String::as_str)
            .filter(|l| !matches!(*l, "open" | "closed" | "merged" | "ci-pass" | "ci-fail"))
            .collect();
        let mut line = format!(
            "{}{} {:<12} {}  {}  v{}",
            ctx.ui.state(m.state()),
            " ".repeat(7 - m.state().as_str().len().min(7)),
            ui::short_id(m),
            ctx.ui.bold(&m.title),
            ctx.ui.dim(&format!(
                "by {}{}",
                people.display(&m.id.author),
                m.created()
                    .map(|d| format!(", {}", ui::age(d, now)))
                    .unwrap_or_default()
            )),
            m.revisions.len(),
        );
        let summary = Summary::new(m, &people);
        if summary.approvals > 0 {
            line.push_str(&format!(
                "  {}",
                ctx.ui
                    .approvals(summary.approvals, summary.maintainer_approvals)
            ));
        }
        if summary.changes_requested > 0 {
            line.push_str(&format!("  {}", ctx.ui.changes_requested()));
        }
        let ci = ctx.ui.ci(summary.ci.as_deref());
        if !ci.is_empty() {
            line.push_str(&format!("  {ci}"));
        }
        if !labels.is_empty() {
            line.push_str(&format!("  [{}]", ui::clean(&labels.join(", "))));
        }
        out.push_str(&line);
        out.push('\n');
    }
    ui::print(&out)?;
    Ok(())
}

//! The verbs that read: list, show, search.

use clap::{Args as ClapArgs, ValueEnum};
use git_issue::model::header;
use git_issue::store::Depth;
use git_issue::{search as text_search, Issue, Item, ItemId, State};
use gitapps_cli::ui::{self, clean, clean_line};
use gitapps_core::thread::Comment;
use gitapps_core::{clock, People};
use serde_json::{json, Value};

use super::{CommandResult, Ctx};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    Open,
    Closed,
    All,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sort {
    /// Newest first, by when the issue was opened.
    Created,
    /// Most recently commented or edited first.
    Updated,
}

/// List issues (open ones unless --state says otherwise), newest first.
#[derive(ClapArgs)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "open")]
    state: StateFilter,
    /// Only issues with this label (repeat: all of them).
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
    /// Only issues opened by WHO (`me`, a name, a fingerprint prefix).
    #[arg(long, value_name = "WHO")]
    author: Option<String>,
    /// Only issues assigned to WHO.
    #[arg(long, value_name = "WHO")]
    assignee: Option<String>,
    #[arg(long, value_enum, default_value = "created")]
    sort: Sort,
    /// Print JSON (an array of objects) for scripts.
    #[arg(long)]
    json: bool,
}

/// Show an issue: its description, labels, assignees, the merge requests
/// that fix it, and every comment.
#[derive(ClapArgs)]
pub struct ShowArgs {
    issue: String,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    /// Show every version of edited texts.
    #[arg(long)]
    history: bool,
}

/// Search titles and comments for TEXT (case-insensitive).
#[derive(ClapArgs)]
pub struct SearchArgs {
    text: String,
    #[arg(long)]
    json: bool,
}

use gitapps_cli::json::{name as name_json, versions as versions_json};

fn comment_json(c: &Comment, people: &People) -> Value {
    Value::Object(gitapps_cli::json::comment(c, people))
}

pub fn summary_json(issue: &Issue, people: &People) -> Value {
    json!({
        "id": issue.id.to_string(),
        "author": issue.id.author.to_string(),
        "author_name": name_json(people, &issue.id.author),
        "number": issue.id.number,
        "title": issue.title,
        "state": issue.state(),
        "labels": issue.labels,
        "assignees": issue.assignees.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "created": issue.created().map(|d| clock::format(&d)),
    })
}

fn show_json(issue: &Issue, people: &People, fixed_by: &[ItemId]) -> Value {
    let mut v = summary_json(issue, people);
    let obj = v.as_object_mut().expect("an object");
    obj.insert(
        "description".into(),
        Value::String(
            issue
                .description()
                .map(|c| c.body.clone())
                .unwrap_or_default(),
        ),
    );
    obj.insert("title_history".into(), versions_json(&issue.title_history));
    obj.insert(
        "updated".into(),
        json!(issue.updated().map(|d| clock::format(&d))),
    );
    obj.insert(
        "comments".into(),
        Value::Array(
            issue
                .comments
                .iter()
                .map(|c| comment_json(c, people))
                .collect(),
        ),
    );
    obj.insert(
        "links".into(),
        json!(fixed_by.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
    );
    v
}

pub fn list(ctx: &Ctx, a: ListArgs) -> CommandResult {
    ctx.refresh();
    // Sorting by activity needs every comment's date.
    let depth = if a.sort == Sort::Updated {
        Depth::Full
    } else {
        Depth::Summary
    };
    let snapshot = ctx.snapshot(depth)?;
    let people = ctx.people()?;
    let author = a
        .author
        .as_deref()
        .map(|w| ctx.person(&people, w))
        .transpose()?;
    let assignee = a
        .assignee
        .as_deref()
        .map(|w| ctx.person(&people, w))
        .transpose()?;
    let mut issues: Vec<&Issue> = snapshot
        .issues
        .iter()
        .filter(|i| match a.state {
            StateFilter::All => true,
            StateFilter::Open => i.state() == State::Open,
            StateFilter::Closed => i.state() == State::Closed,
        })
        .filter(|i| a.labels.iter().all(|l| i.has_label(l)))
        .filter(|i| author.as_ref().is_none_or(|w| i.id.author == *w))
        .filter(|i| assignee.as_ref().is_none_or(|w| i.is_assigned(w)))
        .collect();
    match a.sort {
        Sort::Created => issues.sort_by(|x, y| (y.created(), &y.id).cmp(&(x.created(), &x.id))),
        Sort::Updated => issues.sort_by(|x, y| (y.updated(), &y.id).cmp(&(x.updated(), &x.id))),
    }
    if a.json {
        let all: Vec<Value> = issues.iter().map(|i| summary_json(i, &people)).collect();
        return Ok(ctx.ui.json(&all)?);
    }
    let now = clock::now()?;
    let mut out = String::new();
    for i in issues {
        let state = match i.state() {
            State::Open => ctx.ui.paint_code("32", "open"),
            State::Closed => ctx.ui.paint_code("31", "closed"),
        };
        let labels: Vec<&str> = i
            .labels
            .iter()
            .map(String::as_str)
            .filter(|l| *l != "open" && *l != "closed")
            .collect();
        let mut line = format!(
            "{}/{}\t{state}\t{}\t{}",
            i.id.author.short(),
            i.id.number,
            ctx.ui.bold(&i.title),
            ctx.ui.dim(&format!("by {}", people.display(&i.id.author)))
        );
        if let Some(d) = i.created() {
            line.push_str(&format!(" {}", ctx.ui.dim(&ui::age(d, now))));
        }
        if !labels.is_empty() {
            line.push_str(&format!(" [{}]", clean_line(&labels.join(", "))));
        }
        if !i.assignees.is_empty() {
            let names: Vec<String> = i.assignees.iter().map(|w| people.display(w)).collect();
            line.push_str(&format!(" → {}", clean_line(&names.join(", "))));
        }
        out.push_str(&line);
        out.push('\n');
    }
    Ok(ui::print(&out)?)
}

/// The comment headers `show` prints as they are (the rest say where a comment is).
fn shown_headers(c: &Comment) -> Vec<String> {
    c.headers
        .iter()
        .filter(|(k, _)| !header::is_place(k))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect()
}

pub fn show(ctx: &Ctx, a: ShowArgs) -> CommandResult {
    let (snapshot, people, id) = ctx.find(&a.issue, Depth::Full)?;
    let issue = snapshot.get(&id).expect("found in this snapshot");
    let fixed_by = ctx.fixed_by();
    let fixes = fixed_by.get(&id).cloned().unwrap_or_default();
    if a.json {
        return Ok(ctx.ui.json(&show_json(issue, &people, &fixes))?);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "{} {}\n",
        ctx.ui.bold(&format!("{}/{}", id.author.short(), id.number)),
        ctx.ui.bold(&issue.title)
    ));
    if a.history && !issue.title_history.is_empty() {
        for v in &issue.title_history {
            out.push_str(&format!(
                "    title v{} {}: {}\n",
                v.version,
                clock::format(&v.date),
                clean_line(v.text.as_deref().unwrap_or("(retracted)"))
            ));
        }
    } else if !issue.title_history.is_empty() {
        out.push_str("    (title edited: --history shows every version)\n");
    }
    out.push_str(&format!("id:        {id}\n"));
    out.push_str(&format!("state:     {}\n", issue.state()));
    out.push_str(&format!("author:    {}\n", people.describe(&id.author)));
    out.push_str(&format!(
        "labels:    {}\n",
        clean_line(&issue.labels.join(", "))
    ));
    if !issue.assignees.is_empty() {
        let names: Vec<String> = issue.assignees.iter().map(|w| people.display(w)).collect();
        out.push_str(&format!("assignees: {}\n", clean_line(&names.join(", "))));
    }
    if !fixes.is_empty() {
        let names: Vec<String> = fixes
            .iter()
            .map(|m| format!("{}/{}", m.author.short(), m.number))
            .collect();
        out.push_str(&format!(
            "fixed by:  {} (merge requests: git mr show NAME)\n",
            names.join(", ")
        ));
    }
    for c in &issue.comments {
        out.push('\n');
        let mut meta = format!(
            "{} · comment {}/{} · {}",
            people.display(&c.author),
            c.author.short(),
            c.index,
            clock::format(&c.date)
        );
        if c.index == 0 && c.author == id.author {
            meta.push_str(" · description");
        }
        if let Some(r) = c.header(header::IN_REPLY_TO) {
            meta.push_str(&format!(" · reply to {r}"));
        }
        if c.is_retracted() {
            meta.push_str(" · retracted");
        } else if c.is_edited() {
            meta.push_str(" (edited)");
        }
        out.push_str(&format!("{}\n", ctx.ui.dim(&meta)));
        for h in shown_headers(c) {
            out.push_str(&format!("    {}\n", clean_line(&h)));
        }
        if a.history && c.is_edited() {
            for v in &c.history {
                out.push_str(&format!(
                    "    --- v{} {}\n",
                    v.version,
                    clock::format(&v.date)
                ));
                for line in clean(v.text.as_deref().unwrap_or("(retracted)")).lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        } else {
            let body = if c.is_retracted() {
                "(retracted)".into()
            } else {
                clean(&c.body)
            };
            for line in body.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    Ok(ui::print(&out)?)
}

pub fn search(ctx: &Ctx, a: SearchArgs) -> CommandResult {
    ctx.refresh();
    let snapshot = ctx.snapshot(Depth::Full)?;
    let hits = text_search::search(&snapshot, &a.text);
    if a.json {
        let all: Vec<Value> = hits
            .iter()
            .map(|h| json!({"id": h.id.to_string(), "title": h.title, "matches": h.matches.iter().map(|m| json!({"location": m.location, "line": m.line})).collect::<Vec<_>>()}))
            .collect();
        return Ok(ctx.ui.json(&all)?);
    }
    let mut out = String::new();
    for h in &hits {
        out.push_str(&format!(
            "{}/{}\t{}\n",
            h.id.author.short(),
            h.id.number,
            ctx.ui.bold(&h.title)
        ));
        for m in &h.matches {
            out.push_str(&format!("    {}: {}\n", m.location, clean_line(&m.line)));
        }
    }
    Ok(ui::print(&out)?)
}

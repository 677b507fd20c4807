//! `git issue export --html DIR`: a static site of the issues, JavaScript-free,
//! with the page shell the apps share.

use std::path::PathBuf;

use clap::Args as ClapArgs;
use git_issue::store::Depth;
use git_issue::{Issue, State};
use gitapps_cli::html::{escape, page, time};
use gitapps_core::People;

use super::{CommandError, CommandResult, Ctx};

/// Write a static HTML site of the issues into DIR: DIR/issues/index.html and
/// one page per issue (no JavaScript; it works from disk or any web server).
#[derive(ClapArgs)]
pub struct Args {
    /// Write HTML (the only format).
    #[arg(long, required = true)]
    html: bool,
    /// Where to write the site.
    dir: PathBuf,
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}\
.open{color:#1a7f37}.closed{color:#cf222e}.comment{border:1px solid #ddd;border-radius:6px;margin:1em 0}\
.meta{background:#f6f8fa;padding:.4em .8em;color:#57606a}.body{padding:.4em .8em;white-space:pre-wrap}\
table{border-collapse:collapse}td{padding:.2em .6em;border-bottom:1px solid #eee}";

fn page_name(issue: &Issue) -> String {
    format!("{}-{}.html", issue.id.author, issue.id.number)
}

fn state(issue: &Issue) -> String {
    let s = issue.state();
    let class = match s {
        State::Open => "open",
        State::Closed => "closed",
    };
    format!("<span class=\"{class}\">{s}</span>")
}

fn issue_page(issue: &Issue, people: &People, fixed_by: &[gitapps_core::ItemId]) -> String {
    let mut body = format!(
        "<p><a href=\"index.html\">All issues</a></p>\n<h1>{}</h1>\n<p>{} · opened by {} · labels: {}</p>\n",
        escape(&issue.title),
        state(issue),
        escape(&people.display(&issue.id.author)),
        escape(&issue.labels.join(", "))
    );
    if !issue.assignees.is_empty() {
        let names: Vec<String> = issue
            .assignees
            .iter()
            .map(|a| escape(&people.display(a)))
            .collect();
        body.push_str(&format!("<p>assigned to {}</p>\n", names.join(", ")));
    }
    if !fixed_by.is_empty() {
        let names: Vec<String> = fixed_by
            .iter()
            .map(|m| {
                format!(
                    "<a href=\"../mr/{}-{}.html\">{}</a>",
                    m.author,
                    m.number,
                    escape(&format!("{}/{}", m.author.short(), m.number))
                )
            })
            .collect();
        body.push_str(&format!(
            "<p>fixed by merge request {}</p>\n",
            names.join(", ")
        ));
    }
    for c in &issue.comments {
        let text = if c.is_retracted() {
            "(retracted)".to_owned()
        } else {
            c.body.clone()
        };
        body.push_str(&format!(
            "<div class=\"comment\" id=\"c-{}-{}\"><div class=\"meta\">{} · comment {}/{} · {}{}</div><div class=\"body\">{}</div></div>\n",
            c.author,
            c.index,
            escape(&people.display(&c.author)),
            escape(c.author.short()),
            c.index,
            time(&c.date),
            if c.is_edited() && !c.is_retracted() { " (edited)" } else { "" },
            escape(&text)
        ));
    }
    page(&issue.title, "../", "style.css", "git issue export", &body)
}

pub fn run(ctx: &Ctx, a: Args) -> CommandResult {
    if !a.html {
        return Err(CommandError::user(
            "give --html: HTML is the only export format",
        ));
    }
    ctx.refresh();
    let snapshot = ctx.snapshot(Depth::Full)?;
    let people = ctx.people()?;
    let fixed_by = ctx.fixed_by();
    let dir = a.dir.join("issues");
    std::fs::create_dir_all(&dir)?;
    let style = a.dir.join("style.css");
    if !style.exists() {
        std::fs::write(&style, STYLE)?;
    }
    let mut rows = String::new();
    for issue in snapshot.issues.iter().rev() {
        let fixes = fixed_by.get(&issue.id).map(Vec::as_slice).unwrap_or(&[]);
        std::fs::write(
            dir.join(page_name(issue)),
            issue_page(issue, &people, fixes),
        )?;
        rows.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            page_name(issue),
            escape(&format!("{}/{}", issue.id.author.short(), issue.id.number)),
            state(issue),
            escape(&issue.title),
            escape(&people.display(&issue.id.author))
        ));
    }
    let body = format!("<h1>Issues</h1>\n<table>\n{rows}</table>\n");
    std::fs::write(
        dir.join("index.html"),
        page("Issues", "../", "style.css", "git issue export", &body),
    )?;
    println!("{}", dir.join("index.html").display());
    Ok(())
}

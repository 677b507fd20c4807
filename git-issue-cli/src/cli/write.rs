//! The verbs that change issues: each one signed push.

use std::path::PathBuf;

use clap::Args as ClapArgs;
use git_issue::store::Depth;
use git_issue::{ops, State};
use gitapps_cli::editor;

use super::{CommandError, CommandResult, Ctx};

/// Set up the issue tracker (the project's owner, once; again to repair).
///
/// Adds refs/issues.conf, branches/issues.conf and groups/maintainers to
/// apps/access-control (or the lines they lack), and creates the data branch
/// apps/issues/data with the standard labels, in one signed push.
#[derive(ClapArgs)]
pub struct InitArgs {
    /// A maintainer (fingerprint): labels, closes and assigns any issue. Repeat for more.
    #[arg(long = "maintainer", value_name = "FPR")]
    maintainers: Vec<String>,
}

/// Open an issue; prints its name, <FPR>/<n>.
///
/// With no -m or -F the editor opens (git's core.editor); the first line is the
/// title when -t is not given.
#[derive(ClapArgs)]
pub struct CreateArgs {
    /// The title (one line).
    #[arg(short, long)]
    title: Option<String>,
    /// The description; several -m are paragraphs.
    #[arg(short, long = "message", value_name = "MSG")]
    message: Vec<String>,
    /// Read the description from FILE (`-`: standard input).
    #[arg(
        short = 'F',
        long = "file",
        value_name = "FILE",
        conflicts_with = "message"
    )]
    file: Option<PathBuf>,
    /// A label to put on it (besides `open`); repeat for more.
    #[arg(long = "label", value_name = "L")]
    labels: Vec<String>,
}

/// Comment on an issue, reply to a comment, or edit or retract one's own.
#[derive(ClapArgs)]
pub struct CommentArgs {
    /// The issue: <who>/<n>, or <n> when unique.
    issue: String,
    /// The text; several -m are paragraphs.
    #[arg(short, long = "message", value_name = "MSG")]
    message: Vec<String>,
    /// Read the text from FILE (`-`: standard input).
    #[arg(
        short = 'F',
        long = "file",
        value_name = "FILE",
        conflicts_with = "message"
    )]
    file: Option<PathBuf>,
    /// Reply to the comment <who>/<k>.
    #[arg(long, value_name = "WHO/K", conflicts_with_all = ["edit", "retract"])]
    reply_to: Option<String>,
    /// Write a new version of your comment <who>/<k> (the old one stays in the history).
    #[arg(long, value_name = "WHO/K", conflicts_with = "retract")]
    edit: Option<String>,
    /// Retract your comment <who>/<k> (shown as retracted; the history keeps it).
    #[arg(long, value_name = "WHO/K", conflicts_with_all = ["message", "file"])]
    retract: Option<String>,
}

/// Change the title or description of your issue (the old ones stay in the history).
#[derive(ClapArgs)]
pub struct EditArgs {
    issue: String,
    /// The new title.
    #[arg(short, long)]
    title: Option<String>,
    /// The new description.
    #[arg(short, long = "message", value_name = "MSG")]
    message: Vec<String>,
    /// Read the new description from FILE (`-`: standard input).
    #[arg(
        short = 'F',
        long = "file",
        value_name = "FILE",
        conflicts_with = "message"
    )]
    file: Option<PathBuf>,
}

/// Add or remove labels (the author and maintainers). `git issue close` and
/// `reopen` set open/closed.
#[derive(ClapArgs)]
pub struct LabelArgs {
    issue: String,
    #[arg(long = "add", value_name = "L")]
    add: Vec<String>,
    #[arg(long = "remove", value_name = "L")]
    remove: Vec<String>,
}

/// Assign people to an issue (or unassign them): anyone themselves (`me`),
/// maintainers anyone.
#[derive(ClapArgs)]
pub struct AssignArgs {
    issue: String,
    /// Who: `me`, a name or e-mail from a key, or a fingerprint prefix.
    #[arg(required = true)]
    who: Vec<String>,
}

/// Close (or reopen) an issue: the author and maintainers.
#[derive(ClapArgs)]
pub struct CloseArgs {
    issue: String,
    /// Why, as a comment on the issue.
    #[arg(short, long = "message", value_name = "REASON")]
    message: Option<String>,
}

pub fn init(ctx: &Ctx, a: InitArgs) -> CommandResult {
    let people = ctx.people().unwrap_or_default();
    let mut maintainers = Vec::new();
    for m in &a.maintainers {
        maintainers.push(ctx.person(&people, m)?);
    }
    let done = ops::init(&ctx.forge, &maintainers).map_err(|e| ctx.explain(e))?;
    if done.added.is_empty() {
        println!("the issue tracker is set up already: nothing to add");
    } else {
        for line in &done.added {
            println!("added {line}");
        }
    }
    Ok(())
}

fn text(
    ctx: &Ctx,
    messages: &[String],
    file: Option<&PathBuf>,
    template: &str,
) -> CommandResult<Option<editor::Message>> {
    Ok(editor::message(&ctx.forge, messages, file, template)?)
}

pub fn create(ctx: &Ctx, a: CreateArgs) -> CommandResult {
    let template = if a.title.is_some() {
        "\n# Describe the issue. Lines starting with # are dropped.\n"
    } else {
        "\n# The first line is the title; the rest describes the issue.\n# Lines starting with # are dropped.\n"
    };
    let message = text(ctx, &a.message, a.file.as_ref(), template)?;
    let (title, body) = match (&a.title, &message) {
        (Some(t), m) => (
            t.clone(),
            m.as_ref().map(|m| m.text.clone()).unwrap_or_default(),
        ),
        (None, Some(m)) if a.message.is_empty() && a.file.is_none() => {
            let (first, rest) = m.text.split_once('\n').unwrap_or((&m.text, ""));
            (first.to_owned(), rest.trim_start_matches('\n').to_owned())
        }
        (None, _) => {
            return Err(CommandError::user("an issue needs a title").hint("give one with -t TITLE"))
        }
    };
    let result = ops::create(&ctx.forge, &title, &body, &a.labels);
    finish(ctx, message.as_ref(), result).map(|c| println!("{}", c.value))
}

/// The draft goes when the change is pushed; it stays, named in a hint, when not.
fn finish<T>(
    ctx: &Ctx,
    message: Option<&editor::Message>,
    result: git_issue::Result<T>,
) -> CommandResult<T> {
    match result {
        Ok(v) => {
            if let Some(m) = message {
                m.done();
            }
            Ok(v)
        }
        Err(e) => {
            let mut err = ctx.explain(e);
            err.hints.extend(message.and_then(|m| m.kept_hint()));
            Err(err)
        }
    }
}

pub fn comment(ctx: &Ctx, a: CommentArgs) -> CommandResult {
    let (_, _, id) = ctx.find(&a.issue, Depth::Summary)?;
    if let Some(spec) = &a.retract {
        let c = ops::edit_comment(&ctx.forge, &id, spec, None).map_err(|e| ctx.explain(e))?;
        println!("retracted {spec} on {id} ({})", c.value);
        return Ok(());
    }
    let message = text(
        ctx,
        &a.message,
        a.file.as_ref(),
        "\n# Your comment. Lines starting with # are dropped.\n",
    )?;
    let Some(m) = &message else {
        return Err(CommandError::user("no text: nothing was written")
            .hint("give the text with -m MSG or -F FILE"));
    };
    if let Some(spec) = &a.edit {
        finish(
            ctx,
            message.as_ref(),
            ops::edit_comment(&ctx.forge, &id, spec, Some(&m.text)),
        )?;
        println!("edited {spec} on {id}");
        return Ok(());
    }
    let k = finish(
        ctx,
        message.as_ref(),
        ops::comment(&ctx.forge, &id, &m.text, a.reply_to.as_deref()),
    )?;
    println!("comment {}/{} on {id}", ctx.forge.me()?, k.value);
    Ok(())
}

pub fn edit(ctx: &Ctx, a: EditArgs) -> CommandResult {
    let (_, _, id) = ctx.find(&a.issue, Depth::Summary)?;
    let body = if a.message.is_empty() && a.file.is_none() {
        None
    } else {
        text(ctx, &a.message, a.file.as_ref(), "")?
    };
    let result = ops::edit(
        &ctx.forge,
        &id,
        a.title.as_deref(),
        body.as_ref().map(|m| m.text.as_str()),
    );
    finish(ctx, body.as_ref(), result)?;
    println!("edited {id}");
    Ok(())
}

pub fn label(ctx: &Ctx, a: LabelArgs) -> CommandResult {
    if a.add.is_empty() && a.remove.is_empty() {
        return Err(CommandError::user("nothing to do").hint("give --add LABEL or --remove LABEL"));
    }
    let (_, _, id) = ctx.find(&a.issue, Depth::Summary)?;
    let change = ops::label(&ctx.forge, &id, &a.add, &a.remove).map_err(|e| ctx.explain(e))?;
    for l in &change.value.added {
        println!("+{l}");
    }
    for l in &change.value.removed {
        println!("-{l}");
    }
    Ok(())
}

pub fn assign(ctx: &Ctx, a: AssignArgs, assign: bool) -> CommandResult {
    let (_, people, id) = ctx.find(&a.issue, Depth::Summary)?;
    let mut who = Vec::new();
    for w in &a.who {
        who.push(ctx.person(&people, w)?);
    }
    let changed = ops::assign(&ctx.forge, &id, &who, assign).map_err(|e| ctx.explain(e))?;
    let sign = if assign { '+' } else { '-' };
    for w in &changed.value {
        println!("{sign}{}", people.display(w));
    }
    Ok(())
}

pub fn close(ctx: &Ctx, a: CloseArgs, state: State) -> CommandResult {
    let (_, _, id) = ctx.find(&a.issue, Depth::Summary)?;
    let changed =
        ops::set_state(&ctx.forge, &id, state, a.message.as_deref()).map_err(|e| ctx.explain(e))?;
    if changed.value {
        println!("{id} is {state}");
    } else {
        ctx.ui.note(&format!("{id} was {state} already"));
    }
    Ok(())
}

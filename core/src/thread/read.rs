//! Reading one thread's directory: its comments, the edits of them and of the
//! title, and its votes. Malformed entries become warnings naming the path.

use std::collections::{BTreeMap, BTreeSet};

use gix::ObjectId;

use super::comment::{Comment, Version};
use super::edit::{self, Edit, Target, EDITS_DIR};
use super::vote::{Vote, VOTES_DIR};
use super::COMMENTS_DIR;
use crate::refs::parse_number;
use crate::tree_reader::{Entry, TreeReader};
use crate::Fingerprint;
use crate::Result;

/// Which thread, and how much of it to read.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The thread's directory, for warnings (`merge-reqs/<id>/<n>`).
    pub path: &'a str,
    /// Its author: their comment 0 is the description, and only they edit the title.
    pub author: &'a Fingerprint,
    /// Every comment, or only the description and the comments of `also`.
    pub full: bool,
    /// Commenters whose comments are read even when not `full` (CI results, say).
    pub also: &'a BTreeSet<Fingerprint>,
}

impl Scope<'_> {
    fn reads(&self, who: &Fingerprint, target: Target) -> bool {
        match target {
            Target::Title => who == self.author,
            Target::Comment(k) => {
                self.full || (who == self.author && k == 0) || self.also.contains(who)
            }
        }
    }
}

/// What was read of a thread, before the edits are applied ([`finish`]).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub comments: Vec<Comment>,
    pub edits: Vec<Edit>,
    pub votes: Vec<Vote>,
    /// The next free comment index per commenter (malformed files included).
    pub comment_slots: BTreeMap<Fingerprint, u32>,
}

/// A thread as shown: comments with their edits applied, in date order.
#[derive(Clone, Debug, Default)]
pub struct Thread {
    pub comments: Vec<Comment>,
    pub votes: Vec<Vote>,
    /// The newest title, and every version when it was edited.
    pub title: String,
    pub title_history: Vec<Version>,
}

/// Read `entry` of the thread's directory when it is one of the thread's own
/// (`comments`, `edits`, `votes`): `Ok(false)` for anything else.
pub fn read_entry(
    reader: &mut TreeReader<'_>,
    scope: &Scope<'_>,
    entry: &Entry,
    parts: &mut Parts,
) -> Result<bool> {
    let path = || format!("{}/{}", scope.path, entry.name);
    let kind = entry.name.as_str();
    if ![COMMENTS_DIR, EDITS_DIR, VOTES_DIR].contains(&kind) {
        return Ok(false);
    }
    if !entry.mode.is_tree() {
        reader.warn(path(), "not a directory");
        return Ok(true);
    }
    for who in reader.tree(&entry.id)? {
        let wpath = || format!("{}/{}", path(), who.name);
        let Some(fpr) = Fingerprint::parse(&who.name)
            .ok()
            .filter(|f| f.as_str() == who.name && who.mode.is_tree())
        else {
            reader.warn(wpath(), "not a user id directory");
            continue;
        };
        match kind {
            COMMENTS_DIR => read_comments(reader, scope, &wpath(), &fpr, &who.id, parts)?,
            EDITS_DIR => read_edits(reader, scope, &wpath(), &fpr, &who.id, parts)?,
            _ => read_votes(reader, &wpath(), &fpr, &who.id, parts)?,
        }
    }
    Ok(true)
}

fn read_comments(
    reader: &mut TreeReader<'_>,
    scope: &Scope<'_>,
    path: &str,
    who: &Fingerprint,
    tree: &ObjectId,
    parts: &mut Parts,
) -> Result<()> {
    for c in reader.tree(tree)? {
        let cpath = || format!("{path}/{}", c.name);
        let Some(index) = parse_number(&c.name) else {
            reader.warn(cpath(), "not a comment number");
            continue;
        };
        let slot = parts.comment_slots.entry(who.clone()).or_insert(0);
        *slot = (*slot).max(index + 1);
        if !scope.reads(who, Target::Comment(index)) {
            continue;
        }
        if !c.mode.is_blob() {
            reader.warn(cpath(), "not a file");
            continue;
        }
        let data = reader.blob(&c.id)?;
        match Comment::parse(who.clone(), index, &data) {
            Ok(comment) => parts.comments.push(comment),
            Err(e) => reader.warn(cpath(), format!("{e}: comment skipped")),
        }
    }
    Ok(())
}

fn read_edits(
    reader: &mut TreeReader<'_>,
    scope: &Scope<'_>,
    path: &str,
    who: &Fingerprint,
    tree: &ObjectId,
    parts: &mut Parts,
) -> Result<()> {
    for t in reader.tree(tree)? {
        let tpath = || format!("{path}/{}", t.name);
        let Some(target) = Target::parse(&t.name).filter(|_| t.mode.is_tree()) else {
            reader.warn(
                tpath(),
                "not a directory named by a comment number or `title`",
            );
            continue;
        };
        if target == Target::Title && who != scope.author {
            reader.warn(tpath(), "only the author edits the title: edit skipped");
            continue;
        }
        if !scope.reads(who, target) {
            continue;
        }
        for v in reader.tree(&t.id)? {
            let vpath = || format!("{}/{}", tpath(), v.name);
            let Some(version) = parse_number(&v.name).filter(|_| v.mode.is_blob()) else {
                reader.warn(vpath(), "not a file named by a version number");
                continue;
            };
            let data = reader.blob(&v.id)?;
            match Edit::parse(who.clone(), target, version, &data) {
                Ok(e) => parts.edits.push(e),
                Err(e) => reader.warn(vpath(), format!("{e}: edit skipped")),
            }
        }
    }
    Ok(())
}

fn read_votes(
    reader: &mut TreeReader<'_>,
    path: &str,
    who: &Fingerprint,
    tree: &ObjectId,
    parts: &mut Parts,
) -> Result<()> {
    for v in reader.tree(tree)? {
        let vpath = || format!("{path}/{}", v.name);
        let Some(index) = parse_number(&v.name).filter(|_| v.mode.is_blob()) else {
            reader.warn(vpath(), "not a file named by a vote number");
            continue;
        };
        let data = reader.blob(&v.id)?;
        match Vote::parse(who.clone(), index, &data) {
            Ok(vote) => parts.votes.push(vote),
            Err(e) => reader.warn(vpath(), format!("{e}: vote skipped")),
        }
    }
    Ok(())
}

/// Apply the edits to the comments and the title (`title` as read from its file,
/// written at `created`), and sort: comments and votes in date order (then
/// author, then index). An edit of a comment that is not there is a warning.
pub fn finish(
    reader: &mut TreeReader<'_>,
    scope: &Scope<'_>,
    parts: Parts,
    title: String,
    created: Option<chrono::DateTime<chrono::Utc>>,
) -> Thread {
    let Parts {
        mut comments,
        edits,
        mut votes,
        ..
    } = parts;
    let mut by_text: BTreeMap<(&Fingerprint, Target), Vec<&Edit>> = BTreeMap::new();
    for e in &edits {
        by_text.entry((&e.author, e.target)).or_default().push(e);
    }
    for c in &mut comments {
        if let Some(edits) = by_text.remove(&(&c.author, Target::Comment(c.index))) {
            let (body, history) = edit::apply(&c.body, c.date, &edits);
            c.body = body;
            c.history = history;
        }
    }
    let (title, title_history) = match by_text.remove(&(scope.author, Target::Title)) {
        Some(edits) => {
            let written =
                created.unwrap_or_else(|| edits.iter().map(|e| e.date).min().unwrap_or_default());
            edit::apply(&title, written, &edits)
        }
        None => (title, Vec::new()),
    };
    for ((who, target), _) in by_text {
        reader.warn(
            edit::dir(scope.path, who, target),
            "edits of a comment that is not there: skipped",
        );
    }
    // Dates have one-second resolution: within a second, the description
    // (the author's comment 0, written when the thread was opened) comes
    // before every comment on it, then by author.
    let key = |c: &Comment| (c.date, !(&c.author == scope.author && c.index == 0));
    comments.sort_by(|a, b| (key(a), &a.author, a.index).cmp(&(key(b), &b.author, b.index)));
    votes.sort_by(|a, b| (a.date, &a.voter, a.index).cmp(&(b.date, &b.voter, b.index)));
    Thread {
        comments,
        votes,
        title,
        title_history,
    }
}

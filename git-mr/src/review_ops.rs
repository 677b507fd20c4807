//! The review operations on a merge request: edits and retractions, votes, and
//! the merge settings. Each is one signed push of new files under the writer's
//! own id (the settings file: maintainers'), re-applied when it loses a race.

use crate::forge::{Committed, Forge};
use crate::model::{Fingerprint, Item, MergeRequest, MrId, State};
use crate::people::Roles;
use crate::review::{self, Settings};
use crate::store::Depth;
use crate::thread::{self, edit, vote, Target, Verdict};
use crate::{layout, ops, Error, Result};

fn get<'s>(snapshot: &'s crate::Snapshot, id: &MrId) -> Result<&'s MergeRequest> {
    snapshot
        .get(id)
        .ok_or_else(|| Error::NoSuchMr(id.to_string()))
}

/// What [`edit`](fn@edit) changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edited {
    /// The title's new version number, if it changed.
    pub title: Option<u32>,
    /// The description's new version number, if it changed.
    pub description: Option<u32>,
}

/// `git mr edit`: a new title and/or description (the author's comment 0), as new
/// versions under the author's own id. Only the author edits them; a text equal
/// to the current one is left alone (nothing changed: no push).
pub fn edit(
    forge: &Forge,
    id: &MrId,
    title: Option<&str>,
    description: Option<&str>,
) -> Result<Committed<Edited>> {
    let me = forge.me()?;
    if id.author != me {
        return Err(Error::Invalid(format!(
            "only the author of {id} edits its title and description; comment instead"
        )));
    }
    let title = title.map(edit::first_line);
    if title.as_deref().is_some_and(str::is_empty) {
        return Err(Error::Invalid("a title cannot be empty".to_owned()));
    }
    if description.is_some_and(|d| d.trim().is_empty()) {
        return Err(Error::Invalid(
            "an empty description: retract it with `git mr comment MR --retract me/0`".to_owned(),
        ));
    }
    forge.transact_on(id, Depth::Summary, &[], |forge, snapshot, tx| {
        let mr = get(snapshot, id)?;
        let dir = layout::mr_dir(id);
        let tree = snapshot.tree;
        let mut done = Edited::default();
        if let Some(t) = title.as_deref().filter(|t| *t != mr.title) {
            let v =
                thread::write::add_edit(tx, forge.repo(), tree, &dir, &me, Target::Title, Some(t))?;
            done.title = Some(v);
        }
        let current = mr.description().map(|c| c.body.as_str());
        if let Some(d) = description.filter(|d| Some(d.trim_end()) != current.map(str::trim_end)) {
            if mr.description().is_none() {
                return Err(Error::Invalid(format!("{id} has no description to edit")));
            }
            let v = thread::write::add_edit(
                tx,
                forge.repo(),
                tree,
                &dir,
                &me,
                Target::Comment(0),
                Some(d),
            )?;
            done.description = Some(v);
        }
        tx.message = format!("git mr edit {id}\n");
        Ok(done)
    })
}

/// `git mr comment --edit` (`text`) and `--retract` (`None`): a new version of one
/// of one's own comments, `spec` naming it as `--reply-to` does. Returns the
/// comment's author, index and new version.
pub fn edit_comment(
    forge: &Forge,
    id: &MrId,
    spec: &str,
    text: Option<&str>,
) -> Result<Committed<(Fingerprint, u32, u32)>> {
    let me = forge.me()?;
    if text.is_some_and(|t| t.trim().is_empty()) {
        return Err(Error::Invalid(
            "an edit needs some text (to take a comment back: --retract)".to_owned(),
        ));
    }
    forge.transact_on(id, Depth::Full, &[], |forge, snapshot, tx| {
        let mr = get(snapshot, id)?;
        let people = forge.people()?;
        let c = ops::find_comment(mr, &people, Some(&me), spec)?;
        if c.author != me {
            return Err(Error::Invalid(format!(
                "comment {}/{} is {}'s: you edit and retract only your own",
                c.author.short(),
                c.index,
                people.display(&c.author)
            )));
        }
        match text {
            None if c.is_retracted() => {
                return Err(Error::Invalid(format!(
                    "comment {}/{} is retracted already",
                    c.author.short(),
                    c.index
                )))
            }
            Some(t) if !c.is_retracted() && t.trim_end() == c.body.trim_end() => {
                return Err(Error::Invalid(format!(
                    "comment {}/{} says that already",
                    c.author.short(),
                    c.index
                )))
            }
            _ => {}
        }
        let v = thread::write::add_edit(
            tx,
            forge.repo(),
            snapshot.tree,
            &layout::mr_dir(id),
            &me,
            Target::Comment(c.index),
            text,
        )?;
        tx.message = match text {
            Some(_) => format!("git mr comment {id} --edit {}/{}\n", c.author, c.index),
            None => format!("git mr comment {id} --retract {}/{}\n", c.author, c.index),
        };
        Ok((c.author.clone(), c.index, v))
    })
}

/// A vote as cast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cast {
    pub index: u32,
    pub revision: u32,
}

/// `git mr approve`, `request-changes` and `unvote` ([`Verdict::None`]): a vote on
/// the newest revision of an open merge request, under one's own id. Nobody votes
/// on their own merge request; a request for changes says which; `unvote`
/// withdraws a vote that stands.
pub fn vote(forge: &Forge, id: &MrId, verdict: Verdict, body: &str) -> Result<Committed<Cast>> {
    let me = forge.me()?;
    if verdict != Verdict::None && id.author == me {
        return Err(Error::Invalid(format!(
            "{id} is yours: others approve it or ask for changes"
        )));
    }
    if verdict == Verdict::RequestChanges && body.trim().is_empty() {
        return Err(Error::Invalid(
            "say which changes (-m MSG or -F FILE)".to_owned(),
        ));
    }
    forge.transact_on(id, Depth::Summary, &[], |forge, snapshot, tx| {
        let mr = get(snapshot, id)?;
        if mr.state() != State::Open {
            return Err(Error::Invalid(format!(
                "{id} is {}: votes are for open merge requests",
                mr.state()
            )));
        }
        let revision = mr
            .latest_revision()
            .map(|r| r.number)
            .ok_or_else(|| Error::Invalid(format!("{id} has no revision to vote on")))?;
        let mine = vote::standing(&mr.votes, Some(revision))
            .into_iter()
            .find(|s| s.vote.voter == me);
        if verdict == Verdict::None && mine.is_none() {
            return Err(Error::Invalid(format!(
                "you have no vote on {id} to withdraw"
            )));
        }
        let index = thread::write::add_vote(
            tx,
            forge.repo(),
            snapshot.tree,
            &layout::mr_dir(id),
            &me,
            revision,
            verdict,
            body,
        )?;
        tx.message = format!("git mr vote {id} {verdict} v{revision}\n");
        Ok(Cast { index, revision })
    })
}

/// `git mr settings`: change what `git mr merge` requires (maintainers). `None`
/// keeps a value as it is. Returns the settings now in force.
pub fn set_settings(
    forge: &Forge,
    approvals: Option<u32>,
    ci_pass: Option<bool>,
) -> Result<Committed<Settings>> {
    let me = forge.me()?;
    if !forge.people()?.is_maintainer(&me) {
        return Err(Error::NotMaintainer(
            "only maintainers change the merge settings".to_owned(),
        ));
    }
    forge.transact(|_, snapshot, tx| {
        let mut s = snapshot.settings.clone().unwrap_or_default();
        // A file nobody could read is replaced by a good one.
        s.malformed = None;
        if let Some(n) = approvals {
            s.approvals = n;
        }
        if let Some(ci) = ci_pass {
            s.ci_pass = ci;
        }
        if snapshot.settings.as_ref() != Some(&s) {
            tx.message = "git mr settings\n".to_owned();
            tx.file(review::SETTINGS_PATH, s.render());
        }
        Ok(s)
    })
}

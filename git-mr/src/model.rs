//! The data model: merge requests, their comments, labels and revisions.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A user id: the full upper-case hex fingerprint of a primary key. The
/// policy language's own type: one definition for the hook and the apps.
pub use gitapps_policy::Fingerprint;

/// A merge request's name: its author and the author's running number (the
/// core's item name, as every app's).
pub type MrId = gitapps_core::ItemId;

/// A merge request's state, derived from its labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
    Merged,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Merged => "merged",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One revision: the commit that the tag `<id>/<n>-v<k>` points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub number: u32,
    /// What the tag points at (a commit, or an annotated tag of one).
    #[serde(with = "gitapps_core::forge::oid_hex")]
    pub commit: gix::ObjectId,
}

/// Header names the tools write: a thread's ([`crate::thread::header`]) and
/// the merge requests' own.
pub mod header {
    pub use crate::thread::header::*;
    pub const CI_STATUS: &str = "CI-Status";
    pub const CI_COMMAND: &str = "CI-Command";
    pub const MERGE_COMMIT: &str = "Merge-Commit";
    /// On a merge comment: the merge base the merged revision was diffed against.
    pub const BASE: &str = "Base";
    /// On a merge comment: what the merge requirements lacked, when forced.
    pub const MERGE_FORCED: &str = "Merge-Forced";
}

pub use crate::thread::{Comment, Version, Vote};
/// What every app's item has: `has_label`, `description`, `created`,
/// `next_comment_index` (the core's, the same for every app).
pub use gitapps_core::items::Item;

/// A merge request as read from the data branch and the revision tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    pub id: MrId,
    pub title: String,
    pub target: String,
    /// Sorted label names.
    pub labels: Vec<String>,
    /// In date order (then author, then index), their edits applied.
    pub comments: Vec<Comment>,
    /// Sorted by number.
    pub revisions: Vec<Revision>,
    /// Every version of the title, oldest first, when its author edited it
    /// (`title` is the newest); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title_history: Vec<Version>,
    /// Every vote file, in date order ([`crate::thread::vote::standing`] says
    /// which stand).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<Vote>,
    /// The issues it says it fixes (`git mr create --fixes`), which its merge
    /// closes where the merger may.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<MrId>,
}

gitapps_core::impl_item!(MergeRequest);

impl MergeRequest {
    /// `merged` wins over `closed`, which wins over open.
    pub fn state(&self) -> State {
        if self.has_label("merged") {
            State::Merged
        } else if self.has_label("closed") {
            State::Closed
        } else {
            State::Open
        }
    }

    /// The newest revision.
    pub fn latest_revision(&self) -> Option<&Revision> {
        self.revisions.iter().max_by_key(|r| r.number)
    }

    pub fn revision(&self, k: u32) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == k)
    }

    /// Headers and bodies of comments, grouped by author (for lookups).
    pub fn comments_by_author(&self) -> BTreeMap<&Fingerprint, Vec<&Comment>> {
        let mut map: BTreeMap<&Fingerprint, Vec<&Comment>> = BTreeMap::new();
        for c in &self.comments {
            map.entry(&c.author).or_default().push(c);
        }
        map
    }
}

//! Issues as read from their data branch.

use std::fmt;

use chrono::{DateTime, Utc};
/// What every app's item has: `has_label`, `description`, `created` (the
/// core's, the same for every app).
pub use gitapps_core::items::Item;
use gitapps_core::thread::{Comment, Version};
use gitapps_core::{Fingerprint, ItemId};
use serde::{Deserialize, Serialize};

/// Header names `git issue` writes on top of the core's thread headers.
pub mod header {
    pub use gitapps_core::thread::header::*;
    /// On a comment that opened or closed the issue: `open` or `closed`.
    pub const STATE: &str = "State";
    /// On the comment of a merge that closed the issue: the merge request.
    pub const FIXED_BY: &str = "Fixed-By";
    /// On that comment: the merge commit.
    pub const MERGE_COMMIT: &str = "Merge-Commit";
}

/// An issue's state, from its labels: `closed` wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
        }
    }

    /// The label that says so.
    pub fn label(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub id: ItemId,
    pub title: String,
    /// Sorted label names.
    pub labels: Vec<String>,
    /// Sorted.
    pub assignees: Vec<Fingerprint>,
    /// In date order (then author, then index), their edits applied.
    pub comments: Vec<Comment>,
    /// Every version of the title, oldest first, when its author edited it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title_history: Vec<Version>,
}

gitapps_core::impl_item!(Issue);

impl Issue {
    pub fn state(&self) -> State {
        if self.has_label("closed") {
            State::Closed
        } else {
            State::Open
        }
    }

    /// When anything was last written to it (a comment or an edit).
    pub fn updated(&self) -> Option<DateTime<Utc>> {
        self.comments
            .iter()
            .flat_map(|c| std::iter::once(c.date).chain(c.history.iter().map(|v| v.date)))
            .chain(self.title_history.iter().map(|v| v.date))
            .max()
    }

    pub fn is_assigned(&self, who: &Fingerprint) -> bool {
        self.assignees.contains(who)
    }
}

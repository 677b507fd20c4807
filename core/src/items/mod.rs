//! Items on a data branch: every app keeps its items (merge requests,
//! issues) under `<kind-dir>/<FPR>/<n>/`, one directory per author, numbered
//! from 1 per author, each a title and a thread with labels.
//!
//! What reading them takes, whatever the app:
//!
//! * [`names`]: `<who>/<n>` and `<n>` resolved through the authors'
//!   directories (one tree, and one more per author asked), never by reading
//!   every item;
//! * [`select`]: which items a read holds (all, some, or none but an
//!   author's numbers, for a new item): a read of some is marked so, and is
//!   never cached or listed;
//! * [`read`]: the walk over the authors' directories and one item's
//!   directory (its title and thread), with warnings for what does not follow
//!   the layout;
//! * [`counters`]: the numbers and comment indexes in use, malformed entries
//!   included, so that nothing is ever written twice under one name.

pub mod counters;
pub mod names;
pub mod read;
pub mod select;

pub use counters::Counters;
pub use names::Names;
pub use select::Selection;

use chrono::{DateTime, Utc};

use crate::thread::Comment;
use crate::{Fingerprint, ItemId};

/// What the layout says of an app's items: where they live and what one is
/// called in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// The top-level directory on the data branch (`merge-reqs`, `issues`).
    pub dir: &'static str,
    /// One item, in warnings (`merge request`, `issue`).
    pub noun: &'static str,
}

impl Kind {
    /// The noun with its article (`an issue`, `a merge request`), for warnings.
    pub fn a_noun(&self) -> String {
        let vowel = self.noun.starts_with(['a', 'e', 'i', 'o', 'u']);
        format!("{} {}", if vowel { "an" } else { "a" }, self.noun)
    }
}

/// What every app's item carries: a name, labels and a thread of comments.
/// The provided methods are the same for every app: implement the three
/// accessors.
pub trait Item {
    fn id(&self) -> &ItemId;
    /// Sorted label names.
    fn labels(&self) -> &[String];
    /// In date order, their edits applied.
    fn comments(&self) -> &[Comment];

    fn has_label(&self, label: &str) -> bool {
        self.labels().iter().any(|l| l == label)
    }

    /// The author's comment 0.
    fn description(&self) -> Option<&Comment> {
        let author = &self.id().author;
        self.comments()
            .iter()
            .find(|c| c.index == 0 && c.author == *author)
    }

    /// When it was opened: the description's date.
    fn created(&self) -> Option<DateTime<Utc>> {
        self.description().map(|c| c.date)
    }

    /// The next comment index of `who` among the comments read (see
    /// [`Counters::next_comment_index`] for the one to write).
    fn next_comment_index(&self, who: &Fingerprint) -> u32 {
        self.comments()
            .iter()
            .filter(|c| &c.author == who)
            .map(|c| c.index + 1)
            .max()
            .unwrap_or(0)
    }
}

/// Implement [`Item`] for a struct whose fields `id`, `labels` and
/// `comments` are what the trait asks: every app's item is such a struct.
#[macro_export]
macro_rules! impl_item {
    ($item:ty) => {
        impl $crate::items::Item for $item {
            fn id(&self) -> &$crate::ItemId {
                &self.id
            }
            fn labels(&self) -> &[String] {
                &self.labels
            }
            fn comments(&self) -> &[$crate::thread::Comment] {
                &self.comments
            }
        }
    };
}

/// The item `id` among `items`, sorted by id (as every snapshot keeps them).
pub fn find<'a, I: Item>(items: &'a [I], id: &ItemId) -> Option<&'a I> {
    items
        .binary_search_by(|i| i.id().cmp(id))
        .ok()
        .map(|i| &items[i])
}

//! Which items a read holds. A verb on one item reads that one (and what it
//! needs besides: the label names, the settings), the same among 50 items or
//! 50,000; a new item reads none, only the numbers its author has used. Such a
//! read says so, so that it is never taken for the whole branch: never cached,
//! never listed.

use std::collections::BTreeSet;

use crate::{Fingerprint, ItemId};

/// See the module's documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// `None`: every item; `Some`: these alone (those that exist).
    pub only: Option<BTreeSet<ItemId>>,
    /// An author whose numbers are counted besides those of `only`'s authors
    /// (a new item's).
    pub numbers_of: Option<Fingerprint>,
}

impl Selection {
    /// Every item.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// These items alone, and their authors' numbers.
    pub fn only(ids: BTreeSet<ItemId>) -> Selection {
        Selection {
            only: Some(ids),
            numbers_of: None,
        }
    }

    /// No item: the numbers `author` has used, for a new item of theirs.
    pub fn for_new(author: &Fingerprint) -> Selection {
        Selection {
            only: Some(BTreeSet::new()),
            numbers_of: Some(author.clone()),
        }
    }

    /// Whether it holds every item: only such a read is cached or listed.
    pub fn is_all(&self) -> bool {
        self.only.is_none()
    }

    /// Whether the author's directory named `name` is opened.
    pub fn opens(&self, name: &str) -> bool {
        match &self.only {
            None => true,
            Some(only) => {
                self.numbers_of.as_ref().is_some_and(|a| a.as_str() == name)
                    || only.iter().any(|id| id.author.as_str() == name)
            }
        }
    }

    /// Whether the item `id` (`None`: an entry that is no item's number) is read.
    /// A read of some says nothing of the other entries, malformed or not.
    pub fn reads(&self, id: Option<&ItemId>) -> bool {
        match &self.only {
            None => true,
            Some(only) => id.is_some_and(|id| only.contains(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::item as id;

    #[test]
    fn a_selection_opens_its_authors_and_reads_its_items() {
        let all = Selection::all();
        assert!(all.is_all() && all.opens("anything") && all.reads(None));
        let one = Selection::only([id('A', 2)].into());
        let (a, b) = (id('A', 1).author, id('B', 1).author);
        assert!(!one.is_all());
        assert!(one.opens(a.as_str()) && !one.opens(b.as_str()));
        assert!(one.reads(Some(&id('A', 2))));
        assert!(!one.reads(Some(&id('A', 1))) && !one.reads(None));
        let new = Selection::for_new(&b);
        assert!(new.opens(b.as_str()) && !new.opens(a.as_str()));
        assert!(!new.reads(Some(&id('B', 1))));
    }
}

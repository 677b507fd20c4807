//! The names in use on a data branch: each author's highest item number and
//! each commenter's next comment index on each item. Malformed entries count
//! too: a number or an index is never given twice, even when what holds it
//! cannot be read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Item;
use crate::{Fingerprint, ItemId};

/// See the module's documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// The highest number in use per author.
    pub numbers: BTreeMap<Fingerprint, u32>,
    /// The next free comment index, per `<item>/<commenter>`.
    pub comment_slots: BTreeMap<String, u32>,
}

fn slot_key(id: &ItemId, who: &Fingerprint) -> String {
    format!("{id}/{who}")
}

impl Counters {
    /// The number a new item of `author` gets.
    pub fn next_number(&self, author: &Fingerprint) -> u32 {
        self.numbers.get(author).copied().unwrap_or(0) + 1
    }

    /// The index `who`'s next comment on `id` gets: past every file of theirs
    /// there (`item`: the item as read, when it was).
    pub fn next_comment_index(
        &self,
        id: &ItemId,
        who: &Fingerprint,
        item: Option<&impl Item>,
    ) -> u32 {
        let slot = self
            .comment_slots
            .get(&slot_key(id, who))
            .copied()
            .unwrap_or(0);
        slot.max(item.map(|i| i.next_comment_index(who)).unwrap_or(0))
    }

    /// `id`'s number is in use.
    pub fn note_number(&mut self, id: &ItemId) {
        let max = self.numbers.entry(id.author.clone()).or_insert(0);
        *max = (*max).max(id.number);
    }

    /// The next free comment index per commenter on `id`, as its thread was read.
    pub fn note_slots(&mut self, id: &ItemId, slots: &BTreeMap<Fingerprint, u32>) {
        for (who, slot) in slots {
            let s = self.comment_slots.entry(slot_key(id, who)).or_insert(0);
            *s = (*s).max(*slot);
        }
    }

    /// Forget what was counted on `id` (before it is read again).
    pub fn forget_slots(&mut self, id: &ItemId) {
        let prefix = format!("{id}/");
        self.comment_slots.retain(|k, _| !k.starts_with(&prefix));
    }
}

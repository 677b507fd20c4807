//! Items' names: every app numbers its items per author (`<FPR>/<n>`, `n` from
//! 1), and users name them `<who>/<n>` or `<n>` when unique (SPEC section 4).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::People;
use crate::refs::parse_number;
use crate::{Error, Fingerprint, Result};

/// An item's name: its author and the author's running number (a merge
/// request, an issue).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemId {
    pub author: Fingerprint,
    pub number: u32,
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.author, self.number)
    }
}

impl ItemId {
    /// `<dir>/<author>/<n>`: the item's directory on its data branch.
    pub fn dir(&self, items_dir: &str) -> String {
        format!("{items_dir}/{}/{}", self.author, self.number)
    }
}

/// What [`lookup`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(ItemId),
    /// Not `<who>/<n>` or `<n>` (with `n` from 1).
    BadName,
    /// No item has that name.
    NotFound,
}

/// The item `spec` names among `ids`: `<who>/<n>`, or `<n>` when only one
/// item has that number. `<who>` is resolved by [`People::find`] (authors
/// whose key is gone count too): a `<who>` that could mean two keys is an
/// error even when only one of them has an item `n`.
pub fn lookup<'a>(
    ids: impl IntoIterator<Item = &'a ItemId>,
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
) -> Result<Lookup> {
    let ids: Vec<&ItemId> = ids.into_iter().collect();
    let mut authors: Vec<Fingerprint> = ids.iter().map(|id| id.author.clone()).collect();
    authors.dedup();
    lookup_with(&authors, people, me, spec, |author, number| {
        Ok::<_, Error>(
            ids.iter()
                .filter(|id| id.number == number && author.is_none_or(|a| &id.author == a))
                .map(|id| (*id).clone())
                .collect(),
        )
    })
}

/// [`lookup`] without the list of every item: `authors` are those with
/// items, and `numbered(author, n)` says which items have the number `n` (of
/// `author` alone, when given). A data branch answers that by opening one
/// author's directory for `<who>/<n>`, each author's for `<n>`: never every
/// item's.
pub fn lookup_with<E: From<Error>>(
    authors: &[Fingerprint],
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
    mut numbered: impl FnMut(Option<&Fingerprint>, u32) -> std::result::Result<Vec<ItemId>, E>,
) -> std::result::Result<Lookup, E> {
    let (who, n) = match spec.rsplit_once('/') {
        Some((who, n)) => (Some(who), n),
        None => (None, spec),
    };
    let Some(number) = parse_number(n).filter(|n| *n > 0) else {
        return Ok(Lookup::BadName);
    };
    let candidates: Vec<ItemId> = match who {
        None => numbered(None, number)?,
        Some(who) => {
            let author = people.find(who, me, authors)?;
            numbered(Some(&author), number)?
        }
    };
    match candidates.len() {
        0 => Ok(Lookup::NotFound),
        1 => Ok(Lookup::Found(
            candidates.into_iter().next().expect("one candidate"),
        )),
        _ => Err(Error::Ambiguous {
            spec: spec.to_owned(),
            candidates: candidates.iter().map(|c| c.to_string()).collect(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::item as id;

    #[test]
    fn numbers_alone_must_be_unique() {
        let ids = [id('A', 1), id('B', 1), id('B', 2)];
        let people = People::default();
        assert_eq!(
            lookup(&ids, &people, None, "2").unwrap(),
            Lookup::Found(id('B', 2))
        );
        assert!(matches!(
            lookup(&ids, &people, None, "1"),
            Err(Error::Ambiguous { .. })
        ));
        assert_eq!(lookup(&ids, &people, None, "3").unwrap(), Lookup::NotFound);
        for bad in ["0", "x", "01", "A/"] {
            assert_eq!(lookup(&ids, &people, None, bad).unwrap(), Lookup::BadName);
        }
        let b = format!("{}/1", &"B".repeat(8));
        assert_eq!(
            lookup(&ids, &people, None, &b).unwrap(),
            Lookup::Found(id('B', 1))
        );
        assert_eq!(
            id('A', 3).dir("issues"),
            format!("issues/{}/3", "A".repeat(40))
        );
    }
}

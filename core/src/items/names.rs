//! Resolving an item's name (`<who>/<n>`, or `<n>` when unique) on a data
//! commit as the name needs it: the kind's directory lists the authors (one
//! tree), and `n` is looked up in an author's tree (a binary search) — that
//! author's for `<who>/<n>`, each author's for `<n>`. No item is read: the cost
//! is the same among 50 items or 50,000.
//!
//! A directory named like an item counts as a name taken even when what is in
//! it cannot be read (it makes `<n>` ambiguous): reading the item then says
//! what is wrong, as a listing would.

use gix::objs::FindExt;
use gix::ObjectId;

use crate::error::GitResultExt;
use crate::id::{lookup_with, Lookup};
use crate::identity::People;
use crate::tree_reader::{commit_tree, TreeReader};
use crate::{Fingerprint, ItemId, Result};

/// The names of one kind of item on a data commit (see the module's documentation).
pub struct Names<'r> {
    repo: &'r gix::Repository,
    /// Each author's directory: those named by a user id, and trees.
    authors: Vec<(Fingerprint, ObjectId)>,
}

impl<'r> Names<'r> {
    /// The authors under `dir` (`merge-reqs`, `issues`) on the data commit
    /// `commit` (none when `None`, or when there is no such directory).
    pub fn read(
        repo: &'r gix::Repository,
        commit: Option<ObjectId>,
        dir: &str,
    ) -> Result<Names<'r>> {
        let mut names = Names {
            repo,
            authors: Vec::new(),
        };
        let Some(commit) = commit else {
            return Ok(names);
        };
        let tree = commit_tree(repo, commit)?;
        let mut reader = TreeReader::new(repo);
        let Some(dir) = reader
            .tree(&tree)?
            .into_iter()
            .find(|e| e.name == dir && e.mode.is_tree())
        else {
            return Ok(names);
        };
        names.authors = reader
            .tree(&dir.id)?
            .into_iter()
            .filter(|a| a.mode.is_tree())
            .filter_map(|a| {
                let fpr = Fingerprint::parse(&a.name).ok()?;
                (fpr.as_str() == a.name).then_some((fpr, a.id))
            })
            .collect();
        Ok(names)
    }

    /// Those with a directory of items.
    pub fn authors(&self) -> Vec<Fingerprint> {
        self.authors.iter().map(|(f, _)| f.clone()).collect()
    }

    /// The items numbered `number` (of `author` alone, when given).
    pub fn numbered(&self, author: Option<&Fingerprint>, number: u32) -> Result<Vec<ItemId>> {
        let name = number.to_string();
        let mut buf = Vec::new();
        let mut found = Vec::new();
        for (fpr, tree) in &self.authors {
            if author.is_some_and(|a| a != fpr) {
                continue;
            }
            let tree = self.repo.objects.find_tree(tree, &mut buf).git()?;
            if tree.bisect_entry(name.as_str().into(), true).is_some() {
                found.push(ItemId {
                    author: fpr.clone(),
                    number,
                });
            }
        }
        Ok(found)
    }

    /// The item `spec` names, with [`lookup_with`]'s rules: `<who>` is one
    /// key by every reading (authors whose key is gone count too), and `<n>`
    /// alone must be unique; either else is [`crate::Error::Ambiguous`].
    pub fn resolve(&self, people: &People, me: Option<&Fingerprint>, spec: &str) -> Result<Lookup> {
        lookup_with(&self.authors(), people, me, spec, |author, n| {
            self.numbered(author, n)
        })
    }
}

/// [`Names::read`] and [`Names::resolve`] of `spec` on the data commit `commit`.
pub fn resolve(
    repo: &gix::Repository,
    commit: Option<ObjectId>,
    dir: &str,
    people: &People,
    me: Option<&Fingerprint>,
    spec: &str,
) -> Result<Lookup> {
    Names::read(repo, commit, dir)?.resolve(people, me, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Person;
    use crate::testing::{self, file, fpr, item as id};
    use crate::Error;

    /// A data commit holding these files.
    fn commit(repo: &gix::Repository, files: &[String]) -> ObjectId {
        let edits: Vec<_> = files.iter().map(|path| file(path.clone(), "x\n")).collect();
        testing::commit(repo, None, &edits).unwrap()
    }

    fn person(name: &str) -> Person {
        Person {
            name: Some(name.to_owned()),
            names: vec![name.to_owned()],
            ..Person::default()
        }
    }

    /// A's items 1 and 2, B's item 1 (only a directory: a name taken though
    /// its title is missing), a stray entry, C's items under another kind.
    fn data(repo: &gix::Repository) -> ObjectId {
        let (a, b, c) = (fpr('A'), fpr('B'), fpr('C'));
        commit(
            repo,
            &[
                format!("things/{a}/1/title"),
                format!("things/{a}/2/title"),
                format!("things/{b}/1/comments/{b}/0"),
                format!("things/{}/1/title", "not-a-user"),
                format!("things/{}/1/title", a.as_str().to_lowercase()),
                format!("others/{c}/1/title"),
            ],
        )
    }

    #[test]
    fn names_resolve_through_the_authors_directories() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let tip = data(&repo);
        let names = Names::read(&repo, Some(tip), "things").unwrap();
        assert_eq!(names.authors(), vec![fpr('A'), fpr('B')]);
        let people = People::default();
        let found = |spec: &str| names.resolve(&people, None, spec);
        assert_eq!(found("2").unwrap(), Lookup::Found(id('A', 2)));
        assert_eq!(
            found(&format!("{}/1", &"B".repeat(8))).unwrap(),
            Lookup::Found(id('B', 1)),
            "a directory is a name taken"
        );
        assert_eq!(found("3").unwrap(), Lookup::NotFound);
        assert_eq!(
            found(&format!("{}/3", "A".repeat(8))).unwrap(),
            Lookup::NotFound
        );
        for bad in ["0", "x", "01", "A/", ""] {
            assert_eq!(found(bad).unwrap(), Lookup::BadName, "{bad:?}");
        }
        match found("1") {
            Err(Error::Ambiguous { candidates, .. }) => {
                assert_eq!(
                    candidates,
                    vec![id('A', 1).to_string(), id('B', 1).to_string()]
                )
            }
            other => panic!("{other:?}"),
        }
        // Too short a prefix is nobody's; another kind's authors are not these.
        assert!(matches!(found("AAAA/1"), Err(Error::ShortPrefix(_))));
        assert!(matches!(
            found(&format!("{}/1", "C".repeat(8))),
            Err(Error::UnknownUser(_))
        ));
        // No data commit, or no such directory: no names.
        let none = Names::read(&repo, None, "things").unwrap();
        assert_eq!(none.resolve(&people, None, "1").unwrap(), Lookup::NotFound);
        let other = Names::read(&repo, Some(tip), "nothing").unwrap();
        assert!(other.authors().is_empty());
    }

    /// Names are claims: a `<who>` that two keys could mean, by a name that
    /// looks alike, is ambiguous even when only one of them has items.
    #[test]
    fn look_alike_names_are_ambiguous_even_with_one_author() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let tip = data(&repo);
        let mut people = People::default();
        people.people.insert(fpr('A'), person("Carol"));
        // A Cyrillic `а`: another key, and nobody's author.
        people.people.insert(fpr('D'), person("C\u{430}rol"));
        people.people.insert(fpr('B'), person("Bob"));
        let names = Names::read(&repo, Some(tip), "things").unwrap();
        match names.resolve(&people, None, "carol/1") {
            Err(Error::Ambiguous { candidates, .. }) => {
                assert_eq!(candidates.len(), 2, "{candidates:?}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            names.resolve(&people, None, "bob/1").unwrap(),
            Lookup::Found(id('B', 1))
        );
        assert_eq!(
            names.resolve(&people, Some(&fpr('A')), "me/2").unwrap(),
            Lookup::Found(id('A', 2))
        );
        assert_eq!(
            resolve(&repo, Some(tip), "things", &people, None, "bob/1").unwrap(),
            Lookup::Found(id('B', 1))
        );
    }
}

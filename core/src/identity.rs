//! Identity: users by fingerprint, with names and e-mails from their keys
//! (`keys/<FPR>.asc` on `apps/access-control`), and the groups an app asks
//! for (`maintainers`, `ci` …: the app names them), read with the policy
//! language itself (`gitapps-policy`): one definition of fingerprints, groups,
//! `@group` and `@owner` for the hook and the apps.
//!
//! [`crate::Forge::people`] is the one lazy reader: it reads a commit of
//! `apps/access-control` once, when first asked.
//!
//! The owner is not on any branch (it is the server's `gitapps.owner`). A client
//! learns it from the first commit of `apps/access-control`: `gitapps-hook install`
//! writes it with the owner's key alone, from the same key it sets `gitapps.owner`
//! from. When that commit holds no key or several (a branch made before the install),
//! the owner is unknown here and `@owner` means nobody to the apps; the hook, which
//! decides, knows better. The groups are used for display and hints only.

use std::collections::BTreeMap;

use gitapps_policy::names::{self, Identity, Who};
use gitapps_policy::{Members, Policy, PolicyFile};
use gix::objs::FindExt;
use gix::ObjectId;
use sequoia_openpgp as openpgp;

use crate::error::GitResultExt;
use crate::{Fingerprint, Result};

/// What a key says about its owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// The first user id's name (or `None`).
    pub name: Option<String>,
    /// The first user id's e-mail (or `None`).
    pub email: Option<String>,
    /// Every user id's name and e-mail, for resolving `<who>`.
    pub names: Vec<String>,
    pub emails: Vec<String>,
}

/// Everyone with a key on `apps/access-control`, plus the groups asked for.
#[derive(Clone, Debug, Default)]
pub struct People {
    pub people: BTreeMap<Fingerprint, Person>,
    /// The groups the app asked for, expanded (see [`Members`]); a group the
    /// policy lacks is empty.
    pub groups: BTreeMap<String, Members>,
    /// The server's owner, as the first commit of `apps/access-control` says.
    pub owner: Option<Fingerprint>,
    /// Why the policy could not be read, when it could not (groups are then empty).
    pub policy_problem: Option<String>,
}

/// A problem found by [`People::resolve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhoError {
    /// Nobody is known by that name; `short_prefix` when it is a hex prefix of
    /// fewer than 8 digits.
    Nobody { short_prefix: bool },
    /// Several keys: each as `Name <email> FINGERPRINT (how it matched)`.
    Ambiguous(Vec<String>),
}

impl People {
    /// Read keys, and the members of `groups`, from the tree of an
    /// `apps/access-control` commit.
    pub fn read(
        repo: &gix::Repository,
        commit: Option<ObjectId>,
        groups: &[&str],
    ) -> Result<People> {
        let Some(commit) = commit else {
            return Ok(People::default());
        };
        let tree = repo.find_commit(commit).git()?.tree().git()?;
        let mut people = People::default();
        let mut buf = Vec::new();
        if let Some(keys) = tree.find_entry("keys") {
            for (name, oid) in blobs(repo, keys.oid(), &mut buf)? {
                let Some(fpr) = name
                    .strip_suffix(".asc")
                    .and_then(|n| Fingerprint::parse(n).ok())
                else {
                    continue;
                };
                let data = repo.objects.find_blob(&oid, &mut buf).git()?.data.to_vec();
                people.people.insert(fpr, person_from_key(&data));
            }
        }
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for dir in ["refs", "branches", "groups"] {
            let Some(entry) = tree.find_entry(dir) else {
                continue;
            };
            for (name, oid) in blobs(repo, entry.oid(), &mut buf)? {
                let path = format!("{dir}/{name}");
                if Policy::is_policy_path(&path) {
                    let data = repo.objects.find_blob(&oid, &mut buf).git()?.data.to_vec();
                    files.push((path, data));
                }
            }
        }
        people.owner = owner_from_history(repo, commit)?;
        let parsed = Policy::parse(
            files
                .iter()
                .map(|(path, content)| PolicyFile { path, content }),
        );
        match parsed {
            Ok(p) => {
                let owner = people.owner.as_ref();
                for g in groups {
                    let members = p.members(g, owner).unwrap_or_default();
                    people.groups.insert((*g).to_owned(), members);
                }
            }
            Err(d) => people.policy_problem = Some(d.to_string()),
        }
        Ok(people)
    }

    /// The members of `group` (empty when it was not asked for, or the
    /// policy lacks it).
    pub fn group(&self, group: &str) -> Members {
        self.groups.get(group).cloned().unwrap_or_default()
    }

    /// Whether `who` is in `group`.
    pub fn is_member(&self, group: &str, who: &Fingerprint) -> bool {
        self.groups.get(group).is_some_and(|m| m.contains(who))
    }

    pub fn has_key(&self, who: &Fingerprint) -> bool {
        self.people.contains_key(who)
    }

    pub fn name(&self, who: &Fingerprint) -> Option<&str> {
        let p = self.people.get(who)?;
        p.name.as_deref().or(p.email.as_deref())
    }

    /// Whether another key's name could be taken for `who`'s (the same name, or
    /// a look-alike in another script).
    pub fn name_is_shared(&self, who: &Fingerprint) -> bool {
        let Some(name) = self.name(who) else {
            return false;
        };
        self.people
            .keys()
            .filter(|other| *other != who)
            .filter_map(|other| self.name(other))
            .any(|other| names::look_alike(name, other))
    }

    /// `Alice Example (9A3F1C2B)`, or just the short fingerprint. A name that
    /// another key shares (or imitates) says so.
    pub fn display(&self, who: &Fingerprint) -> String {
        match self.name(who) {
            Some(name) if self.name_is_shared(who) => {
                format!("{name} ({}, a name other keys share)", who.short())
            }
            Some(name) => format!("{name} ({})", who.short()),
            None => who.short().to_owned(),
        }
    }

    /// `Alice Example <alice@example.com> 9A3F…(all 40 digits)`: a key named
    /// in full, for lists of candidates and what a merge merged.
    pub fn describe(&self, who: &Fingerprint) -> String {
        match self.people.get(who) {
            Some(p) => {
                let mut s = String::new();
                if let Some(n) = &p.name {
                    s.push_str(n);
                    s.push(' ');
                }
                if let Some(e) = &p.email {
                    s.push_str(&format!("<{e}> "));
                }
                s.push_str(who.as_str());
                s
            }
            None => format!("{who} (no key on apps/access-control)"),
        }
    }

    /// [`People::resolve`], its problems as the library's errors.
    pub fn find<'a>(
        &'a self,
        who: &str,
        me: Option<&Fingerprint>,
        also: impl IntoIterator<Item = &'a Fingerprint>,
    ) -> Result<Fingerprint> {
        self.resolve(who, me, also).map_err(|e| match e {
            WhoError::Nobody { .. } if who.trim() == "me" => crate::Error::NoSigningKey,
            WhoError::Nobody { short_prefix: true } => crate::Error::ShortPrefix(who.to_owned()),
            WhoError::Nobody { .. } => crate::Error::UnknownUser(who.to_owned()),
            WhoError::Ambiguous(candidates) => crate::Error::Ambiguous {
                spec: who.to_owned(),
                candidates,
            },
        })
    }

    /// The one key `who` means: `me`, a fingerprint prefix of at least 8 hex
    /// digits (of a key, or of one of `also`: authors whose key is gone), a name
    /// or e-mail of a key or an e-mail's local part, compared as look-alikes.
    /// Any reading that could mean more than one key makes it ambiguous.
    pub fn resolve<'a>(
        &'a self,
        who: &str,
        me: Option<&Fingerprint>,
        also: impl IntoIterator<Item = &'a Fingerprint>,
    ) -> std::result::Result<Fingerprint, WhoError> {
        let mut keys: Vec<Identity> = self
            .people
            .iter()
            .map(|(f, p)| Identity {
                fingerprint: f.clone(),
                names: p.names.clone(),
                emails: p.emails.clone(),
            })
            .collect();
        for f in also {
            if !self.people.contains_key(f) && !keys.iter().any(|k| &k.fingerprint == f) {
                keys.push(Identity::bare(f.clone()));
            }
        }
        match names::resolve(who, me, &keys) {
            Who::One(f) => Ok(f),
            Who::Nobody { short_prefix } => Err(WhoError::Nobody { short_prefix }),
            Who::Ambiguous(candidates) => Err(WhoError::Ambiguous(
                candidates
                    .iter()
                    .map(|c| format!("{} (by {})", self.describe(&c.fingerprint), c.how()))
                    .collect(),
            )),
        }
    }
}

/// The blobs directly in a tree: (name, id).
fn blobs(
    repo: &gix::Repository,
    tree: &gix::oid,
    buf: &mut Vec<u8>,
) -> Result<Vec<(String, ObjectId)>> {
    let tree = repo.objects.find_tree(tree, buf).git()?;
    Ok(tree
        .entries
        .iter()
        .filter(|e| e.mode.is_blob())
        .map(|e| (e.filename.to_string(), e.oid.to_owned()))
        .collect())
}

/// The owner: the one key in the first commit of `apps/access-control` (see the
/// module's documentation), or `None`.
fn owner_from_history(repo: &gix::Repository, tip: ObjectId) -> Result<Option<Fingerprint>> {
    let mut commit = repo.find_commit(tip).git()?;
    // First parents lead to the root; the branch's history is short.
    loop {
        let Some(parent) = commit.parent_ids().next().map(|p| p.detach()) else {
            break;
        };
        commit = repo.find_commit(parent).git()?;
    }
    let tree = commit.tree().git()?;
    let Some(keys) = tree.find_entry("keys") else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    let found: Vec<Fingerprint> = blobs(repo, keys.oid(), &mut buf)?
        .iter()
        .filter_map(|(name, _)| name.strip_suffix(".asc"))
        .filter_map(|n| Fingerprint::parse(n).ok())
        .collect();
    Ok(match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// `Name <address>` as written: name and address, either possibly absent.
fn split_user_id(uid: &str) -> (Option<String>, Option<String>) {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    match uid
        .trim()
        .strip_suffix('>')
        .and_then(|s| s.rsplit_once('<'))
    {
        Some((name, email)) => (some(name), some(email)),
        None => (some(uid), None),
    }
}

/// Names and e-mails of an armored certificate's user ids (the first that has
/// either is the one shown).
pub fn person_from_key(data: &[u8]) -> Person {
    use openpgp::parse::Parse;
    let Ok(cert) = openpgp::Cert::from_bytes(data) else {
        return Person::default();
    };
    let mut person = Person::default();
    for ua in cert.userids() {
        let uid = ua.userid();
        let (name, email) = match (uid.name(), uid.email()) {
            (Ok(name), Ok(email)) => (name.map(str::to_owned), email.map(str::to_owned)),
            // Not RFC 2822 (an address with letters of other scripts, say): read
            // `Name <address>` by hand rather than ignore what it claims.
            _ => split_user_id(&String::from_utf8_lossy(uid.value())),
        };
        if person.name.is_none() && person.email.is_none() {
            person.name = name.clone();
            person.email = email.clone();
        }
        person.names.extend(name);
        person.emails.extend(email);
    }
    person
}

//! Users: fingerprints, with names and e-mails from their keys (`keys/<FPR>.asc` on
//! `apps/access-control`), and the groups that matter to merge requests.

use std::collections::BTreeMap;

use gix::objs::FindExt;
use gix::ObjectId;
use sequoia_openpgp as openpgp;

use crate::error::GitResultExt;
use crate::model::Fingerprint;
use crate::policy;
use crate::Result;

/// What a key says about its owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Everyone with a key on `apps/access-control`, plus the groups.
#[derive(Clone, Debug, Default)]
pub struct People {
    pub people: BTreeMap<Fingerprint, Person>,
    pub maintainers: Vec<Fingerprint>,
    pub ci: Vec<Fingerprint>,
}

impl People {
    /// Read keys and groups from the tree of an `apps/access-control` commit.
    pub fn read(repo: &gix::Repository, commit: Option<ObjectId>) -> Result<People> {
        let Some(commit) = commit else {
            return Ok(People::default());
        };
        let tree = repo.find_commit(commit).git()?.tree().git()?;
        let mut people = People::default();
        let mut buf = Vec::new();
        if let Some(keys) = tree.find_entry("keys") {
            let keys = repo.objects.find_tree(keys.oid(), &mut buf).git()?;
            let entries: Vec<(String, ObjectId)> = keys
                .entries
                .iter()
                .map(|e| (e.filename.to_string(), e.oid.to_owned()))
                .collect();
            for (name, oid) in entries {
                let Some(fpr) = name.strip_suffix(".asc").and_then(Fingerprint::parse) else {
                    continue;
                };
                let data = repo.objects.find_blob(&oid, &mut buf).git()?.data.to_vec();
                people.people.insert(fpr, person_from_key(&data));
            }
        }
        let mut groups = BTreeMap::new();
        if let Some(dir) = tree.find_entry("groups") {
            let dir = repo.objects.find_tree(dir.oid(), &mut buf).git()?;
            let entries: Vec<(String, ObjectId)> = dir
                .entries
                .iter()
                .filter(|e| e.mode.is_blob())
                .map(|e| (e.filename.to_string(), e.oid.to_owned()))
                .collect();
            for (name, oid) in entries {
                let data = repo.objects.find_blob(&oid, &mut buf).git()?.data.to_vec();
                groups.insert(name, String::from_utf8_lossy(&data).into_owned());
            }
        }
        let mut read = |g: &str| groups.get(g).cloned();
        people.maintainers = policy::group_members(policy::MAINTAINERS_GROUP, &mut read);
        people.ci = policy::group_members(policy::CI_GROUP, &mut read);
        Ok(people)
    }

    pub fn is_maintainer(&self, who: &Fingerprint) -> bool {
        self.maintainers.contains(who)
    }

    pub fn is_ci(&self, who: &Fingerprint) -> bool {
        self.ci.contains(who)
    }

    pub fn has_key(&self, who: &Fingerprint) -> bool {
        self.people.contains_key(who)
    }

    pub fn name(&self, who: &Fingerprint) -> Option<&str> {
        let p = self.people.get(who)?;
        p.name.as_deref().or(p.email.as_deref())
    }

    /// `Alice Example (9A3F1C2B)`, or just the short fingerprint.
    pub fn display(&self, who: &Fingerprint) -> String {
        match self.name(who) {
            Some(name) => format!("{name} ({})", who.short()),
            None => who.short().to_owned(),
        }
    }

    /// Everyone `who` may mean: `me`, a fingerprint prefix (of a key or of one of
    /// `also`), a name or an e-mail address (case-insensitive), or an e-mail's local part.
    pub fn resolve<'a>(
        &'a self,
        who: &str,
        me: Option<&Fingerprint>,
        also: impl IntoIterator<Item = &'a Fingerprint>,
    ) -> Vec<Fingerprint> {
        if who == "me" {
            return me.cloned().into_iter().collect();
        }
        let mut out: Vec<Fingerprint> = Vec::new();
        let hex = who.len() >= 4 && who.chars().all(|c| c.is_ascii_hexdigit());
        if hex {
            let prefix = who.to_ascii_uppercase();
            for f in self.people.keys().chain(also) {
                if f.as_str().starts_with(&prefix) && !out.contains(f) {
                    out.push(f.clone());
                }
            }
            if !out.is_empty() {
                return out;
            }
        }
        let lower = who.to_lowercase();
        for (f, p) in &self.people {
            let name = p.name.as_deref().map(str::to_lowercase);
            let email = p.email.as_deref().map(str::to_lowercase);
            let local = email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(str::to_owned);
            if name.as_deref() == Some(&lower)
                || email.as_deref() == Some(&lower)
                || local.as_deref() == Some(&lower)
            {
                out.push(f.clone());
            }
        }
        out
    }
}

/// The name and e-mail of the first user id of an armored certificate.
pub fn person_from_key(data: &[u8]) -> Person {
    use openpgp::parse::Parse;
    let Ok(cert) = openpgp::Cert::from_bytes(data) else {
        return Person::default();
    };
    let mut person = Person::default();
    for ua in cert.userids() {
        let uid = ua.userid();
        let name = uid.name().ok().flatten().map(str::to_owned);
        let email = uid.email().ok().flatten().map(str::to_owned);
        if name.is_some() || email.is_some() {
            person = Person { name, email };
            break;
        }
    }
    person
}

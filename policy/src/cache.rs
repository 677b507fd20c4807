//! A valid policy as bytes, for a server to keep between pushes.
//!
//! Validating a policy compiles every regex in it; a server that keeps the
//! result, keyed by the policy's trees, validates each policy once. What is
//! kept is what [`Policy::parse`] found (rules, scopes, limits, groups) and
//! the literal prefixes of every regex, so that reading it back compiles
//! nothing and parses no regex. [`Policy::decode`] trusts what it reads:
//! only bytes that [`Policy::encode`] wrote, kept where only the server
//! writes, may be given to it. It still refuses bytes that are not well
//! formed (a torn or foreign file), and the caller should check a digest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use crate::diagnostics::Location;
use crate::fingerprint::Fingerprint;
use crate::groups::{Groups, Membership};
use crate::ops::{RefOp, TreeOp};
use crate::policy::{Parsed, Policy, RegexKind};
use crate::prefilter::LiteralIndex;
use crate::rules::{RefRule, Scope, SizeLimit, TreeRule, Who};

/// The first bytes of an encoded policy; the number changes with the format.
const MAGIC: &[u8] = b"gitapps policy 1\n";

/// "No scope" in a rule's scope field.
const NO_SCOPE: u32 = u32::MAX;

impl Policy {
    /// The policy as bytes that [`Policy::decode`] reads back, with the
    /// literal prefixes of its regexes (found now if they were not yet).
    pub fn encode(&self) -> Vec<u8> {
        let p = &*self.parsed;
        let mut w = Writer::default();
        w.bytes.extend_from_slice(MAGIC);
        // Every location's file, once.
        let files: BTreeSet<&str> = p
            .ref_rules
            .iter()
            .map(|r| &r.location)
            .chain(p.tree_rules.iter().map(|r| &r.location))
            .chain(p.limits.iter().map(|l| &l.location))
            .chain(p.scopes.iter().map(|s| &s.location))
            .map(|l| l.file.as_str())
            .collect();
        let files: Vec<&str> = files.into_iter().collect();
        w.len(files.len());
        for f in &files {
            w.str(f);
        }
        let location = |w: &mut Writer, l: &Location| {
            w.u32(files.binary_search(&l.file.as_str()).unwrap_or(0) as u32);
            w.u64(l.line as u64);
        };
        let scope = |w: &mut Writer, s: Option<usize>| {
            w.u32(s.map_or(NO_SCOPE, |s| s as u32));
        };
        w.len(p.ref_rules.len());
        for r in &p.ref_rules {
            w.who(&r.who);
            w.u32(r.ops.iter().fold(0, |bits, op| bits | 1 << op.index()));
            w.str(&r.regex);
            location(&mut w, &r.location);
        }
        w.len(p.tree_rules.len());
        for r in &p.tree_rules {
            w.who(&r.who);
            w.u32(r.ops.iter().fold(0, |bits, op| bits | 1 << op.index()));
            w.str(&r.regex);
            location(&mut w, &r.location);
            scope(&mut w, r.scope);
        }
        w.len(p.limits.len());
        for l in &p.limits {
            w.u64(l.max_bytes);
            w.str(&l.regex);
            location(&mut w, &l.location);
            scope(&mut w, l.scope);
        }
        w.len(p.scopes.len());
        for s in &p.scopes {
            w.str(&s.regex);
            location(&mut w, &s.location);
        }
        w.len(p.groups.direct.len());
        for (name, m) in &p.groups.direct {
            w.str(name);
            w.u32(u32::from(m.owner) | u32::from(m.anyone) << 1);
            w.len(m.users.len());
            for u in &m.users {
                w.str(u.as_str());
            }
        }
        w.len(p.groups.included_by.len());
        for (name, by) in &p.groups.included_by {
            w.str(name);
            w.len(by.len());
            for g in by {
                w.str(g);
            }
        }
        for kind in RegexKind::ALL {
            let index = p.index(kind);
            w.len(index.entries.len());
            for (literal, rule) in &index.entries {
                w.len(literal.len());
                w.bytes.extend_from_slice(literal);
                w.u32(*rule);
            }
            w.len(index.any.len());
            for rule in &index.any {
                w.u32(*rule);
            }
        }
        w.bytes
    }

    /// A policy that [`Policy::encode`] wrote; `None` when `bytes` are not
    /// such a policy (another format, cut short, damaged where it shows).
    /// The regexes are not checked again: see the module's documentation.
    pub fn decode(bytes: &[u8]) -> Option<Policy> {
        let mut r = Reader {
            bytes: bytes.strip_prefix(MAGIC)?,
        };
        let files: Vec<String> = (0..r.len()?)
            .map(|_| r.str().map(str::to_owned))
            .collect::<Option<_>>()?;
        let location = |r: &mut Reader| -> Option<Location> {
            let file = files.get(r.u32()? as usize)?;
            Some(Location::new(file.clone(), usize::try_from(r.u64()?).ok()?))
        };
        let scope = |r: &mut Reader| -> Option<Option<usize>> {
            Some(match r.u32()? {
                NO_SCOPE => None,
                s => Some(s as usize),
            })
        };
        let mut ref_rules = Vec::new();
        for _ in 0..r.len()? {
            let who = r.who()?;
            let bits = r.u32()?;
            let ops: Vec<RefOp> = RefOp::ALL
                .into_iter()
                .filter(|op| bits & 1 << op.index() != 0)
                .collect();
            ref_rules.push(RefRule {
                who,
                ops,
                regex: r.str()?.to_owned(),
                location: location(&mut r)?,
            });
        }
        let mut tree_rules = Vec::new();
        for _ in 0..r.len()? {
            let who = r.who()?;
            let bits = r.u32()?;
            let ops: Vec<TreeOp> = TreeOp::ALL
                .into_iter()
                .filter(|op| bits & 1 << op.index() != 0)
                .collect();
            tree_rules.push(TreeRule {
                who,
                ops,
                regex: r.str()?.to_owned(),
                location: location(&mut r)?,
                scope: scope(&mut r)?,
            });
        }
        let mut limits = Vec::new();
        for _ in 0..r.len()? {
            limits.push(SizeLimit {
                max_bytes: r.u64()?,
                regex: r.str()?.to_owned(),
                location: location(&mut r)?,
                scope: scope(&mut r)?,
            });
        }
        let mut scopes = Vec::new();
        for _ in 0..r.len()? {
            scopes.push(Scope {
                regex: r.str()?.to_owned(),
                location: location(&mut r)?,
            });
        }
        let in_scopes = |s: Option<usize>| s.is_none_or(|s| s < scopes.len());
        if !tree_rules.iter().all(|t| in_scopes(t.scope))
            || !limits.iter().all(|l| in_scopes(l.scope))
        {
            return None;
        }
        let mut groups = Groups::default();
        for _ in 0..r.len()? {
            let name = r.str()?.to_owned();
            let flags = r.u32()?;
            let users: BTreeSet<Fingerprint> = (0..r.len()?)
                .map(|_| Fingerprint::parse(r.str()?).ok())
                .collect::<Option<_>>()?;
            groups.direct.insert(
                name,
                Membership {
                    users,
                    owner: flags & 1 != 0,
                    anyone: flags & 2 != 0,
                },
            );
        }
        let mut included_by = BTreeMap::new();
        for _ in 0..r.len()? {
            let name = r.str()?.to_owned();
            let by: Vec<String> = (0..r.len()?)
                .map(|_| r.str().map(str::to_owned))
                .collect::<Option<_>>()?;
            included_by.insert(name, by);
        }
        groups.included_by = included_by;
        let mut parsed = Parsed {
            ref_rules,
            tree_rules,
            limits,
            scopes,
            groups,
            indexes: OnceLock::new(),
        };
        let mut indexes: Vec<LiteralIndex> = Vec::new();
        for kind in RegexKind::ALL {
            let mut index = LiteralIndex::default();
            for _ in 0..r.len()? {
                let n = r.len()?;
                let literal: Box<[u8]> = r.take(n)?.into();
                index.entries.push((literal, r.u32()?));
            }
            for _ in 0..r.len()? {
                index.any.push(r.u32()?);
            }
            if !index.is_valid(parsed.len(kind)) {
                return None;
            }
            indexes.push(index);
        }
        if !r.bytes.is_empty() {
            return None;
        }
        let indexes: [LiteralIndex; 4] = indexes.try_into().ok()?;
        parsed.indexes = OnceLock::from(indexes);
        Some(Policy {
            parsed: Arc::new(parsed),
        })
    }
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn u32(&mut self, n: u32) {
        self.bytes.extend_from_slice(&n.to_le_bytes());
    }

    fn u64(&mut self, n: u64) {
        self.bytes.extend_from_slice(&n.to_le_bytes());
    }

    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn who(&mut self, who: &Who) {
        match who {
            Who::User(u) => {
                self.u32(0);
                self.str(u.as_str());
            }
            Who::Owner => self.u32(1),
            Who::Anyone => self.u32(2),
            Who::Group(g) => {
                self.u32(3);
                self.str(g);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A count; never more than there are bytes left, so that a damaged
    /// count cannot make a reader allocate without bound.
    fn len(&mut self) -> Option<usize> {
        let n = self.u32()? as usize;
        (n <= self.bytes.len()).then_some(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn who(&mut self) -> Option<Who> {
        Some(match self.u32()? {
            0 => Who::User(Fingerprint::parse(self.str()?).ok()?),
            1 => Who::Owner,
            2 => Who::Anyone,
            3 => Who::Group(self.str()?.to_owned()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyFile;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).expect("valid")
    }

    fn sample() -> Policy {
        let group = format!("{}\n@owner\n@sub\n", fpr('A'));
        let sub = format!("{}\n@anyone\n", fpr('B'));
        let refs = format!(
            "owner create-branch,force ^.*$\n{} fast-forward heads/users/$user_id/.*\nteam delete (?i)heads/x\n",
            fpr('C')
        );
        let tree = "anyone modify ^src/.*$\n\
                    limit size 1k ^big/.*$\n\
                    branch ^heads/(a|b)/.*$\n\
                    team create-file,delete .*\\.md\n\
                    limit size 5 ^tiny$\n";
        Policy::parse([
            PolicyFile {
                path: "groups/team",
                content: group.as_bytes(),
            },
            PolicyFile {
                path: "groups/sub",
                content: sub.as_bytes(),
            },
            PolicyFile {
                path: "refs/x.conf",
                content: refs.as_bytes(),
            },
            PolicyFile {
                path: "branches/y.conf",
                content: tree.as_bytes(),
            },
        ])
        .expect("valid")
    }

    #[test]
    fn a_policy_reads_back_as_it_was() {
        let policy = sample();
        let bytes = policy.encode();
        let back = Policy::decode(&bytes).expect("reads back");
        assert_eq!(back.encode(), bytes);
        let (a, b) = (&*policy.parsed, &*back.parsed);
        assert_eq!(format!("{:?}", a.ref_rules), format!("{:?}", b.ref_rules));
        assert_eq!(format!("{:?}", a.tree_rules), format!("{:?}", b.tree_rules));
        assert_eq!(format!("{:?}", a.limits), format!("{:?}", b.limits));
        assert_eq!(format!("{:?}", a.scopes), format!("{:?}", b.scopes));
        assert_eq!(format!("{:?}", a.groups), format!("{:?}", b.groups));
        for kind in RegexKind::ALL {
            assert_eq!(a.index(kind), b.index(kind));
        }
        let owner = fpr('0');
        for user in [fpr('A'), fpr('B'), fpr('C'), owner.clone()] {
            let (x, y) = (
                policy.for_user(&user, &owner).expect("rules"),
                back.for_user(&user, &owner).expect("rules"),
            );
            for refname in ["refs/heads/a/1", "refs/heads/X", "refs/heads/users/CCCC"] {
                for op in RefOp::ALL {
                    assert_eq!(x.ref_allowed(op, refname), y.ref_allowed(op, refname));
                }
                let (tx, ty) = (
                    x.tree_rules_for(refname).expect("tree"),
                    y.tree_rules_for(refname).expect("tree"),
                );
                for path in ["src/a", "README.md", "big/x", "tiny"] {
                    for op in TreeOp::ALL {
                        assert_eq!(
                            tx.allowed_by(op, path.as_bytes()),
                            ty.allowed_by(op, path.as_bytes())
                        );
                    }
                    assert_eq!(
                        tx.size_limit(path.as_bytes()),
                        ty.size_limit(path.as_bytes())
                    );
                }
            }
        }
    }

    #[test]
    fn damaged_bytes_are_refused_not_misread() {
        let bytes = sample().encode();
        // Cut anywhere: refused.
        for end in 0..bytes.len() {
            assert!(Policy::decode(&bytes[..end]).is_none(), "cut at {end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Policy::decode(&longer).is_none());
        let mut other = bytes.clone();
        other[MAGIC.len() - 2] = b'9';
        assert!(Policy::decode(&other).is_none());
    }
}

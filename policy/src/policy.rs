//! The whole policy of an access-control branch: parsing, validation,
//! per-user compilation and the owner lock-out check.

use std::sync::{Arc, OnceLock};

use crate::compile::{user_rules, PolicyError, UserRules};
use crate::defaults::ACCESS_CONTROL_REF;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::fingerprint::Fingerprint;
use crate::groups::{self, GroupFile, Groups, KnownGroups, Members};
use crate::ops::{RefOp, TreeOp};
use crate::parse;
use crate::pattern::{prefixes, Flavor};
use crate::prefilter::LiteralIndex;
use crate::rules::{RefRule, Scope, SizeLimit, TreeRule};

/// A file of the access-control branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyFile<'a> {
    /// Path from the branch root, e.g. `refs/owner.conf`.
    pub path: &'a str,
    /// The file's bytes.
    pub content: &'a [u8],
}

/// A valid policy: every rule file, group and regex checked. Cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) parsed: Arc<Parsed>,
}

/// What a policy holds.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// In file:line order (files sorted by path).
    pub(crate) ref_rules: Vec<RefRule>,
    /// In file:line order (files sorted by path).
    pub(crate) tree_rules: Vec<TreeRule>,
    /// In file:line order (files sorted by path).
    pub(crate) limits: Vec<SizeLimit>,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) groups: Groups,
    /// The literal prefixes of every regex, found on first use.
    pub(crate) indexes: OnceLock<[LiteralIndex; 4]>,
}

/// The four kinds of regex a policy holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegexKind {
    Refs,
    Tree,
    Limits,
    Scopes,
}

impl RegexKind {
    pub(crate) const ALL: [RegexKind; 4] = [
        RegexKind::Refs,
        RegexKind::Tree,
        RegexKind::Limits,
        RegexKind::Scopes,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl Parsed {
    /// How many regexes of `kind` there are.
    pub(crate) fn len(&self, kind: RegexKind) -> usize {
        match kind {
            RegexKind::Refs => self.ref_rules.len(),
            RegexKind::Tree => self.tree_rules.len(),
            RegexKind::Limits => self.limits.len(),
            RegexKind::Scopes => self.scopes.len(),
        }
    }

    /// The regex of rule (or limit, or scope) `i` of `kind`, as written.
    pub(crate) fn regex(&self, kind: RegexKind, i: u32) -> Option<&str> {
        let i = i as usize;
        Some(match kind {
            RegexKind::Refs => &self.ref_rules.get(i)?.regex,
            RegexKind::Tree => &self.tree_rules.get(i)?.regex,
            RegexKind::Limits => &self.limits.get(i)?.regex,
            RegexKind::Scopes => &self.scopes.get(i)?.regex,
        })
    }

    /// The literal index of `kind`'s regexes.
    pub(crate) fn index(&self, kind: RegexKind) -> &LiteralIndex {
        &self.indexes.get_or_init(|| {
            RegexKind::ALL.map(|kind| {
                let flavor = match kind {
                    RegexKind::Scopes => Flavor::Text,
                    _ => Flavor::Bytes,
                };
                LiteralIndex::new((0..self.len(kind)).map(|i| {
                    let regex = self.regex(kind, i as u32).unwrap_or_default();
                    prefixes(regex, flavor)
                }))
            })
        })[kind.index()]
    }
}

/// What a policy path is.
enum Kind<'a> {
    Refs,
    Tree,
    Group(&'a str),
}

fn classify(path: &str) -> Option<Kind<'_>> {
    let conf_child = |dir: &str| {
        path.strip_prefix(dir)
            .and_then(|rest| rest.strip_suffix(".conf"))
            .is_some_and(|stem| !stem.is_empty() && !stem.contains('/'))
    };
    if conf_child("refs/") {
        Some(Kind::Refs)
    } else if conf_child("branches/") {
        Some(Kind::Tree)
    } else {
        path.strip_prefix("groups/")
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .map(Kind::Group)
    }
}

/// The files the owner must be able to change on the access-control branch.
const OWNER_FILES: [&str; 2] = ["refs/owner.conf", "branches/owner.conf"];
/// The smallest size limit the owner's files on the access-control branch
/// may have: the largest key file a server takes by default.
pub const OWNER_FILE_MIN_LIMIT: u64 = 64 << 10;
/// What the owner must be able to do to them.
const OWNER_FILE_OPS: [TreeOp; 3] = [TreeOp::Modify, TreeOp::CreateFile, TreeOp::DeleteFile];

impl Policy {
    /// Parses and validates the policy files among `files`. Only
    /// `refs/*.conf`, `branches/*.conf` and `groups/<name>` (direct children)
    /// are policy; other paths are ignored, so the whole branch may be passed.
    /// Returns every problem, sorted by file and line, not just the first.
    pub fn parse<'a>(
        files: impl IntoIterator<Item = PolicyFile<'a>>,
    ) -> Result<Policy, Diagnostics> {
        let mut files: Vec<PolicyFile<'a>> = files
            .into_iter()
            .filter(|f| Self::is_policy_path(f.path))
            .collect();
        // Sorting makes "first rule" mean the same whatever order the caller
        // read the tree in, and keeps messages in a stable order.
        files.sort_by(|a, b| a.path.cmp(b.path));
        let mut diagnostics = Vec::new();
        files.dedup_by(|later, first| {
            let duplicate = later.path == first.path;
            if duplicate {
                diagnostics.push(Diagnostic::new(later.path, 1, "duplicate file"));
            }
            duplicate
        });

        let mut refs = Vec::new();
        let mut trees = Vec::new();
        let mut group_files = Vec::new();
        for file in &files {
            match classify(file.path) {
                Some(Kind::Refs) => refs.push(file),
                Some(Kind::Tree) => trees.push(file),
                Some(Kind::Group(name)) => match groups::name_problem(name) {
                    Some(problem) => diagnostics.push(Diagnostic::new(file.path, 1, problem)),
                    None => group_files.push(GroupFile {
                        name,
                        path: file.path,
                        content: file.content,
                    }),
                },
                None => {}
            }
        }

        let known = KnownGroups::new(group_files.iter().map(|g| g.name.to_owned()));
        let groups = groups::resolve(&group_files, &known, &mut diagnostics);
        let mut ref_rules = Vec::new();
        for file in refs {
            ref_rules.extend(parse::ref_file(
                file.path,
                file.content,
                &known,
                &mut diagnostics,
            ));
        }
        let mut tree_rules = Vec::new();
        let mut limits = Vec::new();
        let mut scopes = Vec::new();
        for file in trees {
            let parsed = parse::tree_file(
                file.path,
                file.content,
                &known,
                &mut scopes,
                &mut diagnostics,
            );
            tree_rules.extend(parsed.rules);
            limits.extend(parsed.limits);
        }

        if diagnostics.is_empty() {
            Ok(Policy {
                parsed: Arc::new(Parsed {
                    ref_rules,
                    tree_rules,
                    limits,
                    scopes,
                    groups,
                    indexes: OnceLock::new(),
                }),
            })
        } else {
            // Stable: problems on one line keep the order they were found in.
            diagnostics.sort_by(|a, b| a.location.cmp(&b.location));
            Err(Diagnostics(diagnostics))
        }
    }

    /// Whether `path` (from the branch root) is read by [`Policy::parse`]:
    /// `refs/*.conf`, `branches/*.conf` or `groups/<name>`, direct children only.
    pub fn is_policy_path(path: &str) -> bool {
        classify(path).is_some()
    }

    /// The rules that apply to `user`; `owner` is the configured owner
    /// (for `owner` rules and `@owner` group members). Nothing is compiled
    /// yet: each rule is, the first time a question may need it. (Never an
    /// error today; a scope that does not compile for this user is one of
    /// [`UserRules::tree_rules_for`].)
    pub fn for_user(
        &self,
        user: &Fingerprint,
        owner: &Fingerprint,
    ) -> Result<UserRules, PolicyError> {
        Ok(user_rules(&self.parsed, user, owner))
    }

    /// Who is in the group `name`: a group file's members with `@group`s
    /// expanded, or the automatic groups `owner` and `anyone`. `owner` is
    /// the configured owner when the caller knows it (`@owner` members
    /// become that user; [`Members::owner`] says `@owner` was listed).
    /// `None` when there is no such group.
    pub fn members(&self, name: &str, owner: Option<&Fingerprint>) -> Option<Members> {
        match name {
            groups::OWNER => Some(Members {
                users: owner.cloned().into_iter().collect(),
                anyone: false,
                owner: true,
            }),
            groups::ANYONE => Some(Members {
                anyone: true,
                ..Members::default()
            }),
            _ if self.parsed.groups.exists(name) => Some(self.parsed.groups.members(name, owner)),
            _ => None,
        }
    }

    /// Whether `user` is in the group `name` (see [`Policy::members`]), as
    /// the hook decides it: `owner` is the configured owner.
    pub fn is_member(&self, name: &str, user: &Fingerprint, owner: &Fingerprint) -> bool {
        match name {
            groups::OWNER => user == owner,
            groups::ANYONE => true,
            _ => self.parsed.groups.groups_of(user, owner).contains(name),
        }
    }

    /// Problems that would lock the owner out: the owner could no longer
    /// fast-forward the access-control branch, or could no longer modify,
    /// create or delete `refs/owner.conf` and `branches/owner.conf` on it,
    /// or a size limit on the branch would keep those files or the owner's
    /// key file under [`OWNER_FILE_MIN_LIMIT`] bytes.
    /// Empty when the owner keeps control. Each entry is a sentence.
    /// (Whether the owner's key itself stays usable is for the caller to
    /// check: the policy language knows no keys.)
    pub fn lockout_problems(&self, owner: &Fingerprint) -> Vec<String> {
        let rules = match self.for_user(owner, owner) {
            Ok(rules) => rules,
            Err(e) => return vec![format!("the owner's rules cannot be compiled: {e}")],
        };
        let mut problems = Vec::new();
        if !rules.ref_allowed(RefOp::FastForward, ACCESS_CONTROL_REF) {
            problems.push(format!(
                "the owner could no longer fast-forward {ACCESS_CONTROL_REF}"
            ));
        }
        let tree = match rules.tree_rules_for(ACCESS_CONTROL_REF) {
            Ok(tree) => tree,
            Err(e) => {
                problems.push(format!(
                    "the owner's rules on {ACCESS_CONTROL_REF} cannot be compiled: {e}"
                ));
                return problems;
            }
        };
        for path in OWNER_FILES {
            let missing: Vec<&str> = OWNER_FILE_OPS
                .into_iter()
                .filter(|&op| !tree.allowed(op, path.as_bytes()))
                .map(TreeOp::as_str)
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "the owner could no longer {} {path} on {ACCESS_CONTROL_REF}",
                    join_or(&missing)
                ));
            }
        }
        let key_file = format!("keys/{owner}.asc");
        for path in OWNER_FILES.iter().copied().chain([key_file.as_str()]) {
            if let Some((max, at)) = tree.size_limit(path.as_bytes()) {
                if max < OWNER_FILE_MIN_LIMIT {
                    problems.push(format!(
                        "the size limit at {at} allows {path} on {ACCESS_CONTROL_REF} at most {max} bytes; the owner's files need room for {OWNER_FILE_MIN_LIMIT}"
                    ));
                }
            }
        }
        problems
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_paths() {
        let cases = [
            ("refs/owner.conf", true),
            ("refs/merge-reqs.conf", true),
            ("branches/owner.conf", true),
            ("groups/maintainers", true),
            ("groups/a b", true),
            ("refs/.conf", false),
            ("refs/sub/x.conf", false),
            ("refs/owner.conf.bak", false),
            ("refs/README", false),
            ("branches/x.txt", false),
            ("groups/", false),
            ("groups/sub/x", false),
            ("keys/0123.asc", false),
            ("owner.conf", false),
            ("", false),
        ];
        for (path, want) in cases {
            assert_eq!(Policy::is_policy_path(path), want, "{path}");
        }
    }

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).expect("valid")
    }

    #[test]
    fn members_expand_groups_and_owner_as_the_hook_does() {
        let (a, b, o) = (fpr('A'), fpr('B'), fpr('0'));
        let maintainers = format!("{a}\n@owner\n@ci # bots too\n");
        let ci = format!("{b}\n");
        let policy = Policy::parse([
            PolicyFile {
                path: "groups/maintainers",
                content: maintainers.as_bytes(),
            },
            PolicyFile {
                path: "groups/ci",
                content: ci.as_bytes(),
            },
            PolicyFile {
                path: "groups/all",
                content: b"@anyone\n",
            },
        ])
        .expect("valid");
        let m = policy.members("maintainers", Some(&o)).expect("a group");
        assert_eq!(m.users, [a.clone(), b.clone(), o.clone()].into());
        assert!(m.owner && !m.anyone);
        let unknown_owner = policy.members("maintainers", None).expect("a group");
        assert_eq!(unknown_owner.users, [a.clone(), b.clone()].into());
        assert!(unknown_owner.owner);
        assert_eq!(
            policy.members("ci", Some(&o)).expect("a group").users,
            [b.clone()].into()
        );
        assert!(policy.members("all", None).expect("a group").contains(&a));
        assert!(policy.members("nope", None).is_none());
        assert_eq!(
            policy.members("owner", Some(&o)).expect("automatic").users,
            [o.clone()].into()
        );
        // Membership agrees with what the hook computes for a pusher.
        for user in [&a, &b, &o, &fpr('C')] {
            for group in ["maintainers", "ci", "all", "owner", "anyone"] {
                let listed = policy.members(group, Some(&o)).expect("a group");
                assert_eq!(
                    listed.contains(user),
                    policy.is_member(group, user, &o),
                    "{group} {user}"
                );
            }
        }
    }

    #[test]
    fn join_or_table() {
        assert_eq!(join_or(&[]), "");
        assert_eq!(join_or(&["a"]), "a");
        assert_eq!(join_or(&["a", "b"]), "a or b");
        assert_eq!(join_or(&["a", "b", "c"]), "a, b or c");
    }
}

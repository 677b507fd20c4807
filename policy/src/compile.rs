//! Turning the rules that apply to one user into regex sets.
//!
//! A push is judged per ref and per changed path; with one set per operation
//! each question is a single set match, however many rules there are. Sets
//! are compiled on first use: a push that only modifies files never pays
//! for the sets of the other eleven operations (compiling a Unicode-aware
//! `.*` is most of the hook's CPU time on a small push).

use std::cell::OnceCell;

use regex::bytes::{
    Regex as BytesRegex, RegexBuilder as BytesRegexBuilder, RegexSet as BytesRegexSet,
    RegexSetBuilder as BytesRegexSetBuilder,
};
use regex::Regex;

use crate::diagnostics::Location;
use crate::fingerprint::Fingerprint;
use crate::groups::Groups;
use crate::ops::{RefOp, TreeOp};
use crate::pattern::{anchor, condense, substitute};
use crate::rules::{RefRule, Scope, SizeLimit, TreeRule};

/// Why rules could not be compiled for a user: a policy that parsed has
/// regexes that compile with the sample user id, but `$user_id` is
/// substituted per user. (Rule sets that exceed the regex crate's size
/// limits together allow nothing, rather than fail the push with an error.)
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// One regex did not compile once `$user_id` was substituted.
    #[error("{location}: cannot compile regex: {message}")]
    Regex {
        /// The rule or `branch` line.
        location: Location,
        /// The regex crate's message, on one line.
        message: String,
    },
}

/// The rules for one operation: pattern `i` (substituted and anchored) is
/// the rule at `locations[i]`, in file:line order. The set answers "is it
/// allowed"; the single regexes, compiled only when asked, which rule
/// allows it. A pattern that fails to compile (only possible through size
/// limits: each was checked on its own when the policy was parsed) allows
/// nothing.
#[derive(Clone, Debug, Default)]
struct OpRules {
    patterns: Vec<String>,
    locations: Vec<Location>,
    set: OnceCell<Option<BytesRegexSet>>,
    singles: OnceCell<Vec<Option<BytesRegex>>>,
}

impl OpRules {
    fn new(rules: impl Iterator<Item = (String, Location)>) -> Self {
        let (patterns, locations) = rules.unzip();
        OpRules {
            patterns,
            locations,
            ..OpRules::default()
        }
    }

    fn is_match(&self, subject: &[u8]) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        self.set
            .get_or_init(|| {
                BytesRegexSetBuilder::new(&self.patterns)
                    .dot_matches_new_line(true)
                    .build()
                    .ok()
            })
            .as_ref()
            .is_some_and(|set| set.is_match(subject))
    }

    fn first_match(&self, subject: &[u8]) -> Option<&Location> {
        if !self.is_match(subject) {
            return None;
        }
        let singles = self.singles.get_or_init(|| {
            self.patterns
                .iter()
                .map(|p| {
                    BytesRegexBuilder::new(p)
                        .dot_matches_new_line(true)
                        .build()
                        .ok()
                })
                .collect()
        });
        let index = singles
            .iter()
            .position(|re| re.as_ref().is_some_and(|re| re.is_match(subject)))?;
        self.locations.get(index)
    }
}

/// A tree rule that applies to the user, ready to be put in a set.
#[derive(Clone, Debug)]
struct UserTreeRule {
    ops: Vec<TreeOp>,
    /// Substituted and anchored.
    pattern: String,
    location: Location,
    scope: Option<usize>,
}

/// A size limit, ready to be put in a set.
#[derive(Clone, Debug)]
struct UserLimit {
    max_bytes: u64,
    /// Substituted and anchored.
    pattern: String,
    location: Location,
    scope: Option<usize>,
}

/// The rules that apply to one user, compiled.
#[derive(Clone, Debug)]
pub struct UserRules {
    /// Indexed by [`RefOp::index`].
    refs: Vec<OpRules>,
    /// Tree sets depend on the ref, so they are built by `tree_rules_for`.
    tree: Vec<UserTreeRule>,
    /// Size limits apply to everyone; they too depend on the ref.
    limits: Vec<UserLimit>,
    /// Indexed like the policy's scopes; `None` where no rule of this user
    /// is in that scope (no need to compile it).
    scopes: Vec<Option<Regex>>,
}

/// The tree rules that apply to one user on one ref, compiled.
#[derive(Clone, Debug)]
pub struct TreeRules {
    /// Indexed by [`TreeOp::index`].
    ops: Vec<OpRules>,
    limits: LimitRules,
}

/// The size limits that apply on one ref: pattern `i` caps paths at
/// `max_bytes[i]`, as said at `locations[i]`.
#[derive(Clone, Debug, Default)]
struct LimitRules {
    patterns: Vec<String>,
    max_bytes: Vec<u64>,
    locations: Vec<Location>,
    set: OnceCell<Option<BytesRegexSet>>,
}

impl LimitRules {
    /// The smallest limit on `path`, and where it is said. A set that does
    /// not compile (only possible through the regex crate's size limits:
    /// each pattern compiled on its own when the policy was parsed) limits
    /// every path to nothing, rather than to nothing less than it should.
    fn smallest(&self, path: &[u8]) -> Option<(u64, &Location)> {
        if self.patterns.is_empty() {
            return None;
        }
        let set = self.set.get_or_init(|| {
            BytesRegexSetBuilder::new(&self.patterns)
                .dot_matches_new_line(true)
                .build()
                .ok()
        });
        let Some(set) = set else {
            return self.locations.first().map(|at| (0, at));
        };
        set.matches(path)
            .into_iter()
            .filter_map(|i| Some((*self.max_bytes.get(i)?, self.locations.get(i)?)))
            .min_by_key(|(max, _)| *max)
    }
}

/// What `Policy::for_user` compiles from.
pub(crate) struct Source<'a> {
    pub(crate) ref_rules: &'a [RefRule],
    pub(crate) tree_rules: &'a [TreeRule],
    pub(crate) limits: &'a [SizeLimit],
    pub(crate) scopes: &'a [Scope],
    pub(crate) groups: &'a Groups,
}

pub(crate) fn user_rules(
    source: &Source<'_>,
    user: &Fingerprint,
    owner: &Fingerprint,
) -> Result<UserRules, PolicyError> {
    let user_groups = source.groups.groups_of(user, owner);
    let ref_rules: Vec<&RefRule> = source
        .ref_rules
        .iter()
        .filter(|r| r.who.includes(user, owner, &user_groups))
        .collect();
    let refs = RefOp::ALL
        .iter()
        .map(|op| {
            OpRules::new(
                ref_rules
                    .iter()
                    .filter(|r| r.ops.contains(op))
                    .map(|r| (anchor(&substitute(&r.regex, user)), r.location.clone())),
            )
        })
        .collect();

    let tree: Vec<UserTreeRule> = source
        .tree_rules
        .iter()
        .filter(|r| r.who.includes(user, owner, &user_groups))
        .map(|r| UserTreeRule {
            ops: r.ops.clone(),
            pattern: anchor(&substitute(&r.regex, user)),
            location: r.location.clone(),
            scope: r.scope,
        })
        .collect();

    let limits: Vec<UserLimit> = source
        .limits
        .iter()
        .map(|l| UserLimit {
            max_bytes: l.max_bytes,
            pattern: anchor(&substitute(&l.regex, user)),
            location: l.location.clone(),
            scope: l.scope,
        })
        .collect();

    let mut scopes = Vec::with_capacity(source.scopes.len());
    for (index, scope) in source.scopes.iter().enumerate() {
        let used = tree.iter().any(|r| r.scope == Some(index))
            || limits.iter().any(|l| l.scope == Some(index));
        let compiled = if used {
            let regex = Regex::new(&anchor(&substitute(&scope.regex, user))).map_err(|e| {
                PolicyError::Regex {
                    location: scope.location.clone(),
                    message: condense(&e),
                }
            })?;
            Some(regex)
        } else {
            None
        };
        scopes.push(compiled);
    }

    Ok(UserRules {
        refs,
        tree,
        limits,
        scopes,
    })
}

/// Rules match ref names without `refs/`. A name outside `refs/` cannot be
/// written in that form, so nothing allows it (fail closed).
fn short_ref_name(refname: &str) -> Option<&str> {
    refname.strip_prefix("refs/")
}

impl UserRules {
    /// The first rule (in file:line order) that allows `op` on `refname`, a
    /// full ref name such as `refs/heads/main`; rules see `heads/main`.
    pub fn ref_allowed_by(&self, op: RefOp, refname: &str) -> Option<&Location> {
        let name = short_ref_name(refname)?;
        self.refs.get(op.index())?.first_match(name.as_bytes())
    }

    /// Whether any rule allows `op` on `refname` (a full ref name); cheaper
    /// than [`UserRules::ref_allowed_by`].
    pub fn ref_allowed(&self, op: RefOp, refname: &str) -> bool {
        let Some(name) = short_ref_name(refname) else {
            return false;
        };
        self.refs
            .get(op.index())
            .is_some_and(|rules| rules.is_match(name.as_bytes()))
    }

    /// The tree rules that apply on `refname` (a full ref name): the rules
    /// before any `branch` line, plus those of every `branch` scope that
    /// matches. A scope is tried against the name without `refs/`
    /// (`heads/apps/merge-reqs/data`) and, for refs under `refs/heads/`,
    /// also against the plain branch name (`apps/merge-reqs/data`), on
    /// purpose: people write both, and a rule that silently never applied
    /// would be worse. The price is that a scope written for another
    /// namespace, say `^notes/.*$`, also selects branches named `notes/…`;
    /// the `heads/…` form is the exact one.
    pub fn tree_rules_for(&self, refname: &str) -> Result<TreeRules, PolicyError> {
        let short = short_ref_name(refname);
        let branch = short.and_then(|s| s.strip_prefix("heads/"));
        let active: Vec<bool> = self
            .scopes
            .iter()
            .map(|scope| match (scope, short) {
                (Some(re), Some(name)) => {
                    re.is_match(name) || branch.is_some_and(|b| re.is_match(b))
                }
                _ => false,
            })
            .collect();
        let in_scope = |scope: Option<usize>| match scope {
            None => true,
            Some(i) => active.get(i).copied().unwrap_or(false),
        };

        let ops = TreeOp::ALL
            .iter()
            .map(|op| {
                OpRules::new(
                    self.tree
                        .iter()
                        .filter(|r| in_scope(r.scope))
                        .filter(|r| r.ops.contains(op))
                        .map(|r| (r.pattern.clone(), r.location.clone())),
                )
            })
            .collect();
        let mut limits = LimitRules::default();
        for limit in self.limits.iter().filter(|l| in_scope(l.scope)) {
            limits.patterns.push(limit.pattern.clone());
            limits.max_bytes.push(limit.max_bytes);
            limits.locations.push(limit.location.clone());
        }
        Ok(TreeRules { ops, limits })
    }
}

impl TreeRules {
    /// Whether any rule allows `op` on `path` (from the tree root, no leading `/`).
    pub fn allowed(&self, op: TreeOp, path: &[u8]) -> bool {
        self.ops
            .get(op.index())
            .is_some_and(|rules| rules.is_match(path))
    }

    /// The first rule (in file:line order) that allows `op` on `path`.
    pub fn allowed_by(&self, op: TreeOp, path: &[u8]) -> Option<&Location> {
        self.ops.get(op.index())?.first_match(path)
    }

    /// The size limit on a blob (file or symlink target) created or
    /// modified at `path`: the smallest of the `limit size` lines that
    /// match it on this ref, and where that line is. `None` when no limit
    /// applies.
    pub fn size_limit(&self, path: &[u8]) -> Option<(u64, &Location)> {
        self.limits.smallest(path)
    }

    /// Whether any size limit applies on this ref at all (when none does,
    /// a caller need not look up blob sizes).
    pub fn has_size_limits(&self) -> bool {
        !self.limits.patterns.is_empty()
    }
}

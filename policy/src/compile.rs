//! Turning the rules that apply to one user into regex sets.
//!
//! A push is judged per ref and per changed path; with one set per operation
//! each question is a single set match, however many rules there are.

use regex::bytes::{RegexSet as BytesRegexSet, RegexSetBuilder as BytesRegexSetBuilder};
use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::diagnostics::Location;
use crate::fingerprint::Fingerprint;
use crate::groups::Groups;
use crate::ops::{RefOp, TreeOp};
use crate::pattern::{anchor, condense, substitute};
use crate::rules::{RefRule, Scope, TreeRule};

/// Why rules could not be compiled for a user. A policy that parsed has
/// regexes that compile one by one, so this is about size: many large rules
/// can exceed the regex crate's limits together.
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
    /// The rules for one operation did not compile together.
    #[error("cannot compile the rules for `{op}`: {message}")]
    RuleSet {
        /// The operation whose rules these are.
        op: &'static str,
        /// The regex crate's message, on one line.
        message: String,
    },
}

/// The rules for one operation: a set whose pattern `i` is the rule at
/// `locations[i]`, in file:line order.
#[derive(Clone, Debug)]
struct OpRules<S> {
    set: S,
    locations: Vec<Location>,
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

/// The rules that apply to one user, compiled.
#[derive(Clone, Debug)]
pub struct UserRules {
    /// Indexed by [`RefOp::index`].
    refs: Vec<OpRules<RegexSet>>,
    /// Tree sets depend on the ref, so they are built by `tree_rules_for`.
    tree: Vec<UserTreeRule>,
    /// Indexed like the policy's scopes; `None` where no rule of this user
    /// is in that scope (no need to compile it).
    scopes: Vec<Option<Regex>>,
}

/// The tree rules that apply to one user on one ref, compiled.
#[derive(Clone, Debug)]
pub struct TreeRules {
    /// Indexed by [`TreeOp::index`].
    ops: Vec<OpRules<BytesRegexSet>>,
}

/// What `Policy::for_user` compiles from.
pub(crate) struct Source<'a> {
    pub(crate) ref_rules: &'a [RefRule],
    pub(crate) tree_rules: &'a [TreeRule],
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
    let mut refs = Vec::with_capacity(RefOp::ALL.len());
    for op in RefOp::ALL {
        let (patterns, locations): (Vec<String>, Vec<Location>) = ref_rules
            .iter()
            .filter(|r| r.ops.contains(&op))
            .map(|r| (anchor(&substitute(&r.regex, user)), r.location.clone()))
            .unzip();
        let set = RegexSetBuilder::new(&patterns)
            .build()
            .map_err(|e| rule_set_error(op.as_str(), &e))?;
        refs.push(OpRules { set, locations });
    }

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

    let mut scopes = Vec::with_capacity(source.scopes.len());
    for (index, scope) in source.scopes.iter().enumerate() {
        let used = tree.iter().any(|r| r.scope == Some(index));
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

    Ok(UserRules { refs, tree, scopes })
}

fn rule_set_error(op: &'static str, e: &regex::Error) -> PolicyError {
    PolicyError::RuleSet {
        op,
        message: condense(e),
    }
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
        let rules = self.refs.get(op.index())?;
        let first = rules.set.matches(name).iter().next()?;
        rules.locations.get(first)
    }

    /// Whether any rule allows `op` on `refname` (a full ref name); cheaper
    /// than [`UserRules::ref_allowed_by`].
    pub fn ref_allowed(&self, op: RefOp, refname: &str) -> bool {
        let Some(name) = short_ref_name(refname) else {
            return false;
        };
        self.refs
            .get(op.index())
            .is_some_and(|rules| rules.set.is_match(name))
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
        let applies = |rule: &&UserTreeRule| match rule.scope {
            None => true,
            Some(i) => active.get(i).copied().unwrap_or(false),
        };

        let mut ops = Vec::with_capacity(TreeOp::ALL.len());
        for op in TreeOp::ALL {
            let (patterns, locations): (Vec<&str>, Vec<Location>) = self
                .tree
                .iter()
                .filter(applies)
                .filter(|r| r.ops.contains(&op))
                .map(|r| (r.pattern.as_str(), r.location.clone()))
                .unzip();
            let set = BytesRegexSetBuilder::new(patterns)
                .build()
                .map_err(|e| rule_set_error(op.as_str(), &e))?;
            ops.push(OpRules { set, locations });
        }
        Ok(TreeRules { ops })
    }
}

impl TreeRules {
    /// Whether any rule allows `op` on `path` (from the tree root, no leading `/`).
    pub fn allowed(&self, op: TreeOp, path: &[u8]) -> bool {
        self.ops
            .get(op.index())
            .is_some_and(|rules| rules.set.is_match(path))
    }

    /// The first rule (in file:line order) that allows `op` on `path`.
    pub fn allowed_by(&self, op: TreeOp, path: &[u8]) -> Option<&Location> {
        let rules = self.ops.get(op.index())?;
        let first = rules.set.matches(path).iter().next()?;
        rules.locations.get(first)
    }
}

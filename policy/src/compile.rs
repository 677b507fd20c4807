//! Answering, for one user, which rules allow an operation on a name.
//!
//! A push asks a few questions (this ref, these paths) of a policy that may
//! hold thousands of rules, so nothing is compiled up front:
//! [`crate::Policy::for_user`] only notes which rules are the user's. Each
//! question finds the rules whose literal prefix fits the name (see
//! [`crate::prefilter`]) and tries those, each compiled once, on first use;
//! the rules with no prefix to go by are compiled together, as one set per
//! operation, on first use. A push that only modifies files never compiles
//! the rules of the other operations (compiling a Unicode-aware `.*` was
//! once most of the hook's CPU time on a small push).
//!
//! The tree rules of a ref depend on which `branch` scopes its name
//! matches; the rules of one combination of scopes are gathered once and
//! serve every ref with that combination (a push of 10,000 new branches
//! does not gather them 10,000 times).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex_automata::{meta, Input, PatternSet};

use crate::diagnostics::Location;
use crate::fingerprint::Fingerprint;
use crate::ops::{RefOp, TreeOp};
use crate::pattern::{anchor, build, build_error, build_set, substitute, Flavor, MATCH_SIZE_LIMIT};
use crate::policy::{Parsed, RegexKind};
use crate::prefilter::Selection;

/// Why rules could not be compiled for a user: a policy that parsed has
/// regexes that compile with the sample user id, but `$user_id` is
/// substituted per user. (Rules that exceed the regex engine's size limits
/// allow nothing, rather than fail the push with an error.)
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// One regex did not compile once `$user_id` was substituted.
    #[error("{location}: cannot compile regex: {message}")]
    Regex {
        /// The rule or `branch` line.
        location: Location,
        /// The regex engine's message, on one line.
        message: String,
    },
}

/// One kind's regexes for one user, each compiled on first use with this
/// user's `$user_id`.
#[derive(Debug)]
struct Compiled {
    singles: Vec<OnceLock<Result<meta::Regex, String>>>,
}

impl Compiled {
    fn new(len: usize) -> Self {
        Compiled {
            singles: (0..len).map(|_| OnceLock::new()).collect(),
        }
    }
}

/// What a question about one kind of rule needs: the policy, the kind, the
/// user, and the user's compiled regexes of that kind.
#[derive(Clone, Copy)]
struct Ask<'a> {
    policy: &'a Parsed,
    kind: RegexKind,
    user: &'a Fingerprint,
    compiled: &'a Compiled,
}

impl<'a> Ask<'a> {
    fn flavor(&self) -> Flavor {
        match self.kind {
            RegexKind::Scopes => Flavor::Text,
            RegexKind::Refs | RegexKind::Tree | RegexKind::Limits => Flavor::Bytes,
        }
    }

    fn pattern(&self, rule: u32) -> Option<String> {
        Some(anchor(&substitute(
            self.policy.regex(self.kind, rule)?,
            self.user,
        )))
    }

    /// Rule `rule`'s regex, compiled; `Err` says why it does not compile.
    fn single(&self, rule: u32) -> Result<&'a meta::Regex, String> {
        let Some(cell) = self.compiled.singles.get(rule as usize) else {
            return Err(format!("no rule {rule}"));
        };
        cell.get_or_init(|| {
            let pattern = self
                .pattern(rule)
                .ok_or_else(|| format!("no rule {rule}"))?;
            build(&pattern, self.flavor(), MATCH_SIZE_LIMIT).map_err(|e| build_error(&e))
        })
        .as_ref()
        .map_err(Clone::clone)
    }
}

/// The rules one kind of question is asked of (one operation's rules for
/// one user, on refs with one combination of scopes): those with a literal
/// prefix tried when it fits, those without compiled as one set.
#[derive(Debug)]
struct Matcher {
    selection: Selection,
    /// Over `selection.any`, in order; `None` if it does not compile.
    set: OnceLock<Option<meta::Regex>>,
}

impl Matcher {
    fn new(selection: Selection) -> Self {
        Matcher {
            selection,
            set: OnceLock::new(),
        }
    }

    fn set<'m>(&'m self, ask: &Ask<'_>) -> Option<&'m meta::Regex> {
        if self.selection.any.is_empty() {
            return None;
        }
        self.set
            .get_or_init(|| {
                let patterns: Option<Vec<String>> =
                    self.selection.any.iter().map(|&r| ask.pattern(r)).collect();
                build_set(&patterns?, ask.flavor(), MATCH_SIZE_LIMIT).ok()
            })
            .as_ref()
    }

    fn candidates(&self, ask: &Ask<'_>, name: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        self.selection
            .candidates(ask.policy.index(ask.kind), name, &mut out);
        out
    }

    /// Whether some rule matches `name`.
    fn is_match(&self, ask: &Ask<'_>, name: &[u8]) -> bool {
        if self.selection.is_empty() {
            return false;
        }
        let candidates = self.candidates(ask, name);
        candidates
            .iter()
            .any(|&r| ask.single(r).is_ok_and(|re| re.is_match(name)))
            || self.set(ask).is_some_and(|set| set.is_match(name))
    }

    /// The rules that match `name`, ascending. A rule that does not compile
    /// (only possible through the engine's size limits) matches nothing and
    /// is listed in `broken`.
    fn matching(&self, ask: &Ask<'_>, name: &[u8], broken: &mut Vec<u32>) -> Vec<u32> {
        let mut found = Vec::new();
        if self.selection.is_empty() {
            return found;
        }
        for rule in self.candidates(ask, name) {
            match ask.single(rule) {
                Ok(re) if re.is_match(name) => found.push(rule),
                Ok(_) => {}
                Err(_) => broken.push(rule),
            }
        }
        match self.set(ask) {
            Some(set) => {
                let mut which = PatternSet::new(set.pattern_len());
                set.which_overlapping_matches(&Input::new(name), &mut which);
                found.extend(
                    which
                        .iter()
                        .filter_map(|p| self.selection.any.get(p.as_usize()).copied()),
                );
            }
            None => broken.extend(&self.selection.any),
        }
        found.sort_unstable();
        found.dedup();
        broken.sort_unstable();
        broken.dedup();
        found
    }
}

/// The rules that apply to one user. Cheap to clone.
#[derive(Clone, Debug)]
pub struct UserRules {
    inner: Arc<User>,
}

#[derive(Debug)]
struct User {
    policy: Arc<Parsed>,
    user: Fingerprint,
    /// Whether each ref rule, and each tree rule, is one of this user's.
    ref_mine: Vec<bool>,
    tree_mine: Vec<bool>,
    /// The scopes that matter to this user: a tree rule of theirs or a
    /// limit is in them.
    scopes: Selection,
    /// By [`RefOp::index`].
    refs: [OnceLock<Matcher>; RefOp::ALL.len()],
    /// By [`RegexKind::index`].
    compiled: [Compiled; 4],
    /// The tree rules for each combination of scopes a ref matched.
    tree_sets: Mutex<HashMap<Vec<u32>, Arc<TreeSet>>>,
}

impl User {
    fn ask(&self, kind: RegexKind) -> Ask<'_> {
        Ask {
            policy: &self.policy,
            kind,
            user: &self.user,
            compiled: &self.compiled[kind.index()],
        }
    }
}

/// The tree rules that apply to one user on one ref. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TreeRules {
    user: Arc<User>,
    set: Arc<TreeSet>,
}

/// The tree rules of one combination of scopes (the ones a ref matched).
#[derive(Debug)]
struct TreeSet {
    /// The scopes, ascending.
    active: Vec<u32>,
    /// By [`TreeOp::index`].
    ops: [OnceLock<Matcher>; TreeOp::ALL.len()],
    limits: OnceLock<Matcher>,
    has_limits: bool,
}

impl TreeSet {
    fn new(active: Vec<u32>, policy: &Parsed) -> Self {
        let mut set = TreeSet {
            active,
            ops: Default::default(),
            limits: OnceLock::new(),
            has_limits: false,
        };
        set.has_limits = policy.limits.iter().any(|l| set.in_scope(l.scope));
        set
    }

    fn in_scope(&self, scope: Option<usize>) -> bool {
        match scope {
            None => true,
            Some(s) => u32::try_from(s).is_ok_and(|s| self.active.binary_search(&s).is_ok()),
        }
    }
}

pub(crate) fn user_rules(
    policy: &Arc<Parsed>,
    user: &Fingerprint,
    owner: &Fingerprint,
) -> UserRules {
    let groups = policy.groups.groups_of(user, owner);
    let ref_mine = policy
        .ref_rules
        .iter()
        .map(|r| r.who.includes(user, owner, &groups))
        .collect();
    let tree_mine: Vec<bool> = policy
        .tree_rules
        .iter()
        .map(|r| r.who.includes(user, owner, &groups))
        .collect();
    let mut used = vec![false; policy.scopes.len()];
    let scopes_of = policy
        .tree_rules
        .iter()
        .zip(&tree_mine)
        .filter(|(_, mine)| **mine)
        .map(|(r, _)| r.scope)
        .chain(policy.limits.iter().map(|l| l.scope));
    for scope in scopes_of.flatten() {
        if let Some(u) = used.get_mut(scope) {
            *u = true;
        }
    }
    let scopes = policy
        .index(RegexKind::Scopes)
        .select(|s| used.get(s as usize).copied().unwrap_or(false));
    UserRules {
        inner: Arc::new(User {
            compiled: RegexKind::ALL.map(|kind| Compiled::new(policy.len(kind))),
            policy: Arc::clone(policy),
            user: user.clone(),
            ref_mine,
            tree_mine,
            scopes,
            refs: Default::default(),
            tree_sets: Mutex::new(HashMap::new()),
        }),
    }
}

/// Rules match ref names without `refs/`. A name outside `refs/` cannot be
/// written in that form, so nothing allows it (fail closed).
fn short_ref_name(refname: &str) -> Option<&str> {
    refname.strip_prefix("refs/")
}

impl UserRules {
    fn ref_matcher(&self, op: RefOp) -> Option<&Matcher> {
        let user = &*self.inner;
        let cell = user.refs.get(op.index())?;
        Some(cell.get_or_init(|| {
            Matcher::new(user.policy.index(RegexKind::Refs).select(|r| {
                user.ref_mine.get(r as usize).copied().unwrap_or(false)
                    && user
                        .policy
                        .ref_rules
                        .get(r as usize)
                        .is_some_and(|rule| rule.ops.contains(&op))
            }))
        }))
    }

    /// The first rule (in file:line order) that allows `op` on `refname`, a
    /// full ref name such as `refs/heads/main`; rules see `heads/main`.
    pub fn ref_allowed_by(&self, op: RefOp, refname: &str) -> Option<&Location> {
        let name = short_ref_name(refname)?;
        let ask = self.inner.ask(RegexKind::Refs);
        let first = *self
            .ref_matcher(op)?
            .matching(&ask, name.as_bytes(), &mut Vec::new())
            .first()?;
        self.inner
            .policy
            .ref_rules
            .get(first as usize)
            .map(|r| &r.location)
    }

    /// Whether any rule allows `op` on `refname` (a full ref name); cheaper
    /// than [`UserRules::ref_allowed_by`].
    pub fn ref_allowed(&self, op: RefOp, refname: &str) -> bool {
        let Some(name) = short_ref_name(refname) else {
            return false;
        };
        let ask = self.inner.ask(RegexKind::Refs);
        self.ref_matcher(op)
            .is_some_and(|m| m.is_match(&ask, name.as_bytes()))
    }

    /// The tree rules that apply on `refname` (a full ref name): the rules
    /// before any `branch` line, plus those of every `branch` scope that
    /// matches. A scope is tried against the name without `refs/`
    /// (`heads/apps/merge-reqs/data`) and, for refs under `refs/heads/`,
    /// also against the plain branch name (`apps/merge-reqs/data`), on
    /// purpose: people write both, and a rule that silently never applied
    /// would be worse. The price is that a scope written for another
    /// namespace, say `^notes/.*$`, also selects branches named `notes/…`;
    /// the `heads/…` form is the exact one. An error when a scope the ref
    /// may match does not compile for this user.
    pub fn tree_rules_for(&self, refname: &str) -> Result<TreeRules, PolicyError> {
        let user = &*self.inner;
        let mut active = Vec::new();
        if let Some(short) = short_ref_name(refname) {
            let branch = short.strip_prefix("heads/");
            let ask = user.ask(RegexKind::Scopes);
            let index = user.policy.index(RegexKind::Scopes);
            let mut candidates = user.scopes.any.clone();
            user.scopes
                .candidates(index, short.as_bytes(), &mut candidates);
            if let Some(branch) = branch {
                user.scopes
                    .candidates(index, branch.as_bytes(), &mut candidates);
            }
            candidates.sort_unstable();
            candidates.dedup();
            for scope in candidates {
                let re = ask.single(scope).map_err(|message| PolicyError::Regex {
                    location: user
                        .policy
                        .scopes
                        .get(scope as usize)
                        .map(|s| s.location.clone())
                        .unwrap_or_else(|| Location::new("?", 0)),
                    message,
                })?;
                if re.is_match(short) || branch.is_some_and(|b| re.is_match(b)) {
                    active.push(scope);
                }
            }
        }
        let mut sets = user
            .tree_sets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let set = match sets.get(&active) {
            Some(set) => Arc::clone(set),
            None => {
                let set = Arc::new(TreeSet::new(active.clone(), &user.policy));
                sets.insert(active, Arc::clone(&set));
                set
            }
        };
        Ok(TreeRules {
            user: Arc::clone(&self.inner),
            set,
        })
    }
}

impl TreeRules {
    fn op_matcher(&self, op: TreeOp) -> Option<&Matcher> {
        let user = &*self.user;
        let set = &*self.set;
        let cell = set.ops.get(op.index())?;
        Some(cell.get_or_init(|| {
            Matcher::new(user.policy.index(RegexKind::Tree).select(|r| {
                user.tree_mine.get(r as usize).copied().unwrap_or(false)
                    && user
                        .policy
                        .tree_rules
                        .get(r as usize)
                        .is_some_and(|rule| rule.ops.contains(&op) && set.in_scope(rule.scope))
            }))
        }))
    }

    /// Whether any rule allows `op` on `path` (from the tree root, no leading `/`).
    pub fn allowed(&self, op: TreeOp, path: &[u8]) -> bool {
        let ask = self.user.ask(RegexKind::Tree);
        self.op_matcher(op).is_some_and(|m| m.is_match(&ask, path))
    }

    /// The first rule (in file:line order) that allows `op` on `path`.
    pub fn allowed_by(&self, op: TreeOp, path: &[u8]) -> Option<&Location> {
        let ask = self.user.ask(RegexKind::Tree);
        let first = *self
            .op_matcher(op)?
            .matching(&ask, path, &mut Vec::new())
            .first()?;
        self.user
            .policy
            .tree_rules
            .get(first as usize)
            .map(|r| &r.location)
    }

    /// The size limit on a blob (file or symlink target) created or
    /// modified at `path`: the smallest of the `limit size` lines that
    /// match it on this ref, and where that line is. `None` when no limit
    /// applies. A limit whose regex does not compile (only possible through
    /// the engine's size limits) holds every path to nothing, rather than
    /// to nothing less than it should.
    pub fn size_limit(&self, path: &[u8]) -> Option<(u64, &Location)> {
        if !self.set.has_limits {
            return None;
        }
        let user = &*self.user;
        let matcher = self.set.limits.get_or_init(|| {
            Matcher::new(user.policy.index(RegexKind::Limits).select(|l| {
                user.policy
                    .limits
                    .get(l as usize)
                    .is_some_and(|limit| self.set.in_scope(limit.scope))
            }))
        });
        let mut broken = Vec::new();
        let found = matcher.matching(&user.ask(RegexKind::Limits), path, &mut broken);
        let limits = &user.policy.limits;
        let matched = found
            .iter()
            .filter_map(|&l| limits.get(l as usize))
            .map(|l| (l.max_bytes, &l.location));
        let failed = broken
            .iter()
            .filter_map(|&l| limits.get(l as usize))
            .map(|l| (0, &l.location));
        matched.chain(failed).min_by_key(|(max, _)| *max)
    }

    /// Whether any size limit applies on this ref at all (when none does,
    /// a caller need not look up blob sizes).
    pub fn has_size_limits(&self) -> bool {
        self.set.has_limits
    }
}

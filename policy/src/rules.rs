//! The parsed policy: who may do which operations where.

use crate::diagnostics::Location;
use crate::fingerprint::Fingerprint;
use std::collections::BTreeSet;

use crate::groups::{has_name_syntax, KnownGroups, ANYONE, OWNER};
use crate::ops::{RefOp, TreeOp};

/// The `WHO` of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    User(Fingerprint),
    Owner,
    Anyone,
    Group(String),
}

impl Who {
    /// Reads a `WHO` token: a keyword, a fingerprint, or a known group
    /// (`name` or `@name`). Keywords win, then fingerprints, then groups;
    /// group names that would be ambiguous are refused when the group files
    /// are read.
    pub(crate) fn parse(token: &str, known: &KnownGroups) -> Result<Self, String> {
        let name = token.strip_prefix('@').unwrap_or(token);
        if name == OWNER {
            return Ok(Who::Owner);
        }
        if name == ANYONE {
            return Ok(Who::Anyone);
        }
        if let Ok(user) = Fingerprint::parse(token) {
            return Ok(Who::User(user));
        }
        if known.contains(name) {
            return Ok(Who::Group(name.to_owned()));
        }
        // A key id or a truncated fingerprint is a likely mistake; say so
        // rather than calling it an unknown group.
        if token.len() >= 16 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{token}` is not a full fingerprint: a user id has 40 (v4) or 64 (v6) hex digits"
            ));
        }
        if !has_name_syntax(name) {
            return Err(format!(
                "`{token}` is not a user id, `owner`, `anyone` or a group name"
            ));
        }
        Err(known.unknown_message(name))
    }

    /// Whether this rule is for `user`, given the configured `owner` and the
    /// groups `user` is in.
    pub(crate) fn includes(
        &self,
        user: &Fingerprint,
        owner: &Fingerprint,
        user_groups: &BTreeSet<&str>,
    ) -> bool {
        match self {
            Who::User(u) => u == user,
            Who::Owner => user == owner,
            Who::Anyone => true,
            Who::Group(name) => user_groups.contains(name.as_str()),
        }
    }
}

/// A rule of a `refs/*.conf` file.
#[derive(Clone, Debug)]
pub(crate) struct RefRule {
    pub(crate) who: Who,
    /// Sorted, without duplicates.
    pub(crate) ops: Vec<RefOp>,
    /// As written, before `$user_id` and anchoring.
    pub(crate) regex: String,
    pub(crate) location: Location,
}

/// A rule of a `branches/*.conf` file.
#[derive(Clone, Debug)]
pub(crate) struct TreeRule {
    pub(crate) who: Who,
    /// Sorted, without duplicates; `delete` already expanded.
    pub(crate) ops: Vec<TreeOp>,
    /// As written, before `$user_id` and anchoring.
    pub(crate) regex: String,
    pub(crate) location: Location,
    /// Index into the policy's scopes; `None` for rules before any `branch` line.
    pub(crate) scope: Option<usize>,
}

/// A `branch REGEX` line.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    /// As written, before `$user_id` and anchoring.
    pub(crate) regex: String,
    pub(crate) location: Location,
}

/// A `limit size SIZE REGEX` line of a tree file: every blob (file or
/// symlink target) created or modified at a path that matches, on the refs
/// of its scope, is at most `max_bytes` long. For every user.
#[derive(Clone, Debug)]
pub(crate) struct SizeLimit {
    pub(crate) max_bytes: u64,
    /// As written, before `$user_id` and anchoring.
    pub(crate) regex: String,
    pub(crate) location: Location,
    /// Index into the policy's scopes; `None` for limits before any `branch` line.
    pub(crate) scope: Option<usize>,
}

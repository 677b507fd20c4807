//! Judging ref updates against one user's rules: every ref operation and
//! every tree operation gets a verdict, handed to a sink as it is made.

use std::borrow::Cow;

use gitapps_policy::{Location, RefOp, TreeOp, UserRules};

use crate::classify::{diff_trees, ref_op, update_trees};
use crate::error::{GitContext, HookError};
use crate::updates::RefUpdate;

/// The audit log's ref: written only by the server itself.
pub const AUDIT_REF: &str = "refs/apps/push-certs";

/// Whether a client push must not touch `refname` because of the audit
/// log: the log itself, any ref under it (`refs/apps/push-certs/x` would
/// make the log's own name unusable: a ref cannot be a file and a
/// directory), and any ref above it (`refs/apps`, for the same reason).
/// Compared without regard to ASCII case, since on a file system that
/// folds case `refs/Apps/...` is the same directory.
pub fn is_audit_ref(refname: &str) -> bool {
    let name = refname.to_ascii_lowercase();
    name == AUDIT_REF
        || name
            .strip_prefix(AUDIT_REF)
            .is_some_and(|rest| rest.starts_with('/'))
        || AUDIT_REF
            .strip_prefix(name.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ref(RefOp),
    Tree(TreeOp),
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ref(op) => op.as_str(),
            Op::Tree(op) => op.as_str(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Allowed, by this rule when it was asked for ([`Detail::WithRules`]).
    Allowed(Option<&'a Location>),
    /// No rule allows it.
    NoRule,
    /// A ref only the server writes.
    Protected,
    /// A file (or symlink target) larger than a limit allows.
    TooLarge {
        size: u64,
        limit: u64,
        by: LimitSource<'a>,
    },
}

/// Where a size limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitSource<'a> {
    /// A `limit size` line of the policy.
    Policy(&'a Location),
    /// The server's `gitapps.maxFileSize`.
    Server,
}

impl std::fmt::Display for LimitSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitSource::Policy(at) => write!(f, "at {at}"),
            LimitSource::Server => f.write_str("set by gitapps.maxFileSize"),
        }
    }
}

/// One judged operation. `name` is what the rule matched: the ref name
/// without `refs/`, or the path.
#[derive(Clone, Copy, Debug)]
pub struct Judged<'a> {
    pub op: Op,
    pub name: &'a [u8],
    pub refname: &'a str,
    pub verdict: Verdict<'a>,
}

impl Judged<'_> {
    pub fn allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed(_))
    }

    /// The line a pusher sees for a denied operation.
    pub fn denial(&self, user: &str) -> String {
        let name = quote_name(self.name);
        let what = match self.op {
            Op::Ref(op) => format!("{op} {name}"),
            Op::Tree(op) => format!("{op} {name} on {}", short(self.refname)),
        };
        let why = match self.verdict {
            Verdict::Allowed(_) => "allowed".to_owned(),
            Verdict::NoRule => "no rule allows it".to_owned(),
            Verdict::Protected => {
                "only the server writes this ref: it is the audit log of signed pushes".to_owned()
            }
            Verdict::TooLarge { size, limit, by } => {
                format!("{size} bytes, over the limit of {limit} bytes {by}")
            }
        };
        format!("gitapps: denied: {what} for {user} ({why})")
    }

    /// The rejection code of a push with this operation denied.
    pub fn reject_code(&self) -> gitapps_policy::RejectCode {
        match self.verdict {
            Verdict::TooLarge { .. } => gitapps_policy::RejectCode::Limit,
            _ => gitapps_policy::RejectCode::Denied,
        }
    }
}

/// A path (or ref name) as one line of text. Paths are bytes and may hold
/// newlines: like git, such a name is written in double quotes with C
/// escapes (`\n`, `\"`, `\\`, octal for other control bytes and for bytes
/// that are not UTF-8); any other name is written as it is.
pub fn quote_name(name: &[u8]) -> Cow<'_, str> {
    let plain = |b: &u8| *b >= 0x20 && *b != 0x7f && *b != b'"' && *b != b'\\';
    match std::str::from_utf8(name) {
        Ok(text) if name.iter().all(plain) => Cow::Borrowed(text),
        _ => {
            let mut out = String::with_capacity(name.len() + 8);
            out.push('"');
            for chunk in name.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                            out.push_str(&format!("\\{:03o}", c as u32));
                        }
                        c => out.push(c),
                    }
                }
                for b in chunk.invalid() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            out.push('"');
            Cow::Owned(out)
        }
    }
}

fn short(refname: &str) -> &str {
    refname.strip_prefix("refs/").unwrap_or(refname)
}

/// Whether to find the rule behind each allowed operation (for `explain`)
/// or only whether one exists (the hook's fast path).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    WithRules,
    VerdictOnly,
}

/// Judge all updates, handing each operation to `sink` in order: each ref
/// operation, then the tree operations of that ref.
pub fn judge(
    repo: &gix::Repository,
    rules: &UserRules,
    updates: &[RefUpdate],
    max_file_size: Option<u64>,
    detail: Detail,
    sink: &mut dyn FnMut(&Judged<'_>) -> Result<(), HookError>,
) -> Result<(), HookError> {
    for update in updates {
        let op = ref_op(repo, update)?;
        let verdict = if is_audit_ref(&update.name) {
            Verdict::Protected
        } else {
            match detail {
                Detail::WithRules => rules
                    .ref_allowed_by(op, &update.name)
                    .map_or(Verdict::NoRule, |at| Verdict::Allowed(Some(at))),
                Detail::VerdictOnly if rules.ref_allowed(op, &update.name) => {
                    Verdict::Allowed(None)
                }
                Detail::VerdictOnly => Verdict::NoRule,
            }
        };
        sink(&Judged {
            op: Op::Ref(op),
            name: short(&update.name).as_bytes(),
            refname: &update.name,
            verdict,
        })?;

        let Some((old_tree, new_tree)) = update_trees(repo, update)? else {
            continue;
        };
        let tree_rules = rules
            .tree_rules_for(&update.name)
            .git(format!("compiling the tree rules for {}", update.name))?;
        let limited = max_file_size.is_some() || tree_rules.has_size_limits();
        diff_trees(repo, old_tree, Some(new_tree), &mut |change| {
            let mut verdict = match detail {
                Detail::WithRules => tree_rules
                    .allowed_by(change.op, change.path)
                    .map_or(Verdict::NoRule, |at| Verdict::Allowed(Some(at))),
                Detail::VerdictOnly if tree_rules.allowed(change.op, change.path) => {
                    Verdict::Allowed(None)
                }
                Detail::VerdictOnly => Verdict::NoRule,
            };
            if let (true, Some(blob), Verdict::Allowed(_)) = (limited, change.blob, verdict) {
                let policy = tree_rules
                    .size_limit(change.path)
                    .map(|(limit, at)| (limit, LimitSource::Policy(at)));
                let server = max_file_size.map(|limit| (limit, LimitSource::Server));
                let smallest = match (policy, server) {
                    (Some(p), Some(s)) => Some(if s.0 < p.0 { s } else { p }),
                    (p, s) => p.or(s),
                };
                if let Some((limit, by)) = smallest {
                    let size = repo
                        .find_header(blob)
                        .git(format!("reading the size of {blob}"))?
                        .size();
                    if size > limit {
                        verdict = Verdict::TooLarge { size, limit, by };
                    }
                }
            }
            sink(&Judged {
                op: Op::Tree(change.op),
                name: change.path,
                refname: &update.name,
                verdict,
            })
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{is_audit_ref, quote_name};

    #[test]
    fn refs_at_under_and_above_the_audit_log_are_its() {
        for name in [
            "refs/apps/push-certs",
            "refs/apps/push-certs/x",
            "refs/apps/push-certs/a/b",
            "refs/apps",
            "refs/APPS/Push-Certs",
            "refs/Apps/push-certs/x",
        ] {
            assert!(is_audit_ref(name), "{name}");
        }
        for name in [
            "refs/apps/push-certs2",
            "refs/apps/push-cert",
            "refs/apps/merge-reqs/data",
            "refs/heads/apps/push-certs",
            "refs/appsx",
            "HEAD",
        ] {
            assert!(!is_audit_ref(name), "{name}");
        }
    }

    #[test]
    fn names_that_would_break_a_line_are_quoted() {
        assert_eq!(quote_name(b"src/main.rs"), "src/main.rs");
        assert_eq!(quote_name("caf\u{e9}/x".as_bytes()), "caf\u{e9}/x");
        assert_eq!(quote_name(b"two\nlines"), "\"two\\nlines\"");
        assert_eq!(quote_name(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote_name(b"bad\xff\x01"), "\"bad\\377\\001\"");
    }
}

//! Judging ref updates against one user's rules: every ref operation and
//! every tree operation gets a verdict, handed to a sink as it is made.

use std::borrow::Cow;

use gitapps_policy::{Location, RefOp, TreeOp, UserRules};

use crate::classify::{diff_trees, ref_op, update_trees};
use crate::error::{GitContext, HookError};
use crate::updates::RefUpdate;

/// The audit log's ref: written only by the server itself.
pub const AUDIT_REF: &str = "refs/apps/push-certs";

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
    /// A file larger than `gitapps.maxFileSize`.
    TooLarge { size: u64, limit: u64 },
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
            Verdict::TooLarge { size, limit } => {
                format!("the file is {size} bytes, over gitapps.maxFileSize = {limit}")
            }
        };
        format!("gitapps: denied: {what} for {user} ({why})")
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
        let verdict = if update.name == AUDIT_REF {
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
            if let (Some(limit), Some(blob), Verdict::Allowed(_)) =
                (max_file_size, change.blob, verdict)
            {
                let size = repo
                    .find_header(blob)
                    .git(format!("reading the size of {blob}"))?
                    .size();
                if size > limit {
                    verdict = Verdict::TooLarge { size, limit };
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
    use super::quote_name;

    #[test]
    fn names_that_would_break_a_line_are_quoted() {
        assert_eq!(quote_name(b"src/main.rs"), "src/main.rs");
        assert_eq!(quote_name("caf\u{e9}/x".as_bytes()), "caf\u{e9}/x");
        assert_eq!(quote_name(b"two\nlines"), "\"two\\nlines\"");
        assert_eq!(quote_name(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote_name(b"bad\xff\x01"), "\"bad\\377\\001\"");
    }
}

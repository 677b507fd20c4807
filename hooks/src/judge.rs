//! Judging ref updates against one user's rules: every ref operation and
//! every tree operation gets a verdict, with the rule that allowed it.

use gitapps_policy::{Location, RefOp, TreeOp, UserRules};

use crate::classify::{ref_op, tree_changes};
use crate::error::{GitContext, HookError};
use crate::updates::RefUpdate;

/// The audit log's ref: written only by the server itself.
pub const AUDIT_REF: &str = "refs/apps/push-certs";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Ref {
        op: RefOp,
        refname: String,
    },
    Tree {
        op: TreeOp,
        path: Vec<u8>,
        refname: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed(Location),
    /// No rule allows it.
    NoRule,
    /// A ref only the server writes.
    Protected,
    /// A file larger than `gitapps.maxFileSize`.
    TooLarge {
        size: u64,
        limit: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub subject: Subject,
    pub verdict: Verdict,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed(_))
    }

    pub fn op_name(&self) -> &'static str {
        match &self.subject {
            Subject::Ref { op, .. } => op.as_str(),
            Subject::Tree { op, .. } => op.as_str(),
        }
    }

    /// The name the rule matched: the ref without `refs/`, or the path.
    pub fn name(&self) -> String {
        match &self.subject {
            Subject::Ref { refname, .. } => short(refname).to_owned(),
            Subject::Tree { path, .. } => String::from_utf8_lossy(path).into_owned(),
        }
    }

    /// The line a pusher sees for a denied operation.
    pub fn denial(&self, user: &str) -> String {
        let what = match &self.subject {
            Subject::Ref { op, refname } => format!("{op} {}", short(refname)),
            Subject::Tree { op, path, refname } => format!(
                "{op} {} on {}",
                String::from_utf8_lossy(path),
                short(refname)
            ),
        };
        let why = match &self.verdict {
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

/// Judge all updates. The result lists every operation in order: each ref
/// operation followed by the tree operations of that ref.
pub fn judge(
    repo: &gix::Repository,
    rules: &UserRules,
    updates: &[RefUpdate],
    max_file_size: Option<u64>,
    detail: Detail,
) -> Result<Vec<Decision>, HookError> {
    // Without a location to report, any rule will do.
    let anywhere = || Location {
        file: String::new(),
        line: 0,
    };
    let mut decisions = Vec::new();
    for update in updates {
        let op = ref_op(repo, update)?;
        let verdict = if update.name == AUDIT_REF {
            Verdict::Protected
        } else {
            match detail {
                Detail::WithRules => rules
                    .ref_allowed_by(op, &update.name)
                    .cloned()
                    .map_or(Verdict::NoRule, Verdict::Allowed),
                Detail::VerdictOnly => {
                    if rules.ref_allowed(op, &update.name) {
                        Verdict::Allowed(anywhere())
                    } else {
                        Verdict::NoRule
                    }
                }
            }
        };
        decisions.push(Decision {
            subject: Subject::Ref {
                op,
                refname: update.name.clone(),
            },
            verdict,
        });

        let Some(changes) = tree_changes(repo, update)? else {
            continue;
        };
        let tree_rules = rules
            .tree_rules_for(&update.name)
            .git(format!("compiling the tree rules for {}", update.name))?;
        for change in changes {
            let mut verdict = match detail {
                Detail::WithRules => tree_rules
                    .allowed_by(change.op, &change.path)
                    .cloned()
                    .map_or(Verdict::NoRule, Verdict::Allowed),
                Detail::VerdictOnly => {
                    if tree_rules.allowed(change.op, &change.path) {
                        Verdict::Allowed(anywhere())
                    } else {
                        Verdict::NoRule
                    }
                }
            };
            if let (Some(limit), Some(blob), Verdict::Allowed(_)) =
                (max_file_size, change.blob, &verdict)
            {
                let size = repo
                    .find_header(blob)
                    .git(format!("reading the size of {blob}"))?
                    .size();
                if size > limit {
                    verdict = Verdict::TooLarge { size, limit };
                }
            }
            decisions.push(Decision {
                subject: Subject::Tree {
                    op: change.op,
                    path: change.path,
                    refname: update.name.clone(),
                },
                verdict,
            });
        }
    }
    Ok(decisions)
}

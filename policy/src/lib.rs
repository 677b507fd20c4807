//! The git apps policy language: parse, validate and evaluate the rules on
//! the `apps/access-control` branch (SPEC.md section 3). Pure: text and
//! bytes in, answers out; no git, no I/O.
//!
//! # Files
//!
//! ```text
//! refs/*.conf        ref rules: which refs a user may create, move, delete
//! branches/*.conf    tree rules: which paths a user may change on which refs
//! groups/<name>      one member per line: a fingerprint or @othergroup
//! ```
//!
//! Other paths (`keys/…`, `refs/sub/x.conf`, …) are not policy and are ignored.
//!
//! # Rules
//!
//! ```text
//! # comment (blank lines are skipped too)
//! WHO OPS REGEX
//! ```
//!
//! - `WHO` is a user id (a full 40- or 64-digit fingerprint, any case),
//!   `owner` (the fingerprint configured on the server), `anyone` (every
//!   signed user), or a group: `name` or `@name` for a file `groups/name`.
//! - `OPS` is a comma-separated list without spaces. Ref files take
//!   `create-branch`, `create-tag`, `fast-forward`, `force`, `delete`; tree
//!   files take `create-directory`, `create-file`, `create-symlink`,
//!   `create-submodule`, `modify`, `delete-file`, `delete-directory`, and
//!   `delete` for both deletes. Duplicates are harmless.
//! - `REGEX` is the rest of the line (it may contain spaces; a `#` after a
//!   space is refused, since a trailing "comment" would silently become part
//!   of the regex: write `[#]` to match one), in Rust `regex` syntax, matched against the *whole*
//!   name: it is compiled as `^(?:REGEX)$`. Ref rules see the ref name
//!   without `refs/` (`heads/main`, `tags/v1.0`); a ref outside `refs/` is
//!   never allowed. Tree rules see the path's bytes from the tree root,
//!   without a leading `/`. In paths `.` also matches a newline (a path has
//!   no lines), so the owner's `^.*$` covers every UTF-8 path; paths that are
//!   not UTF-8 are only matched by byte patterns such as `(?s-u:.)*`, since
//!   `.` matches a character.
//! - `$user_id` in a regex is replaced by the pusher's escaped fingerprint,
//!   so `anyone create-branch ^heads/users/$user_id/.*$` gives every user a
//!   namespace of their own.
//! - In tree files, a line `branch REGEX` makes the rules that follow it,
//!   up to the next `branch` line of the same file, apply only on refs whose
//!   name matches. The regex is tried on the name without `refs/`
//!   (`heads/apps/merge-reqs/data`) and, for branches, on the plain branch
//!   name (`apps/merge-reqs/data`). Rules before any `branch` line apply on
//!   every ref.
//! - In tree files, a line `limit size SIZE REGEX` caps every blob (file or
//!   symlink target) created or modified at a path the regex matches, on
//!   the refs of the current `branch` scope (or every ref, before any
//!   `branch` line), at SIZE bytes (`k`, `m`, `g` suffixes count in 1024s).
//!   Limits bind everyone, the owner included; where several match, the
//!   smallest holds. `limit`, like `branch`, cannot name a group.
//! - Rules only allow. An operation is allowed when at least one rule for
//!   the user, in any file, matches; "the" rule that allowed it is the first
//!   in file:line order, files sorted by path.
//!
//! # Groups
//!
//! `groups/<name>`, with a name of `[A-Za-z0-9._-]+` (not `owner`, `anyone`
//! or `branch`, and not shaped like a fingerprint), lists one member per
//! line: a fingerprint or `@othergroup` (`@owner` and `@anyone` work too).
//! `#` starts a comment, also after a member. Membership is transitive;
//! a cycle is an error.
//!
//! # Errors
//!
//! [`Policy::parse`] reports every problem as `file:line: message`: unknown
//! operations (with a "did you mean" hint, or the kind of file they belong
//! in), empty operations, incomplete rules, bad regexes, unknown groups,
//! reserved or invalid group names, bad members, group cycles, bad limits,
//! lines that are not UTF-8, and lines that hold a character that can hide
//! text from a reader (a control character other than tab, a carriage
//! return other than in a `\r\n` ending, a line or paragraph separator, a
//! bidirectional override, isolate or mark, a zero-width or otherwise
//! invisible character). A policy with any problem is refused as a whole.
//!
//! # Rejections
//!
//! [`RejectCode`] names why the server refused a push; the hook prints it
//! as its last line, `gitapps: code=<code>`, for programs to read.
//!
//! # Use
//!
//! ```
//! use gitapps_policy::{Fingerprint, Policy, PolicyFile, RefOp, TreeOp};
//!
//! let owner = Fingerprint::parse(&"A".repeat(40)).unwrap();
//! let files = [
//!     PolicyFile { path: "refs/owner.conf", content: gitapps_policy::DEFAULT_REF_RULES.as_bytes() },
//!     PolicyFile { path: "branches/owner.conf", content: gitapps_policy::DEFAULT_TREE_RULES.as_bytes() },
//! ];
//! let policy = Policy::parse(files).unwrap();
//! assert!(policy.lockout_problems(&owner).is_empty());
//! let rules = policy.for_user(&owner, &owner).unwrap();
//! assert!(rules.ref_allowed(RefOp::Force, "refs/heads/main"));
//! let tree = rules.tree_rules_for("refs/heads/main").unwrap();
//! assert_eq!(tree.allowed_by(TreeOp::Modify, b"src/lib.rs").unwrap().to_string(), "branches/owner.conf:1");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cache;
mod compile;
mod defaults;
mod diagnostics;
mod fingerprint;
mod groups;
mod lines;
pub mod names;
mod ops;
mod parse;
mod pattern;
mod policy;
mod prefilter;
mod reject;
mod rules;
mod size;
mod suggest;

pub use compile::{PolicyError, TreeRules, UserRules};
pub use defaults::{
    ACCESS_CONTROL_REF, DEFAULT_REF_RULES, DEFAULT_TREE_RULES, OPEN_REGISTRATION_REF_RULES,
    OPEN_REGISTRATION_TREE_RULES,
};
pub use diagnostics::{Diagnostic, Diagnostics, Location};
pub use fingerprint::{Fingerprint, FingerprintError};
pub use groups::Members;
pub use ops::{RefOp, TreeOp, UnknownOp};
pub use policy::{Policy, PolicyFile, OWNER_FILE_MIN_LIMIT};
pub use reject::{RejectCode, UnknownRejectCode, REJECT_CODE_PREFIX};
pub use size::parse_size;
pub use suggest::closest;

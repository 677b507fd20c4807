//! The policy that `gitapps-hook install` writes, and the ref it lives on.
//!
//! Kept here, next to the language, so the defaults are parsed by the same
//! tests that define the language and can never drift into being invalid.

/// The branch that holds the policy, the groups and the keys.
pub const ACCESS_CONTROL_REF: &str = "refs/heads/apps/access-control";

/// Default `refs/owner.conf`: the owner may do anything to any ref.
/// No comment line, so the rule is at `refs/owner.conf:1` as in the spec.
pub const DEFAULT_REF_RULES: &str =
    "owner create-branch,create-tag,fast-forward,force,delete ^.*$\n";

/// Default `branches/owner.conf`: the owner may change any path on any branch.
pub const DEFAULT_TREE_RULES: &str =
    "owner create-directory,create-file,create-symlink,create-submodule,modify,delete ^.*$\n";

/// Ref rules for `install --open-registration`: anyone may fast-forward the
/// access-control branch; the tree rules below limit what that push may change.
pub const OPEN_REGISTRATION_REF_RULES: &str = "\
# open registration: anyone may push their own key (the tree rules limit it to keys/$user_id.asc)
anyone fast-forward ^heads/apps/access-control$
";

/// Tree rules for `install --open-registration`: on the access-control branch,
/// anyone may add or update `keys/<their own fingerprint>.asc`, and nothing else.
/// No delete: a user could otherwise remove their key and the audit trail's meaning.
pub const OPEN_REGISTRATION_TREE_RULES: &str = "\
# open registration: anyone may add or update their own key, and nothing else
branch ^heads/apps/access-control$
anyone create-file,modify ^keys/$user_id\\.asc$
";

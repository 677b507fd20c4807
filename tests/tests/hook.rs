//! End-to-end tests of `gitapps-hook`: real `git push --signed` with real gpg
//! keys to a local bare repository set up by `gitapps-hook install`.
//!
//! One test binary (faster to build); the tests are grouped by SPEC section.

#[path = "hook/common.rs"]
mod common;

#[path = "hook/audit.rs"]
mod audit;
#[path = "hook/explain.rs"]
mod explain;
#[path = "hook/faults.rs"]
mod faults;
#[path = "hook/identity.rs"]
mod identity;
#[path = "hook/install.rs"]
mod install;
#[path = "hook/limits.rs"]
mod limits;
#[path = "hook/modes.rs"]
mod modes;
#[path = "hook/policy_branch.rs"]
mod policy_branch;
#[path = "hook/refs.rs"]
mod refs;
#[path = "hook/shared.rs"]
mod shared;
#[path = "hook/signatures.rs"]
mod signatures;
#[path = "hook/trees.rs"]
mod trees;
#[path = "hook/verify.rs"]
mod verify;

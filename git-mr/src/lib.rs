//! `git_mr`: merge requests stored on the data branch `apps/merge-reqs/data`.
//!
//! The library holds the data model and every operation; it never prints.
//! The `git-mr` binary (in `src/main.rs` and `src/cli/`) is the presentation layer.
//!
//! * [`model`]: merge requests, comments, labels, and their parsing.
//! * [`layout`]: where things live on the data branch and in refs.
//! * [`store`]: reading the data branch in one pass through gix's object database.
//! * [`tx`]: in-memory edits of the data branch, committed and pushed with retries.
//! * [`forge`]: a repository plus a remote: fetch, snapshot, transactions, identity.
//! * [`ops`]: the merge-request operations (create, comment, label, revise, merge …).
//! * [`policy`]: the access-control policies that `git mr init` installs.
//! * [`people`]: users by fingerprint, with names from their keys.
//! * [`ci_retry`]: maintainers' requests to run CI again, which ci-bot honours.

pub mod ci_retry;
pub mod clock;
pub mod error;
pub mod forge;
pub mod git;
pub mod layout;
pub mod model;
pub mod ops;
pub mod people;
pub mod policy;
pub mod push;
pub mod search;
pub mod store;
pub mod tx;

pub use error::{Error, Result};
pub use forge::Forge;
pub use model::{Comment, Fingerprint, MergeRequest, MrId, Revision, State};
pub use store::{Snapshot, Warning};

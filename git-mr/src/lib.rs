//! `git_mr`: merge requests stored on the data branch `apps/merge-reqs/data`.
//!
//! The library holds the data model and every operation; it never prints.
//! The `git-mr` binary (in `src/main.rs` and `src/cli/`) is the presentation layer.
//!
//! * [`model`]: merge requests, labels, revisions.
//! * [`thread`]: what every app's item carries, app-agnostic: comments (line
//!   comments included), edits and retractions, votes; their files and reading.
//! * [`review`]: what a merge needs: settings, maintainers' votes, CI results.
//! * [`diff`]: a revision's diff, the interdiff of two, and where line comments go.
//! * [`layout`]: where things live on the data branch and in refs.
//! * [`store`]: reading the data branch in one pass through gix's object database
//!   ([`tree_reader`]: trees, blobs and warnings).
//! * [`tx`]: in-memory edits of the data branch, committed and pushed with retries.
//! * [`forge`]: a repository plus a remote: fetch, snapshot, transactions, identity.
//! * [`ops`]: the merge-request operations (create, comment, label, revise, merge …).
//! * [`policy`]: the access-control policies that `git mr init` installs.
//! * [`people`]: users by fingerprint, with names from their keys.
//! * [`ci_retry`]: maintainers' requests to run CI again, which ci-bot honours.

pub mod ci_retry;
pub mod clock;
pub mod diff;
pub mod error;
pub mod forge;
pub mod git;
pub mod layout;
pub mod model;
pub mod ops;
pub mod people;
pub mod policy;
pub mod push;
pub mod register;
pub mod review;
pub mod review_ops;
pub mod search;
pub mod store;
pub mod thread;
pub mod tree_reader;
pub mod tx;

pub use error::{Error, Result};
pub use forge::Forge;
pub use model::{Comment, Fingerprint, MergeRequest, MrId, Revision, State};
pub use store::{Snapshot, Warning};

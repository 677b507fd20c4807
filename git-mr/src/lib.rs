//! `git_mr`: merge requests stored on the data branch `apps/merge-reqs/data`.
//!
//! The library holds the data model and every operation; it never prints and
//! knows no clap. The `git-mr` binary (the `git-mr-cli` package) is the
//! presentation layer.
//!
//! It is built on `gitapps_core`, which holds what every app shares: identity
//! ([`people`]), the git runner ([`git`], [`push`]), the data-branch transaction
//! and cache ([`tx`], [`tree_reader`], the core's forge), [`thread`]s, labels,
//! claims, policy templates, [`register`] and the [`clock`]. They are re-exported
//! here under the names this library always used.
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
pub mod diff;
pub mod error;
pub mod forge;
pub mod incremental;
pub mod layout;
pub mod model;
pub mod ops;
pub mod policy;
pub mod review;
pub mod review_ops;
pub mod search;
pub mod store;

pub use gitapps_core::{clock, git, push, register, thread, tree_reader, tx};

/// Users and groups: the core's identity, with the merge requests' roles.
pub mod people {
    pub use crate::policy::Roles;
    pub use gitapps_core::identity::*;
}

pub use error::{Error, Result};
pub use forge::Forge;
pub use model::{Comment, Fingerprint, Item, MergeRequest, MrId, Revision, State};
pub use store::{Snapshot, Warning};

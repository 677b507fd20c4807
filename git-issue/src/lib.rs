//! `git_issue`: an issue tracker stored in git, on the data branch
//! `refs/heads/apps/issues/data` (SPEC section 4b), built on `gitapps_core`:
//! this crate holds only what is the issue tracker's own — its layout, its
//! model, its policy and its operations. Identity, the transaction, threads
//! (comments, replies, edits), labels and links are the core's.

pub mod error;
pub mod layout;
pub mod links;
pub mod model;
pub mod ops;
pub mod policy;
pub mod search;
pub mod store;

pub use error::{Error, Result};
pub use gitapps_core::{Fingerprint, Forge, ItemId};
pub use model::{Issue, Item, State};

/// The issue tracker, as the core knows it.
pub const APP: gitapps_core::App = gitapps_core::App {
    name: "issues",
    what: "issues",
    command: "git issue",
    tag_prefix: None,
    cache_name: "git-issue",
    groups: &[policy::MAINTAINERS_GROUP],
    version: env!("CARGO_PKG_VERSION"),
};

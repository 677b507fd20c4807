//! `gitapps_core`: what every git app shares, so that an app is its layout,
//! its model and its rules. Modelled on Radicle heartwood's `cob::{common,
//! thread, store}`: the machinery here knows nothing of merge requests or issues.
//!
//! # What an app supplies
//!
//! * An [`App`]: its name (the data branch `refs/heads/apps/<name>/data`), the
//!   tags it fetches with it (if any), its cache directory, the policy groups it
//!   reads (`maintainers`, `ci` …: the core hardcodes none) and its version.
//! * Its tree reader: a closure from a data commit to its snapshot (anything that
//!   says which tree it read: [`DataSnapshot`]), built from [`TreeReader`],
//!   [`thread::read`] and [`label`]; cached per commit by [`Forge::cache_load`]
//!   and [`Forge::cache_store`].
//! * Its changes: closures that see the newest snapshot and fill a [`Tx`];
//!   [`Forge::transact`] commits, pushes signed and retries them.
//! * Its policy: composed from [`policy`]'s templates and its own rules.
//!
//! # What the core does
//!
//! * [`identity`]: users by fingerprint with names from their keys, the app's
//!   groups (from `gitapps-policy`, never a copy), `<who>` resolution;
//!   [`Forge::people`] reads `apps/access-control` once per commit.
//! * [`git`]: the one git runner (locale pinned for the transport, `--porcelain`
//!   pushes) and the gpg calls; [`push`]: typed push outcomes and backoff.
//! * [`forge`]: fetch, the signed transaction with retry, the commit-keyed cache.
//! * [`tx`]: tree edits in the object database; [`tree_reader`]: reading trees
//!   with warnings for malformed data.
//! * [`thread`]: comments (the one file format), replies, edits, line anchors, votes.
//! * [`label`]: two-way label links, reserved names, existence by description.
//! * [`claim`]: claims with leases (ci-bot).
//! * [`id`]: `<FPR>/<n>` names of items and their lookup; [`items`]: items on
//!   a data branch, resolved through the authors' directories and read one
//!   by one or all (the readers' shared walk, selection and counters).
//! * [`register`]: one's own key onto `apps/access-control`.
//! * [`clock`]: the clock (`GITAPPS_NOW` for tests).
//!
//! The server's hook depends on none of this: it holds threads, labels and claims,
//! which are application code. What the hook and the apps share lives in
//! `gitapps-policy`.

pub mod claim;
pub mod clock;
pub mod error;
pub mod forge;
pub mod git;
pub mod id;
pub mod identity;
pub mod items;
pub mod label;
pub mod link;
pub mod policy;
pub mod push;
pub mod refs;
pub mod register;
pub mod setup;
pub mod testing;
pub mod thread;
pub mod tree_reader;
pub mod tx;

pub use error::{Error, Result};
pub use forge::{App, Committed, DataSnapshot, Fetched, Forge};
/// A user id: the full upper-case hex fingerprint of a primary key. The
/// policy language's own type: one definition for the hook and the apps.
pub use gitapps_policy::Fingerprint;
pub use id::ItemId;
pub use identity::People;
pub use tree_reader::{TreeReader, Warning};
pub use tx::Tx;

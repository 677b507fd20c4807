//! The server side of git apps: the pre-receive hook that admits a push
//! only when it is signed by a known key and every operation it performs is
//! allowed by the policy on `apps/access-control`; the post-receive step
//! that records accepted push certificates; and the admin commands
//! `install`, `explain` and `validate`.
//!
//! The hook fails closed: every error path rejects the push.

pub mod audit;
pub mod cert;
pub mod classify;
pub mod config;
pub mod env;
pub mod error;
pub mod explain;
pub mod fsmode;
pub mod install;
pub mod judge;
pub mod judgement;
pub mod keyfile;
pub mod keyindex;
pub mod keyring;
pub mod ledger;
pub mod packets;
pub mod policycache;
pub mod prereceive;
pub mod record;
pub mod repo;
pub mod testing;
pub mod transaction;
pub mod tree;
pub mod updates;
pub mod validate;
pub mod verify;
pub mod write;

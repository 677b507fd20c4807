//! The audit log of signed pushes: `refs/apps/push-certs` gets one commit
//! per accepted push, whose tree holds `cert` (the certificate exactly as
//! received) and `pusher` (the verified user id). Any clone can fetch it and
//! check every certificate against the keys.
//!
//! pre-receive verifies the signer and records it in the ledger (see
//! [`crate::ledger`]); post-receive, which runs only after git has updated
//! the refs, turns it into the commit. A rejected or failed push therefore
//! leaves no trace in the log.

use std::path::Path;

use gix::objs::tree::{Entry, EntryKind};
use gix::ObjectId;

use crate::error::{GitContext, HookError};
use crate::judge::AUDIT_REF;
use crate::ledger;
use crate::repo::ref_target;
use crate::write::commit_to_ref;

/// A concurrent push may move the log between our read and our write.
const MAX_ATTEMPTS: usize = 20;

/// The post-receive step. `summary` is the ref updates, for the message.
pub fn record(git_dir: &Path, cert: ObjectId, summary: &str) -> Result<ObjectId, HookError> {
    let pusher = ledger::pusher_of(git_dir, cert)?.ok_or_else(|| {
        HookError::Protocol(format!(
            "pre-receive recorded no pusher for certificate {cert}"
        ))
    })?;
    let repo = gix::open_opts(git_dir, gix::open::Options::isolated())
        .git(format!("opening repository {}", git_dir.display()))?;
    let pusher_blob = repo
        .write_blob(format!("{pusher}\n"))
        .git("writing the pusher blob")?
        .detach();
    let tree = gix::objs::Tree {
        entries: vec![
            Entry {
                mode: EntryKind::Blob.into(),
                filename: "cert".into(),
                oid: cert,
            },
            Entry {
                mode: EntryKind::Blob.into(),
                filename: "pusher".into(),
                oid: pusher_blob,
            },
        ],
    };
    let tree = repo
        .write_object(&tree)
        .git("writing the audit tree")?
        .detach();
    let message = format!("push by {pusher}\n\n{summary}");
    let mut last = None;
    for _ in 0..MAX_ATTEMPTS {
        let parent = ref_target(&repo, AUDIT_REF)?;
        match commit_to_ref(&repo, AUDIT_REF, tree, parent, &message) {
            Ok(id) => return Ok(id),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(last.unwrap_or_else(|| HookError::Protocol("the audit log could not be written".into())))
}

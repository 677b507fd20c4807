//! The audit log of signed pushes: `refs/apps/push-certs` gets one commit
//! per accepted push, whose tree holds `cert` (the certificate exactly as
//! received) and `pusher` (the verified user id). Any clone can fetch it and
//! check every certificate against the keys.
//!
//! pre-receive verifies the signer and records it in the ledger (see
//! [`crate::ledger`]); post-receive, which runs only after git has updated
//! the refs, turns it into the commit. A rejected or failed push therefore
//! leaves no trace in the log.
//!
//! The log starts with a genesis record that `install` writes: a commit
//! without parent whose tree holds one file, `genesis`:
//!
//! ```text
//! gitapps genesis 1
//! owner <the owner's fingerprint>
//! access-control <the apps/access-control commit the log starts from>
//! ```
//!
//! The first line names the format and its version; then one `key value`
//! line each. Readers ignore keys they do not know, so later versions may
//! add some (server settings, say) without a new version number.

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

/// The name of the genesis record's one file.
pub const GENESIS_FILE: &str = "genesis";

/// The text of the genesis record.
pub fn genesis_text(owner: &gitapps_policy::Fingerprint, access_control: ObjectId) -> String {
    format!("gitapps genesis 1\nowner {owner}\naccess-control {access_control}\n")
}

/// Start the log with its genesis record, unless it exists. Returns the
/// record written, `None` when the log was there already (even one whose
/// first record is not a genesis: a log is never rewritten).
pub fn start(
    repo: &gix::Repository,
    owner: &gitapps_policy::Fingerprint,
    access_control: ObjectId,
) -> Result<Option<ObjectId>, HookError> {
    if ref_target(repo, AUDIT_REF)?.is_some() {
        return Ok(None);
    }
    let blob = repo
        .write_blob(genesis_text(owner, access_control))
        .git("writing the genesis record")?
        .detach();
    let tree = gix::objs::Tree {
        entries: vec![Entry {
            mode: EntryKind::Blob.into(),
            filename: GENESIS_FILE.into(),
            oid: blob,
        }],
    };
    let tree = repo
        .write_object(&tree)
        .git("writing the genesis tree")?
        .detach();
    let message = format!(
        "genesis: the audit log of {owner}'s server starts here\n\naccess-control {access_control}\n"
    );
    commit_to_ref(repo, AUDIT_REF, tree, None, &message).map(Some)
}

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

//! Writing the audit log `refs/apps/push-certs` (its records are described
//! in [`crate::record`]): its genesis and upgrade records, written by
//! `install`, and the push records, written by the `reference-transaction`
//! hook ([`crate::transaction`]).
//!
//! Every writer holds the ledger's lock ([`crate::ledger::Ledger`]) while
//! it reads the log's tip, writes the record and moves the ref
//! (compare-and-swap): writers never race one another. A killed writer can
//! leave `refs/apps/push-certs.lock` behind, which would stop every later
//! write; a holder of the ledger's lock that finds one at least
//! [`STALE_LOCK_SECS`] old removes it. No gitapps writer can own it then
//! (they all hold the ledger's lock), and git's own commands (`pack-refs`)
//! hold a ref's lock for milliseconds.

use std::path::Path;
use std::time::{Duration, SystemTime};

use gitapps_policy::Fingerprint;
use gix::ObjectId;

use crate::config::ServerConfig;
use crate::error::{HookError, IoContext};
use crate::judge::AUDIT_REF;
use crate::ledger::Ledger;
use crate::record::{self, commits_of, Record};
use crate::repo::ref_target;
use crate::write::Writer;

/// A lock on the log this old, found by a holder of the ledger's lock, was
/// left by a killed writer.
pub const STALE_LOCK_SECS: u64 = 5;

pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Append a record of `tree` to the log, on top of its tip; its other
/// parents are `keep` (commits the record keeps reachable). The caller
/// holds the ledger's lock. Returns the record.
pub fn append(
    w: &Writer<'_>,
    tree: ObjectId,
    keep: Vec<ObjectId>,
    message: &str,
) -> Result<ObjectId, HookError> {
    let tip = ref_target(w.repo, AUDIT_REF)?;
    let mut parents: Vec<ObjectId> = tip.into_iter().collect();
    parents.extend(keep.into_iter().filter(|c| Some(*c) != tip));
    let commit = w.commit(tree, parents, message)?;
    move_log(w, tip, commit, message)?;
    Ok(commit)
}

/// Move the log from `expected` to `new`, clearing a stale lock and waiting
/// out a fresh one (git's own, for milliseconds).
fn move_log(
    w: &Writer<'_>,
    expected: Option<ObjectId>,
    new: ObjectId,
    _message: &str,
) -> Result<(), HookError> {
    let path = w.repo.common_dir().join(AUDIT_REF);
    let lock = w.repo.common_dir().join(format!("{AUDIT_REF}.lock"));
    if let Some(dir) = path.parent() {
        w.shared.create_dir_all(dir)?;
    }
    let deadline = SystemTime::now() + Duration::from_secs(STALE_LOCK_SECS + 2);
    loop {
        clear_stale_lock(&lock)?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(file) => return swap_locked(w, file, &lock, &path, expected, new),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if SystemTime::now() >= deadline {
                    return Err(HookError::Protocol(format!(
                        "{} exists and is fresh: a git command holds the audit log; if none is running on the server, remove it",
                        lock.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e).io(format!("creating {}", lock.display())),
        }
    }
}

/// With the log's lock file created: check the log is still at `expected`,
/// write `new` into the lock and rename it over the ref, as git does. A
/// loose ref file, so that git's packed-refs (which git may hold locked
/// while this runs, deleting a packed ref) is never touched.
fn swap_locked(
    w: &Writer<'_>,
    mut file: std::fs::File,
    lock: &Path,
    path: &Path,
    expected: Option<ObjectId>,
    new: ObjectId,
) -> Result<(), HookError> {
    use std::io::Write;
    let result = (|| {
        let current = ref_target(w.repo, AUDIT_REF)?;
        if current != expected {
            return Err(HookError::Protocol(format!(
                "{AUDIT_REF} moved while this record was written (it is at {}, expected {})",
                current.map_or_else(|| "nothing".into(), |c| c.to_string()),
                expected.map_or_else(|| "nothing".into(), |c| c.to_string()),
            )));
        }
        file.write_all(format!("{new}\n").as_bytes())
            .io(format!("writing {}", lock.display()))?;
        drop(file);
        w.shared.apply(lock)?;
        std::fs::rename(lock, path).io(format!("renaming {} into place", lock.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(lock);
    }
    result
}

/// Remove `lock` when it is at least [`STALE_LOCK_SECS`] old.
fn clear_stale_lock(lock: &Path) -> Result<(), HookError> {
    let Ok(meta) = std::fs::metadata(lock) else {
        return Ok(());
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    if age < Duration::from_secs(STALE_LOCK_SECS) {
        return Ok(());
    }
    match std::fs::remove_file(lock) {
        Ok(()) => {
            // To the pusher (git shows it as `remote: …`, and git mr and
            // ci-bot pass on lines with this prefix): the server had a fault.
            eprintln!(
                "gitapps: warning: removed {} ({} s old), left by a writer of the audit log that was killed; the log goes on",
                lock.display(),
                age.as_secs()
            );
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).io(format!("removing the stale lock {}", lock.display())),
    }
}

/// What `install` did to the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Started {
    /// A new log: its genesis record.
    Genesis(ObjectId),
    /// A log of an older format: an upgrade record on top.
    Upgraded(ObjectId),
    /// A log of this format: nothing.
    Current,
}

/// Start the log with its genesis record, or bring an older log to this
/// format with an upgrade record; a log is never rewritten, and never gets
/// a second genesis. Both name every ref the server has, and keep their
/// commits reachable.
pub fn start(
    repo: &gix::Repository,
    owner: &Fingerprint,
    access_control: ObjectId,
    config: &ServerConfig,
) -> Result<Started, HookError> {
    let w = Writer::new(repo);
    let now = unix_secs(SystemTime::now());
    let _ledger = Ledger::lock(repo.git_dir(), w.shared, now, 0)?;
    let refs = record::all_refs(repo)?;
    // The access-control branch first: the record's first kept commit.
    let mut values: Vec<ObjectId> = vec![access_control];
    values.extend(refs.iter().map(|(_, id)| *id));
    let keep = commits_of(repo, values)?;
    let settings = config.settings_text();
    let Some(tip) = ref_target(repo, AUDIT_REF)? else {
        let text = record::genesis_text(owner.as_str(), access_control, now, &refs);
        let tree = record::write_genesis_tree(&w, &text, &settings)?;
        let message = format!(
            "genesis: the audit log of {owner}'s server starts here\n\naccess-control {access_control}\n"
        );
        let commit = w.commit(tree, keep, &message)?;
        move_log(&w, None, commit, &message)?;
        return Ok(Started::Genesis(commit));
    };
    let current = match record::read(repo, tip) {
        Ok(entry) => match entry.record {
            Record::Push(p) => p.format == record::PushFormat::V2,
            Record::Genesis(g) => g.settings.is_some(),
            Record::Upgrade(_) => true,
        },
        Err(_) => false,
    };
    if current {
        return Ok(Started::Current);
    }
    let tree = record::write_upgrade_tree(&w, now, &refs, &settings)?;
    let message = "upgrade: the audit log is recorded before git applies each push from here on\n";
    append(&w, tree, keep, message).map(Started::Upgraded)
}

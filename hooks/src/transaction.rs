//! git's `reference-transaction` hook: the moment a signed push is
//! recorded in the audit log.
//!
//! git runs the hook when a ref transaction is `prepared` (every ref it
//! updates is locked, its old value checked, the pushed objects moved out
//! of the quarantine into the repository), then `committed` or `aborted`.
//! Exiting non-zero in `prepared` aborts the transaction: git applies
//! nothing. So the record is written, and made durable (the object files
//! and the log's ref are written and renamed into place), before git can
//! apply the push; if this hook dies first, git applies nothing, and if git
//! dies after, the record stands for a push that was not applied, which
//! anyone can tell from the ref's value afterwards (the old value of the
//! next record that updates the ref, or the ref's value now).
//!
//! receive-pack runs one transaction for an `--atomic` push and one per ref
//! for a push without it, so a record is one transaction: a whole atomic
//! push, or one ref. While the transaction is prepared its refs are locked,
//! so no other push can update them between the record and git's update:
//! per ref, the records are in the order git applies them.
//!
//! Which push a transaction belongs to comes from the ledger: pre-receive
//! left a line for every push it accepted, naming its certificate (whose
//! commands must include the transaction's updates), the receive-pack that
//! ran it, and what the judgement used. A transaction under a receive-pack
//! that no accepted push explains is refused (fail closed); one by anything
//! else (the admin's `git update-ref`, `git pack-refs`) is none of the
//! hook's business, and shows as an unexplained ref to `gitapps-hook verify`.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use gitapps_policy::ACCESS_CONTROL_REF;
use gix::ObjectId;

use crate::audit::{self, unix_secs};
use crate::cert::PushCertificate;
use crate::config::ServerConfig;
use crate::error::{GitContext, HookError};
use crate::judgement::{check_certificate, load_policy, Judge};
use crate::ledger::{Ledger, Pending};
use crate::record::{self, commits_of, NewPush};
use crate::repo::{read_blob_capped, ref_target};
use crate::testing::pause;
use crate::updates::RefUpdate;
use crate::write::Writer;

/// How long a transaction waits for another one that holds the
/// access-control branch's lock (it is between its record and git's update
/// of the branch: milliseconds).
const POLICY_WAIT: Duration = Duration::from_secs(5);

/// Why the transaction is refused: lines for git's stderr.
#[derive(Debug)]
pub struct Refusal(pub Vec<String>);

impl From<HookError> for Refusal {
    fn from(e: HookError) -> Self {
        Refusal(vec![format!(
            "gitapps: error: the audit log could not be written: {e}; the push is not applied"
        )])
    }
}

/// Run the hook for the transaction in `state` whose ref updates are
/// `stdin`. Returns the record written, if any.
pub fn run(git_dir: &Path, state: &str, stdin: &str) -> Result<Option<ObjectId>, Refusal> {
    if state != "prepared" {
        return Ok(None);
    }
    let mut updates = Vec::new();
    let mut unreadable = Vec::new();
    for line in stdin.lines().filter(|l| !l.is_empty()) {
        match RefUpdate::parse_line(line) {
            Ok(u) => updates.push(u),
            // `<zero> <zero> <ref>`: git deleting a ref from packed-refs
            // inside the transaction that deletes it (recorded there).
            Err(_) if is_nested_delete(line) => {}
            Err(_) => unreadable.push(line.to_owned()),
        }
    }
    if updates.is_empty() && unreadable.is_empty() {
        return Ok(None);
    }
    pause("transaction-start");
    let repo = gix::open_opts(git_dir, gix::open::Options::isolated())
        .git(format!("opening repository {}", git_dir.display()))?;
    drop_symbolic(&repo, &mut updates);
    let config = ServerConfig::read(&repo)?;
    let w = Writer::new(&repo);
    let now = SystemTime::now();
    let mut ledger = Ledger::lock(
        git_dir,
        w.shared,
        unix_secs(now),
        Ledger::window(config.nonce_slop_secs),
    )?
    .ongoing(std::os::unix::process::parent_id());
    let tx = Transaction {
        repo: &repo,
        git_dir,
        config: &config,
        w: &w,
        now,
        updates: &updates,
    };
    let recorded = if unreadable.is_empty() {
        find_push(
            &repo,
            &ledger,
            &updates,
            config.limits.cert_size,
            |pending, cert, first| tx.record(pending, cert, first),
        )?
    } else {
        None
    };
    if let Some((cert, commit)) = recorded {
        let refs: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
        ledger.recorded(unix_secs(now), cert, commit, &refs)?;
    }
    drop(ledger);
    match recorded {
        Some((_, commit)) => {
            pause("transaction-done");
            Ok(Some(commit))
        }
        None if under_receive_pack() => {
            let mut lines = vec![
                "gitapps: error: git is applying ref updates that no push accepted by pre-receive explains; they are not applied".to_owned(),
            ];
            lines.extend(stdin.lines().map(|l| format!("gitapps:   {l}")));
            Err(Refusal(lines))
        }
        None => Ok(None),
    }
}

/// A transaction being recorded.
struct Transaction<'a> {
    repo: &'a gix::Repository,
    git_dir: &'a Path,
    config: &'a ServerConfig,
    w: &'a Writer<'a>,
    now: SystemTime,
    updates: &'a [RefUpdate],
}

impl Transaction<'_> {
    /// Record the transaction as (part of) the push `pending`, whose
    /// certificate is `cert`; `first`: no record of that push exists yet.
    fn record(
        &self,
        pending: &Pending,
        cert: &PushCertificate<'_>,
        first: bool,
    ) -> Result<ObjectId, Refusal> {
        let (repo, config, updates) = (self.repo, self.config, self.updates);
        // What the record says the push was judged by: what pre-receive used,
        // unless the policy or the settings changed since (then judge again).
        let mut decided = Decided {
            pusher: pending.pusher.to_string(),
            time: pending.when,
            access_control: pending.access_control,
            settings: config.settings_text(),
            keyring: keyring_keys(config, &pending.keyring)?,
        };
        if first {
            let access_control = settled_access_control(repo, updates)?;
            let settings_id = config.settings_id(repo.object_hash())?;
            if access_control != pending.access_control || settings_id != pending.settings {
                decided = judge_again(repo, self.git_dir, config, cert, access_control, self.now)?;
            }
        }
        // The first record of a push keeps every commit it brings reachable
        // (the verifier judges the whole push there); a later one, its own.
        let values = if first { &cert.commands[..] } else { updates };
        let keep = commits_of(
            repo,
            values.iter().filter(|u| !u.is_tag()).filter_map(|u| u.new),
        )?;
        let (tree, message) = record::write_push_tree(
            self.w,
            &NewPush {
                cert: pending.cert,
                pusher: &decided.pusher,
                time: decided.time,
                access_control: decided.access_control,
                updates,
                settings: &decided.settings,
                keyring: &decided.keyring,
            },
        )?;
        pause("transaction-written");
        let commit = audit::append(self.w, tree, keep, &message)?;
        pause("transaction-recorded");
        Ok(commit)
    }
}

/// What a push record says its judgement used.
struct Decided {
    pusher: String,
    time: u64,
    access_control: ObjectId,
    settings: String,
    keyring: Vec<(String, Vec<u8>)>,
}

/// git lists a symbolic ref (`HEAD`) updated through its target as an
/// update of its own: the target's line is the update.
fn drop_symbolic(repo: &gix::Repository, updates: &mut Vec<RefUpdate>) {
    let names: Vec<String> = updates.iter().map(|u| u.name.clone()).collect();
    updates.retain(|u| {
        let target = repo
            .try_find_reference(u.name.as_str())
            .ok()
            .flatten()
            .and_then(|r| r.target().try_name().map(|n| n.as_bstr().to_string()));
        !target.is_some_and(|t| names.contains(&t))
    });
}

fn is_nested_delete(line: &str) -> bool {
    let mut parts = line.splitn(3, ' ');
    let zero = |p: Option<&str>| p.is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b == b'0'));
    zero(parts.next()) && zero(parts.next())
}

/// The accepted push, not abandoned, whose certificate asks for all of
/// `updates` and none of whose records has recorded any of them yet (that
/// of this very receive-pack first, then the oldest), given to `record`
/// with its certificate, parsed once (a push of 10,000 refs without
/// `--atomic` reads its certificate in each of its 10,000 transactions), and
/// whether it is the push's first record. Returns its certificate's id and
/// what `record` returns; `None`: no push explains the transaction.
fn find_push<R>(
    repo: &gix::Repository,
    ledger: &Ledger,
    updates: &[RefUpdate],
    limit: u64,
    record: impl FnOnce(&Pending, &PushCertificate<'_>, bool) -> Result<R, Refusal>,
) -> Result<Option<(ObjectId, R)>, Refusal> {
    let parent = std::os::unix::process::parent_id();
    let mut candidates = ledger.pending();
    candidates.sort_by_key(|p| p.receive_pack != parent);
    let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
    for pending in candidates {
        if ledger.recorded_any(pending.cert, &names) {
            continue;
        }
        let Ok(Ok(bytes)) = read_blob_capped(repo, pending.cert, limit) else {
            continue;
        };
        let Ok(cert) = PushCertificate::parse(&bytes) else {
            continue;
        };
        // One transaction of an `--atomic` push holds every update: look
        // them up in a set rather than search the commands for each.
        let asked: Option<HashSet<&RefUpdate>> =
            (updates.len() > 16).then(|| cert.commands.iter().collect());
        let fits = updates.iter().all(|u| match &asked {
            Some(set) => set.contains(u),
            None => cert.commands.contains(u),
        });
        if fits {
            let first = !ledger.has_records(pending.cert);
            return record(&pending, &cert, first).map(|r| Some((pending.cert, r)));
        }
    }
    Ok(None)
}

/// Whether a receive-pack is running this hook (its parent, or the parent's
/// parent for a hook run through a script). Without `/proc` nothing can
/// tell: then it counts as one (fail closed), so an update no accepted push
/// explains is refused rather than applied unlogged; an admin's own ref
/// updates on such a server bypass the hook (`git -c core.hooksPath=/dev/null`).
fn under_receive_pack() -> bool {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return true;
    }
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..3 {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let receive_pack = cmdline
            .split(|&b| b == 0)
            .take(2)
            .any(|arg| arg.ends_with(b"receive-pack"));
        if receive_pack {
            return true;
        }
        let Some(parent) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // `pid (comm) state ppid …`; comm may hold spaces and ')'.
                let after = stat.rsplit_once(')')?.1;
                after.split_whitespace().nth(1)?.parse().ok()
            })
        else {
            return false;
        };
        pid = parent;
    }
    false
}

/// The access-control commit in force for a push's record. When another
/// transaction holds the branch's lock (it has recorded its change and git
/// is about to apply it), wait for it to finish, so that the record's
/// policy is the one the log says is in force at that point. A lock older
/// than [`POLICY_WAIT`] is a dead process's: not waited for.
fn settled_access_control(
    repo: &gix::Repository,
    ours: &[RefUpdate],
) -> Result<ObjectId, HookError> {
    let current = || {
        ref_target(repo, ACCESS_CONTROL_REF)?
            .ok_or_else(|| HookError::Config(format!("the server has no {ACCESS_CONTROL_REF}")))
    };
    if ours.iter().any(|u| u.name == ACCESS_CONTROL_REF) {
        return current();
    }
    let lock = repo.common_dir().join(format!("{ACCESS_CONTROL_REF}.lock"));
    loop {
        let age = std::fs::metadata(&lock).ok().and_then(|m| {
            m.modified()
                .ok()
                .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
        });
        match age {
            Some(age) if age < POLICY_WAIT => std::thread::sleep(Duration::from_millis(5)),
            _ => return current(),
        }
    }
}

/// The keyring's keys pre-receive's judgement used, armored, by fingerprint.
fn keyring_keys(
    config: &ServerConfig,
    fingerprints: &[String],
) -> Result<Vec<(String, Vec<u8>)>, HookError> {
    if fingerprints.is_empty() {
        return Ok(Vec::new());
    }
    let certs = config.keyring_certs()?;
    fingerprints
        .iter()
        .map(|fpr| {
            let cert = certs
                .iter()
                .find(|c| c.fingerprint().to_hex() == *fpr)
                .ok_or_else(|| {
                    HookError::Config(format!(
                        "key {fpr} left gitapps.keyring while the push was being checked"
                    ))
                })?;
            Ok((fpr.clone(), armored(cert)?))
        })
        .collect()
}

fn armored(cert: &sequoia_openpgp::Cert) -> Result<Vec<u8>, HookError> {
    use sequoia_openpgp::serialize::SerializeInto;
    cert.armored()
        .to_vec()
        .map_err(|e| HookError::Protocol(format!("armoring key {}: {e}", cert.fingerprint())))
}

/// The policy or the settings changed between pre-receive and now: judge
/// the push again, as of now, by what is in force now.
fn judge_again(
    repo: &gix::Repository,
    git_dir: &Path,
    config: &ServerConfig,
    cert: &PushCertificate<'_>,
    access_control: ObjectId,
    now: SystemTime,
) -> Result<Decided, Refusal> {
    let refuse = |lines: Vec<String>| {
        let mut out = vec![
            "gitapps: rejected: the policy or the server's settings changed while this push was being checked, and now refuse it; the push is not applied:".to_owned(),
        ];
        out.extend(lines);
        Refusal(out)
    };
    let keyring = config.keyring_certs()?;
    let updates = &cert.commands;
    let sig = check_certificate(cert, updates, config, now).map_err(|r| refuse(r.lines))?;
    let policy =
        load_policy(repo, Some(git_dir), access_control, config).map_err(|r| refuse(r.lines))?;
    let accepted = Judge {
        repo,
        git_dir,
        config,
        keyring: &keyring,
        now,
    }
    .decide(cert, &sig, updates, &policy)
    .map_err(|r| refuse(r.lines))?;
    Ok(Decided {
        pusher: accepted.pusher.to_string(),
        time: unix_secs(now),
        access_control,
        settings: config.settings_text(),
        keyring: accepted
            .keyring_keys
            .iter()
            .map(|c| Ok((c.fingerprint().to_hex(), armored(c)?)))
            .collect::<Result<_, HookError>>()?,
    })
}

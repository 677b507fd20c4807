//! The records of the audit log `refs/apps/push-certs`, as written and as
//! read back. The log is the first-parent chain of commits from the ref's
//! tip down to its genesis record; a record's other parents only keep the
//! commits it speaks of reachable, so that any clone that fetches the log
//! has every object it needs to judge every record, even after the
//! branches that held them were deleted or force-pushed.
//!
//! Three kinds of record, told apart by their tree:
//!
//! - **genesis** (`genesis`, `settings`): written by `install` when a
//!   server gets its log. Parents: the commits its refs point at.
//!   ```text
//!   gitapps genesis 1
//!   owner <fingerprint>
//!   access-control <commit>
//!   time <unix seconds>
//!   ref <object id> <refname>          (every ref the server had)
//!   ```
//! - **push** (`cert`, `pusher`, `push`, `settings`, optionally
//!   `keyring/<FPR>.asc`): written by the `reference-transaction` hook when
//!   git has locked the refs of a signed push and checked their old values,
//!   before it applies them. One per git ref transaction: a whole
//!   `--atomic` push, or one ref of a push without it. Parents: the
//!   previous record, then the commits the push's updates bring.
//!   ```text
//!   gitapps push 2
//!   time <unix seconds>                the server's time of acceptance
//!   access-control <commit>            the policy the push was judged by
//!   update <old> <new> <refname>       what this transaction applies
//!   ```
//!   Records written before the log had this format (`cert` and `pusher`
//!   alone, written after git applied the push) are read as version 1:
//!   their updates are in the commit message, their time is the commit's.
//! - **upgrade** (`upgrade`, `settings`): written by `install` on a server
//!   whose log is older than this format: the refs the server had then.
//!   ```text
//!   gitapps upgrade 1
//!   time <unix seconds>
//!   ref <object id> <refname>
//!   ```
//!
//! Every text is a first line naming its format and version, then `key
//! value` lines; readers ignore keys they do not know. Everything is read
//! within bounds: a verifier reads what a server, possibly a hostile one,
//! wrote.

use gix::objs::tree::{Entry, EntryKind};
use gix::ObjectId;

use crate::error::{GitContext, HookError};
use crate::repo::read_blob_capped;
use crate::tree::{self, Mode};
use crate::updates::RefUpdate;
use crate::write::Writer;

pub const GENESIS_FILE: &str = "genesis";
pub const UPGRADE_FILE: &str = "upgrade";
pub const PUSH_FILE: &str = "push";
pub const SETTINGS_FILE: &str = "settings";
pub const CERT_FILE: &str = "cert";
pub const PUSHER_FILE: &str = "pusher";
pub const KEYRING_DIR: &str = "keyring";

const GENESIS_MAGIC: &str = "gitapps genesis 1";
const UPGRADE_MAGIC: &str = "gitapps upgrade 1";
const PUSH_MAGIC: &str = "gitapps push 2";

/// The largest text of a record a reader takes (a push of 10,000 ref
/// updates is about 1 MiB).
const MAX_TEXT: u64 = 16 << 20;
/// The largest `pusher` file.
const MAX_PUSHER: u64 = 1024;
/// The largest settings text.
const MAX_SETTINGS: u64 = 64 << 10;
/// The largest key a record may carry.
const MAX_KEY: u64 = 1 << 20;
/// At most this many keys in a record's `keyring/`.
const MAX_KEYS: usize = 16;

/// One commit of the log, read.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub commit: ObjectId,
    /// The previous record (the commit's first parent), if any.
    pub previous: Option<ObjectId>,
    pub record: Record,
}

#[derive(Clone, Debug)]
pub enum Record {
    Genesis(Genesis),
    Push(Push),
    Upgrade(Upgrade),
}

/// The start of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    pub owner: String,
    pub access_control: ObjectId,
    /// `None` in genesis records from before the time was recorded.
    pub time: Option<u64>,
    /// Every ref the server had; `None` in genesis records from before the
    /// refs were recorded (then the access-control branch was the only one).
    pub refs: Option<Vec<(String, ObjectId)>>,
    pub settings: Option<ObjectId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushFormat {
    /// `cert` and `pusher` only, written after git applied the push.
    V1,
    /// Written before git applies the push.
    V2,
}

/// A signed push, or the part of one that one git ref transaction applied.
#[derive(Clone, Debug)]
pub struct Push {
    pub format: PushFormat,
    pub cert: ObjectId,
    /// The `pusher` file, trimmed (not yet checked to be a fingerprint).
    pub pusher: String,
    pub time: u64,
    /// The access-control commit the push was judged by (V2).
    pub access_control: Option<ObjectId>,
    pub updates: Vec<RefUpdate>,
    pub settings: Option<ObjectId>,
    /// `keyring/<FPR>.asc`: the keys of the server's keyring the decision used.
    pub keyring: Vec<(String, ObjectId)>,
}

#[derive(Clone, Debug)]
pub struct Upgrade {
    pub time: u64,
    pub refs: Vec<(String, ObjectId)>,
    pub settings: Option<ObjectId>,
}

/// What is written for a push: everything but the parents' choice.
pub struct NewPush<'a> {
    pub cert: ObjectId,
    pub pusher: &'a str,
    pub time: u64,
    pub access_control: ObjectId,
    pub updates: &'a [RefUpdate],
    pub settings: &'a str,
    /// Armored keys, with their fingerprints.
    pub keyring: &'a [(String, Vec<u8>)],
}

fn zero_or(id: Option<ObjectId>) -> String {
    id.map_or_else(|| "0".repeat(40), |id| id.to_string())
}

fn update_line(u: &RefUpdate) -> String {
    format!("{} {} {}", zero_or(u.old), zero_or(u.new), u.name)
}

/// The text of a genesis record.
pub fn genesis_text(
    owner: &str,
    access_control: ObjectId,
    time: u64,
    refs: &[(String, ObjectId)],
) -> String {
    let mut text =
        format!("{GENESIS_MAGIC}\nowner {owner}\naccess-control {access_control}\ntime {time}\n");
    for (name, id) in refs {
        text.push_str(&format!("ref {id} {name}\n"));
    }
    text
}

fn refs_text(magic: &str, time: u64, refs: &[(String, ObjectId)]) -> String {
    let mut text = format!("{magic}\ntime {time}\n");
    for (name, id) in refs {
        text.push_str(&format!("ref {id} {name}\n"));
    }
    text
}

fn blob_entry(name: &str, oid: ObjectId) -> Entry {
    Entry {
        mode: EntryKind::Blob.into(),
        filename: name.into(),
        oid,
    }
}

/// Write the tree of a genesis record.
pub fn write_genesis_tree(
    w: &Writer<'_>,
    text: &str,
    settings: &str,
) -> Result<ObjectId, HookError> {
    let entries = vec![
        blob_entry(GENESIS_FILE, w.blob(text)?),
        blob_entry(SETTINGS_FILE, w.blob(settings)?),
    ];
    w.tree(entries)
}

/// Write the tree of an upgrade record.
pub fn write_upgrade_tree(
    w: &Writer<'_>,
    time: u64,
    refs: &[(String, ObjectId)],
    settings: &str,
) -> Result<ObjectId, HookError> {
    let entries = vec![
        blob_entry(UPGRADE_FILE, w.blob(refs_text(UPGRADE_MAGIC, time, refs))?),
        blob_entry(SETTINGS_FILE, w.blob(settings)?),
    ];
    w.tree(entries)
}

/// Write the tree of a push record; returns it and the commit message.
pub fn write_push_tree(
    w: &Writer<'_>,
    push: &NewPush<'_>,
) -> Result<(ObjectId, String), HookError> {
    let mut text = format!(
        "{PUSH_MAGIC}\ntime {}\naccess-control {}\n",
        push.time, push.access_control
    );
    let mut message = format!("push by {}\n\n", push.pusher);
    for u in push.updates {
        let line = update_line(u);
        text.push_str(&format!("update {line}\n"));
        message.push_str(&line);
        message.push('\n');
    }
    let mut entries = vec![
        blob_entry(CERT_FILE, push.cert),
        blob_entry(PUSHER_FILE, w.blob(format!("{}\n", push.pusher))?),
        blob_entry(PUSH_FILE, w.blob(text)?),
        blob_entry(SETTINGS_FILE, w.blob(push.settings)?),
    ];
    if !push.keyring.is_empty() {
        let keys = push
            .keyring
            .iter()
            .map(|(fpr, armored)| Ok(blob_entry(&format!("{fpr}.asc"), w.blob(armored)?)))
            .collect::<Result<Vec<_>, HookError>>()?;
        entries.push(Entry {
            mode: EntryKind::Tree.into(),
            filename: KEYRING_DIR.into(),
            oid: w.tree(keys)?,
        });
    }
    Ok((w.tree(entries)?, message))
}

/// Why a record cannot be read: said in one line, for a verifier's report.
pub type ReadError = String;

/// Read the log's commit `commit`.
pub fn read(repo: &gix::Repository, commit: ObjectId) -> Result<LogEntry, ReadError> {
    let object = repo
        .find_object(commit)
        .map_err(|e| format!("cannot read the record's commit: {e}"))?;
    if object.kind != gix::object::Kind::Commit {
        return Err(format!("{commit} is a {}, not a commit", object.kind));
    }
    let commit_obj = object.into_commit();
    let decoded = commit_obj
        .decode()
        .map_err(|e| format!("cannot parse the record's commit: {e}"))?;
    let tree_id = decoded.tree();
    let previous = decoded.parents().next();
    let committed = decoded
        .committer()
        .map_err(|e| format!("cannot parse the record's committer: {e}"))?
        .seconds();
    let message = decoded.message.to_vec();
    let tree_data = repo
        .find_tree(tree_id)
        .map_err(|e| format!("cannot read the record's tree: {e}"))?
        .detach()
        .data;
    let entries = tree::entries(&tree_data, repo.object_hash())
        .map_err(|e| format!("the record's tree is malformed: {e}"))?;
    let file = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name.as_bytes() && matches!(e.mode, Mode::File | Mode::Executable))
            .map(|e| e.id)
    };
    let text = |id: ObjectId, cap: u64, what: &str| -> Result<String, ReadError> {
        let bytes = read_blob_capped(repo, id, cap)
            .map_err(|e| format!("cannot read its {what}: {e}"))?
            .map_err(|size| format!("its {what} is {size} bytes, over {cap}"))?;
        String::from_utf8(bytes).map_err(|_| format!("its {what} is not UTF-8"))
    };
    let settings = file(SETTINGS_FILE);
    let record = if let Some(id) = file(GENESIS_FILE) {
        Record::Genesis(parse_genesis(
            &text(id, MAX_TEXT, "genesis file")?,
            settings,
        )?)
    } else if let Some(id) = file(UPGRADE_FILE) {
        let t = text(id, MAX_TEXT, "upgrade file")?;
        let (time, refs) = parse_refs_text(&t, UPGRADE_MAGIC)?;
        Record::Upgrade(Upgrade {
            time,
            refs,
            settings,
        })
    } else if let Some(cert) = file(CERT_FILE) {
        let pusher_id = file(PUSHER_FILE).ok_or("it has a `cert` but no `pusher`")?;
        let pusher = text(pusher_id, MAX_PUSHER, "pusher file")?
            .trim()
            .to_owned();
        let keyring = match entries.iter().find(|e| e.name == KEYRING_DIR.as_bytes()) {
            None => Vec::new(),
            Some(dir) if dir.mode == Mode::Directory => read_keyring(repo, dir.id)?,
            Some(_) => return Err("its `keyring` is not a directory".into()),
        };
        match file(PUSH_FILE) {
            Some(id) => {
                let t = text(id, MAX_TEXT, "push file")?;
                let (time, access_control, updates) = parse_push_text(&t)?;
                Record::Push(Push {
                    format: PushFormat::V2,
                    cert,
                    pusher,
                    time,
                    access_control: Some(access_control),
                    updates,
                    settings,
                    keyring,
                })
            }
            None => Record::Push(Push {
                format: PushFormat::V1,
                cert,
                pusher,
                time: u64::try_from(committed).unwrap_or(0),
                access_control: None,
                updates: message_updates(&message)?,
                settings,
                keyring,
            }),
        }
    } else {
        return Err("its tree holds none of `genesis`, `upgrade`, `cert`: not a record".into());
    };
    Ok(LogEntry {
        commit,
        previous,
        record,
    })
}

/// The settings text of a record's `settings` blob.
pub fn read_settings(repo: &gix::Repository, id: ObjectId) -> Result<String, ReadError> {
    let bytes = read_blob_capped(repo, id, MAX_SETTINGS)
        .map_err(|e| format!("cannot read the settings: {e}"))?
        .map_err(|size| format!("the settings are {size} bytes, over {MAX_SETTINGS}"))?;
    String::from_utf8(bytes).map_err(|_| "the settings are not UTF-8".into())
}

/// A key a record carries, armored.
pub fn read_key(repo: &gix::Repository, id: ObjectId) -> Result<Vec<u8>, ReadError> {
    read_blob_capped(repo, id, MAX_KEY)
        .map_err(|e| format!("cannot read a key of the record: {e}"))?
        .map_err(|size| format!("a key of the record is {size} bytes, over {MAX_KEY}"))
}

fn read_keyring(
    repo: &gix::Repository,
    dir: ObjectId,
) -> Result<Vec<(String, ObjectId)>, ReadError> {
    let data = repo
        .find_tree(dir)
        .map_err(|e| format!("cannot read its keyring/: {e}"))?
        .detach()
        .data;
    let entries = tree::entries(&data, repo.object_hash())
        .map_err(|e| format!("its keyring/ is malformed: {e}"))?;
    if entries.len() > MAX_KEYS {
        return Err(format!(
            "its keyring/ holds {} keys, over {MAX_KEYS}",
            entries.len()
        ));
    }
    Ok(entries
        .into_iter()
        .map(|e| (String::from_utf8_lossy(e.name).into_owned(), e.id))
        .collect())
}

fn parse_id(hex: &str, what: &str) -> Result<ObjectId, ReadError> {
    ObjectId::from_hex(hex.as_bytes()).map_err(|_| format!("{what} {hex:?} is not an object id"))
}

fn parse_genesis(text: &str, settings: Option<ObjectId>) -> Result<Genesis, ReadError> {
    let mut lines = text.lines();
    if lines.next() != Some(GENESIS_MAGIC) {
        return Err(format!(
            "the genesis file does not start with `{GENESIS_MAGIC}`"
        ));
    }
    let (mut owner, mut access_control, mut time, mut refs) = (None, None, None, None);
    for line in lines {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "owner" => owner = Some(value.to_owned()),
            "access-control" => access_control = Some(parse_id(value, "access-control")?),
            "time" => time = Some(value.parse().map_err(|_| format!("time {value:?}"))?),
            "ref" => refs
                .get_or_insert_with(Vec::new)
                .push(parse_ref_line(value)?),
            _ => {}
        }
    }
    Ok(Genesis {
        owner: owner.ok_or("the genesis names no owner")?,
        access_control: access_control.ok_or("the genesis names no access-control commit")?,
        time,
        refs,
        settings,
    })
}

fn parse_ref_line(value: &str) -> Result<(String, ObjectId), ReadError> {
    let (id, name) = value
        .split_once(' ')
        .ok_or_else(|| format!("`ref {value}` is not `ref <id> <refname>`"))?;
    Ok((name.to_owned(), parse_id(id, "ref")?))
}

fn parse_refs_text(text: &str, magic: &str) -> Result<(u64, Vec<(String, ObjectId)>), ReadError> {
    let mut lines = text.lines();
    if lines.next() != Some(magic) {
        return Err(format!("the record does not start with `{magic}`"));
    }
    let (mut time, mut refs) = (None, Vec::new());
    for line in lines {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "time" => time = Some(value.parse().map_err(|_| format!("time {value:?}"))?),
            "ref" => refs.push(parse_ref_line(value)?),
            _ => {}
        }
    }
    Ok((time.ok_or("the record has no time")?, refs))
}

fn parse_push_text(text: &str) -> Result<(u64, ObjectId, Vec<RefUpdate>), ReadError> {
    let mut lines = text.lines();
    if lines.next() != Some(PUSH_MAGIC) {
        return Err(format!("the push file does not start with `{PUSH_MAGIC}`"));
    }
    let (mut time, mut access_control, mut updates) = (None, None, Vec::new());
    for line in lines {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "time" => time = Some(value.parse().map_err(|_| format!("time {value:?}"))?),
            "access-control" => access_control = Some(parse_id(value, "access-control")?),
            "update" => updates
                .push(RefUpdate::parse_line(value).map_err(|e| format!("the push file: {e}"))?),
            _ => {}
        }
    }
    if updates.is_empty() {
        return Err("the push file lists no update".into());
    }
    Ok((
        time.ok_or("the push file has no time")?,
        access_control.ok_or("the push file names no access-control commit")?,
        updates,
    ))
}

/// The updates of a version 1 record: its message's lines after the first
/// blank line.
fn message_updates(message: &[u8]) -> Result<Vec<RefUpdate>, ReadError> {
    let text = String::from_utf8_lossy(message);
    let body = text.split_once("\n\n").map_or("", |(_, b)| b);
    let updates = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| RefUpdate::parse_line(l.trim()).map_err(|e| format!("its message: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if updates.is_empty() {
        return Err("its message lists no ref update".into());
    }
    Ok(updates)
}

/// The log's records from `tip` back, newest first, until `stop` (not
/// included) or the genesis (included), at most `limit` of them.
pub fn walk(
    repo: &gix::Repository,
    tip: ObjectId,
    stop: Option<ObjectId>,
    limit: usize,
) -> Result<Vec<LogEntry>, ReadError> {
    let mut out = Vec::new();
    let mut next = Some(tip);
    while let Some(commit) = next {
        if Some(commit) == stop || out.len() >= limit {
            break;
        }
        let entry = read(repo, commit).map_err(|e| format!("record {commit}: {e}"))?;
        next = match entry.record {
            Record::Genesis(_) => None,
            _ => entry.previous,
        };
        out.push(entry);
    }
    Ok(out)
}

/// The commit a ref value brings, for a record to keep reachable: the
/// commit itself, or the commit an annotated tag points at.
pub fn commit_of(repo: &gix::Repository, id: ObjectId) -> Result<Option<ObjectId>, HookError> {
    Ok(crate::repo::peel_to_commit(repo, id)?.map(|(commit, _)| commit))
}

/// The commits that the values `ids` bring (each once, in order).
pub fn commits_of(
    repo: &gix::Repository,
    ids: impl IntoIterator<Item = ObjectId>,
) -> Result<Vec<ObjectId>, HookError> {
    let mut out: Vec<ObjectId> = Vec::new();
    for id in ids {
        if let Some(commit) = commit_of(repo, id)? {
            if !out.contains(&commit) {
                out.push(commit);
            }
        }
    }
    Ok(out)
}

/// Every ref of `repo` (but the log and anything under `refs/apps/`'s
/// log), peeled one level as git hands them to hooks.
pub fn all_refs(repo: &gix::Repository) -> Result<Vec<(String, ObjectId)>, HookError> {
    let mut out = Vec::new();
    let platform = repo.references().git("listing refs")?;
    for r in platform.all().git("listing refs")? {
        let mut r = r.map_err(|e| HookError::Git {
            context: "listing refs".into(),
            message: e.to_string(),
        })?;
        let name = r.name().as_bstr().to_string();
        if crate::judge::is_audit_ref(&name) {
            continue;
        }
        let id = match r.target().try_id() {
            Some(id) => id.to_owned(),
            None => r.peel_to_id().git(format!("resolving {name}"))?.detach(),
        };
        out.push((name, id));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_back() {
        let id = ObjectId::from_hex(b"1111111111111111111111111111111111111111").expect("hex");
        let text = genesis_text(&"A".repeat(40), id, 5, &[("refs/heads/x".into(), id)]);
        let g = parse_genesis(&text, None).expect("parses");
        assert_eq!(g.time, Some(5));
        assert_eq!(g.refs, Some(vec![("refs/heads/x".to_owned(), id)]));
        // Issue 9's genesis: no time, no refs.
        let old = format!(
            "gitapps genesis 1\nowner {}\naccess-control {id}\n",
            "A".repeat(40)
        );
        let g = parse_genesis(&old, None).expect("parses");
        assert_eq!((g.time, g.refs), (None, None));
        let push = format!(
            "{PUSH_MAGIC}\ntime 7\naccess-control {id}\nupdate {} {id} refs/heads/main\nfuture key\n",
            "0".repeat(40)
        );
        let (time, ac, updates) = parse_push_text(&push).expect("parses");
        assert_eq!((time, ac, updates.len()), (7, id, 1));
        assert!(updates[0].old.is_none());
        assert!(parse_push_text(&format!("{PUSH_MAGIC}\ntime 7\naccess-control {id}\n")).is_err());
        assert!(parse_push_text("gitapps push 3\n").is_err());
        let msg = format!("push by X\n\n{} {id} refs/heads/a\n", "0".repeat(40));
        assert_eq!(message_updates(msg.as_bytes()).expect("parses").len(), 1);
    }
}

//! Which key file holds the key that made a signature, without parsing
//! every key file on every push.
//!
//! A signature names its key by fingerprint or key id; a key file is named
//! after its *primary* key. For a signature by a subkey, or one that names
//! only a key id, the file cannot be found by name. The index maps the key
//! id of every primary key and of every signing-capable subkey of every
//! `keys/*.asc` file to that file's fingerprint and blob. It is kept in
//! `$GIT_DIR/gitapps/key-index`, for one `keys/` tree (by id): a push that
//! finds it built for the current tree looks a key up in O(log n) reads of
//! a few bytes; after the keys changed, the first push rebuilds it from the
//! previous one, parsing only the key files that changed.
//!
//! The index only narrows which file to try: the signature is verified
//! against the key file itself. Each record carries a checksum; a file
//! that does not read back as written (torn, truncated, edited) is rebuilt,
//! never trusted.
//!
//! ```text
//! gitapps key index 1 <keys tree id> <record count>\n
//! <key id, 16 hex> <file's fingerprint, padded to 64> <blob id, padded to 64> <checksum, 16 hex>\n
//! ...                                   (sorted by key id, fixed width)
//! ```

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gitapps_policy::Fingerprint;
use gix::ObjectId;
use sequoia_openpgp as openpgp;

use openpgp::policy::StandardPolicy;
use openpgp::{Cert, KeyID};

use crate::config::Limits;
use crate::error::{GitContext, HookError, IoContext};
use crate::fsmode::Shared;
use crate::keyfile::fingerprint_of;
use crate::repo::{key_files_of, read_key_file};

const MAGIC: &str = "gitapps key index 1";
const FIELD: usize = 64;
/// `<key id> <fpr> <blob> <check>\n`
const RECORD: usize = 16 + 1 + FIELD + 1 + FIELD + 1 + 16 + 1;
/// The part of a record its checksum covers.
const CHECKED: usize = 16 + 1 + FIELD + 1 + FIELD;

/// A key file the index names for a key id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyFileRef {
    pub fingerprint: Fingerprint,
    pub blob: ObjectId,
}

impl KeyFileRef {
    pub fn path(&self) -> String {
        format!("keys/{}.asc", self.fingerprint)
    }
}

/// One record: a key id and the file that holds the key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    key_id: String,
    file: KeyFileRef,
}

impl Record {
    fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {:<FIELD$} {:<FIELD$}",
            self.key_id,
            self.file.fingerprint.as_str(),
            self.file.blob.to_hex().to_string()
        )
        .into_bytes();
        let check = format!(" {:016X}\n", fnv1a(&out));
        out.extend_from_slice(check.as_bytes());
        debug_assert_eq!(out.len(), RECORD);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Record> {
        if bytes.len() != RECORD || bytes[RECORD - 1] != b'\n' {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let check = u64::from_str_radix(&text[CHECKED + 1..RECORD - 1], 16).ok()?;
        if check != fnv1a(&bytes[..CHECKED]) {
            return None;
        }
        let key_id = text[..16].to_owned();
        let fingerprint = Fingerprint::parse(text[17..17 + FIELD].trim_end()).ok()?;
        let blob = ObjectId::from_hex(text[18 + FIELD..CHECKED].trim_end().as_bytes()).ok()?;
        Some(Record {
            key_id,
            file: KeyFileRef { fingerprint, blob },
        })
    }
}

/// FNV-1a, 64 bits: enough to notice a torn or edited record, cheaply.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The 16 upper-case hex digits of a key id.
pub fn key_id_hex(id: &KeyID) -> Option<String> {
    let hex = id.to_hex();
    (hex.len() == 16).then_some(hex)
}

/// The key files of the `keys/` tree `keys_tree` that may hold a key with
/// one of `key_ids`, from the index in `git_dir` (built or brought up to
/// date first when it is for another tree, or unreadable).
pub fn lookup(
    repo: &gix::Repository,
    git_dir: &Path,
    keys_tree: Option<ObjectId>,
    key_ids: &[KeyID],
    limits: &Limits,
) -> Result<Vec<KeyFileRef>, HookError> {
    let path = index_path(git_dir);
    let wanted: Vec<String> = key_ids.iter().filter_map(key_id_hex).collect();
    if let Some(found) = Index::open(&path, keys_tree).and_then(|i| i.find_all(&wanted)) {
        return Ok(found);
    }
    let records = rebuild(repo, &path, keys_tree, limits)?;
    let mut found: Vec<KeyFileRef> = records
        .iter()
        .filter(|r| wanted.contains(&r.key_id))
        .map(|r| r.file.clone())
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

fn index_path(git_dir: &Path) -> PathBuf {
    git_dir.join("gitapps").join("key-index")
}

/// An index file on disk, for the tree it was asked for.
struct Index {
    file: File,
    header_len: u64,
    count: u64,
}

impl Index {
    /// The index at `path` if it is for `keys_tree` and its size is what
    /// its header says; `None` otherwise (missing, stale or broken).
    fn open(path: &Path, keys_tree: Option<ObjectId>) -> Option<Index> {
        let file = File::open(path).ok()?;
        let (tree, count, header_len) = read_header(&file)?;
        if tree != keys_tree {
            return None;
        }
        let len = file.metadata().ok()?.len();
        (len == header_len + count * RECORD as u64).then_some(Index {
            file,
            header_len,
            count,
        })
    }

    fn record(&self, i: u64) -> Option<Record> {
        let mut buf = [0u8; RECORD];
        self.file
            .read_exact_at(&mut buf, self.header_len + i * RECORD as u64)
            .ok()?;
        Record::decode(&buf)
    }

    /// Every record for each of `key_ids`, by binary search; `None` when a
    /// record read on the way is broken (the caller rebuilds).
    fn find_all(&self, key_ids: &[String]) -> Option<Vec<KeyFileRef>> {
        let mut out = Vec::new();
        for key_id in key_ids {
            // The first record whose key id is not below `key_id`.
            let (mut lo, mut hi) = (0, self.count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.record(mid)?.key_id.as_str() < key_id.as_str() {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let mut i = lo;
            while i < self.count {
                let record = self.record(i)?;
                if &record.key_id != key_id {
                    break;
                }
                out.push(record.file);
                i += 1;
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// Every record, in order; `None` if any is broken.
    fn all(&self) -> Option<Vec<Record>> {
        (0..self.count).map(|i| self.record(i)).collect()
    }
}

/// `(keys tree, record count, header length)` of an index file.
fn read_header(file: &File) -> Option<(Option<ObjectId>, u64, u64)> {
    let mut buf = [0u8; 256];
    let n = file.read_at(&mut buf, 0).ok()?;
    let end = buf[..n].iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&buf[..end]).ok()?;
    let rest = line.strip_prefix(MAGIC)?.strip_prefix(' ')?;
    let (tree, count) = rest.split_once(' ')?;
    let tree = match tree {
        "none" => None,
        hex => Some(ObjectId::from_hex(hex.as_bytes()).ok()?),
    };
    Some((tree, count.parse().ok()?, end as u64 + 1))
}

/// Build the index for `keys_tree` and write it (atomically) to `path`.
/// Starts from the index that is there, when it is readable and for a
/// tree that still exists: only the key files that differ between the two
/// trees are parsed.
fn rebuild(
    repo: &gix::Repository,
    path: &Path,
    keys_tree: Option<ObjectId>,
    limits: &Limits,
) -> Result<Vec<Record>, HookError> {
    let new_files = key_files_of(repo, keys_tree)?;
    let previous = File::open(path).ok().and_then(|file| {
        let (tree, count, header_len) = read_header(&file)?;
        let index = Index {
            file,
            header_len,
            count,
        };
        let records = index.all()?;
        let old_files = key_files_of(repo, tree).ok()?;
        Some((old_files, records))
    });
    let (old_files, mut records) = previous.unwrap_or_default();
    let unchanged = |path: &str, blob: &ObjectId| {
        old_files
            .binary_search_by(|(p, _)| p.as_str().cmp(path))
            .is_ok_and(|i| old_files[i].1 == *blob)
    };
    let kept: std::collections::BTreeSet<&str> = new_files
        .iter()
        .filter(|(p, b)| unchanged(p, b))
        .map(|(p, _)| p.as_str())
        .collect();
    records.retain(|r| kept.contains(r.file.path().as_str()));
    let now = SystemTime::now();
    for (path, blob) in &new_files {
        if kept.contains(path.as_str()) {
            continue;
        }
        // A key file the hook would not use is not in the index: too big
        // to read, or not a key named after itself.
        let Ok(cert) = read_key_file(repo, path, *blob, limits)? else {
            continue;
        };
        records.extend(records_of(&cert, *blob, now));
    }
    records.sort();
    records.dedup();
    write(repo, path, keys_tree, &records)?;
    Ok(records)
}

/// The records of one certificate: its primary key, and every subkey that
/// is bound for signing (a subkey bound without its own consent, with no
/// back-signature, is not: sequoia does not count it as signing-capable).
fn records_of(cert: &Cert, blob: ObjectId, now: SystemTime) -> Vec<Record> {
    let file = KeyFileRef {
        fingerprint: fingerprint_of(cert),
        blob,
    };
    let mut ids = vec![KeyID::from(cert.fingerprint())];
    let policy = StandardPolicy::new();
    if let Ok(valid) = cert.with_policy(&policy, now) {
        ids.extend(
            valid
                .keys()
                .subkeys()
                .for_signing()
                .map(|ka| KeyID::from(ka.key().fingerprint())),
        );
    }
    ids.iter()
        .filter_map(key_id_hex)
        .map(|key_id| Record {
            key_id,
            file: file.clone(),
        })
        .collect()
}

fn write(
    repo: &gix::Repository,
    path: &Path,
    keys_tree: Option<ObjectId>,
    records: &[Record],
) -> Result<(), HookError> {
    let shared = Shared::of(repo);
    let dir = path.parent().unwrap_or(Path::new("."));
    shared.create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix("key-index.")
        .tempfile_in(dir)
        .io(format!("creating a temporary file in {}", dir.display()))?;
    let tree = keys_tree.map_or_else(|| "none".to_owned(), |t| t.to_string());
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    writeln!(out, "{MAGIC} {tree} {}", records.len()).io("writing the key index")?;
    for record in records {
        out.write_all(&record.encode())
            .io("writing the key index")?;
    }
    out.flush().io("writing the key index")?;
    drop(out);
    shared.apply(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .io(format!("replacing {}", path.display()))?;
    Ok(())
}

/// The `keys/` tree of the access-control commit `commit`.
pub fn keys_tree_of(
    repo: &gix::Repository,
    commit: ObjectId,
) -> Result<Option<ObjectId>, HookError> {
    let root = crate::repo::commit_tree(repo, commit)?;
    let data = repo
        .find_tree(root)
        .git("reading the access-control tree")?
        .detach()
        .data;
    Ok(crate::tree::entries(&data, repo.object_hash())
        .map_err(|e| HookError::Malformed(format!("the access-control tree {root}: {e}")))?
        .into_iter()
        .find(|e| e.name == b"keys" && e.mode.is_directory())
        .map(|e| e.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key_id: &str, fpr: char, blob: u8) -> Record {
        Record {
            key_id: key_id.to_owned(),
            file: KeyFileRef {
                fingerprint: Fingerprint::parse(&fpr.to_string().repeat(40)).expect("fpr"),
                blob: ObjectId::from_bytes_or_panic(&[blob; 20]),
            },
        }
    }

    #[test]
    fn records_round_trip_and_notice_damage() {
        let r = record("0123456789ABCDEF", 'A', 7);
        let bytes = r.encode();
        assert_eq!(bytes.len(), RECORD);
        assert_eq!(Record::decode(&bytes), Some(r));
        for at in [0, 20, 90, CHECKED + 3] {
            let mut broken = bytes.clone();
            broken[at] ^= 0x01;
            assert_eq!(Record::decode(&broken), None, "byte {at}");
        }
        assert_eq!(Record::decode(&bytes[1..]), None);
    }

    #[test]
    fn binary_search_finds_every_record_of_a_key_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key-index");
        let tree = ObjectId::from_bytes_or_panic(&[9; 20]);
        let mut records: Vec<Record> = (0..50u8)
            .map(|i| record(&format!("{:016X}", u64::from(i) * 3), 'B', i))
            .collect();
        records.push(record(&format!("{:016X}", 30), 'C', 99));
        records.sort();
        let mut text = format!("{MAGIC} {tree} {}\n", records.len()).into_bytes();
        for r in &records {
            text.extend(r.encode());
        }
        std::fs::write(&path, &text).expect("write");
        let index = Index::open(&path, Some(tree)).expect("opens");
        let found = index
            .find_all(&[format!("{:016X}", 30), format!("{:016X}", 31)])
            .expect("reads");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            index.find_all(&[format!("{:016X}", 0)]).map(|f| f.len()),
            Some(1)
        );
        assert_eq!(
            index.find_all(&[format!("{:016X}", 1)]).map(|f| f.len()),
            Some(0)
        );
        // Another tree, a torn file, a damaged record: not used.
        assert!(Index::open(&path, None).is_none());
        std::fs::write(&path, &text[..text.len() - 1]).expect("write");
        assert!(Index::open(&path, Some(tree)).is_none());
        let mut damaged = text.clone();
        let header = text.iter().position(|&b| b == b'\n').expect("header") + 1;
        damaged[header + 25 * RECORD + 20] ^= 1;
        std::fs::write(&path, &damaged).expect("write");
        let index = Index::open(&path, Some(tree)).expect("opens");
        assert_eq!(index.all(), None);
    }
}

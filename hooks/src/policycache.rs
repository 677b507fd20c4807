//! The valid policy of an access-control commit, kept between pushes.
//!
//! Reading and validating a policy of 10,000 rules (every regex compiled
//! once to check it) costs seconds; the policy changes a few times a year.
//! The hook keeps the policy it last validated in
//! `$GIT_DIR/gitapps/policy-cache`, as [`gitapps_policy::Policy::encode`]
//! writes it (rules, groups, the literal prefixes of every regex), under a
//! key made of everything the policy is read from:
//!
//! - the ids of the `refs/`, `branches/` and `groups/` trees (a tree id
//!   names every byte below it, so a cache for these trees is never stale,
//!   and `keys/` changing alone does not invalidate it);
//! - the policy file size limit (`gitapps.maxPolicyFileSize`), which
//!   decides what is read;
//! - the hook binary (its size, modification time and inode), so that a
//!   new hook, which may parse differently, never trusts an old hook's
//!   result.
//!
//! The file holds one policy: `gitapps policy cache 1 <key> <checksum>\n`,
//! then the encoded policy. A file that is missing, for another key, torn,
//! or does not decode is ignored and replaced; only a valid policy is
//! kept. It is written as the hook's other files are (a temporary file
//! renamed over it, with `core.sharedRepository`'s permissions), and not
//! being able to write it only costs the next push the parse.

use std::io::Write;
use std::path::{Path, PathBuf};

use gitapps_policy::{Diagnostics, Policy};

use crate::error::{HookError, IoContext};
use crate::fsmode::Shared;
use crate::repo::{BranchFiles, BranchTrees};

const MAGIC: &str = "gitapps policy cache 1";

/// The policy of `trees`, from the cache in `git_dir` when it holds it,
/// else read (each file at most `max_policy_file` bytes), validated, and,
/// when valid, cached. `Err(diagnostics)` for an invalid policy.
pub fn load(
    repo: &gix::Repository,
    git_dir: &Path,
    trees: &BranchTrees,
    max_policy_file: u64,
) -> Result<Result<Policy, Diagnostics>, HookError> {
    let key = cache_key(trees, max_policy_file);
    let path = cache_path(git_dir);
    if let Some(policy) = key.as_deref().and_then(|key| read(&path, key)) {
        return Ok(Ok(policy));
    }
    let policy = match BranchFiles::read_trees(repo, trees, max_policy_file)?.policy() {
        Ok(policy) => policy,
        Err(diagnostics) => return Ok(Err(diagnostics)),
    };
    if let Some(key) = key {
        // Best effort: a server that cannot write here still judges
        // every push, only slower.
        let _ = write(repo, &path, &key, &policy);
    }
    Ok(Ok(policy))
}

fn cache_path(git_dir: &Path) -> PathBuf {
    git_dir.join("gitapps").join("policy-cache")
}

/// What the cached policy was made from, as one line without spaces;
/// `None` when the running binary cannot be told apart from another (then
/// nothing is cached).
fn cache_key(trees: &BranchTrees, max_policy_file: u64) -> Option<String> {
    let exe = binary_identity()?;
    let mut text = format!("{exe}\nmax {max_policy_file}\n");
    for (name, id) in &trees.policy {
        text.push_str(&format!("{name} {id}\n"));
    }
    Some(format!(
        "{:016x}{:016x}",
        checksum(text.as_bytes(), 0),
        checksum(text.as_bytes(), 1)
    ))
}

/// The running binary, as its file is now: a rebuilt or upgraded hook
/// reads no cache an older one wrote.
fn binary_identity() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::env::current_exe().ok()?.metadata().ok()?;
    Some(format!(
        "{} {} {} {}.{}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    ))
}

/// The policy in the cache file at `path`, if it is there for `key` and
/// reads back whole.
fn read(path: &Path, key: &str) -> Option<Policy> {
    let bytes = std::fs::read(path).ok()?;
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut fields = header.strip_prefix(MAGIC)?.strip_prefix(' ')?.split(' ');
    let (found_key, sum) = (fields.next()?, fields.next()?);
    if found_key != key || fields.next().is_some() {
        return None;
    }
    let body = &bytes[end + 1..];
    if sum != format!("{:016x}", checksum(body, 0)) {
        return None;
    }
    Policy::decode(body)
}

fn write(repo: &gix::Repository, path: &Path, key: &str, policy: &Policy) -> Result<(), HookError> {
    let body = policy.encode();
    let shared = Shared::of(repo);
    let dir = path.parent().unwrap_or(Path::new("."));
    shared.create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix("policy-cache.")
        .tempfile_in(dir)
        .io(format!("creating a temporary file in {}", dir.display()))?;
    let file = tmp.as_file_mut();
    writeln!(file, "{MAGIC} {key} {:016x}", checksum(&body, 0)).io("writing the policy cache")?;
    file.write_all(&body).io("writing the policy cache")?;
    shared.apply(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .io(format!("replacing {}", path.display()))?;
    Ok(())
}

/// A 64-bit checksum of `bytes` (FNV-1a over 8-byte words, then a final
/// mix), seeded: enough to notice a torn or damaged file, at memory speed.
/// Not a defence against someone who can write `$GIT_DIR`: they can
/// replace the hook itself.
fn checksum(bytes: &[u8], seed: u64) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(PRIME);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(PRIME);
        h ^= h >> 29;
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h ^= bytes.len() as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapps_policy::PolicyFile;

    fn policy() -> Policy {
        Policy::parse([PolicyFile {
            path: "refs/x.conf",
            content: b"anyone create-branch heads/team1/.*\n",
        }])
        .expect("valid")
    }

    fn write_raw(path: &Path, key: &str, body: &[u8]) {
        let mut bytes = format!("{MAGIC} {key} {:016x}\n", checksum(body, 0)).into_bytes();
        bytes.extend_from_slice(body);
        std::fs::write(path, bytes).expect("write");
    }

    #[test]
    fn only_a_whole_file_for_the_same_key_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policy-cache");
        let body = policy().encode();
        write_raw(&path, "k1", &body);
        assert!(read(&path, "k1").is_some());
        assert!(read(&path, "k2").is_none(), "another key");
        let bytes = std::fs::read(&path).expect("read");
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).expect("write");
            assert!(read(&path, "k1").is_none(), "cut at {cut}");
        }
        let mut damaged = bytes.clone();
        let last = damaged.len() - 3;
        damaged[last] ^= 0x20;
        std::fs::write(&path, &damaged).expect("write");
        assert!(read(&path, "k1").is_none(), "damaged");
        // A checksum that fits a body that does not decode: refused too.
        write_raw(&path, "k1", b"gitapps policy 1\nnonsense");
        assert!(read(&path, "k1").is_none(), "not a policy");
        std::fs::write(&path, b"").expect("write");
        assert!(read(&path, "k1").is_none(), "empty");
    }

    #[test]
    fn the_key_names_every_policy_tree_and_the_limit() {
        let id = |n: u8| gix::ObjectId::from_bytes_or_panic(&[n; 20]);
        let trees = |refs: u8, groups: u8| BranchTrees {
            policy: vec![("refs", id(refs)), ("groups", id(groups))],
            keys_tree: Some(id(9)),
        };
        let key = |t: &BranchTrees, max: u64| cache_key(t, max).expect("key");
        let base = key(&trees(1, 2), 1000);
        assert_eq!(base, key(&trees(1, 2), 1000));
        assert_ne!(base, key(&trees(3, 2), 1000));
        assert_ne!(base, key(&trees(1, 3), 1000));
        assert_ne!(base, key(&trees(1, 2), 1001));
        let mut keys_changed = trees(1, 2);
        keys_changed.keys_tree = Some(id(8));
        assert_eq!(base, key(&keys_changed, 1000), "keys/ is not the policy");
        assert!(!base.contains(' ') && !base.contains('\n'));
    }
}

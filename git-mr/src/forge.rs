//! A repository plus a remote: fetch, read, and change the data branch.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gix::refs::transaction::PreviousValue;
use gix::ObjectId;

use crate::error::GitResultExt;
use crate::git::Git;
use crate::layout::{self, ACCESS_CONTROL_REF, DATA_REF, REVISION_TAG_PREFIX};
use crate::model::Fingerprint;
use crate::people::People;
use crate::store::{self, Depth, Snapshot};
use crate::tx::{self, Tx};
use crate::{clock, Error, Result};

/// How often a change is re-applied when the data branch moved meanwhile.
/// Generous: many users may comment on one busy data branch at once.
pub const MAX_ATTEMPTS: u32 = 30;

/// Whether a rejection only says "this certificate was accepted already: push
/// again". The hook refuses a certificate it accepted before; an identical push
/// repeated within the same second (same commands, nonce and signature time)
/// makes the same certificate, and waiting a second makes a fresh one.
pub fn is_nonce_replay(stderr: &str) -> bool {
    stderr.contains("fresh nonce") || stderr.contains("a replay")
}

/// What a fetch found on the remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub data: bool,
    pub access_control: bool,
}

/// The result of [`Forge::transact`].
#[derive(Clone, Debug)]
pub struct Committed<T> {
    pub value: T,
    /// The new data commit, `None` when there was nothing to change.
    pub commit: Option<ObjectId>,
    /// How many pushes it took.
    pub attempts: u32,
}

/// A repository and the remote its merge requests live on.
pub struct Forge {
    repo: gix::Repository,
    remote: String,
    git: Git,
    me: OnceCell<Fingerprint>,
}

impl Forge {
    /// Open the repository containing `dir`.
    pub fn discover(dir: &Path, remote: &str) -> Result<Forge> {
        let repo = gix::discover(dir).map_err(|e| Error::NotARepository(e.to_string()))?;
        Ok(Self::from_repo(repo, remote))
    }

    pub fn from_repo(mut repo: gix::Repository, remote: &str) -> Forge {
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        let dir = repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| repo.git_dir().to_path_buf());
        Forge {
            repo,
            remote: remote.to_owned(),
            git: Git::new(dir),
            me: OnceCell::new(),
        }
    }

    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    pub fn git(&self) -> &Git {
        &self.git
    }

    pub fn remote(&self) -> &str {
        &self.remote
    }

    /// Where git-mr keeps caches: `<git-dir>/git-mr/`.
    pub fn cache_dir(&self) -> PathBuf {
        self.repo.git_dir().join("git-mr")
    }

    /// Fetch the data branch, `apps/access-control` and the revision tags, with explicit
    /// refspecs. A remote without a data branch (or access-control branch) is no error.
    /// Another git-mr fetching into the same repository at the same time may hold a
    /// ref lock: that is retried.
    ///
    /// The revision tags are fetched only when the data branch moved (the tools push
    /// them together with a data commit); [`Forge::fetch_all`] always fetches them.
    pub fn fetch(&self) -> Result<Fetched> {
        self.fetch_retrying(false)
    }

    /// [`Forge::fetch`], the revision tags always included.
    pub fn fetch_all(&self) -> Result<Fetched> {
        self.fetch_retrying(true)
    }

    fn fetch_retrying(&self, all: bool) -> Result<Fetched> {
        let mut attempt = 0;
        loop {
            match self.fetch_once(all) {
                Err(Error::Command { detail, .. })
                    if attempt < MAX_ATTEMPTS && detail.contains("lock") =>
                {
                    attempt += 1;
                    std::thread::sleep(backoff(1));
                }
                other => return other,
            }
        }
    }

    fn fetch_once(&self, all: bool) -> Result<Fetched> {
        let before = self.data_tip()?;
        let fetched = self.fetch_refs(false)?;
        if fetched.data && (all || before.is_none() || self.data_tip()? != before) {
            self.fetch_refs(true)?;
        }
        Ok(fetched)
    }

    fn fetch_refs(&self, with_tags: bool) -> Result<Fetched> {
        let data = format!("+{DATA_REF}:{}", layout::tracking_data_ref(&self.remote));
        let ac = format!(
            "+{ACCESS_CONTROL_REF}:{}",
            layout::tracking_access_control_ref(&self.remote)
        );
        let tags = format!("{REVISION_TAG_PREFIX}*:{REVISION_TAG_PREFIX}*");
        let mut wanted = [(data, true), (ac, true)];
        loop {
            let mut specs: Vec<String> = wanted
                .iter()
                .filter(|(_, w)| *w)
                .map(|(s, _)| s.clone())
                .collect();
            if with_tags {
                specs.push(tags.clone());
            }
            if specs.is_empty() {
                return Ok(Fetched {
                    data: false,
                    access_control: false,
                });
            }
            match self.git.fetch(&self.remote, &specs) {
                Ok(()) => {
                    return Ok(Fetched {
                        data: wanted[0].1,
                        access_control: wanted[1].1,
                    })
                }
                Err(Error::Command { command, detail }) => {
                    let missing =
                        |r: &str| detail.contains(&format!("couldn't find remote ref {r}"));
                    let mut changed = false;
                    for (i, r) in [DATA_REF, ACCESS_CONTROL_REF].into_iter().enumerate() {
                        if wanted[i].1 && missing(r) {
                            wanted[i].1 = false;
                            changed = true;
                        }
                    }
                    if !changed {
                        return Err(Error::Command { command, detail });
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Fetch one branch of the remote to `refs/remotes/<remote>/<branch>`.
    pub fn fetch_branch(&self, branch: &str) -> Result<Option<ObjectId>> {
        let tracking = layout::tracking_ref(&self.remote, branch);
        let spec = format!("+refs/heads/{branch}:{tracking}");
        match self.git.fetch(&self.remote, &[spec]) {
            Ok(()) => self.resolve_ref(&tracking),
            Err(Error::Command { detail, .. }) if detail.contains("couldn't find remote ref") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The id a full ref name points at (peeled), if it exists.
    pub fn resolve_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        match self.repo.try_find_reference(name).git()? {
            Some(mut r) => Ok(Some(r.peel_to_id().git()?.detach())),
            None => Ok(None),
        }
    }

    /// The data branch as last fetched.
    pub fn data_tip(&self) -> Result<Option<ObjectId>> {
        self.resolve_ref(&layout::tracking_data_ref(&self.remote))
    }

    /// `apps/access-control` as last fetched.
    pub fn access_control_tip(&self) -> Result<Option<ObjectId>> {
        self.resolve_ref(&layout::tracking_access_control_ref(&self.remote))
    }

    /// The merge requests on the data branch as last fetched; cached per commit.
    pub fn snapshot(&self, depth: Depth) -> Result<Snapshot> {
        let tip = self.data_tip()?;
        self.snapshot_at(tip, depth)
    }

    /// The merge requests on a given data commit; cached per commit.
    pub fn snapshot_at(&self, tip: Option<ObjectId>, depth: Depth) -> Result<Snapshot> {
        let mut snapshot = match tip {
            None => Snapshot::default(),
            Some(tip) => match self.load_cache(tip, depth) {
                Some(s) => s,
                None => {
                    let s = store::read_tree(&self.repo, Some(tip), depth)?;
                    self.store_cache(&s, depth);
                    if depth == Depth::Full {
                        self.store_cache(&store::summarize(&s), Depth::Summary);
                    }
                    s
                }
            },
        };
        store::attach_revisions(&self.repo, &mut snapshot)?;
        Ok(snapshot)
    }

    fn cache_path(&self, depth: Depth) -> PathBuf {
        let kind = match depth {
            Depth::Summary => "summary",
            Depth::Full => "full",
        };
        self.cache_dir().join(format!(
            "{}.{kind}.{}-r{}.json",
            layout::remote_slug(&self.remote),
            env!("CARGO_PKG_VERSION"),
            store::READER_VERSION
        ))
    }

    fn load_cache(&self, tip: ObjectId, depth: Depth) -> Option<Snapshot> {
        let depths: &[Depth] = match depth {
            Depth::Summary => &[Depth::Summary],
            Depth::Full => &[Depth::Full],
        };
        for d in depths {
            let Ok(data) = std::fs::read(self.cache_path(*d)) else {
                continue;
            };
            // The commit id comes first: check it before parsing everything.
            let want = format!("{{\"commit\":\"{tip}\"");
            if !data.starts_with(want.as_bytes()) {
                continue;
            }
            if let Ok(s) = serde_json::from_slice::<Snapshot>(&data) {
                return Some(s);
            }
        }
        None
    }

    /// Best effort: a cache that cannot be written is no error.
    fn store_cache(&self, snapshot: &Snapshot, depth: Depth) {
        let path = self.cache_path(depth);
        let Ok(data) = serde_json::to_vec(snapshot) else {
            return;
        };
        if std::fs::create_dir_all(self.cache_dir()).is_err() {
            return;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, data).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }

    /// Users and groups from `apps/access-control` as last fetched.
    pub fn people(&self) -> Result<People> {
        People::read(&self.repo, self.access_control_tip()?)
    }

    /// The user's id: the fingerprint of `user.signingkey`'s primary key.
    pub fn me(&self) -> Result<Fingerprint> {
        if let Some(me) = self.me.get() {
            return Ok(me.clone());
        }
        let config = self.repo.config_snapshot();
        let key = config
            .string("user.signingKey")
            .map(|s| s.to_string())
            .filter(|s| !s.trim().is_empty())
            .ok_or(Error::NoSigningKey)?;
        let gpg = config
            .string("gpg.openpgp.program")
            .or_else(|| config.string("gpg.program"))
            .map(|s| s.to_string())
            .unwrap_or_else(|| "gpg".to_owned());
        let fpr = match Fingerprint::parse(key.trim()) {
            Ok(f) => crate::git::gpg_fingerprint(&gpg, f.as_str())?,
            _ => crate::git::gpg_fingerprint(&gpg, key.trim())?,
        };
        let _ = self.me.set(fpr.clone());
        Ok(fpr)
    }

    /// A signature for commits the tools write, at the injected clock's time.
    pub fn signature(&self) -> Result<gix::actor::Signature> {
        let me = self.me().map(|f| f.to_string()).unwrap_or_default();
        Ok(tx::signature(&self.repo, &me, clock::now()?))
    }

    /// Point a local ref at `id` (remote-tracking refs and tags only: never HEAD).
    pub fn set_local_ref(&self, name: &str, id: ObjectId) -> Result<()> {
        self.repo
            .reference(name, id, PreviousValue::Any, "git-mr")
            .git()?;
        Ok(())
    }

    /// The local name for a ref pushed to the remote: tags as they are, branches
    /// under `refs/remotes/<remote>/`.
    pub fn local_name(&self, remote_ref: &str) -> String {
        match remote_ref.strip_prefix("refs/heads/") {
            Some(branch) => layout::tracking_ref(&self.remote, branch),
            None => remote_ref.to_owned(),
        }
    }

    /// [`Forge::push`], again after a second when the server saw the nonce already.
    pub fn push_retrying(&self, updates: &[(String, ObjectId)]) -> Result<()> {
        for _ in 0..MAX_ATTEMPTS {
            match self.push(updates)? {
                Ok(()) => return Ok(()),
                Err(stderr) if is_nonce_replay(&stderr) => std::thread::sleep(nonce_backoff()),
                Err(stderr) => return Err(Error::PushRejected { stderr }),
            }
        }
        Err(Error::TooManyRetries {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Push refspecs signed (atomic when more than one) and record them locally.
    pub fn push(&self, updates: &[(String, ObjectId)]) -> Result<std::result::Result<(), String>> {
        let specs: Vec<String> = updates
            .iter()
            .map(|(name, id)| format!("{id}:{name}"))
            .collect();
        match self.git.push_signed(&self.remote, &specs)? {
            Ok(()) => {
                // Best effort: the push is done; the next fetch sets these anyway.
                for (name, id) in updates {
                    let _ = self.set_local_ref(&self.local_name(name), *id);
                }
                Ok(Ok(()))
            }
            Err(f) => Ok(Err(f.stderr)),
        }
    }

    /// Change the data branch: `change` sees the newest snapshot and describes the
    /// change in a [`Tx`]; it is committed on top of the tip and pushed signed (with
    /// the Tx's other refs, atomically). When the data branch moved meanwhile, fetch,
    /// run `change` again on the new tip and retry (bounded, with jitter).
    pub fn transact<T>(
        &self,
        change: impl FnMut(&Forge, &Snapshot, &mut Tx) -> Result<T>,
    ) -> Result<Committed<T>> {
        self.transact_at(Depth::Summary, change)
    }

    /// [`Forge::transact`] with snapshots read to `depth` (Full: every comment).
    pub fn transact_at<T>(
        &self,
        depth: Depth,
        mut change: impl FnMut(&Forge, &Snapshot, &mut Tx) -> Result<T>,
    ) -> Result<Committed<T>> {
        for attempt in 1..=MAX_ATTEMPTS {
            let fetched = self.fetch()?;
            if !fetched.data {
                return Err(Error::NoDataBranch {
                    remote: self.remote.clone(),
                });
            }
            let tip = self.data_tip()?.ok_or_else(|| Error::NoDataBranch {
                remote: self.remote.clone(),
            })?;
            let snapshot = self.snapshot_at(Some(tip), depth)?;
            let mut tx = Tx::default();
            let value = change(self, &snapshot, &mut tx)?;
            let base_tree = snapshot
                .tree
                .as_deref()
                .and_then(|t| ObjectId::from_hex(t.as_bytes()).ok());
            let tree = tx::write_tree(&self.repo, base_tree, &tx.edits)?;
            let mut updates = Vec::new();
            let mut commit = None;
            if Some(tree) != base_tree {
                let message = if tx.message.is_empty() {
                    "git mr".to_owned()
                } else {
                    tx.message.clone()
                };
                let id = tx::write_commit(&self.repo, tree, &[tip], &message, self.signature()?)?;
                updates.push((DATA_REF.to_owned(), id));
                commit = Some(id);
            }
            updates.extend(tx.refs.iter().map(|r| (r.name.clone(), r.id)));
            if updates.is_empty() {
                return Ok(Committed {
                    value,
                    commit: None,
                    attempts: attempt,
                });
            }
            match self.push(&updates)? {
                Ok(()) => {
                    return Ok(Committed {
                        value,
                        commit,
                        attempts: attempt,
                    })
                }
                Err(stderr) => {
                    // Lost a race, or denied? Only a moved data branch (or a nonce
                    // another push used in the same second) is worth a retry.
                    if is_nonce_replay(&stderr) {
                        std::thread::sleep(nonce_backoff());
                        continue;
                    }
                    self.fetch()?;
                    if self.data_tip()? == Some(tip) {
                        return Err(Error::PushRejected { stderr });
                    }
                    std::thread::sleep(backoff(attempt));
                }
            }
        }
        Err(Error::TooManyRetries {
            attempts: MAX_ATTEMPTS,
        })
    }
}

fn jitter_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (std::process::id() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Past the current second, plus up to 1.5 s of jitter.
fn nonce_backoff() -> Duration {
    Duration::from_millis(1000 + jitter_seed() % 1500)
}

/// Exponential backoff with jitter: up to 50 ms × 2^attempt, capped at 2 s.
fn backoff(attempt: u32) -> Duration {
    let cap = (50u64 << attempt.min(5)).min(2000);
    Duration::from_millis(cap / 2 + jitter_seed() % (cap / 2 + 1))
}

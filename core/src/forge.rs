//! A repository plus a remote, for one app: fetch, identity, the data
//! branch's signed transactions with retry, and the commit-keyed cache.
//!
//! The app supplies an [`App`] (its data branch, tag namespace, cache name,
//! groups) and, for each transaction, its tree reader (a closure from a data
//! commit to its snapshot, the [`DataSnapshot`]). The core does the rest.

use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gix::refs::transaction::PreviousValue;
use gix::ObjectId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::GitResultExt;
use crate::git::Git;
use crate::identity::People;
use crate::push::{Backoff, PushOutcome};
use crate::refs::{self, ACCESS_CONTROL_REF};
use crate::tx::{self, Tx};
use crate::{clock, Error, Fingerprint, Result};

/// What an app tells the core about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct App {
    /// `merge-reqs`, `issues`: the data branch is `refs/heads/apps/<name>/data`.
    pub name: &'static str,
    /// What its data is called in messages (`merge-requests`, `issues`).
    pub what: &'static str,
    /// The command, for commit messages and hints (`git mr`, `git issue`).
    pub command: &'static str,
    /// Tags fetched (forced, pruned) with the data branch, when the app keeps
    /// some (`refs/tags/apps/merge-reqs/`: revisions).
    pub tag_prefix: Option<&'static str>,
    /// The directory of its caches and drafts under the git directory (`git-mr`).
    pub cache_name: &'static str,
    /// The policy groups it asks [`Forge::people`] for (`maintainers`, `ci`).
    pub groups: &'static [&'static str],
    /// Its version, part of every cache key (a new build reads afresh).
    pub version: &'static str,
}

impl App {
    /// `apps/<name>/data`
    pub fn data_branch(&self) -> String {
        refs::data_branch(self.name)
    }

    /// `refs/heads/apps/<name>/data`
    pub fn data_ref(&self) -> String {
        format!("refs/heads/{}", self.data_branch())
    }

    /// [`Error::NoDataBranch`] for this app and `remote`.
    pub fn no_data_branch(&self, remote: &str) -> Error {
        Error::NoDataBranch {
            remote: remote.to_owned(),
            what: self.what,
            data_ref: self.data_ref(),
        }
    }
}

/// What a transaction needs of an app's snapshot: the data tree it was read
/// from, which the change is applied to.
pub trait DataSnapshot {
    /// The tree of the data commit the snapshot was read from (`None`: no data
    /// branch yet).
    fn tree(&self) -> Option<ObjectId>;

    /// Whether it holds some items alone (a verb on one item, a new item:
    /// [`crate::items::Selection`]): such a snapshot is never cached
    /// ([`Forge::cache_snapshot`]), for it is not what the commit holds.
    fn is_partial(&self) -> bool {
        false
    }
}

/// How long a change is tried again when the data branch keeps moving under it
/// (`GITAPPS_RETRY_SECS` to choose): bounded by time, not by a count of
/// attempts, which says nothing under load.
pub const RETRY_BUDGET: Duration = Duration::from_secs(300);

/// The first wait after a lost race; it doubles (with full jitter) up to [`MAX_WAIT`].
/// The cap is high on purpose: with many writers, every lost attempt costs a fetch
/// and a push on machines the server shares, and 100 writers waiting at most 4 s
/// made 31 attempts each (BENCHMARKS.md); waits that keep doubling spread them out.
const FIRST_WAIT: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(20);

fn retry_budget() -> Duration {
    std::env::var("GITAPPS_RETRY_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(RETRY_BUDGET)
}

/// A new backoff for one change (see [`Backoff`]).
pub fn backoff() -> Backoff {
    Backoff::new(retry_budget(), FIRST_WAIT, MAX_WAIT)
}

/// Loose tag files past which a fetch packs the app's tags.
const LOOSE_TAGS_TO_PACK: usize = 256;

/// The files under `dir`, counted up to `limit`.
fn count_files(dir: &Path, limit: usize) -> usize {
    let mut count = 0;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(e.path()),
                Ok(_) => count += 1,
                Err(_) => {}
            }
            if count >= limit {
                return count;
            }
        }
    }
    count
}

/// How long a fetch counts as "just now" for a change (a command's own fetch;
/// a long-running process such as ci-bot fetches again after a job).
const FRESH_FOR: Duration = Duration::from_secs(10);

/// What a fetch found on the remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub data: bool,
    pub access_control: bool,
    /// The extra branches asked for that the remote has.
    pub branches: Vec<String>,
}

/// Which of the app's tags a fetch brings (forced and pruned, within them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tags<'a> {
    /// Every one: for reads of every item.
    All,
    /// Those whose name, after the app's tag prefix, starts with this
    /// (`<FPR>/<n>-v`: one merge request's revisions). The remote then lists
    /// only those (git's protocol v2 sends the refspec's prefix): the fetch
    /// costs the same among 50 or 50,000 items' tags.
    Of(&'a str),
    /// None: for a change that reads no tag.
    None,
}

impl Tags<'_> {
    /// The refspec that fetches these tags of `prefix`.
    fn refspec(self, prefix: &str) -> Option<String> {
        match self {
            Tags::All => Some(format!("+{prefix}*:{prefix}*")),
            Tags::Of(scope) => Some(format!("+{prefix}{scope}*:{prefix}{scope}*")),
            Tags::None => None,
        }
    }

    /// Whether a fetch of `self` brought (at least) what `want` asks for.
    fn covers(self, want: Tags<'_>) -> bool {
        match (self, want) {
            (_, Tags::None) | (Tags::All, _) => true,
            (Tags::Of(had), Tags::Of(want)) => want.starts_with(had),
            (Tags::Of(_) | Tags::None, Tags::All) | (Tags::None, Tags::Of(_)) => false,
        }
    }
}

/// What a fetch of this process brought, and when.
struct Fresh {
    when: Instant,
    branches: Vec<String>,
    /// The app's tags it brought (all, for an app without tags: nothing to miss).
    tags: Brought,
}

/// [`Tags`], owned.
enum Brought {
    All,
    Of(String),
    None,
}

impl Fresh {
    fn tags(&self) -> Tags<'_> {
        match &self.tags {
            Brought::All => Tags::All,
            Brought::Of(scope) => Tags::Of(scope),
            Brought::None => Tags::None,
        }
    }
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

/// A repository and the remote an app's data lives on.
pub struct Forge {
    repo: gix::Repository,
    remote: String,
    app: App,
    git: Git,
    me: OnceCell<Fingerprint>,
    /// When this process last fetched, what: a change made right after it
    /// (within [`FRESH_FOR`]) needs no fetch of its own.
    fresh: RefCell<Option<Fresh>>,
    /// [`Forge::people`] as read last, and from which commit.
    people: RefCell<Option<(Option<ObjectId>, People)>>,
    /// The hook's warnings from this process's pushes, not yet taken
    /// ([`Forge::take_server_warnings`]).
    warnings: RefCell<Vec<String>>,
}

impl Forge {
    /// Open the repository containing `dir`.
    pub fn discover(dir: &Path, remote: &str, app: App) -> Result<Forge> {
        let repo = gix::discover(dir).map_err(|e| Error::NotARepository(e.to_string()))?;
        Ok(Self::from_repo(repo, remote, app))
    }

    pub fn from_repo(mut repo: gix::Repository, remote: &str, app: App) -> Forge {
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        // Delta bases: data branches are many small, similar files, stored as long
        // delta chains (by fast-import, or a repack); without a cache every read
        // of one resolves its chain from the start (most of `git mr show`'s time).
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                64 * 1024 * 1024,
            ))
        });
        let dir = repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| repo.git_dir().to_path_buf());
        Forge {
            repo,
            remote: remote.to_owned(),
            app,
            git: Git::new(dir),
            me: OnceCell::new(),
            fresh: RefCell::new(None),
            people: RefCell::new(None),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// The warnings the server's hook gave this process's pushes since the
    /// last call (`gitapps: warning: …`), for the tool to show: they come
    /// with pushes that succeeded, whose output is not shown otherwise.
    pub fn take_server_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.borrow_mut())
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

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Where the app keeps caches: `<git-dir>/<cache_name>/`.
    pub fn cache_dir(&self) -> PathBuf {
        self.repo.git_dir().join(self.app.cache_name)
    }

    /// `refs/remotes/<remote>/apps/<app>/data`
    pub fn tracking_data_ref(&self) -> String {
        refs::tracking_ref(&self.remote, &self.app.data_branch())
    }

    /// Fetch the data branch, `apps/access-control` and the app's tags, in one
    /// `git fetch` with explicit refspecs (forced, pruned): a read then sees the tags
    /// of the data it reads, whoever moved the remote-tracking branch before (a plain
    /// `git fetch` does). A remote without a data branch or access-control branch is
    /// no error ([`Fetched`] says).
    pub fn fetch(&self) -> Result<Fetched> {
        self.fetch_with(&[])
    }

    /// [`Forge::fetch`], with these branches of the remote (to
    /// `refs/remotes/<remote>/<branch>`) in the same fetch. A branch the remote
    /// lacks is no error, and its remote-tracking ref goes.
    pub fn fetch_with(&self, branches: &[String]) -> Result<Fetched> {
        self.fetch_scoped(branches, Tags::All)
    }

    /// [`Forge::fetch_with`], bringing these of the app's tags ([`Tags`]).
    pub fn fetch_scoped(&self, branches: &[String], tags: Tags<'_>) -> Result<Fetched> {
        let tracking_data = self.tracking_data_ref();
        let tracking_ac = refs::tracking_access_control_ref(&self.remote);
        let mut wanted: Vec<(String, String)> = vec![
            (self.app.data_ref(), tracking_data),
            (ACCESS_CONTROL_REF.to_owned(), tracking_ac),
        ];
        for b in branches {
            wanted.push((
                format!("refs/heads/{b}"),
                refs::tracking_ref(&self.remote, b),
            ));
        }
        let tag_spec = self.app.tag_prefix.and_then(|p| tags.refspec(p));
        let mut present: Vec<bool> = vec![true; wanted.len()];
        // A failed fetch whose refs are all there: another fetch into this
        // repository holds a ref lock, say. Worth a few seconds of waiting.
        let mut waits = Backoff::new(Duration::from_secs(10), FIRST_WAIT, MAX_WAIT / 4);
        loop {
            let mut specs: Vec<String> = wanted
                .iter()
                .zip(&present)
                .filter(|(_, here)| **here)
                .map(|((from, to), _)| format!("+{from}:{to}"))
                .collect();
            specs.extend(tag_spec.clone());
            let done = self.git.fetch(&self.remote, &specs)?;
            if done.success {
                break;
            }
            // Which refs does the remote lack? Asked only now: in the usual case
            // the one fetch is all.
            let names: Vec<String> = wanted.iter().map(|(from, _)| from.clone()).collect();
            let there = self
                .git
                .remote_refs(&self.remote, &names)
                .map_err(|e| match e {
                    Error::Transport { remote, .. } => Error::Transport {
                        remote,
                        detail: done.stderr.clone(),
                    },
                    e => e,
                })?;
            let now: Vec<bool> = names.iter().map(|n| there.contains(n)).collect();
            if now != present {
                present = now;
                continue;
            }
            match waits.next_wait() {
                Some(wait) => std::thread::sleep(wait),
                None => {
                    return Err(Error::Command {
                        command: format!("git fetch {}", self.remote),
                        detail: done.stderr,
                    })
                }
            }
        }
        // Refs the remote lacks must not be read as if it had them.
        for ((_, to), here) in wanted.iter().zip(&present) {
            if !here {
                if let Ok(Some(r)) = self.repo.try_find_reference(to.as_str()) {
                    let _ = r.delete();
                }
            }
        }
        let fetched = Fetched {
            data: present[0],
            access_control: present[1],
            branches: branches
                .iter()
                .zip(&present[2..])
                .filter(|(_, here)| **here)
                .map(|(b, _)| b.clone())
                .collect(),
        };
        self.pack_loose_tags();
        *self.fresh.borrow_mut() = Some(Fresh {
            when: Instant::now(),
            branches: branches.to_vec(),
            tags: match (self.app.tag_prefix, tags) {
                (None, _) | (_, Tags::All) => Brought::All,
                (Some(_), Tags::Of(scope)) => Brought::Of(scope.to_owned()),
                (Some(_), Tags::None) => Brought::None,
            },
        });
        Ok(fetched)
    }

    /// Pack the app's tags into `packed-refs` (`git pack-refs`, as `git gc`
    /// does) once fetches have left [`LOOSE_TAGS_TO_PACK`] of them as files:
    /// git reads every loose ref file on each fetch and push (50,000 revision
    /// tags cost a second each), a packed file is one read. Best effort.
    fn pack_loose_tags(&self) {
        let Some(prefix) = self.app.tag_prefix else {
            return;
        };
        let dir = self.repo.common_dir().join(prefix);
        if count_files(&dir, LOOSE_TAGS_TO_PACK) >= LOOSE_TAGS_TO_PACK {
            let _ = self.git.output(["pack-refs"]);
        }
    }

    /// Whether this process fetched just now, with (at least) these branches.
    pub fn fetched_with(&self, branches: &[String]) -> bool {
        self.fetched_scoped(branches, Tags::All)
    }

    /// [`Forge::fetched_with`], with (at least) the tags `tags`.
    pub fn fetched_scoped(&self, branches: &[String], tags: Tags<'_>) -> bool {
        self.fresh.borrow().as_ref().is_some_and(|f| {
            f.when.elapsed() < FRESH_FOR
                && branches.iter().all(|b| f.branches.contains(b))
                && f.tags().covers(tags)
        })
    }

    /// A branch of the remote as last fetched (see [`Forge::fetch_with`]).
    pub fn branch_tip(&self, branch: &str) -> Result<Option<ObjectId>> {
        self.resolve_ref(&refs::tracking_ref(&self.remote, branch))
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
        self.resolve_ref(&self.tracking_data_ref())
    }

    /// `apps/access-control` as last fetched.
    pub fn access_control_tip(&self) -> Result<Option<ObjectId>> {
        self.resolve_ref(&refs::tracking_access_control_ref(&self.remote))
    }

    fn cache_path(&self, kind: &str, reader_version: u32) -> PathBuf {
        self.cache_dir().join(format!(
            "{}.{kind}.{}-r{reader_version}.json",
            refs::remote_slug(&self.remote),
            self.app.version,
        ))
    }

    /// What the app's reader made of the data commit `tip`, as cached by
    /// [`Forge::cache_store`] under the same `kind` and `reader_version`
    /// (bump it whenever the reader reads the same tree differently). A cache
    /// of another commit, or one that does not parse, is a miss.
    pub fn cache_load<T: DeserializeOwned>(
        &self,
        kind: &str,
        reader_version: u32,
        tip: ObjectId,
    ) -> Option<T> {
        let data = std::fs::read(self.cache_path(kind, reader_version)).ok()?;
        // The commit id comes first: check it before parsing everything.
        let want = format!("{{\"commit\":\"{tip}\"");
        if !data.starts_with(want.as_bytes()) {
            return None;
        }
        let cached: Cached<T> = serde_json::from_slice(&data).ok()?;
        (ObjectId::from_hex(cached.commit.as_bytes()).ok() == Some(tip)).then_some(cached.data)
    }

    /// The cache of `kind` whatever data commit it was made of, with that
    /// commit: what an incremental reader brings up to date by tree diff.
    pub fn cache_load_latest<T: DeserializeOwned>(
        &self,
        kind: &str,
        reader_version: u32,
    ) -> Option<(ObjectId, T)> {
        let data = std::fs::read(self.cache_path(kind, reader_version)).ok()?;
        let cached: Cached<T> = serde_json::from_slice(&data).ok()?;
        let commit = ObjectId::from_hex(cached.commit.as_bytes()).ok()?;
        Some((commit, cached.data))
    }

    /// Keep what the reader made of `tip` (best effort: a cache that cannot be
    /// written is no error; written whole or not at all).
    pub fn cache_store<T: Serialize>(
        &self,
        kind: &str,
        reader_version: u32,
        tip: ObjectId,
        data: &T,
    ) {
        let path = self.cache_path(kind, reader_version);
        let Ok(bytes) = serde_json::to_vec(&Cached {
            commit: tip.to_string(),
            data,
        }) else {
            return;
        };
        if std::fs::create_dir_all(self.cache_dir()).is_err() {
            return;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }

    /// [`Forge::cache_store`] of a snapshot, unless it is partial
    /// ([`DataSnapshot::is_partial`]): a later read of the same commit would
    /// take it for every item.
    pub fn cache_snapshot<S: DataSnapshot + Serialize>(
        &self,
        kind: &str,
        reader_version: u32,
        tip: ObjectId,
        snapshot: &S,
    ) {
        if !snapshot.is_partial() {
            self.cache_store(kind, reader_version, tip, snapshot);
        }
    }

    /// Users and the app's groups from `apps/access-control` as last fetched
    /// (read once per commit of it: every snapshot may ask).
    pub fn people(&self) -> Result<People> {
        let tip = self.access_control_tip()?;
        if let Some((read, people)) = self.people.borrow().as_ref() {
            if *read == tip {
                return Ok(people.clone());
            }
        }
        let people = People::read(&self.repo, tip, self.app.groups)?;
        *self.people.borrow_mut() = Some((tip, people.clone()));
        Ok(people)
    }

    /// `user.signingKey` and the gpg program git signs with.
    fn signing_config(&self) -> Result<(String, String)> {
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
        Ok((key.trim().to_owned(), gpg))
    }

    /// The user's id: the fingerprint of `user.signingkey`'s primary key.
    pub fn me(&self) -> Result<Fingerprint> {
        if let Some(me) = self.me.get() {
            return Ok(me.clone());
        }
        let (key, gpg) = self.signing_config()?;
        let fpr = match Fingerprint::parse(key.trim()) {
            Ok(f) => crate::git::gpg_fingerprint(&gpg, f.as_str())?,
            _ => crate::git::gpg_fingerprint(&gpg, key.trim())?,
        };
        let _ = self.me.set(fpr.clone());
        Ok(fpr)
    }

    /// A signature for commits the tools write (data commits, merge commits), at
    /// the injected clock's time: git's `user.name` and `user.email`, else the
    /// name and e-mail of the user's key on apps/access-control (else the user id).
    pub fn signature(&self) -> Result<gix::actor::Signature> {
        let me = self.me().map(|f| f.to_string()).unwrap_or_default();
        let config = self.repo.config_snapshot();
        let configured = ["user.name", "user.email"].iter().all(|k| {
            config
                .string(*k)
                .is_some_and(|v| !v.to_string().trim().is_empty())
        });
        // The keys are read only when git's identity is incomplete.
        let person = Fingerprint::parse(&me)
            .ok()
            .filter(|_| !configured)
            .and_then(|f| self.people().ok()?.people.remove(&f))
            .unwrap_or_default();
        let name = person.name.unwrap_or(me);
        let email = person.email.unwrap_or_default();
        Ok(tx::signature(&self.repo, (&name, &email), clock::now()?))
    }

    /// Point a local ref at `id` (remote-tracking refs and tags only: never HEAD).
    pub fn set_local_ref(&self, name: &str, id: ObjectId) -> Result<()> {
        self.repo
            .reference(name, id, PreviousValue::Any, self.app.cache_name)
            .git()?;
        Ok(())
    }

    /// The local name for a ref pushed to the remote: tags as they are, branches
    /// under `refs/remotes/<remote>/`.
    pub fn local_name(&self, remote_ref: &str) -> String {
        match remote_ref.strip_prefix("refs/heads/") {
            Some(branch) => refs::tracking_ref(&self.remote, branch),
            None => remote_ref.to_owned(),
        }
    }

    /// [`Forge::push`], again with a fresh certificate when the hook refused it as
    /// a replay or for its nonce (bounded by time); any other refusal is an error.
    pub fn push_retrying(&self, updates: &[(String, ObjectId)]) -> Result<()> {
        let mut waits = backoff();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.push(updates)? {
                PushOutcome::Accepted => return Ok(()),
                PushOutcome::Replay { .. } => match waits.next_second() {
                    Some(wait) => std::thread::sleep(wait),
                    None => return Err(self.gave_up(attempts)),
                },
                PushOutcome::LostRace { stderr } => {
                    return Err(Error::PushRejected { code: None, stderr })
                }
                PushOutcome::Denied { code, stderr } => {
                    return Err(Error::PushRejected { code, stderr })
                }
            }
        }
    }

    fn gave_up(&self, attempts: u32) -> Error {
        Error::TooManyRetries {
            attempts,
            seconds: retry_budget().as_secs(),
        }
    }

    /// Push refspecs signed (atomic when more than one), `LC_ALL=C` and
    /// `--porcelain`, and say what became of it ([`PushOutcome`]). When the push
    /// got no answer, the error says whether gpg could not sign or the remote could
    /// not be reached. Accepted refs are recorded locally.
    pub fn push(&self, updates: &[(String, ObjectId)]) -> Result<PushOutcome> {
        let specs: Vec<String> = updates
            .iter()
            .map(|(name, id)| format!("{id}:{name}"))
            .collect();
        let done = self.git.push_signed(&self.remote, &specs)?;
        self.warnings
            .borrow_mut()
            .extend(crate::push::server_warnings(&done.stderr));
        match crate::push::classify(done.success, &done.stdout, &done.stderr) {
            Some(PushOutcome::Accepted) => {
                // Best effort: the push is done; the next fetch sets these anyway.
                for (name, id) in updates {
                    let _ = self.set_local_ref(&self.local_name(name), *id);
                }
                Ok(PushOutcome::Accepted)
            }
            Some(other) => Ok(other),
            None => {
                // No ref status: the push ended before the server answered. The
                // certificate is signed after the remote's first answer, so try
                // the signature alone to tell gpg's failure from the transport's.
                self.check_signing()?;
                Err(Error::Transport {
                    remote: self.remote.clone(),
                    detail: done.stderr,
                })
            }
        }
    }

    /// The user's public key as gpg exports it (armored, minimal: self-signatures
    /// only), for `keys/<FPR>.asc`.
    pub fn export_my_key(&self) -> Result<Vec<u8>> {
        let me = self.me()?;
        let (_, gpg) = self.signing_config()?;
        crate::git::gpg_export(&gpg, me.as_str())
    }

    /// Whether gpg signs with the user's key, as git would for a push.
    pub fn check_signing(&self) -> Result<()> {
        let (key, gpg) = self.signing_config()?;
        crate::git::gpg_can_sign(&gpg, &key)
    }

    /// Change the data branch: `read` makes the app's snapshot of the newest
    /// data commit, `change` sees it and describes the change in a [`Tx`]; it is
    /// committed on top of the tip (on the snapshot's tree) and pushed signed
    /// (with the Tx's other refs, atomically). When the data branch moved
    /// meanwhile, fetch, read and run `change` again on the new tip and retry,
    /// with exponential backoff and jitter, for up to [`RETRY_BUDGET`]. Each
    /// fetch also brings `branches` of the remote (a merge's target); the first
    /// attempt fetches only when this process has not fetched them just now.
    pub fn transact<S, T, E>(
        &self,
        branches: &[String],
        read: impl FnMut(ObjectId) -> Result<S, E>,
        change: impl FnMut(&S, &mut Tx) -> Result<T, E>,
    ) -> Result<Committed<T>, E>
    where
        S: DataSnapshot,
        E: From<Error>,
    {
        self.transact_scoped(branches, Tags::All, read, change)
    }

    /// [`Forge::transact`], each fetch bringing these of the app's tags
    /// ([`Tags`]): a change to one item reads that item's tags alone.
    pub fn transact_scoped<S, T, E>(
        &self,
        branches: &[String],
        tags: Tags<'_>,
        mut read: impl FnMut(ObjectId) -> Result<S, E>,
        mut change: impl FnMut(&S, &mut Tx) -> Result<T, E>,
    ) -> Result<Committed<T>, E>
    where
        S: DataSnapshot,
        E: From<Error>,
    {
        let mut waits = backoff();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 || !self.fetched_scoped(branches, tags) {
                let fetched = self.fetch_scoped(branches, tags)?;
                if !fetched.data {
                    return Err(self.app.no_data_branch(&self.remote).into());
                }
            }
            let tip = self
                .data_tip()?
                .ok_or_else(|| self.app.no_data_branch(&self.remote))?;
            let snapshot = read(tip)?;
            let mut tx = Tx::default();
            let value = change(&snapshot, &mut tx)?;
            let base_tree = snapshot.tree();
            let tree = tx::write_tree(&self.repo, base_tree, &tx.edits)?;
            let mut updates = Vec::new();
            let mut commit = None;
            if Some(tree) != base_tree {
                let message = if tx.message.is_empty() {
                    self.app.command.to_owned()
                } else {
                    tx.message.clone()
                };
                let id = tx::write_commit(&self.repo, tree, &[tip], &message, self.signature()?)?;
                updates.push((self.app.data_ref(), id));
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
            let outcome = self.push(&updates)?;
            if self.accepted_or_wait(outcome, &mut waits, attempt)? {
                return Ok(Committed {
                    value,
                    commit,
                    attempts: attempt,
                });
            }
        }
    }

    /// After a push: `true` when it was accepted; `false` after waiting for the
    /// next attempt (a lost race, a replay); an error when it was refused or
    /// the time to retry is up.
    pub fn accepted_or_wait(
        &self,
        outcome: PushOutcome,
        waits: &mut Backoff,
        attempt: u32,
    ) -> Result<bool> {
        let wait = match outcome {
            PushOutcome::Accepted => return Ok(true),
            PushOutcome::LostRace { .. } => waits.next_wait(),
            // The same bytes again in the same second: wait for a fresh nonce.
            PushOutcome::Replay { .. } => waits.next_second(),
            PushOutcome::Denied { code, stderr } => {
                return Err(Error::PushRejected { code, stderr })
            }
        };
        match wait {
            Some(wait) => {
                std::thread::sleep(wait);
                Ok(false)
            }
            None => Err(self.gave_up(attempt)),
        }
    }
}

/// A cache file: the data commit first (checked before the rest is parsed).
#[derive(Serialize, Deserialize)]
struct Cached<T> {
    commit: String,
    data: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: App = App {
        name: "things",
        what: "things",
        command: "git thing",
        tag_prefix: None,
        cache_name: "git-thing",
        groups: &["maintainers"],
        version: "1",
    };

    #[test]
    fn a_fetch_covers_the_tags_it_brought() {
        let one = Tags::Of("AB/1-v");
        assert!(Tags::All.covers(one) && Tags::All.covers(Tags::None));
        assert!(one.covers(one) && one.covers(Tags::None));
        assert!(!one.covers(Tags::Of("AB/2-v")) && !one.covers(Tags::All));
        assert!(!Tags::None.covers(one) && Tags::None.covers(Tags::None));
        assert_eq!(Tags::None.refspec("refs/tags/x/"), None);
        assert_eq!(
            one.refspec("refs/tags/x/").as_deref(),
            Some("+refs/tags/x/AB/1-v*:refs/tags/x/AB/1-v*")
        );
    }

    #[test]
    fn loose_files_are_counted_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(count_files(&dir.path().join("none"), 3), 0);
        for (d, n) in [("a", 2), ("b/c", 2)] {
            let sub = dir.path().join(d);
            std::fs::create_dir_all(&sub).unwrap();
            for i in 0..n {
                std::fs::write(sub.join(format!("{i}-v1")), "x").unwrap();
            }
        }
        assert_eq!(count_files(dir.path(), 10), 4);
        assert_eq!(count_files(dir.path(), 3), 3);
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Read {
        partial: bool,
    }

    impl DataSnapshot for Read {
        fn tree(&self) -> Option<ObjectId> {
            None
        }
        fn is_partial(&self) -> bool {
            self.partial
        }
    }

    #[test]
    fn a_partial_snapshot_is_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let forge = Forge::from_repo(gix::init(dir.path()).unwrap(), "origin", APP);
        let tip = ObjectId::from_hex(b"0123456789012345678901234567890123456789").unwrap();
        forge.cache_snapshot("summary", 1, tip, &Read { partial: true });
        assert_eq!(forge.cache_load::<Read>("summary", 1, tip), None);
        forge.cache_snapshot("summary", 1, tip, &Read { partial: false });
        assert_eq!(
            forge.cache_load::<Read>("summary", 1, tip),
            Some(Read { partial: false })
        );
    }

    #[test]
    fn the_cache_is_keyed_by_commit() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init(dir.path()).unwrap();
        let forge = Forge::from_repo(repo, "origin", APP);
        let a = ObjectId::from_hex(b"0123456789012345678901234567890123456789").unwrap();
        let b = ObjectId::from_hex(b"1123456789012345678901234567890123456789").unwrap();
        assert_eq!(forge.cache_load::<Vec<u32>>("full", 1, a), None);
        forge.cache_store("full", 1, a, &vec![1u32, 2]);
        assert_eq!(forge.cache_load::<Vec<u32>>("full", 1, a), Some(vec![1, 2]));
        assert_eq!(
            forge.cache_load_latest::<Vec<u32>>("full", 1),
            Some((a, vec![1, 2]))
        );
        assert_eq!(forge.cache_load_latest::<Vec<u32>>("full", 2), None);
        assert_eq!(
            forge.cache_load::<Vec<u32>>("full", 1, b),
            None,
            "another commit"
        );
        assert_eq!(
            forge.cache_load::<Vec<u32>>("full", 2, a),
            None,
            "another reader"
        );
        assert_eq!(
            forge.cache_load::<String>("full", 1, a),
            None,
            "another shape"
        );
        assert_eq!(APP.data_ref(), "refs/heads/apps/things/data");
        assert_eq!(
            forge.tracking_data_ref(),
            "refs/remotes/origin/apps/things/data"
        );
    }
}

/// Serde for `Option<ObjectId>` as hex (`null` for none): snapshots keep the
/// commit and tree they were read from typed, and a cache holding anything
/// but an object id fails to load (a miss) rather than become an empty tree.
pub mod oid_serde {
    use gix::ObjectId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_str(&id.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(hex) => ObjectId::from_hex(hex.as_bytes())
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Serde for an `ObjectId` as hex (a revision's commit in JSON and caches).
pub mod oid_hex {
    use gix::ObjectId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
        let hex = String::deserialize(d)?;
        ObjectId::from_hex(hex.as_bytes()).map_err(serde::de::Error::custom)
    }
}

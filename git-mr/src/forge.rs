//! The merge-requests app on the core's [`gitapps_core::Forge`]: what it adds is
//! its reader (the snapshot of merge requests, with revisions from the tags),
//! the cache of it, and transactions whose closures see that snapshot.
//! Everything else (fetch, identity, pushes) is the core's, through `Deref`.

use std::collections::BTreeSet;
use std::path::Path;

use gix::ObjectId;

pub use gitapps_core::forge::{backoff, Committed, Fetched, Tags, RETRY_BUDGET};

use crate::incremental;
use crate::layout::APP;
use crate::model::{Fingerprint, MrId};
use crate::policy::Roles;
use crate::store::{self, Depth, Snapshot};
use crate::tx::Tx;
use crate::Result;

/// How many merge requests an incremental update must read again before its
/// result is written as the new cache. Below it the cache stays as it is and
/// each read brings it up to date again, which costs a few trees and those
/// merge requests: less than writing tens of megabytes of cache at 50,000
/// merge requests for each new comment.
const REWRITE_AFTER: usize = 64;

/// A repository and the remote its merge requests live on.
pub struct Forge {
    core: gitapps_core::Forge,
}

impl std::ops::Deref for Forge {
    type Target = gitapps_core::Forge;

    fn deref(&self) -> &gitapps_core::Forge {
        &self.core
    }
}

impl Forge {
    /// Open the repository containing `dir`.
    pub fn discover(dir: &Path, remote: &str) -> Result<Forge> {
        Ok(Forge {
            core: gitapps_core::Forge::discover(dir, remote, APP)?,
        })
    }

    pub fn from_repo(repo: gix::Repository, remote: &str) -> Forge {
        Forge {
            core: gitapps_core::Forge::from_repo(repo, remote, APP),
        }
    }

    /// The core's forge, for what every app shares.
    pub fn core(&self) -> &gitapps_core::Forge {
        &self.core
    }

    /// The merge requests on the data branch as last fetched; cached per commit.
    pub fn snapshot(&self, depth: Depth) -> Result<Snapshot> {
        let tip = self.data_tip()?;
        self.snapshot_at(tip, depth)
    }

    /// The merge requests on a given data commit; cached per commit. A summary
    /// holds the comments of the `ci` group (CI results) besides descriptions.
    pub fn snapshot_at(&self, tip: Option<ObjectId>, depth: Depth) -> Result<Snapshot> {
        let mut snapshot = match tip {
            None => Snapshot::default(),
            Some(tip) => {
                let ci = self.people()?.ci();
                // A `ci` group of `@anyone` makes every comment a possible result.
                let depth = if ci.anyone { Depth::Full } else { depth };
                let ci = ci.users;
                let cached = self.load_cache(depth, &ci);
                match cached {
                    Some((commit, s)) if commit == tip => s,
                    cached => {
                        // The cache of an earlier commit brought up to this one
                        // by tree diff (a new comment costs O(change), not O(all
                        // merge requests)); else, or when that fails, a full read.
                        let updated = cached.and_then(|(_, old)| {
                            incremental::update(self.repo(), old, tip, depth, &ci)
                                .ok()
                                .flatten()
                        });
                        let (s, store) = match updated {
                            Some(u) => (u.snapshot, u.reread >= REWRITE_AFTER),
                            None => (store::read_tree(self.repo(), Some(tip), depth, &ci)?, true),
                        };
                        if store {
                            self.store_cache(tip, &s, depth);
                            if depth == Depth::Full {
                                self.store_cache(tip, &store::summarize(&s, &ci), Depth::Summary);
                            }
                        }
                        s
                    }
                }
            }
        };
        store::attach_revisions(self.repo(), &mut snapshot)?;
        Ok(snapshot)
    }

    /// The names of the merge requests on the data commit `tip` (none read).
    pub fn names_at(&self, tip: Option<ObjectId>) -> Result<store::Names<'_>> {
        Ok(store::Names::read(self.repo(), tip, store::KIND.dir)?)
    }

    /// The merge requests `only` on the data commit `tip`, read alone (with
    /// labels, settings and revisions): what a command on one merge request
    /// needs, at the same cost among 50 or 50,000. Not cached: it reads only
    /// what it shows.
    pub fn snapshot_of(
        &self,
        tip: Option<ObjectId>,
        only: &BTreeSet<MrId>,
        depth: Depth,
    ) -> Result<Snapshot> {
        let ci = self.people()?.ci();
        let depth = if ci.anyone { Depth::Full } else { depth };
        let mut snapshot = store::read_only(self.repo(), tip, depth, &ci.users, only)?;
        store::attach_revisions(self.repo(), &mut snapshot)?;
        Ok(snapshot)
    }

    fn cache_kind(depth: Depth) -> &'static str {
        match depth {
            Depth::Summary => "summary",
            Depth::Full => "full",
        }
    }

    /// The cache of `depth`, of whichever data commit it was made.
    fn load_cache(&self, depth: Depth, ci: &BTreeSet<Fingerprint>) -> Option<(ObjectId, Snapshot)> {
        let (commit, s): (ObjectId, Snapshot) = self
            .core
            .cache_load_latest(Self::cache_kind(depth), store::READER_VERSION)?;
        // A summary read for another `ci` group lacks comments it needs.
        (depth == Depth::Full || s.comments_of == *ci).then_some((commit, s))
    }

    fn store_cache(&self, tip: ObjectId, snapshot: &Snapshot, depth: Depth) {
        self.core.cache_snapshot(
            Self::cache_kind(depth),
            store::READER_VERSION,
            tip,
            snapshot,
        );
    }

    /// Change the data branch: `change` sees the newest snapshot and describes the
    /// change in a [`Tx`]; it is committed on top of the tip and pushed signed (with
    /// the Tx's other refs, atomically). When the data branch moved meanwhile, fetch,
    /// run `change` again on the new tip and retry, with exponential backoff and
    /// jitter, for up to [`RETRY_BUDGET`] (see [`gitapps_core::Forge::transact`]).
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
        change: impl FnMut(&Forge, &Snapshot, &mut Tx) -> Result<T>,
    ) -> Result<Committed<T>> {
        self.transact_fetching(depth, &[], change)
    }

    /// [`Forge::transact_at`] on the merge request `id` alone: each attempt
    /// fetches its revision tags alone and reads only it ([`Forge::snapshot_of`]),
    /// so that a change to one merge request costs the same among 50 or 50,000.
    /// The closure's snapshot holds no other.
    pub fn transact_on<T>(
        &self,
        id: &MrId,
        depth: Depth,
        branches: &[String],
        mut change: impl FnMut(&Forge, &Snapshot, &mut Tx) -> Result<T>,
    ) -> Result<Committed<T>> {
        let only = BTreeSet::from([id.clone()]);
        self.core.transact_scoped(
            branches,
            Tags::Of(&crate::layout::revision_tag_scope(id)),
            |tip| self.snapshot_of(Some(tip), &only, depth),
            |snapshot, tx| change(self, snapshot, tx),
        )
    }

    /// [`Forge::transact`] for a new merge request of `author`: each attempt
    /// reads no merge request, only the label names, the settings and the
    /// numbers `author` has used ([`store::read_for_new`]), and fetches no tag.
    pub fn transact_new<T>(
        &self,
        author: &Fingerprint,
        mut change: impl FnMut(&Forge, &Snapshot, &mut Tx) -> Result<T>,
    ) -> Result<Committed<T>> {
        self.core.transact_scoped(
            &[],
            Tags::None,
            |tip| store::read_for_new(self.repo(), Some(tip), author),
            |snapshot, tx| change(self, snapshot, tx),
        )
    }

    /// [`Forge::transact_at`], each fetch also bringing these branches of the
    /// remote (a merge's target). The first attempt fetches only when this
    /// process has not fetched them yet: a command fetches once.
    pub fn transact_fetching<T>(
        &self,
        depth: Depth,
        branches: &[String],
        mut change: impl FnMut(&Forge, &Snapshot, &mut Tx) -> Result<T>,
    ) -> Result<Committed<T>> {
        self.core.transact(
            branches,
            |tip| self.snapshot_at(Some(tip), depth),
            |snapshot, tx| change(self, snapshot, tx),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{write_tree, TreeEdit};

    /// A cache whose tree id is not an object id is a miss, read again from
    /// the repository: never a snapshot without a tree, which a change would
    /// apply to the empty tree (deleting everything else on the branch).
    #[test]
    fn a_bad_cached_tree_id_is_read_again_not_an_empty_tree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init(dir.path()).unwrap();
        let tree = write_tree(
            &repo,
            None,
            &[TreeEdit::File {
                path: "labels/open/description".into(),
                data: b"open\n".to_vec(),
            }],
        )
        .unwrap();
        let tip = gitapps_core::testing::commit_tree_of(&repo, tree).unwrap();
        let forge = Forge::from_repo(repo, "origin");
        let read = forge.snapshot_at(Some(tip), Depth::Full).unwrap();
        assert_eq!(read.tree, Some(tree));
        let cache = std::fs::read_dir(forge.cache_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(".full."))
            .expect("a cache was written");
        let text = std::fs::read_to_string(&cache).unwrap();
        assert!(text.contains(&tree.to_string()), "{text}");
        for bad in ["not-a-tree", ""] {
            std::fs::write(&cache, text.replace(&tree.to_string(), bad)).unwrap();
            let again = forge.snapshot_at(Some(tip), Depth::Full).unwrap();
            assert_eq!(again.tree, Some(tree), "{bad:?}");
            assert!(again.label_exists("open"));
        }
    }
}

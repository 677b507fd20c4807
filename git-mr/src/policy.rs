//! The access-control policies of the merge-requests app, as `git mr init` writes them
//! to `apps/access-control` (SPEC sections 3 and 4).
//!
//! They are complete (every path the tools write is covered, every directory level
//! included) and minimal: anyone opens merge requests of their own and comments under
//! their own id (line comments are comments); each user adds versions of their own
//! comments (edits, retractions) and votes under their own id, authors versions of
//! their titles; authors and maintainers label; only maintainers create label names
//! and change the merge settings; the `ci` group sets `ci-*` labels. Nothing is ever
//! modified or deleted except label links and the merge settings. `git mr init`
//! grants nothing on the project's own branches.
//!
//! They also bound what one user can make everyone else read: every file on the
//! data branch is at most [`MAX_FILE_SIZE`], a title or target at most
//! [`MAX_TITLE_SIZE`] (the hook's `limit size` lines), and a merge request has at
//! most [`MAX_REVISIONS`] revision tags.

use gitapps_core::People;
use gitapps_policy::Members;

use crate::layout::MERGE_REQS_DIR;
use crate::model::Fingerprint;

/// Ref rules.
pub const REFS_FILE: &str = "refs/merge-reqs.conf";
/// Tree rules.
pub const BRANCHES_FILE: &str = "branches/merge-reqs.conf";
/// Who labels every merge request and creates label names.
pub const MAINTAINERS_GROUP: &str = "maintainers";
/// Who sets the `ci-*` labels.
pub const CI_GROUP: &str = "ci";

/// A label name that authors may set on their own merge requests: any name except
/// `merged` and `ci-*` (which belong to maintainers and CI). The policy language's
/// regexes have no look-ahead, hence the spelled-out alternatives.
pub const AUTHOR_LABEL: &str = "([^cm/][^/]*|c|c[^i/][^/]*|ci|ci[^-/][^/]*|m|m[^e/][^/]*|me|me[^r/][^/]*|mer|mer[^g/][^/]*|merg|merg[^e/][^/]*|merge|merge[^d/][^/]*|merged[^/]+)";

/// A label name that maintainers may set on any merge request: any name except
/// `ci-*`, which only CI sets (a maintainer's `ci-pass` would read as CI's
/// verdict in every list). Spelled out, as [`AUTHOR_LABEL`] is.
pub const MAINTAINER_LABEL: &str = "([^c/][^/]*|c|c[^i/][^/]*|ci|ci[^-/][^/]*)";

/// The largest file on the data branch (a comment with a CI log's tail is
/// far less), in the policy's size syntax.
pub const MAX_FILE_SIZE: &str = "1m";
/// The largest title or target file.
pub const MAX_TITLE_SIZE: &str = "4k";
/// The most revision tags (`v1` … `v99`) a merge request may have.
pub const MAX_REVISIONS: u32 = 99;

/// `refs/merge-reqs.conf`.
pub fn refs_conf() -> String {
    format!(
        "\
# git mr: merge requests (written by `git mr init`).
# The data branch only moves forward; branches/merge-reqs.conf says what may change in it.
anyone fast-forward ^heads/apps/merge-reqs/data$
# Revision tags: each user tags the revisions of their own merge requests (at most {MAX_REVISIONS}).
anyone create-tag ^tags/apps/merge-reqs/$user_id/[1-9][0-9]*-v[1-9][0-9]?$
"
    )
}

/// `branches/merge-reqs.conf`: the core's templates for the parts every app
/// shares (opening, comments, labels, claims, edits, votes, sizes), and the
/// merge requests' own rules (CI re-runs, merge settings).
pub fn branches_conf() -> String {
    use gitapps_core::policy as t;
    let items = MERGE_REQS_DIR;
    let (id, n, k) = (t::ID, t::N, t::K);
    format!(
        "\
# git mr: what may change on the data branch (written by `git mr init`).
branch ^heads/apps/merge-reqs/data$

# Anyone opens merge requests of their own: merge-reqs/<me>/<n>/{{title,target}}
# (the first one ever creates merge-reqs itself).
{open}
# Anyone comments on any merge request, under their own id (comment 0 of the author
# is the description). Comments are never changed.
{comments}
# Authors label their own merge requests with existing labels, except merged and ci-*,
# both ways: the merge request's link and the label's index.
{author_labels}
# Maintainers label every merge request, and create label names.
{maintainer_labels}{label_names}
# CI sets the ci-* labels on every merge request.
{ci_labels}
# CI bots claim a revision v<k> (k from 1) before running it, by creating
# merge-reqs/<id>/<n>/ci/v<k>/claim-<attempt>: only one push can create a file, and
# none may change it. A stale claim is taken over by creating claim-<attempt+1>.
{claims}
# Maintainers ask CI to test the newest revision again (git mr ci-retry) with a request
# file of their own, merge-reqs/<id>/<n>/ci/retry/<me>/<j> (j from 0), never changed.
maintainers create-directory ^{items}/{id}/{n}/ci$
maintainers create-directory ^{items}/{id}/{n}/ci/retry$
maintainers create-directory ^{items}/{id}/{n}/ci/retry/$user_id$
maintainers create-file ^{items}/{id}/{n}/ci/retry/$user_id/{k}$

# Everyone reads everything on this branch: no file over {MAX_FILE_SIZE}, no title
# or target over {MAX_TITLE_SIZE} (for everyone, the owner too).
{sizes}
# Edits: each user edits or retracts their own comments by adding versions,
# merge-reqs/<id>/<n>/edits/<me>/<k>/<v> (v from 1), and authors their titles,
# merge-reqs/<me>/<n>/edits/<me>/title/<v>. Never changed: history stays.
{edits}
# Votes: each user votes under their own id, merge-reqs/<id>/<n>/votes/<me>/<j>
# (j from 0; the highest stands), never changed.
{votes}
# Maintainers say what `git mr merge` requires (git mr settings): settings/merge.
maintainers create-directory ^settings$
maintainers create-file,modify ^settings/merge$

# Links: authors say which issues their merge requests fix (git mr create --fixes),
# merge-reqs/<me>/<n>/fixes/<issue author>/<issue n>, empty files never changed.
{fixes}",
        open = t::open_rules(items, "title|target"),
        comments = t::comment_rules(items),
        author_labels = t::author_label_rules(items, AUTHOR_LABEL),
        maintainer_labels = t::group_label_rules(items, MAINTAINERS_GROUP, MAINTAINER_LABEL),
        label_names = t::label_name_rules(MAINTAINERS_GROUP),
        ci_labels = t::group_label_rules(items, CI_GROUP, "ci-[^/]+"),
        claims = t::claim_rules(items, CI_GROUP, &["ci", &format!("ci/v{n}")]),
        sizes = t::size_rules(items, MAX_FILE_SIZE, MAX_TITLE_SIZE, "title|target"),
        edits = t::edit_rules(items, MAX_TITLE_SIZE),
        votes = t::vote_rules(items),
        fixes = gitapps_core::link::fixes_rules(items),
    )
}

pub use gitapps_core::policy::group_file;

/// The merge requests' roles, by the groups `git mr init` writes.
pub trait Roles {
    /// `groups/maintainers`, expanded.
    fn maintainers(&self) -> Members;
    /// `groups/ci`, expanded.
    fn ci(&self) -> Members;
    fn is_maintainer(&self, who: &Fingerprint) -> bool;
    /// Whether `who` reports CI: only their `CI-Status:` is a CI result.
    fn is_ci(&self, who: &Fingerprint) -> bool;
}

impl Roles for People {
    fn maintainers(&self) -> Members {
        self.group(MAINTAINERS_GROUP)
    }

    fn ci(&self) -> Members {
        self.group(CI_GROUP)
    }

    fn is_maintainer(&self, who: &Fingerprint) -> bool {
        self.is_member(MAINTAINERS_GROUP, who)
    }

    fn is_ci(&self, who: &Fingerprint) -> bool {
        self.is_member(CI_GROUP, who)
    }
}

/// Every file `git mr init` adds to `apps/access-control`: (path, content).
/// Rules earlier versions of `git mr init` wrote that this one does not
/// (path, line): the maintainers' label rules before [`MAINTAINER_LABEL`]
/// matched `ci-*` too. `init` reports them; it removes no line.
pub fn retired_lines() -> Vec<(String, String)> {
    use gitapps_core::policy as t;
    let current = branches_conf();
    t::group_label_rules(MERGE_REQS_DIR, MAINTAINERS_GROUP, "[^/]+")
        .lines()
        .filter(|old| !current.lines().any(|l| l == *old))
        .map(|old| (BRANCHES_FILE.to_owned(), old.to_owned()))
        .collect()
}

pub fn files(maintainers: &[Fingerprint], ci: &[Fingerprint]) -> Vec<(String, String)> {
    let mut files = vec![
        (REFS_FILE.to_owned(), refs_conf()),
        (BRANCHES_FILE.to_owned(), branches_conf()),
    ];
    files.extend([
        (
            format!("groups/{MAINTAINERS_GROUP}"),
            group_file(
                "Maintainers of merge requests: they label any of them and create label names.",
                maintainers,
            ),
        ),
        (
            format!("groups/{CI_GROUP}"),
            group_file("CI bots: they set the ci-* labels.", ci),
        ),
    ]);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchored(re: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{re})$")).unwrap()
    }

    #[test]
    fn author_labels_exclude_merged_and_ci() {
        let re = anchored(AUTHOR_LABEL);
        for ok in [
            "open",
            "closed",
            "needs-review",
            "c",
            "ci",
            "cix",
            "m",
            "me",
            "mer",
            "merg",
            "merge",
            "mergedx",
            "merges",
            "bug",
            "wip",
            "cb-x",
            "Ci-pass",
        ] {
            assert!(re.is_match(ok), "{ok} should be allowed");
        }
        for no in ["merged", "ci-pass", "ci-fail", "ci-", "a/b", ""] {
            assert!(!re.is_match(no), "{no} should be denied");
        }
    }

    #[test]
    fn the_retired_rules_are_the_old_maintainer_label_lines() {
        let retired = retired_lines();
        let current = branches_conf();
        assert_eq!(retired.len(), 3, "{retired:?}");
        for (path, line) in &retired {
            assert_eq!(path, BRANCHES_FILE);
            assert!(
                line.starts_with("maintainers ") && line.contains("[^/]+"),
                "{line}"
            );
            assert!(!current.lines().any(|l| l == line), "{line}");
        }
    }

    #[test]
    fn label_regexes_agree_with_their_definitions() {
        let author = anchored(AUTHOR_LABEL);
        let maintainer = anchored(MAINTAINER_LABEL);
        let alphabet = ['c', 'i', '-', 'm', 'e', 'r', 'g', 'd', 'x'];
        let mut words = vec![String::new()];
        for _ in 0..6 {
            let mut next = Vec::new();
            for w in &words {
                for c in alphabet {
                    next.push(format!("{w}{c}"));
                }
            }
            for w in &next {
                let ci = w.starts_with("ci-");
                assert_eq!(author.is_match(w), w != "merged" && !ci, "author: {w}");
                assert_eq!(maintainer.is_match(w), !ci, "maintainer: {w}");
            }
            words = next;
        }
        assert!(!maintainer.is_match("") && !maintainer.is_match("a/b"));
    }

    /// The policies as the hook will read them: parsed by the policy
    /// language itself, and asked what each kind of user may do.
    #[test]
    fn the_policies_grant_what_the_tools_need_and_no_more() {
        use gitapps_policy::{Fingerprint as Fpr, Policy, PolicyFile, RefOp, TreeOp};
        let fpr = |c: char| c.to_string().repeat(40);
        let (owner, carol, bot, alice, eve) = (fpr('A'), fpr('C'), fpr('B'), fpr('D'), fpr('E'));
        let id = |s: &str| Fingerprint::parse(s).expect("fingerprint");
        let mut files = files(&[id(&carol)], &[id(&bot)]);
        files.push((
            "refs/owner.conf".into(),
            gitapps_policy::DEFAULT_REF_RULES.into(),
        ));
        files.push((
            "branches/owner.conf".into(),
            gitapps_policy::DEFAULT_TREE_RULES.into(),
        ));
        let policy = Policy::parse(files.iter().map(|(path, content)| PolicyFile {
            path,
            content: content.as_bytes(),
        }))
        .expect("the policies git mr init writes are valid");
        let owner_fpr = Fpr::parse(&owner).expect("fingerprint");
        let rules = |who: &str| {
            policy
                .for_user(&Fpr::parse(who).expect("fingerprint"), &owner_fpr)
                .expect("compiles")
        };
        let data = "refs/heads/apps/merge-reqs/data";
        let tree = |who: &str| rules(who).tree_rules_for(data).expect("compiles");
        let can = |who: &str, op: TreeOp, path: String| tree(who).allowed(op, path.as_bytes());

        // Anyone opens merge requests of their own, every directory level included.
        for path in [
            "merge-reqs".to_owned(),
            format!("merge-reqs/{alice}"),
            format!("merge-reqs/{alice}/1"),
        ] {
            assert!(can(&alice, TreeOp::CreateDirectory, path.clone()), "{path}");
        }
        assert!(can(
            &alice,
            TreeOp::CreateFile,
            format!("merge-reqs/{alice}/1/title")
        ));
        assert!(!can(
            &eve,
            TreeOp::CreateFile,
            format!("merge-reqs/{alice}/2/title")
        ));
        assert!(!can(
            &alice,
            TreeOp::Modify,
            format!("merge-reqs/{alice}/1/title")
        ));
        assert!(!can(
            &alice,
            TreeOp::DeleteFile,
            format!("merge-reqs/{alice}/1/title")
        ));
        // Comments: anyone, under their own id, never changed.
        assert!(can(
            &eve,
            TreeOp::CreateFile,
            format!("merge-reqs/{alice}/1/comments/{eve}/0")
        ));
        assert!(!can(
            &eve,
            TreeOp::CreateFile,
            format!("merge-reqs/{alice}/1/comments/{alice}/3")
        ));
        assert!(!can(
            &alice,
            TreeOp::Modify,
            format!("merge-reqs/{alice}/1/comments/{alice}/0")
        ));
        // Labels: the author on their own, maintainers on any, ci the ci-* ones.
        let link = |mr: &str, label: &str| format!("merge-reqs/{mr}/1/labels/{label}");
        assert!(can(
            &alice,
            TreeOp::CreateSymlink,
            link(&alice, "needs-review")
        ));
        assert!(!can(&alice, TreeOp::CreateSymlink, link(&alice, "merged")));
        assert!(!can(&alice, TreeOp::CreateSymlink, link(&alice, "ci-pass")));
        assert!(!can(
            &eve,
            TreeOp::CreateSymlink,
            link(&alice, "needs-review")
        ));
        assert!(can(&carol, TreeOp::CreateSymlink, link(&alice, "merged")));
        // CI's verdict is CI's: a maintainer sets no ci-* label.
        assert!(!can(&carol, TreeOp::CreateSymlink, link(&alice, "ci-pass")));
        assert!(!can(
            &carol,
            TreeOp::CreateSymlink,
            format!("labels/ci-pass/{alice}/1")
        ));
        assert!(can(&bot, TreeOp::CreateSymlink, link(&alice, "ci-pass")));
        assert!(!can(&bot, TreeOp::CreateSymlink, link(&alice, "merged")));
        // New label names: maintainers only.
        assert!(can(
            &carol,
            TreeOp::CreateFile,
            "labels/wip/description".to_owned()
        ));
        assert!(!can(
            &alice,
            TreeOp::CreateFile,
            "labels/wip/description".to_owned()
        ));
        // CI claims: the ci group creates them, nobody changes them.
        let claim = format!("merge-reqs/{alice}/1/ci/v2/claim-1");
        assert!(can(&bot, TreeOp::CreateFile, claim.clone()));
        assert!(!can(&bot, TreeOp::Modify, claim.clone()));
        assert!(!can(&alice, TreeOp::CreateFile, claim));
        // CI re-runs: maintainers ask, under their own id, never changed.
        let retry = |who: &str| format!("merge-reqs/{alice}/1/ci/retry/{who}/0");
        assert!(can(&carol, TreeOp::CreateFile, retry(&carol)));
        assert!(can(
            &carol,
            TreeOp::CreateDirectory,
            format!("merge-reqs/{alice}/1/ci/retry/{carol}")
        ));
        assert!(!can(&carol, TreeOp::Modify, retry(&carol)));
        assert!(!can(&carol, TreeOp::CreateFile, retry(&owner)));
        assert!(!can(&alice, TreeOp::CreateFile, retry(&alice)));
        assert!(!can(&bot, TreeOp::CreateFile, retry(&bot)));
        // Edits: versions of one's own comments, and of one's own titles; never changed.
        let mr = format!("merge-reqs/{alice}/1");
        for path in [
            format!("{mr}/edits"),
            format!("{mr}/edits/{eve}"),
            format!("{mr}/edits/{eve}/3"),
        ] {
            assert!(can(&eve, TreeOp::CreateDirectory, path.clone()), "{path}");
        }
        assert!(can(
            &eve,
            TreeOp::CreateFile,
            format!("{mr}/edits/{eve}/3/1")
        ));
        assert!(!can(
            &eve,
            TreeOp::CreateFile,
            format!("{mr}/edits/{eve}/3/0")
        ));
        assert!(!can(
            &eve,
            TreeOp::CreateFile,
            format!("{mr}/edits/{alice}/0/1")
        ));
        assert!(!can(&eve, TreeOp::Modify, format!("{mr}/edits/{eve}/3/1")));
        assert!(!can(
            &eve,
            TreeOp::DeleteFile,
            format!("{mr}/edits/{eve}/3/1")
        ));
        assert!(can(
            &alice,
            TreeOp::CreateFile,
            format!("{mr}/edits/{alice}/title/1")
        ));
        assert!(!can(
            &eve,
            TreeOp::CreateFile,
            format!("{mr}/edits/{eve}/title/1")
        ));
        assert!(!can(
            &carol,
            TreeOp::CreateFile,
            format!("{mr}/edits/{alice}/title/1")
        ));
        // Votes: one's own, never changed.
        assert!(can(&eve, TreeOp::CreateDirectory, format!("{mr}/votes")));
        assert!(can(
            &eve,
            TreeOp::CreateDirectory,
            format!("{mr}/votes/{eve}")
        ));
        assert!(can(&eve, TreeOp::CreateFile, format!("{mr}/votes/{eve}/0")));
        assert!(!can(
            &eve,
            TreeOp::CreateFile,
            format!("{mr}/votes/{carol}/0")
        ));
        assert!(!can(&eve, TreeOp::Modify, format!("{mr}/votes/{eve}/0")));
        assert!(!can(
            &carol,
            TreeOp::DeleteFile,
            format!("{mr}/votes/{eve}/0")
        ));
        // The merge settings: maintainers only.
        assert!(can(&carol, TreeOp::CreateDirectory, "settings".to_owned()));
        assert!(can(&carol, TreeOp::CreateFile, "settings/merge".to_owned()));
        assert!(can(&carol, TreeOp::Modify, "settings/merge".to_owned()));
        assert!(!can(
            &carol,
            TreeOp::CreateFile,
            "settings/other".to_owned()
        ));
        assert!(!can(
            &carol,
            TreeOp::DeleteFile,
            "settings/merge".to_owned()
        ));
        assert!(!can(
            &alice,
            TreeOp::CreateFile,
            "settings/merge".to_owned()
        ));
        assert!(!can(&bot, TreeOp::Modify, "settings/merge".to_owned()));
        // Refs: the data branch only moves forward; revision tags are one's own.
        let r = rules(&alice);
        assert!(r.ref_allowed(RefOp::FastForward, data));
        assert!(!r.ref_allowed(RefOp::Force, data));
        assert!(!r.ref_allowed(RefOp::Delete, data));
        let tag = |who: &str| format!("refs/tags/apps/merge-reqs/{who}/1-v1");
        assert!(r.ref_allowed(RefOp::CreateTag, &tag(&alice)));
        assert!(!r.ref_allowed(RefOp::CreateTag, &tag(&eve)));
        let revision = |k: u32| format!("refs/tags/apps/merge-reqs/{alice}/3-v{k}");
        assert!(r.ref_allowed(RefOp::CreateTag, &revision(MAX_REVISIONS)));
        assert!(!r.ref_allowed(RefOp::CreateTag, &revision(MAX_REVISIONS + 1)));
        assert!(!r.ref_allowed(RefOp::CreateTag, &revision(0)));
        // Sizes: everything on the data branch, titles more.
        let limit = |path: String| tree(&carol).size_limit(path.as_bytes()).map(|(max, _)| max);
        assert_eq!(
            limit(format!("merge-reqs/{alice}/1/comments/{eve}/0")),
            Some(1 << 20)
        );
        assert_eq!(limit(format!("merge-reqs/{alice}/1/title")), Some(4 << 10));
        assert_eq!(
            limit(format!("merge-reqs/{alice}/1/edits/{alice}/title/2")),
            Some(4 << 10)
        );
        assert_eq!(
            limit(format!("merge-reqs/{alice}/1/edits/{alice}/0/2")),
            Some(1 << 20)
        );
        assert_eq!(limit("labels/open/description".to_owned()), Some(1 << 20));
        let main = rules(&owner)
            .tree_rules_for("refs/heads/main")
            .expect("compiles");
        assert_eq!(main.size_limit(b"big.iso"), None);
        assert!(!r.ref_allowed(RefOp::Force, &tag(&alice)));
        // Nothing on the project's own branches.
        assert!(!r.ref_allowed(RefOp::FastForward, "refs/heads/main"));
        assert!(!rules(&carol).ref_allowed(RefOp::FastForward, "refs/heads/main"));
    }
}

//! The access-control policies of the issue tracker, as `git issue init`
//! writes them to `apps/access-control` (SPEC sections 3 and 4b), composed
//! from the core's templates: anyone opens issues of their own and comments
//! under their own id; each user edits their own comments, authors their
//! titles; the author and maintainers label, close and reopen an issue (the
//! `open`/`closed` labels); only maintainers create label names and assign
//! others, anyone assigns (and unassigns) themselves. Nothing else is ever
//! modified or deleted. Every file is at most [`MAX_FILE_SIZE`], a title at
//! most [`MAX_TITLE_SIZE`].

use gitapps_core::policy::{self as templates, group_file, ID, N};
use gitapps_core::Fingerprint;

use crate::layout::{ASSIGNEES_DIR, ISSUES_DIR};

/// Ref rules.
pub const REFS_FILE: &str = "refs/issues.conf";
/// Tree rules.
pub const BRANCHES_FILE: &str = "branches/issues.conf";
/// Who labels, closes and assigns every issue, and creates label names
/// (the same group as the merge requests' maintainers).
pub const MAINTAINERS_GROUP: &str = "maintainers";
/// The largest file on the data branch.
pub const MAX_FILE_SIZE: &str = "1m";
/// The largest title.
pub const MAX_TITLE_SIZE: &str = "4k";

/// `refs/issues.conf`.
pub fn refs_conf() -> String {
    "\
# git issue: issues (written by `git issue init`).
# The data branch only moves forward; branches/issues.conf says what may change in it.
anyone fast-forward ^heads/apps/issues/data$
"
    .to_owned()
}

/// `branches/issues.conf`.
pub fn branches_conf() -> String {
    let items = ISSUES_DIR;
    let m = MAINTAINERS_GROUP;
    format!(
        "\
# git issue: what may change on the data branch (written by `git issue init`).
branch ^heads/apps/issues/data$

# Anyone opens issues of their own: issues/<me>/<n>/title (the first one ever
# creates issues itself).
{open}
# Anyone comments on any issue, under their own id (comment 0 of the author is
# the description). Comments are never changed.
{comments}
# Authors label their own issues, open and closed included (that is closing and
# reopening), both ways: the issue's link and the label's index.
{author_labels}
# Maintainers label (close, reopen) every issue, and create label names.
{maintainer_labels}{label_names}
# Assignees: issues/<id>/<n>/{ASSIGNEES_DIR}/<FPR>, an empty file each. Anyone
# assigns and unassigns themselves; maintainers anyone.
anyone create-directory,delete-directory ^{items}/{ID}/{N}/{ASSIGNEES_DIR}$
anyone create-file,delete-file ^{items}/{ID}/{N}/{ASSIGNEES_DIR}/$user_id$
{m} create-file,delete-file ^{items}/{ID}/{N}/{ASSIGNEES_DIR}/[0-9A-F]{{40}}$

# Everyone reads everything on this branch: no file over {MAX_FILE_SIZE}, no title
# over {MAX_TITLE_SIZE} (for everyone, the owner too).
{sizes}
# Edits: each user edits or retracts their own comments by adding versions, and
# authors their titles. Never changed: history stays.
{edits}",
        open = templates::open_rules(items, "title"),
        comments = templates::comment_rules(items),
        author_labels = templates::author_label_rules(items, "[^/]+"),
        maintainer_labels = templates::group_label_rules(items, m, "[^/]+"),
        label_names = templates::label_name_rules(m),
        sizes = templates::size_rules(items, MAX_FILE_SIZE, MAX_TITLE_SIZE, "title"),
        edits = templates::edit_rules(items, MAX_TITLE_SIZE),
    )
}

/// Every file `git issue init` adds to `apps/access-control`: (path, content).
pub fn files(maintainers: &[Fingerprint]) -> Vec<(String, String)> {
    vec![
        (REFS_FILE.to_owned(), refs_conf()),
        (BRANCHES_FILE.to_owned(), branches_conf()),
        (
            format!("groups/{MAINTAINERS_GROUP}"),
            group_file(
                "Maintainers: they label, close and assign any issue (and merge request) and create label names.",
                maintainers,
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapps_policy::TreeOp;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn policy(maintainers: &[Fingerprint]) -> gitapps_policy::Policy {
        templates::parse(&files(maintainers)).expect("the issue policy parses")
    }

    fn allowed(
        who: &Fingerprint,
        owner: &Fingerprint,
        maintainers: &[Fingerprint],
        op: TreeOp,
        path: &str,
    ) -> bool {
        policy(maintainers)
            .for_user(who, owner)
            .unwrap()
            .tree_rules_for("refs/heads/apps/issues/data")
            .unwrap()
            .allowed(op, path.as_bytes())
    }

    #[test]
    fn the_policy_parses_and_names_its_files() {
        let p = files(&[fpr('A')]);
        assert!(p.iter().any(|(path, _)| path == REFS_FILE));
        policy(&[fpr('A')]);
    }

    #[test]
    fn who_may_do_what() {
        let (owner, alice, bob, m) = (fpr('0'), fpr('A'), fpr('B'), fpr('C'));
        let ms = [m.clone()];
        let a = alice.as_str();
        let b = bob.as_str();
        let yes = |who: &Fingerprint, op, path: String| {
            assert!(allowed(who, &owner, &ms, op, &path), "{who} {op:?} {path}")
        };
        let no = |who: &Fingerprint, op, path: String| {
            assert!(!allowed(who, &owner, &ms, op, &path), "{who} {op:?} {path}")
        };
        yes(&alice, TreeOp::CreateFile, format!("issues/{a}/1/title"));
        no(&bob, TreeOp::CreateFile, format!("issues/{a}/1/title"));
        no(&alice, TreeOp::Modify, format!("issues/{a}/1/title"));
        yes(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/comments/{b}/0"),
        );
        no(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/comments/{a}/1"),
        );
        no(&bob, TreeOp::Modify, format!("issues/{a}/1/comments/{b}/0"));
        // Closing: the author and maintainers, nobody else.
        yes(
            &alice,
            TreeOp::CreateSymlink,
            format!("issues/{a}/1/labels/closed"),
        );
        yes(
            &m,
            TreeOp::CreateSymlink,
            format!("issues/{a}/1/labels/closed"),
        );
        no(
            &bob,
            TreeOp::CreateSymlink,
            format!("issues/{a}/1/labels/closed"),
        );
        no(&bob, TreeOp::DeleteFile, format!("labels/open/{a}/1"));
        // Assigning: oneself, or maintainers anyone.
        yes(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/assignees/{b}"),
        );
        yes(
            &bob,
            TreeOp::DeleteFile,
            format!("issues/{a}/1/assignees/{b}"),
        );
        no(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/assignees/{a}"),
        );
        no(
            &alice,
            TreeOp::CreateFile,
            format!("issues/{a}/1/assignees/{b}"),
        );
        yes(
            &m,
            TreeOp::CreateFile,
            format!("issues/{a}/1/assignees/{b}"),
        );
        yes(
            &m,
            TreeOp::DeleteFile,
            format!("issues/{a}/1/assignees/{b}"),
        );
        // Label names: maintainers only.
        yes(
            &m,
            TreeOp::CreateFile,
            "labels/wontfix/description".to_owned(),
        );
        no(
            &alice,
            TreeOp::CreateFile,
            "labels/wontfix/description".to_owned(),
        );
        // Edits of one's own comments only.
        yes(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/edits/{b}/0/1"),
        );
        no(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/edits/{a}/0/1"),
        );
        yes(
            &alice,
            TreeOp::CreateFile,
            format!("issues/{a}/1/edits/{a}/title/1"),
        );
        no(
            &bob,
            TreeOp::CreateFile,
            format!("issues/{a}/1/edits/{b}/title/1"),
        );
        // Nothing outside issues and labels.
        no(&m, TreeOp::CreateFile, "settings/merge".to_owned());
    }
}

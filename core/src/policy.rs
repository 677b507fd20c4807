//! Policy templates: the rules every app's `init` writes to `apps/access-control`
//! for the parts the core owns (threads, labels, claims), generated from the
//! app's top-level directory, plus the group files and the repair of policies
//! written by an older version. Each app composes its files from these and its
//! own rules, and tests them with [`parse`] (the policy language itself) and
//! end to end through the hook.
//!
//! Paths: `<items>/<id>/<n>/…` where `<id>` is a user id and `<n>` counts from 1.

use gitapps_policy::{Diagnostics, Policy, PolicyFile};

use crate::Fingerprint;

/// A user id in a path (the policy's `$user_id` is the pusher's).
pub const ID: &str = "[0-9A-F]+";
/// An item number or version: from 1.
pub const N: &str = "[1-9][0-9]*";
/// A comment or vote index: from 0.
pub const K: &str = "(0|[1-9][0-9]*)";

/// Anyone opens items of their own, `<items>/<me>/<n>/` with the files named
/// by `files` (a regex alternative: `title|target`), and its comments directory.
pub fn open_rules(items: &str, files: &str) -> String {
    format!(
        "\
anyone create-directory ^{items}$
anyone create-directory ^{items}/$user_id$
anyone create-directory ^{items}/$user_id/{N}$
anyone create-file ^{items}/$user_id/{N}/({files})$
anyone create-directory ^{items}/$user_id/{N}/comments$
"
    )
}

/// Anyone comments on any item, under their own id; never changed.
pub fn comment_rules(items: &str) -> String {
    format!(
        "\
anyone create-directory ^{items}/{ID}/{N}/comments/$user_id$
anyone create-file ^{items}/{ID}/{N}/comments/$user_id/{K}$
"
    )
}

/// Authors label their own items with the labels `author_label` matches (a
/// regex for one path component), both ways.
pub fn author_label_rules(items: &str, author_label: &str) -> String {
    format!(
        "\
anyone create-directory,delete-directory ^{items}/$user_id/{N}/labels$
anyone create-symlink,delete-file ^{items}/$user_id/{N}/labels/{author_label}$
anyone create-directory,delete-directory ^labels/{author_label}/$user_id$
anyone create-symlink,delete-file ^labels/{author_label}/$user_id/{N}$
"
    )
}

/// `group` sets the labels `label` matches (a regex for one path component)
/// on every item, both ways.
pub fn group_label_rules(items: &str, group: &str, label: &str) -> String {
    format!(
        "\
{group} create-directory,delete-directory ^{items}/{ID}/{N}/labels$
{group} create-symlink,delete-file ^{items}/{ID}/{N}/labels/{label}$
{group} create-directory,delete-directory ^labels/{label}/{ID}$
{group} create-symlink,delete-file ^labels/{label}/{ID}/{N}$
"
    )
}

/// `group` creates label names (a description file each).
pub fn label_name_rules(group: &str) -> String {
    format!(
        "\
{group} create-directory ^labels/[^/]+$
{group} create-file ^labels/[^/]+/description$
"
    )
}

/// `group` claims work on an item by creating `<items>/<id>/<n>/<dir>/claim-<a>`
/// ([`crate::claim`]); `dir` is a path below the item (regex), e.g. `ci/v[1-9][0-9]*`,
/// whose every level is listed in `levels` (`ci`, then `ci/v…`).
pub fn claim_rules(items: &str, group: &str, levels: &[&str]) -> String {
    let mut out = String::new();
    for level in levels {
        out.push_str(&format!(
            "{group} create-directory ^{items}/{ID}/{N}/{level}$\n"
        ));
    }
    if let Some(dir) = levels.last() {
        out.push_str(&format!(
            "{group} create-file ^{items}/{ID}/{N}/{dir}/claim-[1-9][0-9]*$\n"
        ));
    }
    out
}

/// Every file at most `max_file`, titles (and their edits) at most `max_title`
/// (`title_files`: a regex alternative of the item's one-line files).
pub fn size_rules(items: &str, max_file: &str, max_title: &str, title_files: &str) -> String {
    format!(
        "\
limit size {max_file} ^.*$
limit size {max_title} ^{items}/{ID}/{N}/({title_files})$
"
    )
}

/// Edits ([`crate::thread::edit`]): each user adds versions of their own
/// comments, authors of their titles (at most `max_title`); never changed.
pub fn edit_rules(items: &str, max_title: &str) -> String {
    format!(
        "\
anyone create-directory ^{items}/{ID}/{N}/edits$
anyone create-directory ^{items}/{ID}/{N}/edits/$user_id$
anyone create-directory ^{items}/{ID}/{N}/edits/$user_id/{K}$
anyone create-file ^{items}/{ID}/{N}/edits/$user_id/{K}/{N}$
anyone create-directory ^{items}/$user_id/{N}/edits/$user_id/title$
anyone create-file ^{items}/$user_id/{N}/edits/$user_id/title/{N}$
limit size {max_title} ^{items}/{ID}/{N}/edits/{ID}/title/{N}$
"
    )
}

/// Votes ([`crate::thread::vote`]): each user under their own id; never changed.
pub fn vote_rules(items: &str) -> String {
    format!(
        "\
anyone create-directory ^{items}/{ID}/{N}/votes$
anyone create-directory ^{items}/{ID}/{N}/votes/$user_id$
anyone create-file ^{items}/{ID}/{N}/votes/$user_id/{K}$
"
    )
}

/// A group file: a comment, then one user id per line.
pub fn group_file(what: &str, members: &[Fingerprint]) -> String {
    let mut out = format!("# {what}\n# One user id per line, or @group.\n");
    for m in members {
        out.push_str(m.as_str());
        out.push('\n');
    }
    out
}

/// The lines of `ours` (rules, members: not comments, not blank) that `theirs`
/// lacks, compared without comments and surrounding space.
pub fn missing_lines<'o>(theirs: &str, ours: &'o str) -> Vec<&'o str> {
    let bare = |l: &str| l.split('#').next().unwrap_or("").trim().to_owned();
    let have: Vec<String> = theirs.lines().map(bare).collect();
    ours.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter(|l| !have.contains(&bare(l)))
        .collect()
}

/// `theirs` with `missing` appended after a line saying who added them
/// (`stamp`: `added by \`git mr init\` 0.1.0`).
pub fn append_lines(theirs: &str, missing: &[&str], stamp: &str) -> String {
    let mut text = theirs.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("# {stamp}\n"));
    for l in missing {
        text.push_str(l);
        text.push('\n');
    }
    text
}

/// Parse `files` (path, content) together with the owner's default rules, as
/// the hook would read `apps/access-control`: for apps' tests of their templates.
pub fn parse(files: &[(String, String)]) -> Result<Policy, Diagnostics> {
    let defaults = [
        (
            "refs/owner.conf".to_owned(),
            gitapps_policy::DEFAULT_REF_RULES.to_owned(),
        ),
        (
            "branches/owner.conf".to_owned(),
            gitapps_policy::DEFAULT_TREE_RULES.to_owned(),
        ),
    ];
    Policy::parse(
        files
            .iter()
            .chain(defaults.iter())
            .map(|(path, content)| PolicyFile {
                path,
                content: content.as_bytes(),
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapps_policy::TreeOp;

    #[test]
    fn templates_parse_and_grant_only_ones_own() {
        let items = "things";
        let mut text = String::from("branch ^heads/apps/things/data$\n");
        for part in [
            open_rules(items, "title"),
            comment_rules(items),
            author_label_rules(items, "[^/]+"),
            group_label_rules(items, "maintainers", "[^/]+"),
            label_name_rules("maintainers"),
            claim_rules(items, "ci", &["ci", "ci/v[1-9][0-9]*"]),
            size_rules(items, "1m", "4k", "title"),
            edit_rules(items, "4k"),
            vote_rules(items),
        ] {
            text.push_str(&part);
        }
        let a = "A".repeat(40);
        let e = "E".repeat(40);
        let files = vec![
            ("branches/things.conf".to_owned(), text),
            (
                "groups/maintainers".to_owned(),
                group_file("m", &[Fingerprint::parse(&"C".repeat(40)).unwrap()]),
            ),
            ("groups/ci".to_owned(), group_file("ci", &[])),
        ];
        let policy = parse(&files).expect("valid");
        let owner = Fingerprint::parse(&"F".repeat(40)).unwrap();
        let tree = |who: &str| {
            policy
                .for_user(&Fingerprint::parse(who).unwrap(), &owner)
                .unwrap()
                .tree_rules_for("refs/heads/apps/things/data")
                .unwrap()
        };
        let can = |who: &str, op, path: String| tree(who).allowed(op, path.as_bytes());
        assert!(can(&a, TreeOp::CreateFile, format!("things/{a}/1/title")));
        assert!(!can(&e, TreeOp::CreateFile, format!("things/{a}/1/title")));
        assert!(can(
            &e,
            TreeOp::CreateFile,
            format!("things/{a}/1/comments/{e}/0")
        ));
        assert!(!can(
            &e,
            TreeOp::Modify,
            format!("things/{a}/1/comments/{e}/0")
        ));
        assert!(can(
            &e,
            TreeOp::CreateFile,
            format!("things/{a}/1/votes/{e}/3")
        ));
        assert!(!can(
            &e,
            TreeOp::CreateFile,
            format!("things/{a}/1/votes/{a}/3")
        ));
        assert!(!can(
            &e,
            TreeOp::CreateFile,
            format!("things/{a}/1/edits/{e}/title/1")
        ));
        assert!(!can(
            &e,
            TreeOp::CreateFile,
            format!("things/{a}/1/ci/v1/claim-1")
        ));
        assert!(!can(
            &a,
            TreeOp::CreateFile,
            "labels/x/description".to_owned()
        ));
    }

    #[test]
    fn repairs_append_only_what_is_missing() {
        let theirs = "# mine\nanyone create-file ^a$   # why\n";
        let ours = "# ours\nanyone create-file ^a$\nanyone create-file ^b$\n\n";
        let missing = missing_lines(theirs, ours);
        assert_eq!(missing, ["anyone create-file ^b$"]);
        assert_eq!(
            append_lines(theirs.trim_end(), &missing, "added"),
            "# mine\nanyone create-file ^a$   # why\n# added\nanyone create-file ^b$\n"
        );
    }
}

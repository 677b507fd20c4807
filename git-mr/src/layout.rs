//! Where merge-request data lives: refs and paths on the data branch (SPEC section 4).

use crate::model::{Fingerprint, MrId};

/// The data branch.
pub const DATA_REF: &str = "refs/heads/apps/merge-reqs/data";
/// The data branch without `refs/heads/`.
pub const DATA_BRANCH: &str = "apps/merge-reqs/data";
/// The access-control branch.
pub const ACCESS_CONTROL_REF: &str = "refs/heads/apps/access-control";
/// The access-control branch without `refs/heads/`.
pub const ACCESS_CONTROL_BRANCH: &str = "apps/access-control";
/// Revision tags live below this prefix: `<prefix><id>/<n>-v<k>`.
pub const REVISION_TAG_PREFIX: &str = "refs/tags/apps/merge-reqs/";

/// Top-level directory of merge requests on the data branch.
pub const MERGE_REQS_DIR: &str = "merge-reqs";
/// Top-level directory of label names on the data branch.
pub const LABELS_DIR: &str = "labels";
/// The file whose presence makes a label name exist.
pub const LABEL_DESCRIPTION: &str = "description";

/// The standard labels, with the descriptions `git mr init` writes.
pub const STANDARD_LABELS: &[(&str, &str)] = &[
    ("open", "The merge request is open."),
    ("needs-review", "The merge request waits for a review."),
    ("closed", "The merge request is closed."),
    ("merged", "The merge request was merged into its target."),
    ("ci-pass", "CI passed on the newest revision."),
    ("ci-fail", "CI failed on the newest revision."),
];

/// A name that is fine as a label (and as one path component).
pub fn valid_label(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name != LABEL_DESCRIPTION
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | ':'))
}

/// `merge-reqs/<id>/<n>`
pub fn mr_dir(id: &MrId) -> String {
    format!("{MERGE_REQS_DIR}/{}/{}", id.author, id.number)
}

/// `merge-reqs/<id>/<n>/title`
pub fn title_path(id: &MrId) -> String {
    format!("{}/title", mr_dir(id))
}

/// `merge-reqs/<id>/<n>/target`
pub fn target_path(id: &MrId) -> String {
    format!("{}/target", mr_dir(id))
}

/// `merge-reqs/<id>/<n>/comments/<id2>/<k>`
pub fn comment_path(id: &MrId, author: &Fingerprint, index: u32) -> String {
    format!("{}/comments/{author}/{index}", mr_dir(id))
}

/// `merge-reqs/<id>/<n>/labels/<label>` (a symlink to [`label_link_target`]).
pub fn mr_label_path(id: &MrId, label: &str) -> String {
    format!("{}/labels/{label}", mr_dir(id))
}

/// `/labels/<label>`
pub fn label_link_target(label: &str) -> String {
    format!("/{LABELS_DIR}/{label}")
}

/// `labels/<label>/description`
pub fn label_description_path(label: &str) -> String {
    format!("{LABELS_DIR}/{label}/{LABEL_DESCRIPTION}")
}

/// `labels/<label>/<id>/<n>` (a symlink to [`mr_link_target`]).
pub fn label_index_path(label: &str, id: &MrId) -> String {
    format!("{LABELS_DIR}/{label}/{}/{}", id.author, id.number)
}

/// `/merge-reqs/<id>/<n>`
pub fn mr_link_target(id: &MrId) -> String {
    format!("/{}", mr_dir(id))
}

/// `refs/tags/apps/merge-reqs/<id>/<n>-v<k>`
pub fn revision_tag(id: &MrId, k: u32) -> String {
    format!("{REVISION_TAG_PREFIX}{}/{}-v{k}", id.author, id.number)
}

/// Parse a revision tag name (full ref name) into its merge request and `k`.
pub fn parse_revision_tag(name: &str) -> Option<(MrId, u32)> {
    let rest = name.strip_prefix(REVISION_TAG_PREFIX)?;
    let (author, rest) = rest.split_once('/')?;
    let (n, k) = rest.split_once("-v")?;
    let author = Fingerprint::parse(author).ok()?;
    Some((
        MrId {
            author,
            number: parse_number(n)?,
        },
        parse_number(k)?,
    ))
}

/// A decimal number without sign or leading zeros (other than `0` itself).
pub fn parse_number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// The remote-tracking name for `remote`: the remote's own name when it is a plain
/// name, else a sanitized form of the URL or path.
pub fn remote_slug(remote: &str) -> String {
    let plain = !remote.is_empty()
        && remote
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !remote.starts_with('.');
    if plain {
        remote.to_owned()
    } else {
        let slug: String = remote
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("gitapps_{}", slug.trim_matches('_'))
    }
}

/// `refs/remotes/<remote>/apps/merge-reqs/data`
pub fn tracking_data_ref(remote: &str) -> String {
    format!("refs/remotes/{}/{DATA_BRANCH}", remote_slug(remote))
}

/// `refs/remotes/<remote>/apps/access-control`
pub fn tracking_access_control_ref(remote: &str) -> String {
    format!(
        "refs/remotes/{}/{ACCESS_CONTROL_BRANCH}",
        remote_slug(remote)
    )
}

/// `refs/remotes/<remote>/<branch>`
pub fn tracking_ref(remote: &str, branch: &str) -> String {
    format!("refs/remotes/{}/{branch}", remote_slug(remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_tags_round_trip() {
        let id = MrId {
            author: Fingerprint::parse(&"AB".repeat(20)).unwrap(),
            number: 3,
        };
        let tag = revision_tag(&id, 2);
        assert_eq!(
            tag,
            format!("refs/tags/apps/merge-reqs/{}/3-v2", "AB".repeat(20))
        );
        assert_eq!(parse_revision_tag(&tag), Some((id, 2)));
        assert_eq!(parse_revision_tag("refs/tags/apps/merge-reqs/x/3-v2"), None);
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_number("12"), Some(12));
        assert_eq!(parse_number("012"), None);
        assert_eq!(parse_number("x"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn remote_slugs() {
        assert_eq!(remote_slug("origin"), "origin");
        assert_eq!(remote_slug("/srv/git/p.git"), "gitapps_srv_git_p_git");
    }

    #[test]
    fn labels() {
        assert!(valid_label("ci-pass"));
        assert!(!valid_label("a/b"));
        assert!(!valid_label("description"));
        assert!(!valid_label(""));
    }
}

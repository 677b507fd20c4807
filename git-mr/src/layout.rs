//! Where merge-request data lives: refs and paths on the data branch (SPEC section 4).
//! What every app shares (the access-control branch, labels, numbers) is the core's.

pub use gitapps_core::label::{DESCRIPTION as LABEL_DESCRIPTION, LABELS_DIR};
pub use gitapps_core::refs::{
    parse_number, remote_slug, tracking_access_control_ref, tracking_ref, ACCESS_CONTROL_BRANCH,
    ACCESS_CONTROL_REF,
};
use gitapps_core::{label, App};

use crate::model::{Fingerprint, MrId};

/// The data branch.
pub const DATA_REF: &str = "refs/heads/apps/merge-reqs/data";
/// The data branch without `refs/heads/`.
pub const DATA_BRANCH: &str = "apps/merge-reqs/data";
/// Revision tags live below this prefix: `<prefix><id>/<n>-v<k>`.
pub const REVISION_TAG_PREFIX: &str = "refs/tags/apps/merge-reqs/";

/// Top-level directory of merge requests on the data branch.
pub const MERGE_REQS_DIR: &str = "merge-reqs";

/// The merge-requests app, as the core knows it.
pub const APP: App = App {
    name: MERGE_REQS_DIR,
    what: "merge-requests",
    command: "git mr",
    tag_prefix: Some(REVISION_TAG_PREFIX),
    cache_name: "git-mr",
    groups: &[crate::policy::MAINTAINERS_GROUP, crate::policy::CI_GROUP],
    version: env!("CARGO_PKG_VERSION"),
};

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
    label::valid(name)
}

/// `merge-reqs/<id>/<n>`
pub fn mr_dir(id: &MrId) -> String {
    id.dir(MERGE_REQS_DIR)
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
pub fn mr_label_path(id: &MrId, name: &str) -> String {
    label::item_path(MERGE_REQS_DIR, id, name)
}

/// `/labels/<label>`
pub fn label_link_target(name: &str) -> String {
    label::link_target(name)
}

/// `labels/<label>/description`
pub fn label_description_path(name: &str) -> String {
    label::description_path(name)
}

/// `labels/<label>/<id>/<n>` (a symlink to [`mr_link_target`]).
pub fn label_index_path(name: &str, id: &MrId) -> String {
    label::index_path(name, id)
}

/// `/merge-reqs/<id>/<n>`
pub fn mr_link_target(id: &MrId) -> String {
    label::item_target(MERGE_REQS_DIR, id)
}

/// `refs/tags/apps/merge-reqs/<id>/<n>-v<k>`
pub fn revision_tag(id: &MrId, k: u32) -> String {
    format!("{REVISION_TAG_PREFIX}{}/{}-v{k}", id.author, id.number)
}

/// What the names of `id`'s revision tags start with after
/// [`REVISION_TAG_PREFIX`]: `<FPR>/<n>-v` (a fetch of that merge request's
/// tags alone).
pub fn revision_tag_scope(id: &MrId) -> String {
    format!("{}/{}-v", id.author, id.number)
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

/// `refs/remotes/<remote>/apps/merge-reqs/data`
pub fn tracking_data_ref(remote: &str) -> String {
    tracking_ref(remote, DATA_BRANCH)
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
    fn the_app_names_the_data_branch() {
        assert_eq!(APP.data_ref(), DATA_REF);
        assert_eq!(APP.data_branch(), DATA_BRANCH);
        assert_eq!(
            tracking_data_ref("/srv/git/p.git"),
            "refs/remotes/gitapps_srv_git_p_git/apps/merge-reqs/data"
        );
    }

    #[test]
    fn labels() {
        assert!(valid_label("ci-pass"));
        assert!(!valid_label("a/b"));
        assert!(!valid_label("description"));
        assert!(!valid_label(""));
    }
}

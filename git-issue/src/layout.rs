//! Where issues live on their data branch (`refs/heads/apps/issues/data`):
//!
//! ```text
//! issues/<id>/<n>/title                      one line
//! issues/<id>/<n>/comments/<id2>/<k>         comment 0 of the author is the description
//! issues/<id>/<n>/labels/<label>          -> /labels/<label>
//! issues/<id>/<n>/assignees/<FPR>            an empty file per assignee
//! issues/<id>/<n>/edits/…, …/votes/…         as for merge requests (the core's threads)
//! labels/<label>/description
//! labels/<label>/<id>/<n>                 -> /issues/<id>/<n>
//! ```
//!
//! The links from merge requests (`git mr create --fixes`) live on the merge
//! requests' branch, under the merge request's author: see [`gitapps_core::link`].

use gitapps_core::{Fingerprint, ItemId};

/// The app's top-level directory on its data branch.
pub const ISSUES_DIR: &str = "issues";
/// The one-line title file of an issue (every item's, the core's).
pub use gitapps_core::items::read::TITLE;
/// The directory of an issue's assignees.
pub const ASSIGNEES_DIR: &str = "assignees";

/// The standard labels, with the descriptions `git issue init` writes.
pub const STANDARD_LABELS: &[(&str, &str)] = &[
    ("open", "The issue is open."),
    ("closed", "The issue is closed."),
    ("bug", "Something does not work as it should."),
    ("enhancement", "A new feature or a better one."),
];

/// `issues/<id>/<n>`
pub fn issue_dir(id: &ItemId) -> String {
    id.dir(ISSUES_DIR)
}

/// `issues/<id>/<n>/title`
pub fn title_path(id: &ItemId) -> String {
    format!("{}/{TITLE}", issue_dir(id))
}

/// `issues/<id>/<n>/assignees/<FPR>`
pub fn assignee_path(id: &ItemId, who: &Fingerprint) -> String {
    format!("{}/{ASSIGNEES_DIR}/{who}", issue_dir(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let id = ItemId {
            author: Fingerprint::parse(&"AB".repeat(20)).unwrap(),
            number: 3,
        };
        let ab = "AB".repeat(20);
        assert_eq!(title_path(&id), format!("issues/{ab}/3/title"));
        assert_eq!(
            assignee_path(&id, &id.author),
            format!("issues/{ab}/3/assignees/{ab}")
        );
    }
}

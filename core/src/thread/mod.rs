//! Threads: the discussion every app's item carries (a merge request now, an
//! issue next), in files of the SPEC's one format (header lines, a blank line,
//! the body) under each writer's own id. Nothing here knows merge requests: a
//! thread is a directory on a data branch, with an author.
//!
//! ```text
//! <thread>/comments/<who>/<k>          comment k of who (the author's 0: the description)
//! <thread>/edits/<who>/<k>/<v>         version v of comment who/k, by who   (edit)
//! <thread>/edits/<author>/title/<v>    version v of the title, by the author (edit)
//! <thread>/votes/<who>/<j>             vote j of who                         (vote)
//! ```
//!
//! * [`message`]: the file format.
//! * [`comment`]: comments, with their versions.
//! * [`anchor`]: line comments: `File:`, `Line:`, `Side:`.
//! * [`edit`]: new versions and retractions of comments and titles.
//! * [`vote`]: votes bound to a revision, and which stand.
//! * [`read`]: reading a thread's directory.
//! * [`write`](mod@write): adding comments, edits and votes to a change.

pub mod anchor;
pub mod comment;
pub mod edit;
pub mod message;
pub mod read;
pub mod vote;
pub mod write;

pub use anchor::{Anchor, Side};
pub use comment::{Comment, Version};
pub use edit::{Edit, Target};
pub use vote::{Standing, Verdict, Vote};

/// The directory of comments in a thread.
pub const COMMENTS_DIR: &str = "comments";

/// Header names of thread files.
pub mod header {
    pub const DATE: &str = "Date";
    pub const REVISION: &str = "Revision";
    pub const IN_REPLY_TO: &str = "In-Reply-To";
    /// Line comments ([`super::anchor`]).
    pub const FILE: &str = "File";
    pub const LINE: &str = "Line";
    pub const SIDE: &str = "Side";
    /// Votes ([`super::vote`]).
    pub const VOTE: &str = "Vote";
    /// Retractions ([`super::edit`]).
    pub const RETRACTED: &str = "Retracted";

    /// The headers of a comment that say where it stands in its thread (when,
    /// on which revision, answering what, about which line): views show them
    /// their own way, not as extra headers.
    pub const PLACE: &[&str] = &[DATE, REVISION, IN_REPLY_TO, FILE, LINE, SIDE];

    /// Whether `name` is one of [`PLACE`] (case-insensitive).
    pub fn is_place(name: &str) -> bool {
        PLACE.iter().any(|h| name.eq_ignore_ascii_case(h))
    }
}

/// `<thread>/comments/<who>/<k>`
pub fn comment_path(thread: &str, who: &crate::Fingerprint, index: u32) -> String {
    format!("{thread}/{COMMENTS_DIR}/{who}/{index}")
}

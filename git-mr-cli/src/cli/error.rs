//! `git mr`'s errors as the user sees them: the shared [`CommandError`] (its
//! kinds, exit codes and the core's hints are `gitapps_cli`'s), and the hints
//! of the merge requests' own errors.

use git_mr::Error;
pub use gitapps_cli::error::Kind;

gitapps_cli::command_error!();

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        let (kind, hints): (Kind, Vec<String>) = match e {
            Error::Core(e) => return e.into(),
            Error::NoSuchMr(_) => (Kind::User, vec!["`git mr list --state all` shows them all".into()]),
            Error::BadMrName(_) => (Kind::User, vec!["e.g. `me/1`, `alice/2`, `9A3F1C2B/3` or `3`".into()]),
            Error::UnknownLabel(_) | Error::BadLabel(_) => (Kind::User, Vec::new()),
            Error::NotMaintainer(_) => (Kind::Denied, vec!["maintainers are listed in groups/maintainers on apps/access-control".into()]),
            Error::NoSuchRevision { .. } | Error::BadRevision(_) | Error::Invalid(_) => (Kind::User, Vec::new()),
            Error::NotMergeable { mr, .. } => (
                Kind::User,
                vec![
                    format!("`git mr show {mr}` shows the votes and CI results; `git mr settings` what is required"),
                    "merge anyway with --force: the merge comment records what was missing".into(),
                ],
            ),
            Error::MergeConflict { .. } => (
                Kind::User,
                vec!["ask the author to rebase onto the target and `git mr revise`".into()],
            ),
        };
        CommandError {
            kind,
            message,
            hints,
        }
    }
}

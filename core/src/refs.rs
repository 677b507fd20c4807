//! Names every app shares: the access-control branch, data branches, the
//! remote-tracking names the tools fetch into, and the strict numbers of paths.

/// The access-control branch.
pub const ACCESS_CONTROL_REF: &str = "refs/heads/apps/access-control";
/// The access-control branch without `refs/heads/`.
pub const ACCESS_CONTROL_BRANCH: &str = "apps/access-control";

/// `apps/<app>/data`: an app's data branch without `refs/heads/` (SPEC 4b).
pub fn data_branch(app: &str) -> String {
    format!("apps/{app}/data")
}

/// A decimal number without sign or leading zeros (other than `0` itself):
/// the one spelling of numbers in paths (`<n>`, `<k>`, versions), so that no
/// two names mean the same number.
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

/// `refs/remotes/<remote>/<branch>`
pub fn tracking_ref(remote: &str, branch: &str) -> String {
    format!("refs/remotes/{}/{branch}", remote_slug(remote))
}

/// `refs/remotes/<remote>/apps/access-control`
pub fn tracking_access_control_ref(remote: &str) -> String {
    tracking_ref(remote, ACCESS_CONTROL_BRANCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_number("12"), Some(12));
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("012"), None);
        assert_eq!(parse_number("x"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("99999999999"), None);
    }

    #[test]
    fn remote_slugs() {
        assert_eq!(remote_slug("origin"), "origin");
        assert_eq!(remote_slug("/srv/git/p.git"), "gitapps_srv_git_p_git");
        assert_eq!(
            tracking_access_control_ref("origin"),
            "refs/remotes/origin/apps/access-control"
        );
        assert_eq!(data_branch("issues"), "apps/issues/data");
    }
}

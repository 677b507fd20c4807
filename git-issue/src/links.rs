//! The merge requests that say they fix an issue (`git mr create --fixes`):
//! read from the merge requests' data branch, where each link lives under
//! its merge request's author ([`gitapps_core::link`]).

use std::collections::BTreeMap;

use gitapps_core::link;
use gitapps_core::{Forge, ItemId};

use crate::Result;

/// The merge requests' data branch (without `refs/heads/`) and top directory.
pub const MERGE_REQUESTS: (&str, &str) = ("apps/merge-reqs/data", "merge-reqs");

/// The branches a command that shows links fetches along with the issues.
pub fn branches() -> Vec<String> {
    vec![MERGE_REQUESTS.0.to_owned()]
}

/// Issue → the merge requests that fix it, on the merge requests' branch as
/// last fetched (none when the project has no merge requests).
pub fn fixed_by(forge: &Forge) -> Result<BTreeMap<ItemId, Vec<ItemId>>> {
    let Some(tip) = forge.branch_tip(MERGE_REQUESTS.0)? else {
        return Ok(BTreeMap::new());
    };
    let tree = crate::store::tree_of(forge.repo(), tip)?;
    Ok(link::read_fixes(
        forge.repo(),
        Some(tree),
        MERGE_REQUESTS.1,
    )?)
}

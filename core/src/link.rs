//! Links between apps' items: a merge request says which issues it fixes.
//! The link lives on the linking item's side, under its author's id (only
//! they may write there), as an empty file:
//!
//! ```text
//! <items>/<id>/<n>/fixes/<id2>/<n2>      the item <id2>/<n2> of the other app
//! ```
//!
//! The other app finds the links to its items by reading that branch.

use std::collections::BTreeMap;

use gix::ObjectId;

use crate::error::GitResultExt;
use crate::id::ItemId;
use crate::refs::parse_number;
use crate::{Fingerprint, Result};

/// The directory of an item's links.
pub const FIXES_DIR: &str = "fixes";

/// `<items>/<id>/<n>/fixes/<id2>/<n2>`
pub fn fixes_path(items: &str, id: &ItemId, fixed: &ItemId) -> String {
    format!(
        "{}/{FIXES_DIR}/{}/{}",
        id.dir(items),
        fixed.author,
        fixed.number
    )
}

/// Every `fixes` link on the data tree `tree` under `items`: linked item →
/// the items that link to it. Malformed names are skipped (the linking app's
/// reader warns of them).
pub fn read_fixes(
    repo: &gix::Repository,
    tree: Option<ObjectId>,
    items: &str,
) -> Result<BTreeMap<ItemId, Vec<ItemId>>> {
    let mut links: BTreeMap<ItemId, Vec<ItemId>> = BTreeMap::new();
    let Some(tree) = tree else {
        return Ok(links);
    };
    let tree = repo.find_tree(tree).git()?;
    let Some(dir) = tree.lookup_entry_by_path(items).git()? else {
        return Ok(links);
    };
    let subtree = |id: ObjectId| -> Result<Vec<(String, ObjectId, bool)>> {
        let t = repo.find_tree(id).git()?;
        let mut out = Vec::new();
        for e in t.iter() {
            let e = e.git()?;
            out.push((
                e.filename().to_string(),
                e.oid().to_owned(),
                e.mode().is_tree(),
            ));
        }
        Ok(out)
    };
    if !dir.mode().is_tree() {
        return Ok(links);
    }
    for (author, a_id, a_tree) in subtree(dir.object_id())? {
        let Ok(author) = Fingerprint::parse(&author) else {
            continue;
        };
        if !a_tree {
            continue;
        }
        for (n, n_id, n_tree) in subtree(a_id)? {
            let Some(number) = parse_number(&n).filter(|n| *n > 0 && n_tree) else {
                continue;
            };
            let from = ItemId {
                author: author.clone(),
                number,
            };
            let Some((_, f_id, true)) = subtree(n_id)?
                .into_iter()
                .find(|(name, _, _)| name == FIXES_DIR)
            else {
                continue;
            };
            for (to_author, t_id, t_tree) in subtree(f_id)? {
                let Ok(to_author) = Fingerprint::parse(&to_author) else {
                    continue;
                };
                if !t_tree {
                    continue;
                }
                for (m, _, m_tree) in subtree(t_id)? {
                    if let Some(number) = parse_number(&m).filter(|n| *n > 0 && !m_tree) {
                        links
                            .entry(ItemId {
                                author: to_author.clone(),
                                number,
                            })
                            .or_default()
                            .push(from.clone());
                    }
                }
            }
        }
    }
    Ok(links)
}

/// The rules that let authors link their own items (for the linking app's policy).
pub fn fixes_rules(items: &str) -> String {
    let (id, n) = (crate::policy::ID, crate::policy::N);
    format!(
        "\
anyone create-directory ^{items}/$user_id/{n}/{FIXES_DIR}$
anyone create-directory ^{items}/$user_id/{n}/{FIXES_DIR}/{id}$
anyone create-file ^{items}/$user_id/{n}/{FIXES_DIR}/{id}/{n}$
"
    )
}

/// An item's `fixes` directory (`entry`, at `path`), as its app's reader sees
/// it: the linked items, sorted; anything else is a warning.
pub fn read_item(
    reader: &mut crate::tree_reader::TreeReader<'_>,
    path: &str,
    entry: &crate::tree_reader::Entry,
) -> Result<Vec<ItemId>> {
    let mut out = Vec::new();
    for author in reader.tree(&entry.id)? {
        let apath = format!("{path}/{}", author.name);
        let fpr = Fingerprint::parse(&author.name)
            .ok()
            .filter(|f| f.as_str() == author.name && author.mode.is_tree());
        let Some(fpr) = fpr else {
            reader.warn(apath, "not a user id directory");
            continue;
        };
        for n in reader.tree(&author.id)? {
            match parse_number(&n.name).filter(|k| *k > 0 && n.mode.is_blob()) {
                Some(number) => out.push(ItemId {
                    author: fpr.clone(),
                    number,
                }),
                None => reader.warn(
                    format!("{apath}/{}", n.name),
                    "not a link (an empty file named by a number)",
                ),
            }
        }
    }
    out.sort();
    Ok(out)
}

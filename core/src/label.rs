//! Labels (SPEC section 4), the same for every app: a label name exists while
//! `labels/<label>/description` does (git keeps no empty directories), and an
//! item carries a label by two symlinks, one each way:
//!
//! ```text
//! <items>/<id>/<n>/labels/<label>  -> /labels/<label>
//! labels/<label>/<id>/<n>          -> /<items>/<id>/<n>
//! ```
//!
//! The app supplies `<items>` (its top-level directory: `merge-reqs`, `issues`)
//! and the names it reserves (which labels its authors may not set: the
//! policy's business, see [`crate::policy`]).

use std::collections::BTreeMap;

use crate::id::ItemId;
use crate::refs::parse_number;
use crate::tree_reader::{Entry, TreeReader};
use crate::tx::Tx;
use crate::{Fingerprint, Result};

/// The top-level directory of label names.
pub const LABELS_DIR: &str = "labels";
/// The file whose presence makes a label name exist.
pub const DESCRIPTION: &str = "description";
/// The directory of an item's labels.
pub const ITEM_LABELS_DIR: &str = "labels";

/// A name that is fine as a label: one path component of plain characters,
/// not `.`, `..` or [`DESCRIPTION`] (reserved: it would be the label's own file).
pub fn valid(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name != DESCRIPTION
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | ':'))
}

/// `/labels/<label>`: where an item's label link points.
pub fn link_target(label: &str) -> String {
    format!("/{LABELS_DIR}/{label}")
}

/// `labels/<label>/description`
pub fn description_path(label: &str) -> String {
    format!("{LABELS_DIR}/{label}/{DESCRIPTION}")
}

/// `<items>/<id>/<n>/labels/<label>` (a symlink to [`link_target`]).
pub fn item_path(items: &str, id: &ItemId, label: &str) -> String {
    format!("{}/{ITEM_LABELS_DIR}/{label}", id.dir(items))
}

/// `labels/<label>/<id>/<n>` (a symlink to [`item_target`]).
pub fn index_path(label: &str, id: &ItemId) -> String {
    format!("{LABELS_DIR}/{label}/{}/{}", id.author, id.number)
}

/// `/<items>/<id>/<n>`: where a label's index entry points.
pub fn item_target(items: &str, id: &ItemId) -> String {
    format!("/{}", id.dir(items))
}

/// Put `label` on the item: both links.
pub fn link(tx: &mut Tx, items: &str, id: &ItemId, label: &str) {
    tx.symlink(item_path(items, id, label), link_target(label));
    tx.symlink(index_path(label, id), item_target(items, id));
}

/// Take `label` off the item: both links.
pub fn unlink(tx: &mut Tx, items: &str, id: &ItemId, label: &str) {
    tx.remove(item_path(items, id, label));
    tx.remove(index_path(label, id));
}

/// A new label name with its description (trimmed; empty is fine).
pub fn create(tx: &mut Tx, label: &str, description: &str) {
    let mut text = description.trim().to_owned();
    if !text.is_empty() {
        text.push('\n');
    }
    tx.file(description_path(label), text);
}

/// The label names under `labels` (the root's entry), with their descriptions.
/// A label directory without a description file is a warning: no such label.
pub fn read_names(reader: &mut TreeReader<'_>, labels: &Entry) -> Result<BTreeMap<String, String>> {
    let mut names = BTreeMap::new();
    if !labels.mode.is_tree() {
        reader.warn(LABELS_DIR, "not a directory");
        return Ok(names);
    }
    for label in reader.tree(&labels.id)? {
        let path = format!("{LABELS_DIR}/{}", label.name);
        if !label.mode.is_tree() {
            reader.warn(path, "not a directory");
            continue;
        }
        let entries = reader.tree(&label.id)?;
        match entries.iter().find(|e| e.name == DESCRIPTION) {
            Some(d) if d.mode.is_blob() => {
                let text = String::from_utf8_lossy(&reader.blob(&d.id)?)
                    .trim()
                    .to_owned();
                names.insert(label.name.clone(), text);
            }
            _ => reader.warn(
                format!("{path}/{DESCRIPTION}"),
                "missing: the label does not exist",
            ),
        }
    }
    Ok(names)
}

/// An item's `labels` directory (`entry`, at `path`): the names of the labels
/// it carries, sorted. Links to labels that do not exist are warnings; where
/// a link points is checked only when `check_targets` (a listing skips the
/// read of one blob per label: the name says which label).
pub fn read_item(
    reader: &mut TreeReader<'_>,
    path: &str,
    entry: &Entry,
    names: &BTreeMap<String, String>,
    check_targets: bool,
) -> Result<Vec<String>> {
    let mut labels = Vec::new();
    for l in reader.tree(&entry.id)? {
        let lpath = || format!("{path}/{}", l.name);
        if !l.mode.is_link() {
            reader.warn(lpath(), "not a symlink");
            continue;
        }
        if !names.contains_key(&l.name) {
            reader.warn(lpath(), "dangling symlink: no such label");
            continue;
        }
        if check_targets {
            let target = reader.link(&l.id)?;
            if target != link_target(&l.name) {
                reader.warn(lpath(), format!("dangling symlink to {target}"));
                continue;
            }
        }
        labels.push(l.name);
    }
    labels.sort();
    Ok(labels)
}

/// Check the index side (`labels/<label>/<id>/<n>`, the tree `labels`) against
/// the items read: `carries(id, label)` is `None` when there is no such item,
/// else whether it carries the label. Every mismatch is a warning (`noun`
/// names an item in it: `merge request`).
pub fn check_index(
    reader: &mut TreeReader<'_>,
    labels: &gix::ObjectId,
    items: &str,
    noun: &str,
    carries: impl Fn(&ItemId, &str) -> Option<bool>,
) -> Result<()> {
    for label in reader.tree(labels)? {
        if !label.mode.is_tree() {
            continue;
        }
        for author in reader.tree(&label.id)? {
            if author.name == DESCRIPTION {
                continue;
            }
            let path = format!("{LABELS_DIR}/{}/{}", label.name, author.name);
            let Some(fpr) = Fingerprint::parse(&author.name)
                .ok()
                .filter(|_| author.mode.is_tree())
            else {
                reader.warn(path, "not a user id directory");
                continue;
            };
            for n in reader.tree(&author.id)? {
                let path = format!("{path}/{}", n.name);
                let id = parse_number(&n.name).map(|number| ItemId {
                    author: fpr.clone(),
                    number,
                });
                match id {
                    Some(id) if n.mode.is_link() => {
                        let target = reader.link(&n.id)?;
                        let has = carries(&id, &label.name);
                        if target != item_target(items, &id) || has.is_none() {
                            reader.warn(path, format!("dangling symlink to {target}"));
                        } else if has == Some(false) {
                            reader.warn(path, format!("the {noun} does not carry this label"));
                        }
                    }
                    _ => reader.warn(path, "not a symlink named by a number"),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid("ci-pass"));
        assert!(!valid("a/b"));
        assert!(!valid("description"));
        assert!(!valid(""));
        assert!(!valid(".."));
    }

    #[test]
    fn both_links() {
        let id = ItemId {
            author: Fingerprint::parse(&"A".repeat(40)).unwrap(),
            number: 2,
        };
        let mut tx = Tx::default();
        link(&mut tx, "issues", &id, "bug");
        let a = "A".repeat(40);
        assert_eq!(
            tx.edits,
            [
                crate::tx::TreeEdit::Symlink {
                    path: format!("issues/{a}/2/labels/bug"),
                    target: "/labels/bug".into()
                },
                crate::tx::TreeEdit::Symlink {
                    path: format!("labels/bug/{a}/2"),
                    target: format!("/issues/{a}/2")
                },
            ]
        );
    }
}

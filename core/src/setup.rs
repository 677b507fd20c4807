//! An app's `init`: its policy files onto `apps/access-control` and its data
//! branch with the standard labels, in one signed push. Run again, it repairs:
//! it appends the rules and members a file lacks (never removing or changing a
//! line somebody wrote) and creates the labels that are missing.

use gix::ObjectId;

use crate::error::GitResultExt;
use crate::forge::Forge;
use crate::label;
use crate::policy::{append_lines, missing_lines};
use crate::refs::ACCESS_CONTROL_REF;
use crate::tx::{self, TreeEdit};
use crate::{Error, Fingerprint, Result};

/// What an `init` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Initialised {
    /// The new `apps/access-control` commit, when a policy file was added to.
    pub access_control: Option<ObjectId>,
    /// The new data commit, when the branch was created or given labels.
    pub data: Option<ObjectId>,
    /// What was added, one line each (`refs/issues.conf (new)`, `3 standard label(s)`).
    pub added: Vec<String>,
    /// Whether the data branch was there already (a repair).
    pub repaired: bool,
    /// Rules an older version of the app wrote and this one retires, still in
    /// the policy (`<file>: <line>`). `init` never removes a line somebody may
    /// have written on purpose, and rules only allow: the owner removes these.
    pub retired: Vec<String>,
}

/// The maintainers an `init` names: the user running it first when the app
/// is new (the owner maintains from the start), then `named`; a repair adds
/// only who is named.
pub fn maintainers(me: &Fingerprint, repair: bool, named: &[Fingerprint]) -> Vec<Fingerprint> {
    let mut all = if repair { Vec::new() } else { vec![me.clone()] };
    for m in named {
        if !all.contains(m) {
            all.push(m.clone());
        }
    }
    all
}

/// Write the app's policy files (path, content; `files` is told whether this
/// is a repair, the data branch being there already) into `apps/access-control`
/// (whole when new, else their missing lines) and create the data branch with
/// `labels` (name, description), or add those missing: one atomic signed push.
/// `retired` (path, line): rules older versions wrote and this one does not,
/// reported in [`Initialised::retired`] when a file still has them.
pub fn init(
    forge: &Forge,
    files: impl FnOnce(bool) -> Vec<(String, String)>,
    labels: &[(&str, &str)],
    retired: &[(String, String)],
) -> Result<Initialised> {
    let fetched = forge.fetch()?;
    let files = files(fetched.data);
    let ac_tip = forge
        .access_control_tip()?
        .filter(|_| fetched.access_control)
        .ok_or_else(|| Error::NoAccessControl {
            remote: forge.remote().to_owned(),
        })?;
    let repo = forge.repo();
    let command = forge.app().command;
    let stamp = format!("added by `{command} init` {}", forge.app().version);
    let ac_tree = repo.find_commit(ac_tip).git()?.tree().git()?;
    let mut done = Initialised {
        repaired: fetched.data,
        ..Initialised::default()
    };
    let mut edits = Vec::new();
    for (path, ours) in &files {
        let theirs = match ac_tree.lookup_entry_by_path(path.as_str()).git()? {
            Some(e) => Some(String::from_utf8_lossy(&e.object().git()?.data).into_owned()),
            None => None,
        };
        let data = match theirs {
            None => {
                done.added.push(format!("{path} (new)"));
                ours.clone()
            }
            Some(theirs) => {
                for (file, line) in retired.iter().filter(|(file, _)| file == path) {
                    if theirs.lines().any(|l| l.trim() == line.trim()) {
                        done.retired.push(format!("{file}: {line}"));
                    }
                }
                let missing = missing_lines(&theirs, ours);
                if missing.is_empty() {
                    continue;
                }
                done.added
                    .push(format!("{path}: {} line(s)", missing.len()));
                append_lines(&theirs, &missing, &stamp)
            }
        };
        edits.push(TreeEdit::File {
            path: path.clone(),
            data: data.into_bytes(),
        });
    }
    let signature = forge.signature()?;
    let mut updates = Vec::new();
    if !edits.is_empty() {
        let tree = tx::write_tree(repo, Some(ac_tree.id), &edits)?;
        let what = forge.app().what;
        let message = if fetched.data {
            format!("{command} init: repair the {what} policies and groups\n")
        } else {
            format!("{command} init: {what} policies and groups\n")
        };
        let id = tx::write_commit(repo, tree, &[ac_tip], &message, signature.clone())?;
        updates.push((ACCESS_CONTROL_REF.to_owned(), id));
        done.access_control = Some(id);
    }
    let (base, parents) = match forge.data_tip()?.filter(|_| fetched.data) {
        Some(tip) => (
            Some(repo.find_commit(tip).git()?.tree_id().git()?.detach()),
            vec![tip],
        ),
        None => (None, Vec::new()),
    };
    let present = crate::thread::write::names_in(repo, base, label::LABELS_DIR)?;
    let mut data_edits = Vec::new();
    for (name, description) in labels {
        let has_description =
            present.iter().any(|p| p == name) && label_described(repo, base, name)?;
        if !has_description {
            let mut t = crate::tx::Tx::default();
            label::create(&mut t, name, description);
            data_edits.extend(t.edits);
        }
    }
    if !data_edits.is_empty() || !fetched.data {
        if fetched.data {
            done.added
                .push(format!("{} standard label(s)", data_edits.len()));
        }
        let tree = tx::write_tree(repo, base, &data_edits)?;
        let message = if fetched.data {
            format!("{command} init: the standard labels\n")
        } else {
            format!("{command} init: the {} data branch\n", forge.app().what)
        };
        let id = tx::write_commit(repo, tree, &parents, &message, signature)?;
        updates.push((forge.app().data_ref(), id));
        done.data = Some(id);
    }
    if !updates.is_empty() {
        forge.push_retrying(&updates)?;
    }
    Ok(done)
}

fn label_described(repo: &gix::Repository, tree: Option<ObjectId>, name: &str) -> Result<bool> {
    let names =
        crate::thread::write::names_in(repo, tree, &format!("{}/{name}", label::LABELS_DIR))?;
    Ok(names.iter().any(|n| n == label::DESCRIPTION))
}

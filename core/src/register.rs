//! `register` (`git mr register`, `git issue register`): put one's own public key on `apps/access-control`, at
//! `keys/<FPR>.asc`, in one signed push. The server takes it where its policy lets
//! anyone add their own key (`gitapps-hook install --open-registration`); else the
//! owner adds keys.

use sequoia_openpgp as openpgp;

use crate::error::GitResultExt;
use crate::forge::Forge;
use crate::refs::ACCESS_CONTROL_REF;
use crate::tx::{self, TreeEdit};
use crate::Fingerprint;
use crate::{Error, Result};

/// What became of the key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// It was not there: now it is.
    Added,
    /// Another version of the key was there (new user ids, a new expiry …).
    Updated,
    /// The same key was there: nothing was pushed.
    Unchanged,
}

/// `keys/<FPR>.asc`
pub fn key_path(who: &Fingerprint) -> String {
    format!("keys/{who}.asc")
}

/// Check that `armored` is one certificate whose primary key is `who`.
fn check_key(who: &Fingerprint, armored: &[u8]) -> Result<()> {
    use openpgp::parse::Parse;
    let cert = openpgp::Cert::from_bytes(armored).map_err(|e| Error::Gpg {
        key: who.to_string(),
        detail: format!("gpg's export is not a certificate: {e}"),
    })?;
    let fpr = cert.fingerprint().to_hex();
    if !fpr.eq_ignore_ascii_case(who.as_str()) {
        return Err(Error::Gpg {
            key: who.to_string(),
            detail: format!("gpg exported the key {fpr}, not {who}"),
        });
    }
    Ok(())
}

/// Write `keys/<me>.asc` on `apps/access-control` and push it, signed; on a lost
/// race, fetch and try again (as every change does).
pub fn register(forge: &Forge) -> Result<(Fingerprint, Registration)> {
    let me = forge.me()?;
    let key = forge.export_my_key()?;
    check_key(&me, &key)?;
    let path = key_path(&me);
    let mut waits = crate::forge::backoff();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let fetched = forge.fetch()?;
        let tip = forge
            .access_control_tip()?
            .filter(|_| fetched.access_control)
            .ok_or_else(|| Error::NoAccessControl {
                remote: forge.remote().to_owned(),
            })?;
        let repo = forge.repo();
        let tree = repo.find_commit(tip).git()?.tree().git()?;
        let existing = match tree.lookup_entry_by_path(path.as_str()).git()? {
            Some(e) => Some(e.object().git()?.data.clone()),
            None => None,
        };
        let registration = match existing {
            Some(old) if old == key => return Ok((me, Registration::Unchanged)),
            Some(_) => Registration::Updated,
            None => Registration::Added,
        };
        let new_tree = tx::write_tree(
            repo,
            Some(tree.id),
            &[TreeEdit::File {
                path: path.clone(),
                data: key.clone(),
            }],
        )?;
        let verb = match registration {
            Registration::Updated => "Update the key of",
            _ => "Register",
        };
        let commit = tx::write_commit(
            repo,
            new_tree,
            &[tip],
            &format!(
                "{verb} {me}\n\nWritten by `{} register`.\n",
                forge.app().command
            ),
            forge.signature()?,
        )?;
        let outcome = forge.push(&[(ACCESS_CONTROL_REF.to_owned(), commit)])?;
        if forge.accepted_or_wait(outcome, &mut waits, attempts)? {
            return Ok((me, registration));
        }
    }
}

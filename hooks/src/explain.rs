//! `gitapps-hook explain`: which rule allows each operation of a set of ref
//! updates, without pushing.

use std::io::Write;
use std::path::Path;

use gitapps_policy::{Fingerprint, ACCESS_CONTROL_REF};

use crate::config::ServerConfig;
use crate::error::{GitContext, HookError, IoContext};
use crate::judge::{judge, quote_name, Detail, Judged, Verdict};
use crate::repo::{ref_target, BranchFiles};
use crate::updates::RefUpdate;

/// Print one line per operation; returns whether all are allowed.
pub fn explain(
    repo_path: &Path,
    user: &str,
    pairs: &[(String, String)],
    out: &mut dyn Write,
) -> Result<bool, HookError> {
    let mut repo = gix::open_opts(repo_path, gix::open::Options::isolated())
        .git(format!("opening {}", repo_path.display()))?;
    repo.object_cache_size_if_unset(crate::repo::OBJECT_CACHE_BYTES);
    let config = ServerConfig::read(&repo)?;
    let tip = ref_target(&repo, ACCESS_CONTROL_REF)?.ok_or_else(|| {
        HookError::Config(format!(
            "{ACCESS_CONTROL_REF} does not exist: run `gitapps-hook install`"
        ))
    })?;
    let files = BranchFiles::read(&repo, tip, config.limits.policy_file_size)?;
    let policy = files
        .policy()
        .map_err(|d| HookError::Config(format!("the current policy is invalid:\n{d}")))?;
    let user = match Fingerprint::parse(user) {
        Ok(f) => f,
        Err(_) => user_by_name(&repo, &files, user)?,
    };

    let mut updates = Vec::with_capacity(pairs.len());
    for (name, rev) in pairs {
        let name = if name.starts_with("refs/") {
            name.clone()
        } else {
            format!("refs/heads/{name}")
        };
        let old = ref_target(&repo, &name)?;
        let new = if rev == "delete" {
            None
        } else {
            Some(
                repo.rev_parse_single(rev.as_str())
                    .git(format!("resolving {rev}"))?
                    .detach(),
            )
        };
        if old.is_none() && new.is_none() {
            return Err(HookError::Usage(format!(
                "{name} does not exist: nothing to delete"
            )));
        }
        updates.push(RefUpdate { old, new, name });
    }

    let rules = policy
        .for_user(&user, &config.owner)
        .git("compiling the policy")?;
    let mut out = std::io::BufWriter::new(out);
    let mut all_allowed = true;
    judge(
        &repo,
        &rules,
        &updates,
        config.max_file_size,
        Detail::WithRules,
        &mut |judged| {
            all_allowed &= judged.allowed();
            write_line(&mut out, judged).io("writing the explanation")
        },
    )?;
    out.flush().io("writing the explanation")?;
    Ok(all_allowed)
}

/// The one key on the access-control branch that `who` names (a name, an
/// e-mail, a fingerprint prefix of 8 hex digits or more), as `git mr` reads
/// names: `gitapps_policy::names`. Several candidates are an error listing them.
fn user_by_name(
    repo: &gix::Repository,
    files: &BranchFiles,
    who: &str,
) -> Result<Fingerprint, HookError> {
    use gitapps_policy::names::{resolve, Identity, Who};
    let limits = crate::config::Limits::read(&repo.config_snapshot())?;
    let mut keys = Vec::new();
    for (path, blob) in files.key_files(repo)? {
        let Ok(cert) = crate::repo::read_key_file(repo, &path, blob, &limits)? else {
            continue;
        };
        let Ok(fingerprint) = Fingerprint::parse(&cert.fingerprint().to_hex()) else {
            continue;
        };
        let mut id = Identity::bare(fingerprint);
        for ua in cert.userids() {
            id.names
                .extend(ua.userid().name().ok().flatten().map(str::to_owned));
            id.emails
                .extend(ua.userid().email().ok().flatten().map(str::to_owned));
        }
        keys.push(id);
    }
    match resolve(who, None, &keys) {
        Who::One(f) => Ok(f),
        Who::Nobody { .. } => Err(HookError::Usage(format!(
            "--user {who:?}: no key on {ACCESS_CONTROL_REF} has that name, e-mail or \
             fingerprint prefix (8 hex digits or more)"
        ))),
        Who::Ambiguous(candidates) => {
            let list: Vec<String> = candidates
                .iter()
                .map(|c| format!("  {} (by {})", c.fingerprint, c.how()))
                .collect();
            Err(HookError::Usage(format!(
                "--user {who:?} could mean more than one key; give a fingerprint:\n{}",
                list.join("\n")
            )))
        }
    }
}

/// Write one line, skipping `fmt` on the hot path: a large explanation is
/// mostly file names. Names that would break the line are quoted.
fn write_line(out: &mut impl Write, j: &Judged<'_>) -> std::io::Result<()> {
    let verdict = if j.allowed() { "allow " } else { "deny " };
    out.write_all(verdict.as_bytes())?;
    out.write_all(j.op.as_str().as_bytes())?;
    out.write_all(b" ")?;
    out.write_all(quote_name(j.name).as_bytes())?;
    match j.verdict {
        Verdict::Allowed(Some(at)) => {
            out.write_all(b" (")?;
            out.write_all(at.file.as_bytes())?;
            writeln!(out, ":{})", at.line)
        }
        Verdict::Allowed(None) | Verdict::NoRule => out.write_all(b"\n"),
        Verdict::Protected => out.write_all(b" (only the server writes it)\n"),
        Verdict::TooLarge { size, limit, by } => {
            writeln!(out, " ({size} bytes, over the limit of {limit} bytes {by})")
        }
    }
}

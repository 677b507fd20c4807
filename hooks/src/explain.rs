//! `gitapps-hook explain`: which rule allows each operation of a set of ref
//! updates, without pushing.

use std::io::Write;
use std::path::Path;

use gitapps_policy::{Fingerprint, ACCESS_CONTROL_REF};

use crate::config::ServerConfig;
use crate::error::{GitContext, HookError, IoContext};
use crate::judge::{judge, Decision, Detail, Verdict};
use crate::repo::{ref_target, BranchFiles};
use crate::updates::RefUpdate;

/// Print one line per operation; returns whether all are allowed.
pub fn explain(
    repo_path: &Path,
    user: &str,
    pairs: &[(String, String)],
    out: &mut dyn Write,
) -> Result<bool, HookError> {
    let user =
        Fingerprint::parse(user).map_err(|e| HookError::Usage(format!("--user {user:?}: {e}")))?;
    let repo = gix::open_opts(repo_path, gix::open::Options::isolated())
        .git(format!("opening {}", repo_path.display()))?;
    let config = ServerConfig::read(&repo)?;
    let tip = ref_target(&repo, ACCESS_CONTROL_REF)?.ok_or_else(|| {
        HookError::Config(format!(
            "{ACCESS_CONTROL_REF} does not exist: run `gitapps-hook install`"
        ))
    })?;
    let policy = BranchFiles::read(&repo, tip)?
        .policy()
        .map_err(|d| HookError::Config(format!("the current policy is invalid:\n{d}")))?;

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
    let decisions = judge(
        &repo,
        &rules,
        &updates,
        config.max_file_size,
        Detail::WithRules,
    )?;
    let mut out = std::io::BufWriter::new(out);
    for d in &decisions {
        writeln!(out, "{}", line(d)).io("writing the explanation")?;
    }
    out.flush().io("writing the explanation")?;
    Ok(decisions.iter().all(Decision::allowed))
}

fn line(d: &Decision) -> String {
    let (op, name) = (d.op_name(), d.name());
    match &d.verdict {
        Verdict::Allowed(at) => format!("allow {op} {name} ({at})"),
        Verdict::NoRule => format!("deny {op} {name}"),
        Verdict::Protected => format!("deny {op} {name} (only the server writes it)"),
        Verdict::TooLarge { size, limit } => {
            format!("deny {op} {name} ({size} bytes, over gitapps.maxFileSize = {limit})")
        }
    }
}

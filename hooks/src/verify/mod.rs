//! `gitapps-hook verify`: in any clone, check the remote's whole audit log
//! and every ref it shows, trusting nothing the server says that its
//! records cannot prove.
//!
//! 1. Fetch (unless `--offline`) every ref of the remote into
//!    `refs/gitapps/verify/<remote>/refs/`, then the log into
//!    `refs/gitapps/verify/<remote>/log` (in that order: git applies a
//!    push only after its record is written, so every ref value fetched
//!    first has its record in the log fetched after).
//! 2. The log must extend the copy verified last time
//!    (`refs/gitapps/verified/<remote>`): a server that dropped, reordered
//!    or rewrote records is caught.
//! 3. Replay the new records ([`replay`]): the genesis names an owner the
//!    user trusts (`--owner`, or pinned on first use in
//!    `remote.<remote>.gitappsOwner`, like ssh's known_hosts); each push is
//!    judged by the hook's own code with the policy, settings, keys and
//!    time in force at its record; each update chains from the value the
//!    records before it imply.
//! 4. Every ref the remote shows must be the value the log implies.
//!
//! The state after the last good record is kept
//! ([`state`]), so the next run verifies only what is new.

pub mod replay;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use gitapps_policy::Fingerprint;
use gix::ObjectId;

use crate::error::{GitContext, HookError, IoContext};
use crate::judge::is_audit_ref;
use crate::record::{self, LogEntry, Record};
use replay::{Check, Notice, Problem, Replay};
use state::State;

pub struct Options {
    pub remote: String,
    pub offline: bool,
    /// Owners the user trusts, besides those pinned.
    pub owners: Vec<String>,
    pub json: bool,
}

/// What a run found.
pub struct Report {
    pub remote: String,
    /// Records in the log as verified (the genesis counts).
    pub records: u64,
    /// Records verified by this run.
    pub new: u64,
    /// Refs the remote shows (the log not counted).
    pub refs: usize,
    pub tip: Option<ObjectId>,
    pub problems: Vec<Problem>,
    pub notices: Vec<Notice>,
    /// Names of pushers, for problem lines.
    names: BTreeMap<String, String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn namespace(remote: &str) -> String {
    format!("refs/gitapps/verify/{remote}")
}

fn verified_ref(remote: &str) -> String {
    format!("refs/gitapps/verified/{remote}")
}

fn owner_key(remote: &str) -> String {
    format!("remote.{remote}.gitappsOwner")
}

/// Run `verify` in the repository around the current directory.
pub fn verify(opts: &Options) -> Result<Report, HookError> {
    let valid = !opts.remote.is_empty()
        && !opts.remote.starts_with('-')
        && opts
            .remote
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid {
        return Err(HookError::Usage(format!(
            "--remote {:?}: name a remote of this clone (letters, digits, `.`, `_`, `-`)",
            opts.remote
        )));
    }
    let mut owners = BTreeSet::new();
    for owner in &opts.owners {
        let fpr = Fingerprint::parse(owner).map_err(|e| {
            HookError::Usage(format!("--owner {owner:?}: not a full fingerprint: {e}"))
        })?;
        owners.insert(fpr.to_string());
    }
    let repo = gix::discover(".").git("finding the git repository around this directory")?;
    let git_dir = repo.git_dir().to_path_buf();
    let git = |args: &[&str]| git_command(&git_dir, args);
    let ns = namespace(&opts.remote);
    let mut problems_before = Vec::new();
    if !opts.offline {
        let url = git(&["config", "--get", &format!("remote.{}.url", opts.remote)])?;
        if url.is_none() {
            return Err(HookError::Usage(format!(
                "this clone has no remote {:?} (see `git remote -v`)",
                opts.remote
            )));
        }
        fetch(
            &git_dir,
            &opts.remote,
            &format!("+refs/*:{ns}/refs/*"),
            true,
        )?;
        if !fetch(
            &git_dir,
            &opts.remote,
            &format!("+refs/apps/push-certs:{ns}/log"),
            false,
        )? {
            problems_before.push(Problem {
                check: Check::Log,
                position: None,
                commit: None,
                pusher: None,
                refname: Some(crate::judge::AUDIT_REF.to_owned()),
                message: "the remote has no audit log: nothing it shows can be verified".into(),
            });
        }
    }
    // Reopened: the fetch brought objects and refs.
    let mut repo = gix::open(&git_dir).git(format!("opening {}", git_dir.display()))?;
    // Records share objects (settings, policy trees, key files, the trees
    // of branches they diff): inflating each again was a fifth of the time.
    repo.object_cache_size_if_unset(64 << 20);
    let pinned: Vec<String> = repo
        .config_snapshot()
        .strings(owner_key(&opts.remote).as_str())
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect();
    owners.extend(pinned.iter().cloned());

    let shown = shown_refs(&repo, &ns)?;
    let tip = crate::repo::ref_target(&repo, &format!("{ns}/log"))?;
    let Some(tip) = tip else {
        if problems_before.is_empty() {
            return Err(HookError::Usage(format!(
                "nothing fetched from {} yet: run `gitapps-hook verify` without --offline first",
                opts.remote
            )));
        }
        let mut report = Report {
            remote: opts.remote.clone(),
            records: 0,
            new: 0,
            refs: shown.len(),
            tip: None,
            problems: problems_before,
            notices: Vec::new(),
            names: BTreeMap::new(),
        };
        report.names = BTreeMap::new();
        return Ok(report);
    };

    // Where the last verification stopped, if its state still holds.
    let state_path = state::path(&git_dir, &opts.remote);
    let verified = crate::repo::ref_target(&repo, &verified_ref(&opts.remote))?;
    let saved = std::fs::read_to_string(&state_path)
        .ok()
        .and_then(|t| State::decode(&t))
        .filter(|s| s.last.is_some() && s.last == verified);
    let (entries, found) = walk(&repo, tip, saved.as_ref().and_then(|s| s.last));
    let mut problems = problems_before;
    let state = match (saved, found) {
        (Some(state), true) => state,
        (Some(state), false) => {
            problems.push(Problem {
                check: Check::Log,
                position: Some(state.position),
                commit: state.last,
                pusher: None,
                refname: None,
                message: format!(
                    "the server's log no longer holds record {} ({}), which this clone verified before: records were removed, reordered or rewritten",
                    state.position,
                    state.last.map(|c| c.to_string()).unwrap_or_default()
                ),
            });
            State::default()
        }
        (None, _) => State::default(),
    };
    let start = state.position;
    let from_scratch = state.last.is_none();
    let mut replay = Replay::new(&repo, &git_dir, state, owners.clone());
    if from_scratch {
        if let Some(Ok(first)) = entries.first() {
            if !matches!(first.record, Record::Genesis(_)) {
                replay.problems.push(Problem {
                    check: Check::Genesis,
                    position: Some(1),
                    commit: Some(first.commit),
                    pusher: None,
                    refname: None,
                    message: "the log does not start with a genesis record: where it began, and whose it was, cannot be checked".into(),
                });
            }
        }
    }
    let total = entries.len();
    let progress = std::io::stderr().is_terminal() && !opts.json && total > 200;
    for (i, entry) in entries.iter().enumerate() {
        match entry {
            Ok(entry) => replay.record(entry),
            Err((commit, why)) => replay.unreadable(*commit, why.clone()),
        }
        if progress && (i % 100 == 0 || i + 1 == total) {
            eprint!("\rverifying record {} of {total}", i + 1);
        }
    }
    if progress {
        eprintln!();
    }
    let records_ok = replay.problems.is_empty() && problems.is_empty();
    replay.present(&shown);
    problems.append(&mut replay.problems);

    if records_ok {
        save(&git_dir, &opts.remote, &replay.state, &state_path)?;
        let mut trusted = owners;
        if let Some(owner) = &replay.state.owner {
            trusted.insert(owner.clone());
        }
        for owner in trusted.difference(&pinned.into_iter().collect()) {
            git(&["config", "--add", &owner_key(&opts.remote), owner])?;
        }
    }
    let mut report = Report {
        remote: opts.remote.clone(),
        records: replay.state.position,
        new: replay.state.position.saturating_sub(start),
        refs: shown.len(),
        tip: Some(tip),
        problems,
        notices: replay.notices,
        names: BTreeMap::new(),
    };
    report.names = pusher_names(&repo, &report, &replay.state);
    Ok(report)
}

/// `git fetch` one refspec; `false` when the remote has no such ref
/// (and `optional` is false, the caller reports it), an error otherwise.
fn fetch(git_dir: &Path, remote: &str, refspec: &str, prune: bool) -> Result<bool, HookError> {
    let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"];
    if prune {
        args.push("--prune");
    }
    args.extend([remote, refspec]);
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(&args)
        .env("LC_ALL", "C")
        .output()
        .io("running git fetch")?;
    if out.status.success() {
        return Ok(true);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("couldn't find remote ref") {
        return Ok(false);
    }
    Err(HookError::Git {
        context: format!("git fetch {remote} {refspec}"),
        message: stderr.trim().to_owned(),
    })
}

/// `git ARGS` in `git_dir`: its stdout, or `None` when it exits 1 (a
/// config key not set).
fn git_command(git_dir: &Path, args: &[&str]) -> Result<Option<String>, HookError> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .output()
        .io(format!("running git {}", args.join(" ")))?;
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())),
        Some(1) => Ok(None),
        _ => Err(HookError::Git {
            context: format!("git {}", args.join(" ")),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
    }
}

/// The refs the remote showed at the last fetch, by their names there,
/// the audit log left out.
fn shown_refs(repo: &gix::Repository, ns: &str) -> Result<BTreeMap<String, ObjectId>, HookError> {
    let prefix = format!("{ns}/refs/");
    let mut out = BTreeMap::new();
    let platform = repo.references().git("listing refs")?;
    for r in platform.prefixed(prefix.as_str()).git("listing refs")? {
        let mut r = r.map_err(|e| HookError::Git {
            context: "listing refs".into(),
            message: e.to_string(),
        })?;
        let full = r.name().as_bstr().to_string();
        let name = format!("refs/{}", &full[prefix.len()..]);
        if is_audit_ref(&name) {
            continue;
        }
        let id = match r.target().try_id() {
            Some(id) => id.to_owned(),
            None => r.peel_to_id().git(format!("resolving {full}"))?.detach(),
        };
        out.insert(name, id);
    }
    Ok(out)
}

type Walked = Result<LogEntry, (ObjectId, String)>;

/// The log's records from its tip back to `stop` (excluded) or its start,
/// oldest first; and whether `stop` was met. A record that cannot be read
/// ends the walk (its parent is unknown).
fn walk(repo: &gix::Repository, tip: ObjectId, stop: Option<ObjectId>) -> (Vec<Walked>, bool) {
    let mut out = Vec::new();
    let mut next = Some(tip);
    let mut found = false;
    while let Some(commit) = next {
        if Some(commit) == stop {
            found = true;
            break;
        }
        match record::read(repo, commit) {
            Ok(entry) => {
                next = match entry.record {
                    Record::Genesis(_) => None,
                    _ => entry.previous,
                };
                out.push(Ok(entry));
            }
            Err(why) => {
                out.push(Err((commit, why)));
                break;
            }
        }
    }
    out.reverse();
    (out, found)
}

/// Keep the state after the last record, and the copy of the log it is for.
fn save(git_dir: &Path, remote: &str, state: &State, path: &PathBuf) -> Result<(), HookError> {
    let dir = path.parent().unwrap_or(git_dir);
    std::fs::create_dir_all(dir).io(format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .io(format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(state.encode().as_bytes())
        .io("writing the verification state")?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .io(format!("writing {}", path.display()))?;
    if let Some(last) = state.last {
        git_command(
            git_dir,
            &["update-ref", &verified_ref(remote), &last.to_string()],
        )?;
    }
    Ok(())
}

/// The names in the keys of the pushers that problems name, from the
/// access-control branch as the log leaves it.
fn pusher_names(
    repo: &gix::Repository,
    report: &Report,
    state: &State,
) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let Some(tip) = state
        .refs
        .get(gitapps_policy::ACCESS_CONTROL_REF)
        .and_then(|r| r.current())
    else {
        return names;
    };
    let limits = crate::config::Limits::default();
    for pusher in report.problems.iter().filter_map(|p| p.pusher.as_deref()) {
        if names.contains_key(pusher) || Fingerprint::parse(pusher).is_err() {
            continue;
        }
        let path = format!("keys/{pusher}.asc");
        let name = crate::repo::BranchFiles::read(repo, tip, limits.policy_file_size)
            .ok()
            .and_then(|files| files.key_file(repo, &path).ok().flatten())
            .and_then(|blob| crate::repo::read_key_file(repo, &path, blob, &limits).ok())
            .and_then(Result::ok)
            .and_then(|cert| {
                cert.userids()
                    .find_map(|ua| ua.userid().name().ok().flatten().map(str::to_owned))
            });
        if let Some(name) = name {
            names.insert(pusher.to_owned(), name);
        }
    }
    names
}

impl Report {
    fn who(&self, p: &Problem) -> String {
        let mut parts = Vec::new();
        if let Some(commit) = p.commit {
            parts.push(commit.to_hex_with_len(7).to_string());
        }
        if let Some(pusher) = &p.pusher {
            let short = replay::short(pusher);
            match self.names.get(pusher) {
                Some(name) => parts.push(format!("{} {short}", clean(name))),
                None => parts.push(clean(short)),
            }
        }
        parts.join(", ")
    }

    /// One line per problem, then the summary; notes to `notes`.
    pub fn write_text(&self, out: &mut dyn Write, notes: &mut dyn Write) -> std::io::Result<()> {
        for n in &self.notices {
            let commit = n
                .commit
                .map(|c| format!(" ({})", c.to_hex_with_len(7)))
                .unwrap_or_default();
            writeln!(
                notes,
                "note: record {}{commit}: {}",
                n.position,
                clean(&n.message)
            )?;
        }
        for p in &self.problems {
            let place = match (p.position, &p.refname) {
                (Some(pos), _) => format!("record {pos} ({})", self.who(p)),
                (None, Some(r)) => format!("ref {}", clean(r)),
                (None, None) => "log".to_owned(),
            };
            writeln!(out, "{place}: {}: {}", p.check.as_str(), clean(&p.message))?;
        }
        let verdict = match self.problems.len() {
            0 => "all verified".to_owned(),
            1 => "1 problem".to_owned(),
            n => format!("{n} problems"),
        };
        writeln!(
            out,
            "verified {} records of {}'s audit log ({} new) and {} refs: {verdict}",
            self.records, self.remote, self.new, self.refs
        )
    }

    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let opt = |s: Option<String>| s.map_or_else(|| "null".to_owned(), |s| json_string(&s));
        let problems: Vec<String> = self
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{{\"check\":{},\"record\":{},\"commit\":{},\"pusher\":{},\"pusher_name\":{},\"ref\":{},\"message\":{}}}",
                    json_string(p.check.as_str()),
                    p.position.map_or_else(|| "null".to_owned(), |n| n.to_string()),
                    opt(p.commit.map(|c| c.to_string())),
                    opt(p.pusher.clone()),
                    opt(p.pusher.as_ref().and_then(|f| self.names.get(f).cloned())),
                    opt(p.refname.clone()),
                    json_string(&p.message),
                )
            })
            .collect();
        let notes: Vec<String> = self
            .notices
            .iter()
            .map(|n| {
                format!(
                    "{{\"record\":{},\"commit\":{},\"message\":{}}}",
                    n.position,
                    opt(n.commit.map(|c| c.to_string())),
                    json_string(&n.message)
                )
            })
            .collect();
        writeln!(
            out,
            "{{\"remote\":{},\"ok\":{},\"records\":{},\"new\":{},\"refs\":{},\"tip\":{},\"problems\":[{}],\"notes\":[{}]}}",
            json_string(&self.remote),
            self.ok(),
            self.records,
            self.new,
            self.refs,
            opt(self.tip.map(|t| t.to_string())),
            problems.join(","),
            notes.join(",")
        )
    }
}

/// Text from the log (a hostile server's, maybe) as one printable line.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || is_bidi(c) { '?' } else { c })
        .collect()
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}')
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || is_bidi(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(json_string("\u{202E}x"), "\"\\u202ex\"");
        assert_eq!(clean("a\nb\u{202E}"), "a?b?");
    }
}

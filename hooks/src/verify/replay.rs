//! Replaying the audit log: every record in order, judged as the hook
//! judged it ([`crate::judgement`]), every ref update chained to the value
//! the records before it imply, and at the end every ref the server shows
//! compared with the value the log implies.
//!
//! **Applied or not.** A push record is written while git holds the locks
//! of the refs it updates, before git applies them; git may still fail, or
//! die, before it does. So a record's update of a ref stays *unresolved*
//! until the next observation of that ref: the old value of the next record
//! that updates it, the `access-control` commit the next push was judged
//! by (for the policy branch), an upgrade record's list, or the ref's value
//! on the server now. The update was applied if the ref is then at its new
//! value, not applied if it is still at its old one; anything else is a
//! break in the chain (a ref moved without a record, or a record lost).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use gitapps_policy::{Fingerprint, ACCESS_CONTROL_REF};
use gix::ObjectId;
use sequoia_openpgp::Cert;

use crate::cert::PushCertificate;
use crate::config::{Limits, ServerConfig};
use crate::judgement::{check_certificate, load_policy, Judge, LoadedPolicy};
use crate::keyfile::parse_certs;
use crate::ledger::{signed_digest, Ledger};
use crate::record::{self, Genesis, LogEntry, Push, PushFormat, Record, Upgrade};
use crate::repo::read_blob_capped;
use crate::updates::RefUpdate;

use super::state::{CertSeen, RefState, State};

/// Which check a problem failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The log does not start as it must, or names an owner not trusted.
    Genesis,
    /// A record that cannot be read.
    Record,
    /// The certificate, its signature, or its key.
    Signature,
    /// The policy in force forbade the push, or the record claims another.
    Policy,
    /// A ref update does not follow from the records before it.
    Chain,
    /// The same signed text twice.
    Replay,
    /// The records' times go backwards.
    Time,
    /// The owner changed to one not trusted.
    Owner,
    /// A ref the server shows that the log does not explain.
    Present,
    /// The log does not extend the copy verified before.
    Log,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Genesis => "genesis",
            Check::Record => "record",
            Check::Signature => "signature",
            Check::Policy => "policy",
            Check::Chain => "chain",
            Check::Replay => "replay",
            Check::Time => "time",
            Check::Owner => "owner",
            Check::Present => "present",
            Check::Log => "log",
        }
    }
}

/// One problem found.
#[derive(Clone, Debug)]
pub struct Problem {
    pub check: Check,
    /// The record's position in the log (the genesis is 1), if it is about one.
    pub position: Option<u64>,
    pub commit: Option<ObjectId>,
    /// The record's pusher, if any.
    pub pusher: Option<String>,
    /// The ref, for a problem about one.
    pub refname: Option<String>,
    pub message: String,
}

/// A fact worth saying that is no problem: a key from the server's keyring,
/// an owner change the user trusts.
#[derive(Clone, Debug)]
pub struct Notice {
    pub position: u64,
    pub commit: Option<ObjectId>,
    pub message: String,
}

/// The replayer: the state the records so far imply, and what was found.
pub struct Replay<'r> {
    repo: &'r gix::Repository,
    git_dir: &'r Path,
    pub state: State,
    /// Owners the user trusts (`--owner`, and those pinned before).
    trusted: BTreeSet<String>,
    pub problems: Vec<Problem>,
    pub notices: Vec<Notice>,
    policy: Option<Rc<LoadedPolicy>>,
    settings: Option<(Option<ObjectId>, Rc<ServerConfig>)>,
}

/// Where a record is: its position, commit, pusher.
#[derive(Clone)]
struct At {
    position: u64,
    commit: ObjectId,
    pusher: Option<String>,
}

impl<'r> Replay<'r> {
    pub fn new(
        repo: &'r gix::Repository,
        git_dir: &'r Path,
        state: State,
        trusted: BTreeSet<String>,
    ) -> Self {
        Replay {
            repo,
            git_dir,
            state,
            trusted,
            problems: Vec::new(),
            notices: Vec::new(),
            policy: None,
            settings: None,
        }
    }

    fn problem(&mut self, check: Check, at: Option<&At>, refname: Option<&str>, message: String) {
        self.problems.push(Problem {
            check,
            position: at.map(|a| a.position),
            commit: at.map(|a| a.commit),
            pusher: at.and_then(|a| a.pusher.clone()),
            refname: refname.map(str::to_owned),
            message,
        });
    }

    /// Replay one record (the next one after `self.state.last`).
    pub fn record(&mut self, entry: &LogEntry) {
        let position = self.state.position + 1;
        let at = At {
            position,
            commit: entry.commit,
            pusher: match &entry.record {
                Record::Push(p) => Some(p.pusher.clone()),
                _ => None,
            },
        };
        match &entry.record {
            Record::Genesis(g) => self.genesis(&at, g),
            Record::Push(p) => self.push(&at, p),
            Record::Upgrade(u) => self.upgrade(&at, u),
        }
        self.state.position = position;
        self.state.last = Some(entry.commit);
    }

    /// A record that cannot be read is a problem, and counts as one.
    pub fn unreadable(&mut self, commit: ObjectId, why: String) {
        let at = At {
            position: self.state.position + 1,
            commit,
            pusher: None,
        };
        self.problem(Check::Record, Some(&at), None, why);
        self.state.position += 1;
        self.state.last = Some(commit);
    }

    fn genesis(&mut self, at: &At, g: &Genesis) {
        if self.state.position != 0 {
            self.problem(
                Check::Genesis,
                Some(at),
                None,
                "a second genesis record in the middle of the log".into(),
            );
        }
        if self.trusted.is_empty() {
            // Trust on first use: the caller pins it.
            self.trusted.insert(g.owner.clone());
            self.notices.push(Notice {
                position: at.position,
                commit: Some(at.commit),
                message: format!(
                    "the log's genesis names the owner {}: trusted from now on (trust on first use; give --owner to check it)",
                    g.owner
                ),
            });
        } else if !self.trusted.contains(&g.owner) {
            self.problem(
                Check::Genesis,
                Some(at),
                None,
                format!(
                    "the genesis names the owner {}, not {}: this is not the server you trust, or its log was replaced",
                    g.owner,
                    self.trusted.iter().cloned().collect::<Vec<_>>().join(" or ")
                ),
            );
        }
        self.state.owner = Some(g.owner.clone());
        self.state.settings = g.settings;
        self.state.time = g.time.unwrap_or(0);
        let refs = g
            .refs
            .clone()
            .unwrap_or_else(|| vec![(ACCESS_CONTROL_REF.to_owned(), g.access_control)]);
        let names_policy = refs
            .iter()
            .any(|(n, id)| n == ACCESS_CONTROL_REF && *id == g.access_control);
        if !names_policy {
            self.problem(
                Check::Genesis,
                Some(at),
                None,
                format!("the genesis's refs do not put {ACCESS_CONTROL_REF} at its access-control commit"),
            );
        }
        self.state.refs = refs
            .into_iter()
            .map(|(name, id)| (name, RefState::at(Some(id))))
            .collect();
    }

    fn upgrade(&mut self, at: &At, u: &Upgrade) {
        self.check_time(at, u.time);
        self.change_settings(at, u.settings);
        let listed: BTreeMap<String, ObjectId> = u.refs.iter().cloned().collect();
        let names: BTreeSet<String> = listed
            .keys()
            .cloned()
            .chain(self.state.refs.keys().cloned())
            .collect();
        for name in names {
            let value = listed.get(&name).copied();
            if let Err(why) = self.observe(&name, value) {
                self.problem(
                    Check::Chain,
                    Some(at),
                    Some(&name),
                    format!(
                        "the upgrade record lists {name} at {}, but {why}",
                        show(value)
                    ),
                );
            }
        }
    }

    /// The settings of a record: a change of owner must be to one trusted.
    fn change_settings(&mut self, at: &At, settings: Option<ObjectId>) {
        let Some(id) = settings else { return };
        if self.state.settings == Some(id) {
            return;
        }
        self.state.settings = Some(id);
        let config = match self.config() {
            Ok(c) => c,
            Err(why) => {
                self.problem(Check::Record, Some(at), None, why);
                return;
            }
        };
        let owner = config.owner.to_string();
        if self.state.owner.as_deref() != Some(owner.as_str()) {
            let before = self.state.owner.clone().unwrap_or_default();
            if self.trusted.contains(&owner) {
                self.notices.push(Notice {
                    position: at.position,
                    commit: Some(at.commit),
                    message: format!("the owner changes from {before} to {owner} (trusted)"),
                });
            } else {
                self.problem(
                    Check::Owner,
                    Some(at),
                    None,
                    format!(
                        "the server changes the owner from {before} to {owner}; if that is expected, run `gitapps-hook verify --owner {owner}`"
                    ),
                );
            }
            self.state.owner = Some(owner);
        }
    }

    /// The settings in force, read once per settings blob.
    fn config(&mut self) -> Result<Rc<ServerConfig>, String> {
        let id = self.state.settings;
        if let Some((cached, config)) = &self.settings {
            if *cached == id {
                return Ok(config.clone());
            }
        }
        let config = match id {
            Some(id) => {
                let text = record::read_settings(self.repo, id)?;
                ServerConfig::from_settings_text(&text)?
            }
            // Logs from before settings were recorded: the defaults, and
            // the genesis's owner.
            None => {
                let owner = self.state.owner.clone().unwrap_or_default();
                let text = format!(
                    "{}\n{} {owner}\n",
                    crate::config::SETTINGS_MAGIC,
                    crate::config::OWNER_KEY
                );
                ServerConfig::from_settings_text(&text)?
            }
        };
        let config = Rc::new(config);
        self.settings = Some((id, config.clone()));
        Ok(config)
    }

    fn check_time(&mut self, at: &At, time: u64) {
        // Pushes are recorded in the order git applies them, each with
        // the time pre-receive accepted it: a little out of order when
        // pushes overlap, never by more than the ledger's window.
        let slop = self
            .config()
            .map(|c| Ledger::window(c.nonce_slop_secs))
            .unwrap_or(0);
        if time.saturating_add(slop) < self.state.time {
            self.problem(
                Check::Time,
                Some(at),
                None,
                format!(
                    "recorded at {}, more than {slop} s before the record before it ({})",
                    time, self.state.time
                ),
            );
        }
        self.state.time = self.state.time.max(time);
    }

    /// The value of `name` is observed to be `value`: settle its
    /// unresolved update, if any. `Err` says what the log implies instead.
    fn observe(&mut self, name: &str, value: Option<ObjectId>) -> Result<Option<u64>, String> {
        let entry = self.state.refs.entry(name.to_owned()).or_default();
        let result = entry.observe(value);
        if entry.value.is_none() && entry.unresolved.is_none() {
            self.state.refs.remove(name);
        }
        result
    }

    fn push(&mut self, at: &At, p: &Push) {
        self.check_time(at, p.time);
        self.change_settings(at, p.settings);
        let config = match self.config() {
            Ok(c) => c,
            Err(why) => return self.problem(Check::Record, Some(at), None, why),
        };
        let cert_bytes = match read_blob_capped(self.repo, p.cert, config.limits.cert_size) {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(size)) => {
                return self.problem(
                    Check::Signature,
                    Some(at),
                    None,
                    format!(
                        "its certificate is {size} bytes, over the server's limit {}",
                        config.limits.cert_size
                    ),
                )
            }
            Err(e) => {
                return self.problem(
                    Check::Record,
                    Some(at),
                    None,
                    format!("cannot read its certificate {}: {e}", p.cert),
                )
            }
        };
        let cert = match PushCertificate::parse(&cert_bytes) {
            Ok(c) => c,
            Err(e) => return self.problem(Check::Signature, Some(at), None, e.to_string()),
        };
        for u in &p.updates {
            if !cert.commands.contains(u) {
                self.problem(
                    Check::Signature,
                    Some(at),
                    Some(&u.name),
                    format!(
                        "it applies {} {} {}, which its certificate does not sign",
                        show(u.old),
                        show(u.new),
                        u.name
                    ),
                );
            }
        }
        // The policy it was judged by: the access-control commit the log
        // implies here (the record's own claim settles an unresolved change).
        let claimed = p.access_control;
        if let Some(claimed) = claimed {
            if let Err(why) = self.observe(ACCESS_CONTROL_REF, Some(claimed)) {
                self.problem(
                    Check::Policy,
                    Some(at),
                    Some(ACCESS_CONTROL_REF),
                    format!(
                        "it was judged by the policy of {claimed}, but {why}: not the policy in force"
                    ),
                );
            }
        }
        let policy_tip = match claimed {
            Some(c) => Some(c),
            None => self
                .state
                .refs
                .get(ACCESS_CONTROL_REF)
                .and_then(|r| r.current()),
        };
        let seen = self.state.certs.get(&p.cert).cloned();
        match seen {
            None => self.judge(at, p, &cert, &config, policy_tip),
            Some(first) => {
                // A later transaction of a push judged at its first record.
                if first.pusher != p.pusher {
                    self.problem(
                        Check::Signature,
                        Some(at),
                        None,
                        format!(
                            "its certificate was recorded at record {} for {}, not {}",
                            first.position, first.pusher, p.pusher
                        ),
                    );
                }
                for u in &p.updates {
                    if first.refs.contains(&u.name) {
                        self.problem(
                            Check::Replay,
                            Some(at),
                            Some(&u.name),
                            format!(
                                "its certificate was already recorded for {} at record {}: a replay",
                                u.name, first.position
                            ),
                        );
                    }
                }
            }
        }
        let entry = self.state.certs.entry(p.cert).or_insert_with(|| CertSeen {
            position: at.position,
            pusher: p.pusher.clone(),
            digest: String::new(),
            refs: Vec::new(),
        });
        entry.refs.extend(p.updates.iter().map(|u| u.name.clone()));
        self.chain(at, p);
    }

    /// Judge a push at its first record, exactly as the hook did.
    fn judge(
        &mut self,
        at: &At,
        p: &Push,
        cert: &PushCertificate<'_>,
        config: &ServerConfig,
        policy_tip: Option<ObjectId>,
    ) {
        let digest = signed_digest(cert.payload).unwrap_or_default();
        if let Some(other) = self.state.digests.get(&digest).copied() {
            let position = self.state.certs.get(&other).map_or(0, |c| c.position);
            self.problem(
                Check::Replay,
                Some(at),
                None,
                format!("it replays the signed text of record {position} (another copy of the same certificate)"),
            );
        }
        self.state.digests.insert(digest.clone(), p.cert);
        self.state.certs.insert(
            p.cert,
            CertSeen {
                position: at.position,
                pusher: p.pusher.clone(),
                digest,
                refs: Vec::new(),
            },
        );
        let now = UNIX_EPOCH + Duration::from_secs(p.time);
        let updates: &[RefUpdate] = &cert.commands;
        let sig = match check_certificate(cert, updates, config, now) {
            Ok(sig) => sig,
            Err(r) => return self.rejected(at, Check::Signature, r.lines),
        };
        let Some(tip) = policy_tip else {
            return self.problem(
                Check::Policy,
                Some(at),
                None,
                format!("the log implies no {ACCESS_CONTROL_REF} here, so no policy"),
            );
        };
        let policy = match self.policy_at(tip, config) {
            Ok(p) => p,
            Err(lines) => return self.rejected(at, Check::Policy, lines),
        };
        let keyring = match self.keyring(p) {
            Ok(k) => k,
            Err(why) => return self.problem(Check::Record, Some(at), None, why),
        };
        let decided = Judge {
            repo: self.repo,
            git_dir: self.git_dir,
            config,
            keyring: &keyring,
            now,
        }
        .decide(cert, &sig, updates, &policy);
        match decided {
            Err(r) => {
                let check = match r.code {
                    gitapps_policy::RejectCode::Signature
                    | gitapps_policy::RejectCode::UnknownKey => Check::Signature,
                    _ => Check::Policy,
                };
                self.rejected(at, check, r.lines)
            }
            Ok(accepted) => {
                if accepted.pusher.as_str() != p.pusher {
                    self.problem(
                        Check::Signature,
                        Some(at),
                        None,
                        format!(
                            "its certificate is signed by {}, but the record names {} as the pusher",
                            accepted.pusher, p.pusher
                        ),
                    );
                }
                for key in &accepted.keyring_keys {
                    self.notices.push(Notice {
                        position: at.position,
                        commit: Some(at.commit),
                        message: format!(
                            "judged with key {} from the server's keyring (gitapps.keyring), not from {ACCESS_CONTROL_REF}: the server vouches for it",
                            key.fingerprint()
                        ),
                    });
                }
            }
        }
    }

    fn rejected(&mut self, at: &At, check: Check, lines: Vec<String>) {
        let lines: Vec<String> = lines
            .into_iter()
            .map(|l| l.strip_prefix("gitapps: ").unwrap_or(&l).to_owned())
            .collect();
        self.problem(
            check,
            Some(at),
            None,
            format!(
                "the server accepted a push that its policy and keys of the time refuse: {}",
                lines.join("; ")
            ),
        );
    }

    /// The policy of access-control commit `tip` (the last one is kept).
    fn policy_at(
        &mut self,
        tip: ObjectId,
        config: &ServerConfig,
    ) -> Result<Rc<LoadedPolicy>, Vec<String>> {
        if let Some(p) = &self.policy {
            if p.tip == tip {
                return Ok(p.clone());
            }
        }
        let loaded = Rc::new(load_policy(self.repo, None, tip, config).map_err(|r| r.lines)?);
        self.policy = Some(loaded.clone());
        Ok(loaded)
    }

    /// The keys of the server's keyring a record carries.
    fn keyring(&self, p: &Push) -> Result<Vec<Cert>, String> {
        let unbounded = Limits {
            key_file_size: u64::MAX,
            key_user_ids: usize::MAX,
            ..Limits::default()
        };
        let mut certs = Vec::new();
        for (name, blob) in &p.keyring {
            let bytes = record::read_key(self.repo, *blob)?;
            let parsed =
                parse_certs(&bytes, &unbounded).map_err(|e| format!("keyring/{name}: {e}"))?;
            certs.extend(parsed);
        }
        Ok(certs)
    }

    /// Chain the record's updates: each starts from the value the log
    /// implies (settling the ref's unresolved update), then is unresolved.
    fn chain(&mut self, at: &At, p: &Push) {
        for u in &p.updates {
            if let Err(why) = self.observe(&u.name, u.old) {
                self.problem(
                    Check::Chain,
                    Some(at),
                    Some(&u.name),
                    format!("it updates {} from {}, but {why}", u.name, show(u.old)),
                );
            }
            let entry = self.state.refs.entry(u.name.clone()).or_default();
            // The update's old value is what the ref holds when it is not
            // applied, whatever the chain said.
            entry.value = u.old;
            match p.format {
                // Written after git applied it.
                PushFormat::V1 => entry.value = u.new,
                PushFormat::V2 => entry.unresolved = Some((at.position, u.new)),
            }
            if entry.value.is_none() && entry.unresolved.is_none() {
                self.state.refs.remove(&u.name);
            }
        }
    }

    /// Compare the refs the server shows (but the log) with what the log
    /// implies. An unresolved update the server shows applied is settled
    /// for good (so a later undoing of it is caught); one it shows not
    /// applied stays unresolved (it may be a push in flight: its record is
    /// written before git applies it).
    pub fn present(&mut self, shown: &BTreeMap<String, ObjectId>) {
        let names: BTreeSet<String> = shown
            .keys()
            .cloned()
            .chain(self.state.refs.keys().cloned())
            .collect();
        for name in names {
            let value = shown.get(&name).copied();
            let before = self.state.refs.get(&name).cloned().unwrap_or_default();
            let mut entry = before.clone();
            let known = entry.value.is_some() || entry.unresolved.is_some();
            let observed = entry.observe(value);
            match observed {
                Ok(None) => {
                    if entry.value.is_some() {
                        self.state.refs.insert(name, entry);
                    } else {
                        self.state.refs.remove(&name);
                    }
                }
                Ok(Some(position)) => {
                    // Honest when git failed or was killed between the
                    // record and its update; also what a server that undid
                    // the push would show. Said, not counted as a problem.
                    self.notices.push(Notice {
                        position,
                        commit: None,
                        message: format!(
                            "its update of {name} is not applied: the server shows {name} at its old value {} (git failed or was killed after the record was written, or the server undid the push)",
                            value.map_or_else(|| "(no such ref)".to_owned(), |v| v.to_string())
                        ),
                    });
                }
                Err(why) => {
                    let message = match (value, known) {
                        (Some(v), false) => {
                            format!("the server shows {name} at {v}, which no record explains")
                        }
                        (None, _) => format!("the server no longer shows {name}, but {why}"),
                        (Some(v), true) => format!("the server shows {name} at {v}, but {why}"),
                    };
                    self.problem(Check::Present, None, Some(&name), message);
                }
            }
        }
    }
}

fn show(id: Option<ObjectId>) -> String {
    id.map_or_else(|| "nothing (no such ref)".into(), |id| id.to_string())
}

/// A fingerprint's short form, for lines.
pub fn short(pusher: &str) -> &str {
    match Fingerprint::parse(pusher) {
        Ok(_) => &pusher[..pusher.len().min(16)],
        Err(_) => pusher,
    }
}

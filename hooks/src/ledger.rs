//! The ledger, `$GIT_DIR/gitapps/ledger`: what pre-receive accepted and
//! what the `reference-transaction` hook recorded, one line each, appended
//! under a lock (`flock`, which dies with its holder: a killed hook never
//! leaves it held).
//!
//! ```text
//! <unix seconds> <certificate blob> <pusher> <SHA-256 of the payload> <access-control commit> <settings blob id> <keyring keys|-> <receive-pack pid>
//! <unix seconds> <certificate blob> recorded <record commit> <refname>...
//! ```
//!
//! It does three jobs:
//! - **Replays.** git's nonce is a timestamp (in seconds) and an HMAC of it,
//!   so every push in the same second gets the same nonce, and over HTTP git
//!   calls a nonce `OK` for `receive.certNonceSlop` seconds: within that
//!   window a captured certificate could be sent again. A certificate whose
//!   *signed text* was accepted before within the window plus a margin is
//!   refused: the digest is the SHA-256 of the payload, what the signature
//!   covers. Keying on the certificate's bytes (its blob id) let the same
//!   signature through again with another armor (a `Comment:` header,
//!   another line width), and keying on the signature's bytes would still
//!   let through a packet re-encoded (another length format, an unhashed
//!   subpacket added) or, for ECDSA, a signature made malleable: none of
//!   those change what was signed. Two different certificates that share a
//!   nonce are two pushes, not a replay: they sign different commands or
//!   times.
//! - **Hand-over.** pre-receive judges the push; the transaction hook,
//!   which git runs once the refs are locked, records it in the audit log
//!   with what the judgement used: the access-control commit, the settings
//!   (by their blob id), the keyring's keys, the time.
//! - **The log's lock.** Every writer of the audit log holds the ledger's
//!   lock while it does, so a `refs/apps/push-certs.lock` found by a holder
//!   can only be a killed writer's, or git's own for milliseconds
//!   ([`crate::audit`]).
//!
//! Lines older than the window are dropped in bulk once there are
//! [`PRUNE_AT`] of them: the file holds one line per push accepted within
//! the window, one per record written within it, and fewer than
//! [`PRUNE_AT`] older ones. Rewriting or removing files on every push cost
//! milliseconds here (freeing disk blocks), hence the bulk.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use gitapps_policy::Fingerprint;
use gix::ObjectId;

use crate::error::{HookError, IoContext};
use crate::fsmode::Shared;

/// How long past the slop window a certificate is remembered.
pub const MARGIN_SECS: u64 = 300;

/// Old lines are dropped when there are this many of them.
pub const PRUNE_AT: usize = 128;

const RECORDED: &str = "recorded";

fn path(git_dir: &Path) -> PathBuf {
    git_dir.join("gitapps").join("ledger")
}

/// What pre-receive hands to the transaction hook about an accepted push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub when: u64,
    pub cert: ObjectId,
    pub pusher: Fingerprint,
    /// The SHA-256 of the certificate's payload, hex.
    pub signed: String,
    /// The access-control commit the push was judged by.
    pub access_control: ObjectId,
    /// The blob id of the settings text it was judged with.
    pub settings: ObjectId,
    /// The fingerprints of the keyring's keys the judgement used.
    pub keyring: Vec<String>,
    /// The receive-pack process that ran pre-receive (0: unknown).
    pub receive_pack: u32,
}

impl Pending {
    fn line(&self) -> String {
        let keyring = if self.keyring.is_empty() {
            "-".to_owned()
        } else {
            self.keyring.join(",")
        };
        format!(
            "{} {} {} {} {} {} {keyring} {}\n",
            self.when,
            self.cert,
            self.pusher,
            self.signed,
            self.access_control,
            self.settings,
            self.receive_pack
        )
    }
}

/// What a line of the ledger says, read once when the ledger is locked.
/// The text stays where it is ([`Ledger::text`]): a push of 10,000 refs
/// without `--atomic` is 10,000 transactions, each of which reads a ledger
/// of up to 10,000 `recorded` lines, so reading one allocates nothing.
enum Line {
    /// Accepted by pre-receive. `pending` is `None` on lines of older
    /// versions (four fields; one before replays were keyed on the payload).
    Accepted {
        when: u64,
        signed: Option<Span>,
        pending: Option<Pending>,
    },
    Recorded {
        when: u64,
        cert: Span,
        /// The refs, separated by spaces.
        refs: Span,
    },
}

/// Where some text is in the ledger's text.
type Span = std::ops::Range<usize>;

impl Line {
    fn when(&self) -> u64 {
        match self {
            Line::Accepted { when, .. } | Line::Recorded { when, .. } => *when,
        }
    }
}

/// The line of `text` at `span`.
fn parse(text: &str, span: Span) -> Option<Line> {
    let base = span.start;
    let line = &text[span];
    // The spans of the space-separated fields.
    let mut fields = line.split(' ').scan(base, |at, field| {
        let start = *at;
        *at += field.len() + 1;
        Some((field, start..start + field.len()))
    });
    let when = fields.next()?.0.parse().ok()?;
    let (cert, cert_span) = fields.next()?;
    let (third, _) = fields.next()?;
    if third == RECORDED {
        let (_record, record_span) = fields.next()?;
        let refs_start = (record_span.end + 1).min(base + line.len());
        return Some(Line::Recorded {
            when,
            cert: cert_span,
            refs: refs_start..base + line.len(),
        });
    }
    let signed = fields.next();
    let rest: Vec<&str> = fields.map(|(f, _)| f).collect();
    let pending = match (&signed, rest.as_slice()) {
        (Some((signed, _)), [ac, settings, keyring, pid]) => Some(Pending {
            when,
            cert: ObjectId::from_hex(cert.as_bytes()).ok()?,
            pusher: Fingerprint::parse(third).ok()?,
            signed: (*signed).to_owned(),
            access_control: ObjectId::from_hex(ac.as_bytes()).ok()?,
            settings: ObjectId::from_hex(settings.as_bytes()).ok()?,
            keyring: match *keyring {
                "-" => Vec::new(),
                list => list.split(',').map(str::to_owned).collect(),
            },
            receive_pack: pid.parse().ok()?,
        }),
        _ => None,
    };
    Some(Line::Accepted {
        when,
        signed: signed.map(|(_, span)| span),
        pending,
    })
}

/// Which processes exist (of any user: a group-shared server's pushes run
/// as many), asked of `/proc` once per process id.
/// Where `/proc` is not mounted, every process counts as alive: the line
/// stays for the window, as it did before.
#[derive(Default)]
struct Processes {
    proc_mounted: std::cell::OnceCell<bool>,
    alive: std::cell::RefCell<HashMap<u32, bool>>,
}

impl Processes {
    fn alive(&self, pid: u32) -> bool {
        if !*self
            .proc_mounted
            .get_or_init(|| Path::new("/proc/self").exists())
        {
            return true;
        }
        *self
            .alive
            .borrow_mut()
            .entry(pid)
            .or_insert_with(|| Path::new(&format!("/proc/{pid}")).exists())
    }
}

/// The ledger's key for a certificate: the SHA-256 of its payload (the
/// text the signature covers), in hex.
pub fn signed_digest(payload: &[u8]) -> Result<String, HookError> {
    use sequoia_openpgp::types::HashAlgorithm;
    let mut hash = HashAlgorithm::SHA256
        .context()
        .map_err(|e| HookError::Protocol(format!("SHA-256 is not available: {e}")))?
        .for_digest();
    hash.update(payload);
    let digest = hash
        .into_digest()
        .map_err(|e| HookError::Protocol(format!("SHA-256 failed: {e}")))?;
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The ledger, locked for as long as this lives.
pub struct Ledger {
    file: std::fs::File,
    path: PathBuf,
    /// The file's text, as read and appended.
    text: String,
    /// Its lines: where each is, and what it says when it can be read.
    lines: Vec<(Span, Option<Line>)>,
    /// Lines at most this old count (seconds since the epoch).
    fresh_after: u64,
    /// The certificates (hex) of the pushes the running receive-pack
    /// accepted ([`Ledger::ongoing`]): their lines count however old.
    ongoing: Vec<String>,
    processes: Processes,
}

impl Ledger {
    /// Open (creating it with the shared permissions) and lock the ledger
    /// of `git_dir`; lines older than `now - window_secs` no longer count.
    pub fn lock(
        git_dir: &Path,
        shared: Shared,
        now: u64,
        window_secs: u64,
    ) -> Result<Ledger, HookError> {
        let path = path(git_dir);
        if let Some(dir) = path.parent() {
            shared.create_dir_all(dir)?;
        }
        let existed = path.exists();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .io(format!("opening {}", path.display()))?;
        if !existed {
            shared.apply(&path)?;
        } else {
            // Made before the repository was shared, maybe.
            shared.heal(&file);
        }
        // Concurrent pushes serialise here.
        file.lock().io(format!("locking {}", path.display()))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .io(format!("reading {}", path.display()))?;
        let mut ledger = Ledger {
            file,
            path,
            text,
            lines: Vec::new(),
            fresh_after: now.saturating_sub(window_secs),
            ongoing: Vec::new(),
            processes: Processes::default(),
        };
        ledger.read_lines(0);
        Ok(ledger)
    }

    /// Read the lines of the text from byte `from` on (a line's start).
    fn read_lines(&mut self, from: usize) {
        let mut at = from;
        while at < self.text.len() {
            let end = self.text[at..]
                .find('\n')
                .map_or(self.text.len(), |i| at + i);
            if end > at {
                let line = parse(&self.text, at..end);
                self.lines.push((at..end, line));
            }
            at = end + 1;
        }
    }

    fn str(&self, span: &Span) -> &str {
        &self.text[span.clone()]
    }

    /// Count the lines of the pushes that the receive-pack `receive_pack`
    /// (which runs this process, so it is alive) accepted, however old: a
    /// push of 10,000 refs without `--atomic` is 10,000 transactions, one
    /// record each, and may outlast the window; its acceptance must still
    /// explain its last ref, and its records still say what is recorded.
    pub fn ongoing(mut self, receive_pack: u32) -> Ledger {
        self.ongoing = self
            .parsed()
            .filter_map(|l| match l {
                Line::Accepted {
                    pending: Some(p), ..
                } if p.receive_pack == receive_pack && receive_pack != 0 => {
                    Some(p.cert.to_string())
                }
                _ => None,
            })
            .collect();
        self
    }

    /// Whether a line of the push of `cert` made at `when` still counts.
    fn counts(&self, when: u64, cert: &str) -> bool {
        when >= self.fresh_after || self.ongoing.iter().any(|c| c == cert)
    }

    /// The window a push's lines are kept for: the nonce slop and a margin.
    pub fn window(slop_secs: u64) -> u64 {
        slop_secs + MARGIN_SECS
    }

    fn parsed(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter_map(|(_, l)| l.as_ref())
    }

    /// Whether a certificate whose payload has the digest `signed` was
    /// accepted within the window, by a push that was recorded or may still
    /// be (its receive-pack lives). A push pre-receive accepted whose
    /// receive-pack is gone without a record was never applied (git applies
    /// nothing unrecorded): it is no replay to send its certificate again.
    pub fn seen(&self, signed: &str) -> bool {
        self.parsed().any(|l| match l {
            Line::Accepted {
                when,
                signed: s,
                pending,
            } => {
                s.as_ref().is_some_and(|s| self.str(s) == signed)
                    && *when >= self.fresh_after
                    && !pending.as_ref().is_some_and(|p| self.abandoned(p))
            }
            Line::Recorded { .. } => false,
        })
    }

    /// Whether `p` is a push that will never be recorded: no record names
    /// its certificate, and the receive-pack that ran it is gone (killed,
    /// or done after git refused the push).
    fn abandoned(&self, p: &Pending) -> bool {
        p.receive_pack != 0
            && !self.processes.alive(p.receive_pack)
            && self.records_of(&p.cert.to_string()).next().is_none()
    }

    /// The refs of the `recorded` lines of `cert` that count.
    fn records_of<'a>(&'a self, cert: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.parsed()
            .filter_map(move |l| match l {
                Line::Recorded {
                    when,
                    cert: c,
                    refs,
                } if self.str(c) == cert && self.counts(*when, cert) => Some(self.str(refs)),
                _ => None,
            })
            .flat_map(|refs| refs.split(' ').filter(|r| !r.is_empty()))
    }

    /// Whether any record within the window names certificate `cert`.
    pub fn has_records(&self, cert: ObjectId) -> bool {
        self.records_of(&cert.to_string()).next().is_some()
    }

    /// The pushes accepted within the window and not abandoned, oldest
    /// first.
    pub fn pending(&self) -> Vec<Pending> {
        self.parsed()
            .filter_map(|l| match l {
                Line::Accepted {
                    pending: Some(p), ..
                } if self.counts(p.when, &p.cert.to_string()) && !self.abandoned(p) => {
                    Some(p.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// The refs recorded within the window for certificate `cert`.
    pub fn recorded_refs(&self, cert: ObjectId) -> Vec<String> {
        self.records_of(&cert.to_string())
            .map(str::to_owned)
            .collect()
    }

    /// Whether any of `refs` is recorded within the window for `cert`: one
    /// pass, nothing allocated (each transaction of a push of 10,000 refs
    /// asks it of a ledger of up to 10,000 records).
    pub fn recorded_any(&self, cert: ObjectId, refs: &[&str]) -> bool {
        self.records_of(&cert.to_string())
            .any(|r| refs.contains(&r))
    }

    /// Append that `pending` was accepted.
    pub fn accept(&mut self, pending: &Pending) -> Result<(), HookError> {
        self.append(pending.line())
    }

    /// Append that `record` records `refs` of the push of `cert`.
    pub fn recorded(
        &mut self,
        now: u64,
        cert: ObjectId,
        record: ObjectId,
        refs: &[&str],
    ) -> Result<(), HookError> {
        self.append(format!(
            "{now} {cert} {RECORDED} {record} {}\n",
            refs.join(" ")
        ))
    }

    /// Whether a line is of no more use: unreadable, older than the window,
    /// or the acceptance of a push that was abandoned (so that a killed hook
    /// or a push git refused leaves no line behind for long).
    fn stale(&self, line: Option<&Line>) -> bool {
        match line {
            None => true,
            Some(Line::Recorded { when, cert, .. }) => !self.counts(*when, self.str(cert)),
            Some(Line::Accepted {
                pending: Some(p), ..
            }) => !self.counts(p.when, &p.cert.to_string()) || self.abandoned(p),
            Some(Line::Accepted { when, .. }) => !self.counts(*when, ""),
        }
    }

    fn append(&mut self, entry: String) -> Result<(), HookError> {
        let mut stale = 0;
        let mut abandoned = false;
        for (_, line) in &self.lines {
            if line.is_some() && self.stale(line.as_ref()) {
                stale += 1;
                abandoned |= line.as_ref().is_some_and(|l| l.when() >= self.fresh_after);
            }
        }
        if stale >= PRUNE_AT || abandoned {
            let mut kept = String::new();
            for (span, line) in &self.lines {
                if !self.stale(line.as_ref()) {
                    kept.push_str(self.str(span));
                    kept.push('\n');
                }
            }
            kept.push_str(&entry);
            // In append mode, writing after truncating starts the file anew.
            self.file
                .set_len(0)
                .and_then(|()| self.file.write_all(kept.as_bytes()))
                .io(format!("rewriting {}", self.path.display()))?;
            self.text = kept;
            self.lines.clear();
            self.read_lines(0);
        } else {
            // A torn last line (a writer killed mid-line) is ended first,
            // or this entry would join it and be lost with it.
            let torn = !self.text.is_empty() && !self.text.ends_with('\n');
            let entry = if torn { format!("\n{entry}") } else { entry };
            self.file
                .write_all(entry.as_bytes())
                .io(format!("writing {}", self.path.display()))?;
            let from = self.text.len();
            self.text.push_str(&entry);
            self.read_lines(from);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> ObjectId {
        ObjectId::from_hex(c.to_string().repeat(40).as_bytes()).expect("hex")
    }

    fn pending(cert: char, signed: &str, when: u64) -> Pending {
        Pending {
            when,
            cert: id(cert),
            pusher: Fingerprint::parse(&"A".repeat(40)).expect("fpr"),
            signed: signed.to_owned(),
            access_control: id('a'),
            settings: id('b'),
            keyring: vec!["C".repeat(40)],
            receive_pack: std::process::id(),
        }
    }

    fn lock(dir: &Path, now: u64, window: u64) -> Ledger {
        Ledger::lock(dir, Shared::Umask, now, window).expect("lock")
    }

    #[test]
    fn a_payload_is_accepted_once_within_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ledger = lock(dir.path(), 100, 30);
        assert!(!ledger.seen("p1"));
        ledger.accept(&pending('1', "p1", 100)).expect("accept");
        drop(ledger);
        let ledger = lock(dir.path(), 110, 30);
        // Another certificate (another armor, say) of the same payload.
        assert!(ledger.seen("p1"));
        assert!(!ledger.seen("p2"));
        assert_eq!(ledger.pending(), vec![pending('1', "p1", 100)]);
        drop(ledger);
        // Long after the window the certificate would be stale for git anyway.
        let ledger = lock(dir.path(), 100 + 31, 30);
        assert!(!ledger.seen("p1"));
        assert!(ledger.pending().is_empty());
        assert_eq!(
            signed_digest(b"abc").expect("sha256"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// A push that outlasts the window (10,000 refs without `--atomic`, one
    /// transaction each) is still explained, and its records still count,
    /// for the transactions of the receive-pack that runs it; not for others.
    #[test]
    fn the_running_push_outlasts_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ledger = lock(dir.path(), 100, 30);
        let p = pending('1', "p1", 100);
        ledger.accept(&p).expect("accept");
        ledger
            .recorded(100, id('1'), id('9'), &["refs/heads/a"])
            .expect("record");
        drop(ledger);
        let late = 100 + 31 + 1000;
        let ours = lock(dir.path(), late, 30).ongoing(p.receive_pack);
        assert_eq!(ours.pending(), vec![p.clone()]);
        assert_eq!(ours.recorded_refs(id('1')), ["refs/heads/a"]);
        drop(ours);
        let other = lock(dir.path(), late, 30).ongoing(p.receive_pack + 1);
        assert!(other.pending().is_empty());
        assert!(other.recorded_refs(id('1')).is_empty());
        drop(other);
        // Writing under the running push keeps its lines; another prunes them.
        let mut ours = lock(dir.path(), late, 30).ongoing(p.receive_pack);
        for k in 0..PRUNE_AT + 1 {
            ours.recorded(late, id('2'), id('8'), &[&format!("refs/heads/x{k}")])
                .expect("record");
        }
        assert_eq!(ours.pending(), vec![p]);
        assert_eq!(ours.recorded_refs(id('1')), ["refs/heads/a"]);
    }

    #[test]
    fn recorded_refs_are_remembered_per_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ledger = lock(dir.path(), 100, 30);
        ledger.accept(&pending('1', "p1", 100)).expect("accept");
        ledger
            .recorded(100, id('1'), id('9'), &["refs/heads/a", "refs/heads/b"])
            .expect("record");
        ledger
            .recorded(101, id('1'), id('8'), &["refs/heads/c"])
            .expect("record");
        drop(ledger);
        let ledger = lock(dir.path(), 102, 30);
        assert_eq!(
            ledger.recorded_refs(id('1')),
            ["refs/heads/a", "refs/heads/b", "refs/heads/c"]
        );
        assert!(ledger.recorded_refs(id('2')).is_empty());
        // A recorded line is no accepted certificate.
        assert!(!ledger.seen(&id('9').to_string()));
        // Lines of the version before: four fields, no hand-over.
        let old = format!("100 {} {} p0\n", id('3'), "B".repeat(40));
        std::fs::write(path(dir.path()), old).expect("write");
        drop(ledger);
        let ledger = lock(dir.path(), 102, 30);
        assert!(ledger.seen("p0"));
        assert!(ledger.pending().is_empty());
    }

    /// A push accepted by pre-receive whose receive-pack is gone without a
    /// record (the hook was killed, or git refused the push) was never
    /// applied: its certificate is no replay, and its line goes.
    #[test]
    fn an_abandoned_push_leaves_no_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut gone = std::process::Command::new("true").spawn().expect("spawn");
        let dead = gone.id();
        gone.wait().expect("wait");
        let mut abandoned = pending('1', "p1", 100);
        abandoned.receive_pack = dead;
        let mut recorded = pending('2', "p2", 100);
        recorded.receive_pack = dead;
        let text = [
            abandoned.line(),
            recorded.line(),
            format!("100 {} recorded {} refs/heads/a\n", id('2'), id('9')),
            pending('3', "p3", 100).line(),
        ]
        .concat();
        drop(lock(dir.path(), 100, 30));
        std::fs::write(path(dir.path()), text).expect("write");
        let mut ledger = lock(dir.path(), 101, 30);
        assert!(!ledger.seen("p1"), "an abandoned push is no replay");
        assert!(ledger.seen("p2") && ledger.seen("p3"));
        assert_eq!(ledger.pending(), vec![recorded, pending('3', "p3", 100)]);
        ledger.accept(&pending('4', "p4", 101)).expect("accept");
        let text = std::fs::read_to_string(path(dir.path())).expect("read");
        assert!(!text.contains(&id('1').to_string()), "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
    }

    /// A writer killed mid-line leaves a torn last line: the next entry
    /// starts a line of its own, and is read back.
    #[test]
    fn an_entry_after_a_torn_line_stands_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(lock(dir.path(), 100, 30));
        let torn = format!("100 {} recorded {} refs/hea", id('1'), id('9'));
        std::fs::write(path(dir.path()), &torn).expect("write");
        let mut ledger = lock(dir.path(), 100, 30);
        ledger
            .recorded(100, id('2'), id('8'), &["refs/heads/b"])
            .expect("record");
        assert_eq!(ledger.recorded_refs(id('2')), ["refs/heads/b"]);
        drop(ledger);
        let ledger = lock(dir.path(), 101, 30);
        assert_eq!(ledger.recorded_refs(id('2')), ["refs/heads/b"]);
        assert!(
            ledger.has_records(id('1')),
            "the torn line reads as far as it goes"
        );
        let text = std::fs::read_to_string(path(dir.path())).expect("read");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn old_lines_are_pruned_in_bulk() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..PRUNE_AT as u64 {
            let mut ledger = lock(dir.path(), i, 0);
            let cert = ObjectId::from_hex(format!("{i:040x}").as_bytes()).expect("hex");
            let mut p = pending('1', &i.to_string(), i);
            p.cert = cert;
            ledger.accept(&p).expect("accept");
        }
        let before = std::fs::read_to_string(path(dir.path()))
            .expect("read")
            .lines()
            .count();
        assert_eq!(before, PRUNE_AT);
        let late = 10 * PRUNE_AT as u64;
        let mut ledger = lock(dir.path(), late, 0);
        ledger.accept(&pending('f', "late", late)).expect("accept");
        let after = std::fs::read_to_string(path(dir.path())).expect("read");
        assert_eq!(after.lines().count(), 1, "{after}");
        assert_eq!(ledger.pending(), vec![pending('f', "late", late)]);
    }
}

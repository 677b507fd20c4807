//! What a clone remembers of the last verification of a remote's log, in
//! `.git/gitapps/verify/<remote>.state`: how far it got, and the state the
//! log implied there, so that the next run verifies only the new records.
//! The copy of the log it verified is kept by the ref
//! `refs/gitapps/verified/<remote>`, so that a server that drops or
//! reorders records later is caught: its log must extend that copy.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gix::ObjectId;

const MAGIC: &str = "gitapps verify state 1";

/// One ref, as the log implies it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefState {
    /// The ref's value before its unresolved update (its value, when none).
    pub value: Option<ObjectId>,
    /// The last recorded update not yet settled: the record's position and
    /// the update's new value.
    pub unresolved: Option<(u64, Option<ObjectId>)>,
}

impl RefState {
    pub fn at(value: Option<ObjectId>) -> Self {
        RefState {
            value,
            unresolved: None,
        }
    }

    /// The value, taking an unresolved update as applied.
    pub fn current(&self) -> Option<ObjectId> {
        match self.unresolved {
            Some((_, new)) => new,
            None => self.value,
        }
    }

    /// The ref is seen at `seen`: settle the unresolved update (applied if
    /// `seen` is its new value, not if it is the old one: then `Ok(Some)`
    /// names its record). Anything else is a break in the chain: `Err` says
    /// what the log implied, and the ref is taken to be at `seen` from here
    /// on (one problem, not a cascade).
    pub fn observe(&mut self, seen: Option<ObjectId>) -> Result<Option<u64>, String> {
        let show = |v: Option<ObjectId>| v.map_or_else(|| "nothing".to_owned(), |v| v.to_string());
        let result = match self.unresolved.take() {
            Some((_, new)) if seen == new => {
                self.value = new;
                return Ok(None);
            }
            Some((position, _)) if seen == self.value => return Ok(Some(position)),
            Some((position, new)) => Err(format!(
                "the log has it at {} if record {position} was applied, or at {} if not",
                show(new),
                show(self.value)
            )),
            None if seen == self.value => return Ok(None),
            None => Err(format!("the log has it at {}", show(self.value))),
        };
        self.value = seen;
        result
    }
}

/// A certificate the log holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSeen {
    /// The record where it first appears (where its push was judged).
    pub position: u64,
    pub pusher: String,
    /// The SHA-256 of its payload, hex.
    pub digest: String,
    /// The refs its records updated.
    pub refs: Vec<String>,
}

/// The state the log implies after its record `last`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// How many records were verified (the genesis is the first).
    pub position: u64,
    pub last: Option<ObjectId>,
    pub refs: BTreeMap<String, RefState>,
    /// The latest time recorded so far.
    pub time: u64,
    /// The settings blob in force.
    pub settings: Option<ObjectId>,
    pub owner: Option<String>,
    pub certs: HashMap<ObjectId, CertSeen>,
    /// Payload digests, to their certificate.
    pub digests: HashMap<String, ObjectId>,
}

pub fn path(git_dir: &Path, remote: &str) -> PathBuf {
    git_dir
        .join("gitapps")
        .join("verify")
        .join(format!("{remote}.state"))
}

fn id_or_dash(id: Option<ObjectId>) -> String {
    id.map_or_else(|| "-".to_owned(), |id| id.to_string())
}

fn parse_id_or_dash(s: &str) -> Option<Option<ObjectId>> {
    match s {
        "-" => Some(None),
        hex => ObjectId::from_hex(hex.as_bytes()).ok().map(Some),
    }
}

/// A word without white space: what a hostile log put in a `pusher` file
/// stays one word.
fn word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) {
        s.to_owned()
    } else {
        "?".to_owned()
    }
}

impl State {
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(out, "position {}", self.position);
        let _ = writeln!(out, "last {}", id_or_dash(self.last));
        let _ = writeln!(out, "time {}", self.time);
        let _ = writeln!(out, "settings {}", id_or_dash(self.settings));
        let _ = writeln!(
            out,
            "owner {}",
            self.owner.as_deref().map_or("-".into(), word)
        );
        for (name, r) in &self.refs {
            let _ = write!(out, "ref {name} {}", id_or_dash(r.value));
            if let Some((position, new)) = r.unresolved {
                let _ = write!(out, " {position} {}", id_or_dash(new));
            }
            out.push('\n');
        }
        let mut certs: Vec<_> = self.certs.iter().collect();
        certs.sort_by_key(|(_, c)| c.position);
        for (id, c) in certs {
            let _ = write!(
                out,
                "cert {id} {} {} {}",
                word(&c.digest),
                c.position,
                word(&c.pusher)
            );
            for r in &c.refs {
                let _ = write!(out, " {r}");
            }
            out.push('\n');
        }
        out
    }

    /// `None` for a file that does not read back (it is then rebuilt from
    /// the genesis, never trusted).
    pub fn decode(text: &str) -> Option<State> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut state = State::default();
        for line in lines {
            let mut parts = line.split(' ');
            match parts.next()? {
                "position" => state.position = parts.next()?.parse().ok()?,
                "last" => state.last = parse_id_or_dash(parts.next()?)?,
                "time" => state.time = parts.next()?.parse().ok()?,
                "settings" => state.settings = parse_id_or_dash(parts.next()?)?,
                "owner" => {
                    state.owner = match parts.next()? {
                        "-" => None,
                        o => Some(o.to_owned()),
                    }
                }
                "ref" => {
                    let name = parts.next()?.to_owned();
                    let value = parse_id_or_dash(parts.next()?)?;
                    let unresolved = match parts.next() {
                        None => None,
                        Some(position) => {
                            Some((position.parse().ok()?, parse_id_or_dash(parts.next()?)?))
                        }
                    };
                    state.refs.insert(name, RefState { value, unresolved });
                }
                "cert" => {
                    let id = ObjectId::from_hex(parts.next()?.as_bytes()).ok()?;
                    let digest = parts.next()?.to_owned();
                    let position = parts.next()?.parse().ok()?;
                    let pusher = parts.next()?.to_owned();
                    let refs = parts.map(str::to_owned).collect();
                    state.digests.insert(digest.clone(), id);
                    state.certs.insert(
                        id,
                        CertSeen {
                            position,
                            pusher,
                            digest,
                            refs,
                        },
                    );
                }
                _ => {}
            }
        }
        Some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> ObjectId {
        ObjectId::from_hex(c.to_string().repeat(40).as_bytes()).expect("hex")
    }

    #[test]
    fn an_unresolved_update_is_settled_by_what_is_seen() {
        let mut r = RefState::at(Some(id('1')));
        r.unresolved = Some((5, Some(id('2'))));
        let mut applied = r.clone();
        assert!(applied.observe(Some(id('2'))).is_ok());
        assert_eq!(applied, RefState::at(Some(id('2'))));
        let mut not_applied = r.clone();
        assert_eq!(not_applied.observe(Some(id('1'))), Ok(Some(5)));
        assert_eq!(not_applied, RefState::at(Some(id('1'))));
        let mut broken = r.clone();
        let why = broken.observe(Some(id('3'))).expect_err("a break");
        assert!(why.contains("record 5"), "{why}");
        assert_eq!(broken, RefState::at(Some(id('3'))));
        let mut deleted = RefState::at(Some(id('1')));
        deleted.unresolved = Some((6, None));
        assert!(deleted.observe(None).is_ok());
        assert_eq!(deleted.value, None);
    }

    #[test]
    fn the_state_reads_back() {
        let mut state = State {
            position: 3,
            last: Some(id('a')),
            time: 9,
            settings: Some(id('b')),
            owner: Some("F".repeat(40)),
            ..State::default()
        };
        state
            .refs
            .insert("refs/heads/main".into(), RefState::at(Some(id('c'))));
        state.refs.insert(
            "refs/heads/x".into(),
            RefState {
                value: None,
                unresolved: Some((3, Some(id('d')))),
            },
        );
        state.certs.insert(
            id('e'),
            CertSeen {
                position: 2,
                pusher: "F".repeat(40),
                digest: "ab".repeat(32),
                refs: vec!["refs/heads/main".into()],
            },
        );
        state.digests.insert("ab".repeat(32), id('e'));
        assert_eq!(State::decode(&state.encode()), Some(state));
        assert_eq!(State::decode("something else"), None);
    }
}

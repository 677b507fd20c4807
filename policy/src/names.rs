//! Naming people: which key a `<who>` typed by a person means.
//!
//! Names and e-mail addresses in keys are claims anyone can make, and a
//! fingerprint prefix can be ground to order (16 bits take a second). So a
//! `<who>` is read every way it can be read at once: as a fingerprint prefix
//! (at least [`MIN_PREFIX`] hex digits), as a name, as an e-mail address, as
//! an e-mail's local part; and names and addresses are compared by their
//! Unicode confusable skeleton (UTS #39), case-insensitively, so a Cyrillic
//! `а` in `Cаrol` reads as the Latin `a` it imitates. When the readings
//! together point at more than one key, the answer is [`Who::Ambiguous`] with
//! every candidate and why it matched: the caller shows them with their
//! fingerprints and asks for a longer prefix.
//!
//! Pure: callers parse the keys and pass each one's names and e-mails.
//! Shared by the hook's `explain --user` and the apps (`git mr`, `git issue`).

use crate::fingerprint::Fingerprint;

/// The shortest fingerprint prefix accepted: 8 hex digits (32 bits).
pub const MIN_PREFIX: usize = 8;

/// A key that a `<who>` may name: its fingerprint and what its user ids say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The primary key's fingerprint.
    pub fingerprint: Fingerprint,
    /// The names of its user ids (`Alice Example`).
    pub names: Vec<String>,
    /// The e-mail addresses of its user ids.
    pub emails: Vec<String>,
}

impl Identity {
    /// A key known by its fingerprint alone (say, the author of data whose
    /// key is gone).
    pub fn bare(fingerprint: Fingerprint) -> Self {
        Identity {
            fingerprint,
            names: Vec::new(),
            emails: Vec::new(),
        }
    }
}

/// How a `<who>` matched a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The fingerprint starts with it (or is it).
    FingerprintPrefix,
    /// A name of the key, the same or a look-alike (`Cаrol` for `Carol`).
    Name(String),
    /// An e-mail of the key, the same or a look-alike.
    Email(String),
    /// The local part of an e-mail of the key (`carol` for `carol@example.com`).
    LocalPart(String),
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reading::FingerprintPrefix => f.write_str("fingerprint prefix"),
            Reading::Name(n) => write!(f, "name {n:?}"),
            Reading::Email(e) => write!(f, "e-mail {e:?}"),
            Reading::LocalPart(e) => write!(f, "e-mail {e:?}"),
        }
    }
}

/// One key a `<who>` may mean, and every way it matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The key.
    pub fingerprint: Fingerprint,
    /// How `<who>` matched it (at least one way).
    pub readings: Vec<Reading>,
}

impl Candidate {
    /// How it matched, for messages: `name "Carol", e-mail "carol@example.com"`.
    pub fn how(&self) -> String {
        let how: Vec<String> = self.readings.iter().map(Reading::to_string).collect();
        how.join(", ")
    }
}

/// What a `<who>` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// Exactly one key.
    One(Fingerprint),
    /// Several keys: every one of them, in fingerprint order.
    Ambiguous(Vec<Candidate>),
    /// No key. `short_prefix` when `<who>` is hex but shorter than
    /// [`MIN_PREFIX`] (so the caller can say so).
    Nobody {
        /// `<who>` looks like a fingerprint prefix that is too short.
        short_prefix: bool,
    },
}

/// Resolve `who` among `keys`.
///
/// `me` is the keyword for the caller's own key (`None` when the caller has
/// none): it means that key only, whatever names others chose, so that
/// nobody can make `me` ambiguous for everyone by calling their key "me".
/// A full fingerprint means that key, known or not: it is the identity
/// itself.
pub fn resolve(who: &str, me: Option<&Fingerprint>, keys: &[Identity]) -> Who {
    let who = who.trim();
    if who == "me" {
        return match me {
            Some(me) => Who::One(me.clone()),
            None => Who::Nobody {
                short_prefix: false,
            },
        };
    }
    if let Ok(full) = Fingerprint::parse(who) {
        return Who::One(full);
    }
    let mut found: Vec<Candidate> = Vec::new();
    let mut add = |fingerprint: &Fingerprint, reading: Reading| match found
        .iter_mut()
        .find(|c| &c.fingerprint == fingerprint)
    {
        Some(c) => {
            if !c.readings.contains(&reading) {
                c.readings.push(reading)
            }
        }
        None => found.push(Candidate {
            fingerprint: fingerprint.clone(),
            readings: vec![reading],
        }),
    };
    let hex = !who.is_empty() && who.chars().all(|c| c.is_ascii_hexdigit());
    if hex && who.len() >= MIN_PREFIX {
        let prefix = who.to_ascii_uppercase();
        for key in keys {
            if key.fingerprint.as_str().starts_with(&prefix) {
                add(&key.fingerprint, Reading::FingerprintPrefix);
            }
        }
    }
    let wanted = Fold::new(who);
    for key in keys {
        for name in &key.names {
            if wanted.matches(name) {
                add(&key.fingerprint, Reading::Name(name.clone()));
            }
        }
        for email in &key.emails {
            if wanted.matches(email) {
                add(&key.fingerprint, Reading::Email(email.clone()));
            } else if email
                .rsplit_once('@')
                .is_some_and(|(local, _)| wanted.matches(local))
            {
                add(&key.fingerprint, Reading::LocalPart(email.clone()));
            }
        }
    }
    found.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    match found.len() {
        0 => Who::Nobody {
            short_prefix: hex && who.len() < MIN_PREFIX,
        },
        1 => Who::One(found.remove(0).fingerprint),
        _ => Who::Ambiguous(found),
    }
}

/// Whether two names or addresses could be taken for one another: the same
/// confusable skeleton, compared as written and lower-cased (so `Carol`,
/// `carol`, `CAROL` and `Cаrol` with a Cyrillic `а` are all one).
pub fn look_alike(a: &str, b: &str) -> bool {
    Fold::new(a).matches(b)
}

/// The skeletons of one string, precomputed for comparisons.
struct Fold {
    exact: String,
    lower: String,
}

impl Fold {
    fn new(s: &str) -> Fold {
        Fold {
            exact: skeleton(s.trim()),
            lower: skeleton(&s.trim().to_lowercase()),
        }
    }

    fn matches(&self, other: &str) -> bool {
        let other = other.trim();
        if other.is_empty() || self.exact.is_empty() {
            return false;
        }
        self.lower == skeleton(&other.to_lowercase()) || self.exact == skeleton(other)
    }
}

/// UTS #39 skeleton: NFD, default-ignorable code points (zero-width
/// characters…) dropped, each character mapped to its confusable prototype.
fn skeleton(s: &str) -> String {
    unicode_security::confusable_detection::skeleton(s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(s: &str) -> Fingerprint {
        Fingerprint::parse(&format!("{s:0<40}")).expect("valid")
    }

    fn key(f: &str, name: &str, email: &str) -> Identity {
        Identity {
            fingerprint: fpr(f),
            names: vec![name.to_owned()],
            emails: vec![email.to_owned()],
        }
    }

    fn one(who: &str, keys: &[Identity]) -> Fingerprint {
        match resolve(who, None, keys) {
            Who::One(f) => f,
            other => panic!("{who}: {other:?}"),
        }
    }

    fn ambiguous(who: &str, keys: &[Identity]) -> Vec<Fingerprint> {
        match resolve(who, None, keys) {
            Who::Ambiguous(c) => c.into_iter().map(|c| c.fingerprint).collect(),
            other => panic!("{who}: {other:?}"),
        }
    }

    #[test]
    fn names_emails_local_parts_and_prefixes() {
        let keys = [
            key("A11CE", "Alice Example", "alice@example.com"),
            key("B0B", "Bob", "bob@example.org"),
        ];
        for who in [
            "Alice Example",
            "alice example",
            "ALICE@EXAMPLE.COM",
            "alice",
            "A11CE000",
            "a11ce000",
        ] {
            assert_eq!(one(who, &keys), fpr("A11CE"), "{who}");
        }
        assert_eq!(one(" bob ", &keys), fpr("B0B"));
        assert_eq!(
            resolve("carol", None, &keys),
            Who::Nobody {
                short_prefix: false
            }
        );
    }

    #[test]
    fn prefixes_need_eight_hex_digits() {
        let keys = [key("DADE", "Someone", "someone@example.com")];
        assert_eq!(
            resolve("DADE", None, &keys),
            Who::Nobody { short_prefix: true },
            "4 hex digits are no prefix"
        );
        assert_eq!(
            resolve("dade000", None, &keys),
            Who::Nobody { short_prefix: true }
        );
        assert_eq!(one("dade0000", &keys), fpr("DADE"));
    }

    #[test]
    fn a_ground_prefix_does_not_take_over_a_name() {
        // Mallory ground a key whose fingerprint starts with DADE0000; the
        // real Dade's name is `dade`: `dadе0000`…, but also plain `dade`.
        let keys = [
            key("1234", "Dade", "dade@example.com"),
            key("DADE", "Mallory", "m@example.com"),
        ];
        assert_eq!(one("dade", &keys), fpr("1234"), "4 hex digits: the name");
        let keys = [
            key("1234", "Deadbeef", "d@example.com"),
            key("DEADBEEF", "Mallory", "m@example.com"),
        ];
        assert_eq!(
            ambiguous("deadbeef", &keys),
            [fpr("1234"), fpr("DEADBEEF")],
            "a prefix reading and a name reading together are ambiguous"
        );
    }

    #[test]
    fn two_keys_with_one_name_are_ambiguous() {
        let keys = [
            key("CA201", "Carol Example", "carol@example.com"),
            key("E5E", "Carol Example", "carol@example.com"),
            key("B0B", "Bob", "bob@example.org"),
        ];
        for who in ["carol", "Carol Example", "carol@example.com"] {
            assert_eq!(ambiguous(who, &keys), [fpr("CA201"), fpr("E5E")], "{who}");
        }
        match resolve("carol", None, &keys) {
            Who::Ambiguous(c) => {
                assert_eq!(
                    c[0].readings,
                    [Reading::LocalPart("carol@example.com".into())]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn look_alikes_are_ambiguous_with_what_they_imitate() {
        let keys = [
            key("CA201", "Carol", "carol@example.com"),
            // Cyrillic а (U+0430) for Latin a, and a zero-width space.
            key("E5E", "C\u{430}rol", "c\u{430}rol@ex\u{200B}ample.com"),
        ];
        assert_eq!(ambiguous("carol", &keys), [fpr("CA201"), fpr("E5E")]);
        assert_eq!(ambiguous("C\u{430}rol", &keys), [fpr("CA201"), fpr("E5E")]);
        assert_eq!(
            ambiguous("carol@example.com", &keys),
            [fpr("CA201"), fpr("E5E")]
        );
        assert!(look_alike("Bob", "B\u{43E}b"), "Cyrillic о");
        assert!(look_alike("paypal", "p\u{430}yp\u{430}l"));
        assert!(look_alike("CAROL", "carol"));
        assert!(!look_alike("Carol", "Karol"));
        assert!(!look_alike("", ""));
    }

    #[test]
    fn me_and_full_fingerprints() {
        let keys = [key("A11CE", "me", "me@example.com")];
        let me = fpr("B0B");
        assert_eq!(resolve("me", Some(&me), &keys), Who::One(me.clone()));
        assert_eq!(
            resolve("me", None, &keys),
            Who::Nobody {
                short_prefix: false
            }
        );
        let full = "c".repeat(40);
        assert_eq!(resolve(&full, None, &keys), Who::One(fpr(&"C".repeat(40))));
    }
}

//! User ids: the full fingerprint of a user's primary OpenPGP key.
//!
//! Fingerprints (not 64-bit key ids) are used because they do not collide.
//! They are kept upper-case so that two spellings of one key compare equal
//! and so that `$user_id` always expands to the same text.

use std::fmt;
use std::str::FromStr;

/// An upper-case hex fingerprint: 40 hex digits (v4 keys) or 64 (v6 keys).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(String);

/// Why a string is not a [`Fingerprint`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FingerprintError {
    /// The string was empty.
    #[error("empty fingerprint")]
    Empty,
    /// The string holds a character that is not a hex digit.
    #[error("not a fingerprint: `{0}` is not a hex digit")]
    NotHex(char),
    /// Hex digits, but neither 40 nor 64 of them (e.g. a 16-digit key id).
    #[error("not a fingerprint: {0} hex digits, expected 40 (v4) or 64 (v6)")]
    Length(usize),
}

impl Fingerprint {
    /// Number of hex digits in a v4 fingerprint.
    pub const V4_LEN: usize = 40;
    /// Number of hex digits in a v6 fingerprint.
    pub const V6_LEN: usize = 64;

    /// Parses a fingerprint in any case and normalises it to upper case.
    /// No spaces, no `0x` prefix: callers trim what they read.
    pub fn parse(s: &str) -> Result<Self, FingerprintError> {
        if s.is_empty() {
            return Err(FingerprintError::Empty);
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(FingerprintError::NotHex(c));
        }
        // All ASCII from here on, so the byte length is the digit count.
        match s.len() {
            Self::V4_LEN | Self::V6_LEN => Ok(Self(s.to_ascii_uppercase())),
            n => Err(FingerprintError::Length(n)),
        }
    }

    /// The upper-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The short form shown to people next to a name: the first 8 hex
    /// digits. Never use it to name a key: prefixes can be ground.
    pub fn short(&self) -> &str {
        &self.0[..8]
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserialized through [`Fingerprint::parse`]: only a valid fingerprint
/// comes out, upper-cased.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Fingerprint::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Fingerprint {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

    #[test]
    fn parse_table() {
        let v6 = "ab".repeat(32);
        let cases: Vec<(&str, Result<&str, FingerprintError>)> = vec![
            (V4, Ok(V4)),
            ("0123456789abcdef0123456789abcdef01234567", Ok(V4)),
            ("0123456789aBcDeF0123456789AbCdEf01234567", Ok(V4)),
            (
                &v6,
                Ok("ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"),
            ),
            ("", Err(FingerprintError::Empty)),
            ("0123456789ABCDEF", Err(FingerprintError::Length(16))),
            (&V4[1..], Err(FingerprintError::Length(39))),
            (
                " 0123456789ABCDEF0123456789ABCDEF01234567",
                Err(FingerprintError::NotHex(' ')),
            ),
            (
                "0x23456789ABCDEF0123456789ABCDEF01234567",
                Err(FingerprintError::NotHex('x')),
            ),
            (
                "G123456789ABCDEF0123456789ABCDEF01234567",
                Err(FingerprintError::NotHex('G')),
            ),
            ("é", Err(FingerprintError::NotHex('é'))),
        ];
        for (input, want) in cases {
            let got = Fingerprint::parse(input);
            match want {
                Ok(s) => assert_eq!(got.as_ref().map(Fingerprint::as_str), Ok(s), "{input:?}"),
                Err(e) => assert_eq!(got, Err(e), "{input:?}"),
            }
        }
    }

    #[test]
    fn from_str_display_and_order() {
        let a: Fingerprint = V4.to_lowercase().parse().expect("valid");
        assert_eq!(a.to_string(), V4);
        assert_eq!(a, Fingerprint::parse(V4).expect("valid"));
        let b = Fingerprint::parse(&"F".repeat(40)).expect("valid");
        assert!(a < b);
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            FingerprintError::Length(16).to_string(),
            "not a fingerprint: 16 hex digits, expected 40 (v4) or 64 (v6)"
        );
        assert_eq!(
            FingerprintError::NotHex('x').to_string(),
            "not a fingerprint: `x` is not a hex digit"
        );
    }
}

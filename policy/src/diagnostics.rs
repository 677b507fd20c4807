//! Where a problem is, and what it is: `file:line: message`.
//!
//! The policy is edited by people and rejected as a whole, so every problem
//! is reported at once, in the format compilers use, which editors can jump to.

use std::fmt;

/// A line in a policy file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Path from the root of the access-control branch, e.g. `refs/owner.conf`.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
}

impl Location {
    /// A location in `file` at the 1-based `line`.
    pub fn new(file: impl Into<String>, line: usize) -> Self {
        Self {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    /// `file:line`. A file name with a character that would break the line
    /// or hide text (a newline, an escape, a direction override …) is
    /// written in double quotes with those characters escaped, so that a
    /// message is always one honest line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = |c: char| crate::lines::hidden_character(c).is_none() && c != '"' && c != '\\';
        if self.file.chars().all(plain) {
            return write!(f, "{}:{}", self.file, self.line);
        }
        f.write_str("\"")?;
        for c in self.file.chars() {
            if plain(c) {
                write!(f, "{c}")?;
            } else {
                write!(f, "{}", c.escape_default())?;
            }
        }
        write!(f, "\":{}", self.line)
    }
}

/// One problem in the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub location: Location,
    /// What it is: one line of text, no trailing period.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `file:line`.
    pub fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Self {
            location: Location::new(file, line),
            message: message.into(),
        }
    }

    pub(crate) fn at(location: &Location, message: impl Into<String>) -> Self {
        Self {
            location: location.clone(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line: message`, on one line: a character of the message that
    /// would break it or hide text (it may quote a name from the tree) is
    /// escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        for c in self.message.chars() {
            if crate::lines::hidden_character(c).is_some() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Every problem found in a policy; never empty when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The diagnostics, in file:line order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_formats() {
        let d = Diagnostics(vec![
            Diagnostic::new("refs/a.conf", 3, "bad"),
            Diagnostic::new("groups/x", 1, "worse"),
        ]);
        assert_eq!(d.0[0].location.to_string(), "refs/a.conf:3");
        assert_eq!(d.to_string(), "refs/a.conf:3: bad\ngroups/x:1: worse");
        assert_eq!(d.len(), 2);
        assert!(!d.is_empty());
        assert_eq!(Diagnostics(vec![]).to_string(), "");
        // A file name cannot break a message into lines.
        let odd = Diagnostic::new("groups/a\ngitapps: denied", 1, "bad");
        assert_eq!(odd.to_string(), "\"groups/a\\ngitapps: denied\":1: bad");
        assert_eq!(
            Diagnostic::new("groups/\u{202E}x", 2, "m").to_string(),
            "\"groups/\\u{202e}x\":2: m"
        );
        assert_eq!(
            Diagnostic::new("f", 3, "name `a\nb`").to_string(),
            "f:3: name `a\\nb`"
        );
    }
}

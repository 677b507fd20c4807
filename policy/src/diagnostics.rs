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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
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
    }
}

//! Ref updates as git's hooks receive them on stdin: `<old> <new> <refname>`.

use gix::ObjectId;

/// One ref update. `None` stands for git's all-zero id: the ref does not
/// exist before (`old`) or is deleted (`new`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefUpdate {
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed ref update line {line:?}: expected `<old> <new> <refname>`")]
pub struct BadUpdateLine {
    pub line: String,
}

impl RefUpdate {
    pub fn parse_line(line: &str) -> Result<Self, BadUpdateLine> {
        let bad = || BadUpdateLine {
            line: line.to_owned(),
        };
        let mut parts = line.splitn(3, ' ');
        let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if name.is_empty() || !name.starts_with("refs/") && name != "HEAD" {
            return Err(bad());
        }
        let old = parse_id(old).ok_or_else(bad)?;
        let new = parse_id(new).ok_or_else(bad)?;
        if old.is_none() && new.is_none() {
            return Err(bad());
        }
        Ok(RefUpdate {
            old,
            new,
            name: name.to_owned(),
        })
    }

    /// Parse all lines of a hook's stdin. An empty input is an error: git
    /// never runs the hook without updates.
    pub fn parse_all(input: &str) -> Result<Vec<Self>, BadUpdateLine> {
        let updates = input
            .lines()
            .filter(|l| !l.is_empty())
            .map(Self::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        if updates.is_empty() {
            return Err(BadUpdateLine {
                line: String::new(),
            });
        }
        Ok(updates)
    }

    pub fn is_tag(&self) -> bool {
        self.name.starts_with("refs/tags/")
    }

    /// The ref name the way rules see it: without `refs/`.
    pub fn short_name(&self) -> &str {
        self.name.strip_prefix("refs/").unwrap_or(&self.name)
    }
}

fn parse_id(hex: &str) -> Option<Option<ObjectId>> {
    let id = ObjectId::from_hex(hex.as_bytes()).ok()?;
    Some(if id.is_null() { None } else { Some(id) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_creates_updates_and_deletes() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let u = RefUpdate::parse_line(&format!("{z} {a} refs/heads/main")).expect("create");
        assert!(u.old.is_none() && u.new.is_some());
        let u = RefUpdate::parse_line(&format!("{a} {z} refs/tags/v1")).expect("delete");
        assert!(u.new.is_none() && u.is_tag());
        assert_eq!(u.short_name(), "tags/v1");
    }

    #[test]
    fn rejects_garbage() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        for line in [
            "".to_owned(),
            "x y z".to_owned(),
            format!("{z} {z} refs/heads/main"),
            format!("{a} {a}"),
            format!("{a} {a} heads/main"),
            format!("{a} {} refs/heads/x", "g".repeat(40)),
        ] {
            assert!(RefUpdate::parse_line(&line).is_err(), "{line:?}");
        }
        assert!(RefUpdate::parse_all("\n").is_err());
    }
}

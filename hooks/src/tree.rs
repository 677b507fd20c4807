//! Tree objects read byte for byte, the way git reads them.
//!
//! gix's tree decoding reads modes its own way (it takes `140000` for the
//! zero-padded directory mode `040000`, where git reads a gitlink), so the
//! hook parses raw entries itself and reads each mode as git's
//! `tree-walk.c` does: octal digits up to the space (`parse_mode`), kept to
//! 16 bits, then `canon_mode`: a regular file (by the owner's execute bit,
//! `100644` or `100755`), a symlink, a directory, or else a gitlink.
//! [`Entry::is_canonical`] says whether the bytes are exactly one of the
//! five modes git writes; the hook refuses the others where a push
//! introduces them (see `classify`).

use std::cmp::Ordering;

use gix::ObjectId;

/// What git makes of an entry's mode (`canon_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    File,
    Executable,
    Symlink,
    Directory,
    Gitlink,
}

impl Mode {
    /// git's reading of a parsed mode (`cache.h`'s `canon_mode`).
    fn canon(raw: u16) -> Mode {
        const S_IFMT: u16 = 0o170000;
        match raw & S_IFMT {
            0o100000 if raw & 0o100 != 0 => Mode::Executable,
            0o100000 => Mode::File,
            0o120000 => Mode::Symlink,
            0o040000 => Mode::Directory,
            _ => Mode::Gitlink,
        }
    }

    /// The mode as git writes it in a tree.
    pub fn canonical_bytes(self) -> &'static [u8] {
        match self {
            Mode::File => b"100644",
            Mode::Executable => b"100755",
            Mode::Symlink => b"120000",
            Mode::Directory => b"40000",
            Mode::Gitlink => b"160000",
        }
    }

    pub fn is_directory(self) -> bool {
        self == Mode::Directory
    }
}

/// One entry of a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a [u8],
    /// The mode's bytes as stored.
    pub raw_mode: &'a [u8],
    /// What git reads them as.
    pub mode: Mode,
    pub id: ObjectId,
}

impl Entry<'_> {
    /// Whether the mode is written exactly as git writes it.
    pub fn is_canonical(&self) -> bool {
        self.raw_mode == self.mode.canonical_bytes()
    }

    /// git's tree order: names compare as bytes, a directory's as if it
    /// ended in `/`.
    pub fn git_cmp(&self, other: &Entry<'_>) -> Ordering {
        let (a, b) = (self.name, other.name);
        let common = a.len().min(b.len());
        a[..common].cmp(&b[..common]).then_with(|| {
            let next = |name: &[u8], e: &Entry<'_>| {
                name.get(common)
                    .copied()
                    .or(e.mode.is_directory().then_some(b'/'))
            };
            next(a, self).cmp(&next(b, other))
        })
    }
}

/// Why the bytes of a tree are not one git reads (or writes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("a truncated entry")]
    Truncated,
    #[error("an entry's mode `{0}` is not octal digits")]
    BadMode(String),
    #[error("an entry with an empty name")]
    EmptyName,
    #[error("an entry named {0:?}, which git refuses to check out")]
    BadName(String),
    #[error("the entry {0:?} is out of order or appears twice")]
    Order(String),
}

/// The entries of a tree object's bytes, in order. A tree that git could
/// not read (a truncated entry, a mode that is not octal digits, an empty
/// name) or would never write (entries out of git's order or twice, a
/// name `.`, `..` or containing `/`) is an error: what the policy sees must
/// be what a checkout would see.
pub fn entries(data: &[u8], hash: gix::hash::Kind) -> Result<Vec<Entry<'_>>, TreeError> {
    let id_len = hash.len_in_bytes();
    let mut out: Vec<Entry<'_>> = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or(TreeError::Truncated)?;
        let raw_mode = &rest[..space];
        let mode = parse_mode(raw_mode)?;
        let after_mode = &rest[space + 1..];
        let nul = after_mode
            .iter()
            .position(|&b| b == 0)
            .ok_or(TreeError::Truncated)?;
        let name = &after_mode[..nul];
        let id_bytes = after_mode
            .get(nul + 1..nul + 1 + id_len)
            .ok_or(TreeError::Truncated)?;
        rest = &after_mode[nul + 1 + id_len..];
        if name.is_empty() {
            return Err(TreeError::EmptyName);
        }
        if name == b"." || name == b".." || name.contains(&b'/') {
            return Err(TreeError::BadName(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        let entry = Entry {
            name,
            raw_mode,
            mode,
            id: ObjectId::from_bytes_or_panic(id_bytes),
        };
        if let Some(prev) = out.last() {
            if prev.git_cmp(&entry) != Ordering::Less || prev.name == entry.name {
                return Err(TreeError::Order(String::from_utf8_lossy(name).into_owned()));
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// git's `parse_mode`: one or more octal digits, accumulated in an
/// unsigned int and kept to 16 bits, then `canon_mode`.
fn parse_mode(raw: &[u8]) -> Result<Mode, TreeError> {
    if raw.is_empty() || !raw.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return Err(TreeError::BadMode(
            String::from_utf8_lossy(raw).into_owned(),
        ));
    }
    let mode = raw.iter().fold(0u32, |m, &b| {
        m.wrapping_shl(3).wrapping_add(u32::from(b - b'0'))
    });
    // Keeping the low 16 bits is what git's `uint16_t` does; the bits above
    // never reach `canon_mode`'s tests in older gits either.
    Ok(Mode::canon(mode as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: gix::hash::Kind = gix::hash::Kind::Sha1;

    fn tree(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (mode, name)) in entries.iter().enumerate() {
            out.extend_from_slice(mode.as_bytes());
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend([i as u8; 20]);
        }
        out
    }

    #[test]
    fn modes_as_git_reads_them() {
        let cases = [
            ("100644", Mode::File, true),
            ("100755", Mode::Executable, true),
            ("120000", Mode::Symlink, true),
            ("40000", Mode::Directory, true),
            ("160000", Mode::Gitlink, true),
            // What git reads, but would never write.
            ("040000", Mode::Directory, false),
            ("0040000", Mode::Directory, false),
            ("4040000", Mode::Directory, false),
            ("140000", Mode::Gitlink, false),
            ("140755", Mode::Gitlink, false),
            ("150000", Mode::Gitlink, false),
            ("0", Mode::Gitlink, false),
            ("100664", Mode::File, false),
            ("100600", Mode::File, false),
            ("100775", Mode::Executable, false),
            ("100744", Mode::Executable, false),
            ("0100644", Mode::File, false),
            ("1100644", Mode::File, false),
            ("000000000000100644", Mode::File, false),
            ("120777", Mode::Symlink, false),
            ("160644", Mode::Gitlink, false),
        ];
        for (raw, mode, canonical) in cases {
            let data = tree(&[(raw, "x")]);
            let parsed = entries(&data, SHA1).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(parsed[0].mode, mode, "{raw}");
            assert_eq!(parsed[0].is_canonical(), canonical, "{raw}");
        }
    }

    #[test]
    fn trees_git_cannot_read_or_would_not_write() {
        let cases: &[(&[u8], TreeError)] = &[
            (&tree(&[("", "x")]), TreeError::BadMode(String::new())),
            (
                &tree(&[("10064a", "x")]),
                TreeError::BadMode("10064a".into()),
            ),
            (&tree(&[("100644", "")]), TreeError::EmptyName),
            (&tree(&[("100644", "..")]), TreeError::BadName("..".into())),
            (
                &tree(&[("100644", "a/b")]),
                TreeError::BadName("a/b".into()),
            ),
            (
                &tree(&[("100644", "b"), ("100644", "a")]),
                TreeError::Order("a".into()),
            ),
            (
                &tree(&[("100644", "a"), ("100644", "a")]),
                TreeError::Order("a".into()),
            ),
            // A directory `a` sorts as `a/`, after `a.txt`.
            (
                &tree(&[("40000", "a"), ("100644", "a.txt")]),
                TreeError::Order("a.txt".into()),
            ),
            (b"100644 x\0short", TreeError::Truncated),
            (b"100644 x", TreeError::Truncated),
            (b"100644", TreeError::Truncated),
        ];
        for (data, want) in cases {
            assert_eq!(
                entries(data, SHA1).as_ref().map(Vec::len),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(data)
            );
        }
        assert_eq!(entries(b"", SHA1).map(|e| e.len()), Ok(0));
        let ok = tree(&[("100644", "a.txt"), ("40000", "a"), ("100644", "a0")]);
        assert_eq!(entries(&ok, SHA1).map(|e| e.len()), Ok(3));
    }
}

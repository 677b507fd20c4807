//! Diffs of revisions: what a revision changes against its merge base with the
//! target, the content change between two revisions (the interdiff), git's
//! unified diff read into files, hunks and numbered lines, and where a line
//! comment ([`Anchor`]) sits in it. git makes the diffs (`git diff`: rename
//! detection, its algorithms and settings); this reads them.

use gix::ObjectId;

use crate::error::GitResultExt;
use crate::forge::Forge;
use crate::model::{header, MergeRequest};
use crate::people::{People, Roles};
use crate::thread::{Anchor, Side};
use crate::{layout, Error, Result};

/// The tip of `target` as last fetched, else the local branch of that name.
pub fn target_tip(forge: &Forge, target: &str) -> Result<Option<ObjectId>> {
    for name in [
        layout::tracking_ref(forge.remote(), target),
        format!("refs/heads/{target}"),
    ] {
        if let Some(id) = forge.resolve_ref(&name)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The commit revision `k` of `mr` names (peeled).
pub fn revision_commit(forge: &Forge, mr: &MergeRequest, k: u32) -> Result<ObjectId> {
    let rev = mr.revision(k).ok_or_else(|| Error::NoSuchRevision {
        mr: mr.id.to_string(),
        revision: k,
    })?;
    crate::ops::peel_commit(forge, &rev.commit.to_string())
}

fn merge_base(repo: &gix::Repository, a: ObjectId, b: ObjectId) -> Option<ObjectId> {
    repo.merge_base(a, b).ok().flatten().map(|id| id.detach())
}

/// What `head` (a revision of `mr`) is diffed against: its merge base with the
/// target's tip, which is what a merge would bring. Once merged, that base is
/// `head` itself; then the base a maintainer's merge comment recorded (`Base:`)
/// stands for the target as it was, and the merge base with it is taken. With
/// no target at all, the first parent.
pub fn revision_base(
    forge: &Forge,
    mr: &MergeRequest,
    people: &People,
    head: ObjectId,
) -> Result<Option<ObjectId>> {
    let repo = forge.repo();
    let Some(tip) = target_tip(forge, &mr.target)? else {
        let commit = repo.find_commit(head).git()?;
        return Ok(commit.parent_ids().next().map(|p| p.detach()));
    };
    let base = merge_base(repo, tip, head);
    if base != Some(head) {
        return Ok(base);
    }
    let recorded = mr
        .comments
        .iter()
        .filter(|c| people.is_maintainer(&c.author) && c.header(header::MERGE_COMMIT).is_some())
        .filter_map(|c| ObjectId::from_hex(c.header(header::BASE)?.trim().as_bytes()).ok())
        .next_back();
    Ok(match recorded {
        Some(before) if repo.find_commit(before).is_ok() => merge_base(repo, before, head),
        _ => base,
    })
}

/// `git diff` with what the tools need whatever the user's configuration: no
/// color or external diff, the `a/` and `b/` prefixes, paths as UTF-8.
fn diff_command(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-c",
        "core.quotePath=false",
        "--literal-pathspecs",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// The paths `head` changes against `base` (both sides of renames).
pub fn changed_paths(forge: &Forge, base: Option<ObjectId>, head: ObjectId) -> Result<Vec<String>> {
    let base = base_or_empty(forge, base);
    let mut args = diff_command(&["--name-only", "-z", "--no-renames"]);
    args.extend([base, head.to_string()]);
    let out = forge.git().run(&args)?;
    Ok(out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect())
}

fn base_or_empty(forge: &Forge, base: Option<ObjectId>) -> String {
    base.unwrap_or_else(|| ObjectId::empty_tree(forge.repo().object_hash()))
        .to_string()
}

/// `git diff base head`: the unified diff as git prints it (`paths`: only these).
pub fn unified(
    forge: &Forge,
    base: Option<ObjectId>,
    head: ObjectId,
    paths: Option<&[String]>,
) -> Result<String> {
    let mut args = diff_command(&[]);
    args.extend([base_or_empty(forge, base), head.to_string()]);
    if let Some(paths) = paths {
        args.push("--".to_owned());
        args.extend(paths.iter().cloned());
    }
    Ok(forge.git().run(&args)?)
}

/// The interdiff of revisions `j` and `k` of `mr`: `git diff vJ vK` limited to the
/// paths either changes against its own merge base with the target. After a
/// rebase, what the target changed in those paths shows too.
pub fn interdiff(
    forge: &Forge,
    mr: &MergeRequest,
    people: &People,
    j: u32,
    k: u32,
) -> Result<Interdiff> {
    let old = revision_commit(forge, mr, j)?;
    let new = revision_commit(forge, mr, k)?;
    let mut paths = changed_paths(forge, revision_base(forge, mr, people, old)?, old)?;
    for p in changed_paths(forge, revision_base(forge, mr, people, new)?, new)? {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths.sort();
    // No path would mean every path to git: say "nothing" instead.
    let text = if paths.is_empty() {
        String::new()
    } else {
        unified(forge, Some(old), new, Some(&paths))?
    };
    Ok(Interdiff {
        old,
        new,
        paths,
        text,
    })
}

/// An interdiff, with what it was limited to.
#[derive(Clone, Debug)]
pub struct Interdiff {
    pub old: ObjectId,
    pub new: ObjectId,
    /// The paths either revision changes.
    pub paths: Vec<String>,
    /// `git diff old new -- paths`.
    pub text: String,
}

/// The lines of the file `path` in `commit`'s tree (`None` when it is not a
/// file there), read as text.
pub fn file_lines(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
) -> Result<Option<Vec<String>>> {
    let tree = repo.find_commit(commit).git()?.tree().git()?;
    let Some(entry) = tree.lookup_entry_by_path(path).git()? else {
        return Ok(None);
    };
    if !entry.mode().is_blob() {
        return Ok(None);
    }
    let blob = entry.object().git()?;
    Ok(Some(
        String::from_utf8_lossy(&blob.data)
            .lines()
            .map(str::to_owned)
            .collect(),
    ))
}

/// Check that `anchor` names a line a reviewer of the diff `base..head` can see:
/// a file the revision changes (on that side of the change: the old path of a
/// rename for `old`), and a line the file has there. The error says what is
/// there instead.
pub fn check_anchor(
    forge: &Forge,
    base: Option<ObjectId>,
    head: ObjectId,
    anchor: &Anchor,
) -> Result<()> {
    let files = parse(&unified(forge, base, head, None)?);
    let side_path = |f: &FileDiff| match anchor.side {
        Side::Old => f.old_path.clone(),
        Side::New => f.new_path.clone(),
    };
    if !files
        .iter()
        .any(|f| side_path(f).as_deref() == Some(&anchor.path))
    {
        let mut changed: Vec<String> = files.iter().filter_map(side_path).collect();
        changed.truncate(20);
        let side = match anchor.side {
            Side::Old => "the old side of the change (deleted and changed files)",
            Side::New => "the new side of the change",
        };
        return Err(Error::Invalid(format!(
            "`{}` is not on {side}; the revision's files there: {}",
            anchor.path,
            if changed.is_empty() {
                "none".to_owned()
            } else {
                changed.join(", ")
            }
        )));
    }
    let commit = match anchor.side {
        Side::New => Some(head),
        Side::Old => base,
    };
    let lines = match commit {
        Some(c) => file_lines(forge.repo(), c, &anchor.path)?,
        None => None,
    };
    let count = lines.map(|l| l.len()).unwrap_or(0);
    if anchor.line as usize > count {
        return Err(Error::Invalid(format!(
            "`{}` has {count} line{} on the {} side: there is no line {}",
            anchor.path,
            if count == 1 { "" } else { "s" },
            anchor.side,
            anchor.line
        )));
    }
    Ok(())
}

/// What a diff line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Added,
    Removed,
    /// `\ No newline at end of file`.
    Note,
}

/// One line of a hunk, with its numbers in the old and new file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    pub old: Option<u32>,
    pub new: Option<u32>,
    /// The line as git printed it (its first character is the kind).
    pub text: String,
}

/// One `@@` hunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub header: String,
    pub lines: Vec<DiffLine>,
}

/// One file of a unified diff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// Everything from `diff --git` up to the first hunk, as printed.
    pub header: Vec<String>,
    /// `None` for a new file.
    pub old_path: Option<String>,
    /// `None` for a deleted file.
    pub new_path: Option<String>,
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The path to call it by: the new one, else the old one.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }

    /// Where `anchor`'s line is in this file's hunks: (hunk, line) indexes.
    pub fn locate(&self, anchor: &Anchor) -> Option<(usize, usize)> {
        let path = match anchor.side {
            Side::Old => self.old_path.as_deref(),
            Side::New => self.new_path.as_deref(),
        };
        if path != Some(anchor.path.as_str()) {
            return None;
        }
        for (h, hunk) in self.hunks.iter().enumerate() {
            for (l, line) in hunk.lines.iter().enumerate() {
                let n = match anchor.side {
                    Side::Old => line.old,
                    Side::New => line.new,
                };
                if n == Some(anchor.line) {
                    return Some((h, l));
                }
            }
        }
        None
    }

    /// Whether `anchor` is about this file (whether or not its line is shown).
    pub fn holds(&self, anchor: &Anchor) -> bool {
        let path = match anchor.side {
            Side::Old => self.old_path.as_deref(),
            Side::New => self.new_path.as_deref(),
        };
        path == Some(anchor.path.as_str())
    }
}

/// Read `git diff`'s output (no color, `a/` and `b/` prefixes) into files.
/// Lenient: what it does not understand stays in a header as text.
pub fn parse(text: &str) -> Vec<FileDiff> {
    let mut files: Vec<FileDiff> = Vec::new();
    let (mut old_n, mut new_n) = (0u32, 0u32);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            let (old, new) = split_git_header(rest);
            files.push(FileDiff {
                header: vec![line.to_owned()],
                old_path: old,
                new_path: new,
                hunks: Vec::new(),
            });
            continue;
        }
        let Some(file) = files.last_mut() else {
            continue;
        };
        if line.starts_with("@@") {
            if let Some((o, n)) = hunk_starts(line) {
                old_n = o;
                new_n = n;
                file.hunks.push(Hunk {
                    header: line.to_owned(),
                    lines: Vec::new(),
                });
                continue;
            }
        }
        let Some(hunk) = file.hunks.last_mut() else {
            if let Some(p) = line.strip_prefix("--- ") {
                file.old_path = diff_path(p, "a/");
            } else if let Some(p) = line.strip_prefix("+++ ") {
                file.new_path = diff_path(p, "b/");
            } else if line.starts_with("new file mode") {
                file.old_path = None;
            } else if line.starts_with("deleted file mode") {
                file.new_path = None;
            } else if let Some(p) = line.strip_prefix("rename from ") {
                file.old_path = Some(unquote(p));
            } else if let Some(p) = line.strip_prefix("rename to ") {
                file.new_path = Some(unquote(p));
            }
            file.header.push(line.to_owned());
            continue;
        };
        let (kind, old, new) = match line.as_bytes().first() {
            Some(b'+') => {
                new_n += 1;
                (LineKind::Added, None, Some(new_n - 1))
            }
            Some(b'-') => {
                old_n += 1;
                (LineKind::Removed, Some(old_n - 1), None)
            }
            Some(b'\\') => (LineKind::Note, None, None),
            _ => {
                old_n += 1;
                new_n += 1;
                (LineKind::Context, Some(old_n - 1), Some(new_n - 1))
            }
        };
        hunk.lines.push(DiffLine {
            kind,
            old,
            new,
            text: line.to_owned(),
        });
    }
    files
}

/// `@@ -a[,b] +c[,d] @@…` → (a, c); a hunk of an empty side starts at 0 and
/// its first line is numbered 1 all the same.
fn hunk_starts(line: &str) -> Option<(u32, u32)> {
    let mut parts = line.split(' ');
    parts.next();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let start = |s: &str| -> Option<u32> {
        let n: u32 = s.split(',').next()?.parse().ok()?;
        Some(n.max(1))
    };
    Some((start(old)?, start(new)?))
}

/// `--- a/path`, `+++ b/path` or `/dev/null`.
fn diff_path(p: &str, prefix: &str) -> Option<String> {
    if p == "/dev/null" {
        return None;
    }
    let p = unquote(p.trim_end_matches('\t'));
    Some(p.strip_prefix(prefix).unwrap_or(&p).to_owned())
}

/// `a/x b/x`, or `"a/…" "b/…"` when git quoted them: (old, new). For a file
/// whose name has spaces and is not renamed, the two halves are equal.
fn split_git_header(rest: &str) -> (Option<String>, Option<String>) {
    if rest.starts_with('"') {
        if let Some((a, b)) = split_quoted(rest) {
            return (
                a.strip_prefix("a/").map(str::to_owned),
                b.strip_prefix("b/").map(str::to_owned),
            );
        }
    }
    let half = rest.len().saturating_sub(1) / 2;
    if rest.len() % 2 == 1 && rest.is_char_boundary(half) {
        let (a, b) = (&rest[..half], &rest[half + 1..]);
        if let (Some(a), Some(b)) = (a.strip_prefix("a/"), b.strip_prefix("b/")) {
            if a == b {
                return (Some(a.to_owned()), Some(b.to_owned()));
            }
        }
    }
    (None, None)
}

fn split_quoted(rest: &str) -> Option<(String, String)> {
    let end = quoted_end(rest)?;
    let a = unquote(&rest[..end]);
    let b = unquote(rest[end..].trim_start());
    Some((a, b))
}

/// The byte index just after the closing quote of the C-quoted string at the start.
fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// git's C-style quoting undone (`"a\tb"`, octal bytes); anything else as it is.
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_owned();
    };
    let mut out: Vec<u8> = Vec::new();
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        out.push(match c {
            b'a' => 7,
            b'b' => 8,
            b't' => b'\t',
            b'n' => b'\n',
            b'v' => 11,
            b'f' => 12,
            b'r' => b'\r',
            b'0'..=b'7' => {
                // Up to three octal digits: a byte of a UTF-8 sequence, say.
                let mut value = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                value as u8
            }
            other => other,
        });
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "\
diff --git a/a.txt b/a.txt
index 5626abf..814f4a4 100644
--- a/a.txt
+++ b/a.txt
@@ -1,3 +1,4 @@
 one
-two
+deux
+trois
 four
diff --git a/new file.txt b/new file.txt
new file mode 100644
index 0000000..e69de29
--- /dev/null
+++ b/new file.txt
@@ -0,0 +1 @@
+hello
\\ No newline at end of file
diff --git a/old.txt b/renamed.txt
similarity index 90%
rename from old.txt
rename to renamed.txt
diff --git \"a/say \\\"hi\\\"\" \"b/say \\\"hi\\\"\"
deleted file mode 100644
--- \"a/say \\\"hi\\\"\"
+++ /dev/null
@@ -1 +0,0 @@
-gone
";

    #[test]
    fn reads_files_hunks_and_line_numbers() {
        let files = parse(DIFF);
        assert_eq!(files.len(), 4);
        let a = &files[0];
        assert_eq!(
            (a.old_path.as_deref(), a.new_path.as_deref()),
            (Some("a.txt"), Some("a.txt"))
        );
        let numbers: Vec<(LineKind, Option<u32>, Option<u32>)> = a.hunks[0]
            .lines
            .iter()
            .map(|l| (l.kind, l.old, l.new))
            .collect();
        assert_eq!(
            numbers,
            [
                (LineKind::Context, Some(1), Some(1)),
                (LineKind::Removed, Some(2), None),
                (LineKind::Added, None, Some(2)),
                (LineKind::Added, None, Some(3)),
                (LineKind::Context, Some(3), Some(4)),
            ]
        );
        let new = &files[1];
        assert_eq!(
            (new.old_path.as_deref(), new.path()),
            (None, "new file.txt")
        );
        assert_eq!(new.hunks[0].lines[0].new, Some(1));
        assert_eq!(new.hunks[0].lines[1].kind, LineKind::Note);
        let renamed = &files[2];
        assert_eq!(
            (renamed.old_path.as_deref(), renamed.new_path.as_deref()),
            (Some("old.txt"), Some("renamed.txt"))
        );
        let gone = &files[3];
        assert_eq!(
            (gone.old_path.as_deref(), gone.new_path.as_deref()),
            (Some("say \"hi\""), None)
        );
        assert_eq!(gone.hunks[0].lines[0].old, Some(1));
    }

    #[test]
    fn anchors_find_their_line_on_their_side() {
        let files = parse(DIFF);
        let at = |path: &str, line: u32, side: Side| {
            let a = Anchor::new(path, line, side).unwrap();
            files
                .iter()
                .enumerate()
                .find_map(|(i, f)| f.locate(&a).map(|(h, l)| (i, h, l)))
        };
        assert_eq!(at("a.txt", 2, Side::New), Some((0, 0, 2)));
        assert_eq!(at("a.txt", 2, Side::Old), Some((0, 0, 1)));
        assert_eq!(at("a.txt", 4, Side::New), Some((0, 0, 4)));
        assert_eq!(at("a.txt", 9, Side::New), None);
        assert_eq!(at("say \"hi\"", 1, Side::Old), Some((3, 0, 0)));
        assert_eq!(at("say \"hi\"", 1, Side::New), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(unquote("\"a\\tb\\\"c\\\\\""), "a\tb\"c\\");
        assert_eq!(unquote("\"caf\\303\\251\""), "café");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(
            split_git_header("a/x y b/x y"),
            (Some("x y".into()), Some("x y".into()))
        );
        assert_eq!(hunk_starts("@@ -0,0 +1 @@"), Some((1, 1)));
    }
}

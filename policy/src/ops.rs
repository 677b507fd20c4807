//! The operations rules allow: one per updated ref, one per changed path.
//!
//! Also parses a rule's `OPS` field, because the helpful errors there ("did
//! you mean", "that belongs in the other kind of file") need to know both
//! kinds of operation.

use std::fmt;
use std::str::FromStr;

use crate::suggest::closest;

/// A name that is not an operation of the kind asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown operation `{0}`")]
pub struct UnknownOp(pub String);

/// What a push does to one ref (SPEC section 3, "Ref operations").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefOp {
    /// A new ref outside `refs/tags/`.
    CreateBranch,
    /// A new ref under `refs/tags/`.
    CreateTag,
    /// The old commit is an ancestor of the new one (never for tags).
    FastForward,
    /// Any other update of an existing ref, and every update of a tag.
    Force,
    /// The new value is all zeros.
    Delete,
}

/// What a push does to one path of a branch's tree (SPEC section 3, "Tree operations").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TreeOp {
    /// A directory that did not exist (reported for every level).
    CreateDirectory,
    /// A new regular or executable file.
    CreateFile,
    /// A new symlink.
    CreateSymlink,
    /// A new gitlink.
    CreateSubmodule,
    /// Same path and kind, other content or mode.
    Modify,
    /// A file, symlink or gitlink removed.
    DeleteFile,
    /// A directory removed (reported for every level).
    DeleteDirectory,
}

impl RefOp {
    /// Every ref operation, in declaration order (which is also `Ord` order).
    pub const ALL: [RefOp; 5] = [
        RefOp::CreateBranch,
        RefOp::CreateTag,
        RefOp::FastForward,
        RefOp::Force,
        RefOp::Delete,
    ];

    /// The name used in rules and messages, e.g. `create-branch`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefOp::CreateBranch => "create-branch",
            RefOp::CreateTag => "create-tag",
            RefOp::FastForward => "fast-forward",
            RefOp::Force => "force",
            RefOp::Delete => "delete",
        }
    }

    /// Position in [`RefOp::ALL`], for per-op tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl TreeOp {
    /// Every tree operation, in declaration order (which is also `Ord` order).
    /// The rule shorthand `delete` is not one: it stands for two of these.
    pub const ALL: [TreeOp; 7] = [
        TreeOp::CreateDirectory,
        TreeOp::CreateFile,
        TreeOp::CreateSymlink,
        TreeOp::CreateSubmodule,
        TreeOp::Modify,
        TreeOp::DeleteFile,
        TreeOp::DeleteDirectory,
    ];

    /// The name used in rules and messages, e.g. `delete-file`.
    pub fn as_str(self) -> &'static str {
        match self {
            TreeOp::CreateDirectory => "create-directory",
            TreeOp::CreateFile => "create-file",
            TreeOp::CreateSymlink => "create-symlink",
            TreeOp::CreateSubmodule => "create-submodule",
            TreeOp::Modify => "modify",
            TreeOp::DeleteFile => "delete-file",
            TreeOp::DeleteDirectory => "delete-directory",
        }
    }

    /// Position in [`TreeOp::ALL`], for per-op tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RefOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for TreeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RefOp {
    type Err = UnknownOp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RefOp::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| UnknownOp(s.to_owned()))
    }
}

impl FromStr for TreeOp {
    type Err = UnknownOp;

    /// Exact names only; the rule shorthand `delete` is not a single op and
    /// is an error here.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TreeOp::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| UnknownOp(s.to_owned()))
    }
}

/// The two kinds of rule file, which take different operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `refs/*.conf`
    Ref,
    /// `branches/*.conf`
    Tree,
}

/// The words allowed in `OPS` of ref rules, in the order hints prefer.
const REF_OP_WORDS: [&str; 5] = [
    "create-branch",
    "create-tag",
    "fast-forward",
    "force",
    "delete",
];

/// The words allowed in `OPS` of tree rules: the ops plus the `delete` shorthand.
const TREE_OP_WORDS: [&str; 8] = [
    "create-directory",
    "create-file",
    "create-symlink",
    "create-submodule",
    "modify",
    "delete-file",
    "delete-directory",
    "delete",
];

impl FileKind {
    fn words(self) -> &'static [&'static str] {
        match self {
            FileKind::Ref => &REF_OP_WORDS,
            FileKind::Tree => &TREE_OP_WORDS,
        }
    }

    fn other(self) -> FileKind {
        match self {
            FileKind::Ref => FileKind::Tree,
            FileKind::Tree => FileKind::Ref,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            FileKind::Ref => "ref",
            FileKind::Tree => "tree",
        }
    }

    fn files(self) -> &'static str {
        match self {
            FileKind::Ref => "refs/*.conf",
            FileKind::Tree => "branches/*.conf",
        }
    }
}

/// Parses the `OPS` of a rule in a ref file; sorted, without duplicates.
pub(crate) fn parse_ref_ops(text: &str) -> Result<Vec<RefOp>, Vec<String>> {
    let words = check_words(text, FileKind::Ref)?;
    let mut ops: Vec<RefOp> = words.iter().filter_map(|w| w.parse().ok()).collect();
    ops.sort_unstable();
    ops.dedup();
    Ok(ops)
}

/// Parses the `OPS` of a rule in a tree file, expanding `delete`; sorted,
/// without duplicates.
pub(crate) fn parse_tree_ops(text: &str) -> Result<Vec<TreeOp>, Vec<String>> {
    let words = check_words(text, FileKind::Tree)?;
    let mut ops: Vec<TreeOp> = words
        .iter()
        .flat_map(|&w| match w {
            "delete" => vec![TreeOp::DeleteFile, TreeOp::DeleteDirectory],
            w => w.parse().ok().into_iter().collect(),
        })
        .collect();
    ops.sort_unstable();
    ops.dedup();
    Ok(ops)
}

/// Splits `text` on commas and checks every word; every problem is returned.
fn check_words(text: &str, kind: FileKind) -> Result<Vec<&str>, Vec<String>> {
    let mut words = Vec::new();
    let mut errors = Vec::new();
    let mut reported_empty = false;
    for word in text.split(',') {
        if word.is_empty() {
            // One message for `a,,,b` is enough.
            if !reported_empty {
                errors.push(format!("empty operation in `{text}`"));
                reported_empty = true;
            }
        } else if kind.words().contains(&word) {
            words.push(word);
        } else {
            errors.push(unknown_word_message(word, kind));
        }
    }
    if errors.is_empty() {
        Ok(words)
    } else {
        Err(errors)
    }
}

fn unknown_word_message(word: &str, kind: FileKind) -> String {
    let other = kind.other();
    if other.words().contains(&word) {
        return format!(
            "`{word}` is a {} operation: it belongs in {}",
            other.noun(),
            other.files()
        );
    }
    if let Some(hint) = closest(word, kind.words()) {
        return format!("unknown operation `{word}`: did you mean `{hint}`?");
    }
    if let Some(hint) = closest(word, other.words()) {
        return format!(
            "unknown operation `{word}`: did you mean `{hint}`? (a {} operation: it belongs in {})",
            other.noun(),
            other.files()
        );
    }
    format!(
        "unknown operation `{word}`: {} operations are {}",
        kind.noun(),
        kind.words().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in RefOp::ALL {
            assert_eq!(op.as_str().parse::<RefOp>(), Ok(op));
            assert_eq!(op.to_string(), op.as_str());
            assert_eq!(RefOp::ALL[op.index()], op);
            assert!(REF_OP_WORDS.contains(&op.as_str()));
        }
        for op in TreeOp::ALL {
            assert_eq!(op.as_str().parse::<TreeOp>(), Ok(op));
            assert_eq!(op.to_string(), op.as_str());
            assert_eq!(TreeOp::ALL[op.index()], op);
            assert!(TREE_OP_WORDS.contains(&op.as_str()));
        }
        assert_eq!(REF_OP_WORDS.len(), RefOp::ALL.len());
        assert_eq!(TREE_OP_WORDS.len(), TreeOp::ALL.len() + 1);
        assert_eq!(
            "delete".parse::<TreeOp>(),
            Err(UnknownOp("delete".to_owned()))
        );
        assert_eq!("Force".parse::<RefOp>(), Err(UnknownOp("Force".to_owned())));
        assert_eq!(UnknownOp("x".into()).to_string(), "unknown operation `x`");
    }

    #[test]
    fn op_lists() {
        assert_eq!(
            parse_ref_ops("force,create-branch,force"),
            Ok(vec![RefOp::CreateBranch, RefOp::Force])
        );
        assert_eq!(
            parse_tree_ops("delete,modify,delete-file"),
            Ok(vec![
                TreeOp::Modify,
                TreeOp::DeleteFile,
                TreeOp::DeleteDirectory
            ])
        );
        assert_eq!(parse_ref_ops("delete"), Ok(vec![RefOp::Delete]));
    }

    #[test]
    fn op_list_errors() {
        let cases: [(FileKind, &str, &[&str]); 9] = [
            (
                FileKind::Tree,
                "create-file,,modify",
                &["empty operation in `create-file,,modify`"],
            ),
            (FileKind::Ref, ",", &["empty operation in `,`"]),
            (
                FileKind::Tree,
                "modfy",
                &["unknown operation `modfy`: did you mean `modify`?"],
            ),
            (
                FileKind::Ref,
                "modify",
                &["`modify` is a tree operation: it belongs in branches/*.conf"],
            ),
            (
                FileKind::Tree,
                "fast-forward",
                &["`fast-forward` is a ref operation: it belongs in refs/*.conf"],
            ),
            (
                FileKind::Tree,
                "fast-foward",
                &["unknown operation `fast-foward`: did you mean `fast-forward`? (a ref operation: it belongs in refs/*.conf)"],
            ),
            (
                FileKind::Ref,
                "frob",
                &["unknown operation `frob`: ref operations are create-branch, create-tag, fast-forward, force, delete"],
            ),
            (
                FileKind::Ref,
                "Force,creat-tag",
                &[
                    "unknown operation `Force`: did you mean `force`?",
                    "unknown operation `creat-tag`: did you mean `create-tag`?",
                ],
            ),
            (
                FileKind::Tree,
                "modify,,,x,",
                &[
                    "empty operation in `modify,,,x,`",
                    "unknown operation `x`: tree operations are create-directory, create-file, create-symlink, create-submodule, modify, delete-file, delete-directory, delete",
                ],
            ),
        ];
        for (kind, text, want) in cases {
            let got = match kind {
                FileKind::Ref => parse_ref_ops(text).map(drop),
                FileKind::Tree => parse_tree_ops(text).map(drop),
            };
            assert_eq!(
                got,
                Err(want.iter().map(|s| s.to_string()).collect()),
                "{text}"
            );
        }
    }
}

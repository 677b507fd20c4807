//! The `REGEX` of rules and scopes: `$user_id`, anchoring, validation,
//! compiling, and the literal prefixes that let a push try only the rules
//! that can match a name.
//!
//! Regexes are compiled with `regex-automata`'s meta engine, which is what
//! the `regex` crate is made of, configured here rather than by whoever
//! else in a build turns on `regex-automata` features: no full DFA (a
//! workspace that enables `dfa-build` for another crate would otherwise
//! make every rule's compile determinize one, which costs more than the
//! matching it saves on a push), and no capture groups beyond the match.

use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{meta, MatchKind};
use regex_syntax::hir::literal::Extractor;

use crate::fingerprint::Fingerprint;

/// The variable that stands for the pusher's fingerprint.
pub(crate) const USER_ID_VAR: &str = "$user_id";

/// Substituted for `$user_id` when validating, since the pusher is not known
/// then; any fingerprint does, they all have the same shape.
const SAMPLE_USER_ID: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

/// What a regex is matched against, which decides the regex flavour: ref
/// names are text, tree paths are bytes (they need not be UTF-8), and
/// a bytes regex accepts patterns such as `(?-u:\xFF)` that a text one refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A ref name without `refs/`, or a branch name (scopes).
    RefName,
    /// A path in a tree.
    Path,
}

/// How a regex is compiled to be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Rules and limits: matched as bytes, `.` matching a newline too (a
    /// path has no lines).
    Bytes,
    /// `branch` scopes: matched as text, as `regex::Regex` does.
    Text,
}

impl Flavor {
    fn syntax(self) -> syntax::Config {
        match self {
            Flavor::Bytes => syntax::Config::new().utf8(false).dot_matches_new_line(true),
            Flavor::Text => syntax::Config::new(),
        }
    }
}

impl Subject {
    /// The flavour a regex is validated in: text for ref names, so that a
    /// rule on refs cannot match bytes that are not UTF-8.
    fn flavor(self) -> Flavor {
        match self {
            Subject::RefName => Flavor::Text,
            Subject::Path => Flavor::Bytes,
        }
    }
}

/// Replaces `$user_id` with the escaped fingerprint. Plain text replacement:
/// `$` followed by `user_id` would otherwise be a useless end anchor.
pub(crate) fn substitute(regex: &str, user: &Fingerprint) -> String {
    substitute_text(regex, user.as_str())
}

fn substitute_text(regex: &str, user: &str) -> String {
    regex.replace(USER_ID_VAR, &regex_syntax::escape(user))
}

/// The regex as compiled: it must match the whole name. A non-capturing group
/// keeps alternations inside (`a|b` must not become `^a|b$`).
pub(crate) fn anchor(regex: &str) -> String {
    format!("^(?:{regex})$")
}

/// Checks that `regex` compiles for any user, anchored, within
/// [`MAX_REGEX_SIZE`]. It is parsed alone first, which proves its
/// parentheses balance, so the anchored form cannot be subverted by text
/// such as `a)|(.*`; then compiled anchored, once, which also catches a
/// `(?x)` comment that would swallow the closing `)$`.
pub(crate) fn check(regex: &str, subject: Subject) -> Result<(), String> {
    // `WHO OPS REGEX  # why` looks like a commented rule, but the comment
    // would be part of the regex and the rule would silently match nothing.
    if let Some(at) = regex.find(" #").or_else(|| regex.find("\t#")) {
        return Err(format!(
            "`{}` after the regex is not a comment: comments take a whole line (to match `#`, write `[#]`)",
            regex[at..].trim()
        ));
    }
    let text = substitute_text(regex, SAMPLE_USER_ID);
    let bad = |why: String| format!("bad regex `{regex}`: {why}");
    regex_syntax::ast::parse::Parser::new()
        .parse(&text)
        .map_err(|e| bad(condense(&e.to_string())))?;
    build(&anchor(&text), subject.flavor(), MAX_REGEX_SIZE)
        .map(drop)
        .map_err(|e| bad(build_error(&e)))
}

/// The most memory one rule's compiled regex may take. A rule's regex is
/// compiled on the pushes that may need it; the regex crate's default
/// (10 MiB) lets one rule such as `\w{1,100}` cost 40 ms to compile, this
/// one about 2 ms. Rules that need more are refused when the policy is
/// parsed, with the regex crate's message.
pub(crate) const MAX_REGEX_SIZE: usize = 1 << 20;

/// The limit when matching: `$user_id` may be longer than the sample the
/// rule was checked with (a v6 fingerprint), and a set of several rules is
/// bigger than any one of them. The regex crate's default.
pub(crate) const MATCH_SIZE_LIMIT: usize = 10 << 20;

/// Compiles `pattern` (already anchored and substituted).
pub(crate) fn build(
    pattern: &str,
    flavor: Flavor,
    size_limit: usize,
) -> Result<meta::Regex, Box<meta::BuildError>> {
    build_many(&[pattern], flavor, size_limit, MatchKind::LeftmostFirst)
}

/// Compiles `patterns` (already anchored and substituted) into one set
/// whose pattern `i` is `patterns[i]`, which reports every pattern that
/// matches.
pub(crate) fn build_set(
    patterns: &[impl AsRef<str>],
    flavor: Flavor,
    size_limit: usize,
) -> Result<meta::Regex, Box<meta::BuildError>> {
    build_many(patterns, flavor, size_limit, MatchKind::All)
}

fn build_many(
    patterns: &[impl AsRef<str>],
    flavor: Flavor,
    size_limit: usize,
    kind: MatchKind,
) -> Result<meta::Regex, Box<meta::BuildError>> {
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(kind)
                .utf8_empty(flavor == Flavor::Text)
                .nfa_size_limit(Some(size_limit))
                .hybrid_cache_capacity(2 << 20)
                .dfa(false)
                .which_captures(WhichCaptures::Implicit),
        )
        .syntax(flavor.syntax())
        .build_many(patterns)
        .map_err(Box::new)
}

/// A build error on one line, in the regex crate's words.
pub(crate) fn build_error(err: &meta::BuildError) -> String {
    if let Some(limit) = err.size_limit() {
        return format!("Compiled regex exceeds size limit of {limit} bytes.");
    }
    match err.syntax_error() {
        Some(syntax) => condense(&syntax.to_string()),
        None => condense(&err.to_string()),
    }
}

/// A regex error's message on one line. Syntax errors are several lines
/// (the pattern, a caret, `error: …`); in `file:line: message` form only
/// the `error:` part is meaningful, since the pattern is quoted anyway.
pub(crate) fn condense(text: &str) -> String {
    if let Some(reason) = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
    {
        return reason.trim().to_owned();
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ")
}

/// What every name a regex matches starts with, for the prefilter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Prefixes {
    /// Every match starts with one of these (none at all: it never matches).
    Literals(Vec<Box<[u8]>>),
    /// Nothing useful is known: the regex is tried on every name.
    Any,
}

/// More literals than this, and a regex is tried on every name: a rule such
/// as `(?i)heads/feature/.*` would otherwise fill the index.
const MAX_LITERALS: usize = 16;

/// Literals longer than this are cut (a shorter prefix is still a prefix).
const MAX_LITERAL_LEN: usize = 64;

/// Stands for `$user_id` when finding prefixes: it matches every
/// fingerprint, so what the regex starts with holds for every user.
const ANY_USER_ID: &str = "(?:[0-9A-F]{40}|[0-9A-F]{64})";

/// What every match of the rule `regex` starts with, whoever pushes
/// (`$user_id` stands for any fingerprint), as `regex-syntax`'s literal
/// extractor finds it on the anchored regex, which every match starts at
/// the start of the name. A regex the extractor cannot see into, or whose
/// `$user_id` is not a whole part of it (`[$user_id]`), is `Any`.
pub(crate) fn prefixes(regex: &str, flavor: Flavor) -> Prefixes {
    let text = anchor(&regex.replace(USER_ID_VAR, ANY_USER_ID));
    let Ok(hir) = syntax::parse_with(&text, &flavor.syntax()) else {
        return Prefixes::Any;
    };
    let seq = Extractor::new().extract(&hir);
    let Some(literals) = seq.literals() else {
        return Prefixes::Any;
    };
    if literals.len() > MAX_LITERALS || literals.iter().any(|l| l.is_empty()) {
        return Prefixes::Any;
    }
    let mut out: Vec<Box<[u8]>> = literals
        .iter()
        .map(|l| {
            let bytes = l.as_bytes();
            bytes[..bytes.len().min(MAX_LITERAL_LEN)].into()
        })
        .collect();
    out.sort();
    out.dedup();
    Prefixes::Literals(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_escapes_and_anchors() {
        let user = Fingerprint::parse(SAMPLE_USER_ID).expect("valid");
        assert_eq!(
            substitute("^heads/users/$user_id/.*$", &user),
            format!("^heads/users/{SAMPLE_USER_ID}/.*$")
        );
        assert_eq!(substitute("a$user_id$user_id", &user).len(), 81);
        assert_eq!(anchor("a|b"), "^(?:a|b)$");
    }

    #[test]
    fn check_table() {
        let cases = [
            ("^.*$", Subject::RefName, Ok(())),
            ("heads/users/$user_id/.*", Subject::RefName, Ok(())),
            ("keys/$user_id\\.asc", Subject::Path, Ok(())),
            (
                "a(b",
                Subject::Path,
                Err("bad regex `a(b`: unclosed group".to_owned()),
            ),
            (
                "a)|(.*",
                Subject::RefName,
                Err("bad regex `a)|(.*`: unopened group".to_owned()),
            ),
            ("(?-u:\\xFF)", Subject::Path, Ok(())),
            (
                "^docs/.*$   # the docs",
                Subject::Path,
                Err("`# the docs` after the regex is not a comment: comments take a whole line (to match `#`, write `[#]`)".to_owned()),
            ),
            ("^notes/[#]1$", Subject::Path, Ok(())),
            (
                "(?x)a # comment",
                Subject::Path,
                Err("`# comment` after the regex is not a comment: comments take a whole line (to match `#`, write `[#]`)".to_owned()),
            ),
            (
                "[z-a]",
                Subject::RefName,
                Err("bad regex `[z-a]`: invalid character class range, the start must be <= the end".to_owned()),
            ),
        ];
        for (regex, subject, want) in cases {
            assert_eq!(check(regex, subject), want, "{regex}");
        }
        // Refused for text, accepted for bytes.
        assert!(check("(?-u:\\xFF)", Subject::RefName).is_err());
        // Too costly to compile on every push.
        let err = check("\\w{1,100}", Subject::Path).expect_err("too big");
        assert!(err.contains("size limit"), "{err}");
    }

    #[test]
    fn prefixes_hold_for_every_user() {
        let lits = |regex: &str| match prefixes(regex, Flavor::Bytes) {
            Prefixes::Any => None,
            Prefixes::Literals(l) => Some(
                l.iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect::<Vec<_>>(),
            ),
        };
        assert_eq!(lits("heads/team7/.*"), Some(vec!["heads/team7/".into()]));
        assert_eq!(lits("^heads/main$"), Some(vec!["heads/main".into()]));
        assert_eq!(lits("a|b"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(
            lits("(?i)ab"),
            Some(vec!["AB".into(), "Ab".into(), "aB".into(), "ab".into()])
        );
        assert_eq!(lits("[a&&b]"), Some(vec![]));
        // Whoever pushes: the literal stops where `$user_id` starts.
        let users = lits("heads/users/$user_id/.*").expect("literals");
        assert!(
            users.iter().all(|l| l.starts_with("heads/users/")),
            "{users:?}"
        );
        assert!(
            users.iter().all(|l| l.len() <= "heads/users/".len() + 1),
            "{users:?}"
        );
        for any in [
            ".*",
            ".*\\.md",
            "x*",
            "(?:)",
            "[$user_id]",
            "(?i)heads/feature/.*",
        ] {
            assert_eq!(lits(any), None, "{any}");
        }
        let long = "a".repeat(200);
        assert_eq!(lits(&long), Some(vec!["a".repeat(MAX_LITERAL_LEN)]));
    }

    #[test]
    fn condense_is_one_line() {
        let err = build("a{99999999}", Flavor::Bytes, MAX_REGEX_SIZE).expect_err("too big");
        let msg = build_error(&err);
        assert!(!msg.contains('\n'), "{msg}");
        assert!(!msg.is_empty());
        let err = build("a(b", Flavor::Bytes, MAX_REGEX_SIZE).expect_err("unclosed");
        assert_eq!(build_error(&err), "unclosed group");
    }
}

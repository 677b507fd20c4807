//! The `REGEX` of rules and scopes: `$user_id`, anchoring, validation.

use crate::fingerprint::Fingerprint;

/// The variable that stands for the pusher's fingerprint.
pub(crate) const USER_ID_VAR: &str = "$user_id";

/// Substituted for `$user_id` when validating, since the pusher is not known
/// then; any fingerprint does, they all have the same shape.
const SAMPLE_USER_ID: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

/// What a regex is matched against, which decides the regex flavour: ref
/// names are text, tree paths are bytes (they need not be UTF-8), and
/// `regex::bytes` accepts patterns such as `(?-u:\xFF)` that `regex` refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A ref name without `refs/`, or a branch name (scopes).
    RefName,
    /// A path in a tree.
    Path,
}

/// Replaces `$user_id` with the escaped fingerprint. Plain text replacement:
/// `$` followed by `user_id` would otherwise be a useless end anchor.
pub(crate) fn substitute(regex: &str, user: &Fingerprint) -> String {
    substitute_text(regex, user.as_str())
}

fn substitute_text(regex: &str, user: &str) -> String {
    regex.replace(USER_ID_VAR, &regex::escape(user))
}

/// The regex as compiled: it must match the whole name. A non-capturing group
/// keeps alternations inside (`a|b` must not become `^a|b$`).
pub(crate) fn anchor(regex: &str) -> String {
    format!("^(?:{regex})$")
}

/// Checks that `regex` compiles for any user, both alone and anchored.
/// Compiling it alone first proves its parentheses balance, so the anchored
/// form cannot be subverted by text such as `a)|(.*`; the anchored form is
/// still compiled because a `(?x)` comment would swallow the closing `)$`.
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
    compile_one(&text, subject)
        .and_then(|()| compile_one(&anchor(&text), subject))
        .map_err(|e| format!("bad regex `{regex}`: {}", condense(&e)))
}

/// The most memory one rule's compiled regex may take. The policy is
/// compiled on every push, before the pusher is known; the regex crate's
/// default (10 MiB) lets one rule such as `\w{1,100}` cost 40 ms to
/// compile, this one about 2 ms. Rules that need more are refused when the
/// policy is parsed, with the regex crate's message.
pub(crate) const MAX_REGEX_SIZE: usize = 1 << 20;

fn compile_one(text: &str, subject: Subject) -> Result<(), regex::Error> {
    match subject {
        Subject::RefName => regex::RegexBuilder::new(text)
            .size_limit(MAX_REGEX_SIZE)
            .build()
            .map(drop),
        Subject::Path => regex::bytes::RegexBuilder::new(text)
            .size_limit(MAX_REGEX_SIZE)
            .build()
            .map(drop),
    }
}

/// The regex crate's message on one line. Its syntax errors are several lines
/// (the pattern, a caret, `error: …`); in `file:line: message` form only the
/// `error:` part is meaningful, since the pattern is quoted anyway.
pub(crate) fn condense(err: &regex::Error) -> String {
    let text = err.to_string();
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
    fn condense_is_one_line() {
        let err = regex::Regex::new("a{99999999}").expect_err("too big");
        let msg = condense(&err);
        assert!(!msg.contains('\n'), "{msg}");
        assert!(!msg.is_empty());
    }
}

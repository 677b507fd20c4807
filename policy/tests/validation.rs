//! Parsing and validation: every message, exactly as `file:line: message`.

use gitapps_policy::{Diagnostics, Policy, PolicyFile};

/// (path, content) pairs.
type Files<'a> = &'a [(&'a str, &'a str)];

const A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn parse(files: &[(&str, &[u8])]) -> Result<Policy, Diagnostics> {
    Policy::parse(
        files
            .iter()
            .map(|&(path, content)| PolicyFile { path, content }),
    )
}

/// The diagnostics for `files`, as lines; empty when the policy is valid.
fn errors(files: &[(&str, &str)]) -> Vec<String> {
    let bytes: Vec<(&str, &[u8])> = files.iter().map(|&(p, c)| (p, c.as_bytes())).collect();
    match parse(&bytes) {
        Ok(_) => Vec::new(),
        Err(d) => d.to_string().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn valid_policies_parse() {
    let cases: &[(&str, Files<'_>)] = &[
        ("empty", &[]),
        (
            "defaults",
            &[
                ("refs/owner.conf", gitapps_policy::DEFAULT_REF_RULES),
                ("branches/owner.conf", gitapps_policy::DEFAULT_TREE_RULES),
            ],
        ),
        (
            "open registration",
            &[
                ("refs/reg.conf", gitapps_policy::OPEN_REGISTRATION_REF_RULES),
                ("branches/reg.conf", gitapps_policy::OPEN_REGISTRATION_TREE_RULES),
            ],
        ),
        (
            "comments, blank lines, indentation, tabs, CRLF",
            &[(
                "refs/x.conf",
                "# a comment\n\n   # indented comment\n\t owner\tforce \t ^.*$ \r\n\n",
            )],
        ),
        (
            "spaces and # in the regex (after a space, as [#])",
            &[("branches/x.conf", "anyone modify ^docs/my file [#]1\\.txt$\nanyone modify ^a#b$\n")],
        ),
        (
            "duplicate ops, shorthand, lower-case fingerprint, @group",
            &[
                (
                    "branches/x.conf",
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa modify,modify,delete,delete-file x\n@devs create-file y\n",
                ),
                ("groups/devs", "# nobody yet\n"),
            ],
        ),
        (
            "size limits, scoped and not",
            &[(
                "branches/x.conf",
                "limit size 10m ^.*$\nbranch ^heads/apps/merge-reqs/data$\nlimit size 1M ^.*$\nlimit size 0 ^merge-reqs/$user_id/empty$\nanyone create-file ^.*$\n",
            )],
        ),
        (
            "scopes in both forms, $user_id in a scope",
            &[(
                "branches/x.conf",
                "branch ^heads/main$\nowner modify .*\nbranch main\nbranch ^heads/users/$user_id/.*$\nanyone modify .*\n",
            )],
        ),
        (
            "non-policy paths are ignored, whatever they hold",
            &[
                ("keys/AAAA.asc", "\u{FFFD} not a rule"),
                ("README", "nonsense"),
                ("refs/sub/x.conf", "nonsense"),
                ("refs/x.txt", "nonsense"),
                ("groups/sub/x", "nonsense"),
            ],
        ),
        ("@owner and @anyone as members", &[("groups/all", "@owner\n@anyone\n")]),
        ("byte regex in tree rules", &[("branches/x.conf", "owner modify (?-u:\\xFF)\n")]),
    ];
    for (name, files) in cases {
        assert_eq!(errors(files), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn every_message() {
    let cases: &[(&str, Files<'_>, &[&str])] = &[
        (
            "unknown op with hint",
            &[("refs/x.conf", "owner creat-branch ^.*$\n")],
            &["refs/x.conf:1: unknown operation `creat-branch`: did you mean `create-branch`?"],
        ),
        (
            "unknown op without hint",
            &[("branches/x.conf", "owner frob x\n")],
            &["branches/x.conf:1: unknown operation `frob`: tree operations are create-directory, create-file, create-symlink, create-submodule, modify, delete-file, delete-directory, delete"],
        ),
        (
            "tree op in a ref file",
            &[("refs/x.conf", "owner force,modify ^.*$\n")],
            &["refs/x.conf:1: `modify` is a tree operation: it belongs in branches/*.conf"],
        ),
        (
            "ref op in a tree file",
            &[("branches/x.conf", "\nowner fast-forward x\n")],
            &["branches/x.conf:2: `fast-forward` is a ref operation: it belongs in refs/*.conf"],
        ),
        (
            "empty op",
            &[("branches/x.conf", "owner create-file,,modify x\n")],
            &["branches/x.conf:1: empty operation in `create-file,,modify`"],
        ),
        (
            "trailing comma",
            &[("refs/x.conf", "owner force, x\n")],
            &["refs/x.conf:1: empty operation in `force,`"],
        ),
        (
            "bad regex",
            &[("refs/x.conf", "owner force heads/(main\n")],
            &["refs/x.conf:1: bad regex `heads/(main`: unclosed group"],
        ),
        (
            "regex that would break out of the anchoring",
            &[("refs/x.conf", "owner force a)|(.*\n")],
            &["refs/x.conf:1: bad regex `a)|(.*`: unopened group"],
        ),
        (
            "bad scope regex",
            &[("branches/x.conf", "branch [z-a]\n")],
            &["branches/x.conf:1: bad regex `[z-a]`: invalid character class range, the start must be <= the end"],
        ),
        (
            "bytes in a ref regex",
            &[("refs/x.conf", "owner force (?-u:\\xFF)\n")],
            &["refs/x.conf:1: bad regex `(?-u:\\xFF)`: pattern can match invalid UTF-8"],
        ),
        (
            "unknown group",
            &[("refs/x.conf", "devs force x\n"), ("groups/ci", "")],
            &["refs/x.conf:1: unknown group `devs` (known groups: owner, anyone, ci)"],
        ),
        (
            "unknown @group with hint",
            &[("branches/x.conf", "@maintainer modify x\n"), ("groups/maintainers", "")],
            &["branches/x.conf:1: unknown group `maintainer`: did you mean `maintainers`? (known groups: owner, anyone, maintainers)"],
        ),
        (
            "key id instead of fingerprint",
            &[("refs/x.conf", "0123456789ABCDEF force x\n")],
            &["refs/x.conf:1: `0123456789ABCDEF` is not a full fingerprint: a user id has 40 (v4) or 64 (v6) hex digits"],
        ),
        (
            "not a WHO at all",
            &[("refs/x.conf", "alice@example.org force x\n")],
            &["refs/x.conf:1: `alice@example.org` is not a user id, `owner`, `anyone` or a group name"],
        ),
        (
            "incomplete rules",
            &[("refs/x.conf", "owner\nowner force\n  owner   force   \n")],
            &[
                "refs/x.conf:1: incomplete rule: expected `WHO OPS REGEX`, found `owner`",
                "refs/x.conf:2: incomplete rule: expected `WHO OPS REGEX`, found `owner force`",
                "refs/x.conf:3: incomplete rule: expected `WHO OPS REGEX`, found `owner   force`",
            ],
        ),
        (
            "branch in a ref file",
            &[("refs/x.conf", "branch ^heads/main$\n")],
            &["refs/x.conf:1: `branch` lines apply to files on branches: they belong in branches/*.conf"],
        ),
        (
            "limit in a ref file",
            &[("refs/x.conf", "limit size 1m ^.*$\n")],
            &["refs/x.conf:1: `limit` lines apply to files on branches: they belong in branches/*.conf"],
        ),
        (
            "incomplete limits",
            &[("branches/x.conf", "limit\nlimit size\nlimit size 1m\n")],
            &[
                "branches/x.conf:1: incomplete limit: expected `limit size SIZE REGEX`, e.g. `limit size 1m ^.*$`",
                "branches/x.conf:2: incomplete limit: expected `limit size SIZE REGEX`, e.g. `limit size 1m ^.*$`",
                "branches/x.conf:3: incomplete limit: expected `limit size SIZE REGEX`, e.g. `limit size 1m ^.*$`",
            ],
        ),
        (
            "unknown limit, bad size, bad limit regex",
            &[("branches/x.conf", "limit count 10 ^.*$\nlimit size 1.5m ^.*$\nlimit size 1kb (\n")],
            &[
                "branches/x.conf:1: unknown limit `count`: the one limit is `limit size SIZE REGEX`",
                "branches/x.conf:2: bad size `1.5m`: a number of bytes, with an optional k, m or g suffix (1024-based), e.g. `512k`",
                "branches/x.conf:3: bad size `1kb`: a number of bytes, with an optional k, m or g suffix (1024-based), e.g. `512k`",
                "branches/x.conf:3: bad regex `(`: unclosed group",
            ],
        ),
        (
            "a carriage return that makes a rule look like a comment",
            &[("refs/x.conf", "owner force ^.*$\nanyone fast-forward,force,delete ^.*$\r# nothing to see\n")],
            &["refs/x.conf:2: the line holds a carriage return (U+000D), which can hide text from a reader: policy files are plain text, with tabs but no other control, invisible or direction-changing characters"],
        ),
        (
            "a line separator in a tree rule, a bidi override in a group",
            &[
                ("branches/x.conf", "anyone modify ^docs/.*$\u{2028}anyone modify ^.*$\n"),
                ("groups/g", "# \u{202E}the maintainers\n"),
            ],
            &[
                "branches/x.conf:1: the line holds a line separator (U+2028), which can hide text from a reader: policy files are plain text, with tabs but no other control, invisible or direction-changing characters",
                "groups/g:1: the line holds a bidirectional override (U+202E), which can hide text from a reader: policy files are plain text, with tabs but no other control, invisible or direction-changing characters",
            ],
        ),
        (
            "branch without regex",
            &[("branches/x.conf", "branch\n")],
            &["branches/x.conf:1: incomplete scope: expected `branch REGEX`"],
        ),
        (
            "reserved group names",
            &[("groups/owner", ""), ("groups/anyone", ""), ("groups/branch", ""), ("groups/limit", "")],
            &[
                "groups/anyone:1: `anyone` is reserved and cannot be a group name",
                "groups/branch:1: `branch` is reserved and cannot be a group name",
                "groups/limit:1: `limit` is reserved and cannot be a group name",
                "groups/owner:1: `owner` is reserved and cannot be a group name",
            ],
        ),
        (
            "invalid group name",
            &[("groups/my group", "")],
            &["groups/my group:1: invalid group name `my group`: use only letters, digits, `.`, `_` and `-`"],
        ),
        (
            "group name shaped like a fingerprint",
            &[("groups/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")],
            &["groups/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:1: group name `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` looks like a user id and could not be told apart from one"],
        ),
        (
            "group cycle",
            &[("groups/a", "@b\n"), ("groups/b", "@a\n")],
            &["groups/a:1: group cycle: a -> b -> a"],
        ),
        (
            "bad member and unknown @group in a group",
            &[("groups/g", "# members\nalice\n@nope\n")],
            &[
                "groups/g:2: invalid member `alice`: expected a user id (fingerprint) or @group",
                "groups/g:3: unknown group `nope` (known groups: owner, anyone, g)",
            ],
        ),
        (
            "duplicate file",
            &[("refs/x.conf", "owner force x\n"), ("refs/x.conf", "owner force x\n")],
            &["refs/x.conf:1: duplicate file"],
        ),
        (
            "every problem on a line, every file, sorted by file and line",
            &[
                ("refs/b.conf", "\nnope creat-tag,modify (\n"),
                ("branches/a.conf", "owner modify x\nowner force y\n"),
            ],
            &[
                "branches/a.conf:2: `force` is a ref operation: it belongs in refs/*.conf",
                "refs/b.conf:2: unknown operation `creat-tag`: did you mean `create-tag`?",
                "refs/b.conf:2: `modify` is a tree operation: it belongs in branches/*.conf",
                "refs/b.conf:2: unknown group `nope` (known groups: owner, anyone)",
                "refs/b.conf:2: bad regex `(`: unclosed group",
            ],
        ),
    ];
    for (name, files, want) in cases {
        assert_eq!(errors(files), *want, "{name}");
    }
}

#[test]
fn non_utf8_lines() {
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "refs/x.conf",
            b"\xFF\xFE",
            &["refs/x.conf:1: line is not valid UTF-8"],
        ),
        (
            "branches/x.conf",
            b"owner modify x\nowner modify \xC3(\nowner modfy y\n",
            &[
                "branches/x.conf:2: line is not valid UTF-8",
                "branches/x.conf:3: unknown operation `modfy`: did you mean `modify`?",
            ],
        ),
        (
            "groups/g",
            b"# ok\n\n\x80\n",
            &["groups/g:3: line is not valid UTF-8"],
        ),
    ];
    for &(path, content, want) in cases {
        let got = match parse(&[(path, content)]) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(ToString::to_string).collect(),
        };
        assert_eq!(got, want, "{path}");
    }
}

#[test]
fn diagnostics_are_structured() {
    let Err(d) = parse(&[("refs/x.conf", b"\n\nowner frob x\n")]) else {
        panic!("must fail");
    };
    assert_eq!(d.len(), 1);
    assert_eq!(d.0[0].location.file, "refs/x.conf");
    assert_eq!(d.0[0].location.line, 3);
    assert!(d.0[0].message.starts_with("unknown operation `frob`"));
    // It is an error type, for `?` into anyhow and friends.
    let boxed: Box<dyn std::error::Error> = Box::new(d);
    assert!(boxed.to_string().starts_with("refs/x.conf:3: "));
}

#[test]
fn fingerprint_who_any_case() {
    let lower = A.to_lowercase();
    let rules = format!("{lower} force ^heads/main$\n");
    assert_eq!(errors(&[("refs/x.conf", &rules)]), Vec::<String>::new());
}

//! Target: the policy language, as the hook reads the files of
//! `apps/access-control` (anyone with open registration pushes a branch the
//! hook parses): parse, validate, compile for users, evaluate, lock-out.
//!
//! Inputs are sets of files, encoded as `path NUL content` records
//! separated by `\x01\x02`. The corpus holds real policies, the attacks of
//! issue 9 (characters that hide rules, size limits), and "token soups" of
//! the language's own words, which reach the deep paths (groups, scopes,
//! compilation) far more often than random bytes do.

use gitapps_policy::{Fingerprint, Policy, PolicyFile, RefOp, TreeOp};
use gitapps_tests::fuzz::{self, Bounds, Rng};

const BOUNDS: Bounds = Bounds {
    peak_bytes: 64 << 20,
    time: fuzz::TRIPWIRE,
};

const SEPARATOR: &[u8] = b"\x01\x02";

fn encode(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (path, content)) in files.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SEPARATOR);
        }
        out.extend_from_slice(path.as_bytes());
        out.push(0);
        out.extend_from_slice(content);
    }
    out
}

fn decode(input: &[u8]) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    let mut rest = input;
    loop {
        let (record, next) = match rest.windows(2).position(|w| w == SEPARATOR) {
            Some(at) => (&rest[..at], Some(&rest[at + 2..])),
            None => (rest, None),
        };
        if let Some(nul) = record.iter().position(|&b| b == 0) {
            files.push((
                String::from_utf8_lossy(&record[..nul]).into_owned(),
                &record[nul + 1..],
            ));
        }
        match next {
            Some(next) => rest = next,
            None => return files,
        }
    }
}

const A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

const WHO: &[&str] = &[
    "owner",
    "anyone",
    "@owner",
    "@anyone",
    "g1",
    "@g1",
    "g2",
    "@g2",
    "nope",
    "@nope",
    A,
    B,
    "0123456789ABCDEF",
    "branch",
    "limit",
    "@",
    "",
    "é",
    "#x",
];
/// Every operation's name, `delete`, and some that are not.
fn ops() -> Vec<&'static str> {
    RefOp::ALL
        .iter()
        .map(|op| op.as_str())
        .chain(TreeOp::ALL.iter().map(|op| op.as_str()))
        .chain(["delete", "modfy", "", ",", "x"])
        .collect()
}
const REGEX_BITS: &[&str] = &[
    "^",
    "$",
    ".*",
    ".",
    "$user_id",
    "heads/",
    "tags/",
    "apps/",
    "main",
    "(",
    ")",
    "[",
    "]",
    "[^/]+",
    "\\",
    "\\.",
    "{2}",
    "{3,}",
    "|",
    "a",
    "/",
    "(?x)",
    "#",
    "(?-u:\\xFF)",
    "(?s-u:.)",
    "\\p{L}",
    "é",
    " ",
    "\t",
    "*",
    "+",
    "?",
    "(?i)",
    "\\d",
    "\r",
    "\u{2028}",
    "\u{202E}",
];
const SEPARATORS: &[&str] = &[" ", " ", " ", "\t", "  ", ""];
const LINE_ENDS: &[&str] = &["\n", "\n", "\r\n", "\n\n", "", "\n# c\n"];
const PATHS: &[&str] = &[
    "refs/a.conf",
    "refs/b.conf",
    "branches/a.conf",
    "branches/b.conf",
    "groups/g1",
    "groups/g2",
    "groups/owner",
    "groups/limit",
    "groups/bad name",
    "keys/x.asc",
    "refs/sub/x.conf",
    "README",
];
const REFS: &[&str] = &[
    "refs/heads/main",
    "refs/heads/main2",
    "refs/tags/v1",
    "refs/heads/apps/access-control",
    "refs/heads/apps/merge-reqs/data",
    "refs/heads/users/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x",
    "refs/",
    "refs",
    "",
    "HEAD",
    "refs/heads/",
    "refs/heads/é",
    "refs/apps/push-certs",
];

fn regex(rng: &mut Rng) -> String {
    (0..rng.below(6)).map(|_| *rng.pick(REGEX_BITS)).collect()
}

fn rule_line(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => format!("branch {}", regex(rng)),
        1 => format!("# {}", regex(rng)),
        2 => format!(
            "limit {} {} {}",
            rng.pick(&["size", "size", "count", ""]),
            rng.pick(&["0", "1", "1k", "10m", "1g", "x", "-1", "99999999999g"]),
            regex(rng)
        ),
        _ => {
            let names = ops();
            let ops: Vec<&str> = (0..=rng.below(3)).map(|_| *rng.pick(&names)).collect();
            format!(
                "{}{}{}{}{}",
                rng.pick(WHO),
                rng.pick(SEPARATORS),
                ops.join(","),
                rng.pick(SEPARATORS),
                regex(rng)
            )
        }
    }
}

fn group_line(rng: &mut Rng) -> String {
    let member = *rng.pick(&[
        "@g1", "@g2", "@owner", "@anyone", "@nope", A, B, "x", "", "@",
    ]);
    match rng.below(4) {
        0 => format!("{member} # comment"),
        _ => member.to_owned(),
    }
}

fn content(rng: &mut Rng, path: &str) -> Vec<u8> {
    match rng.below(8) {
        0 => (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect(),
        _ => {
            let mut text = String::new();
            for _ in 0..rng.below(8) {
                let line = if path.starts_with("groups/") {
                    group_line(rng)
                } else {
                    rule_line(rng)
                };
                text.push_str(&line);
                let end: &&str = rng.pick(LINE_ENDS);
                text.push_str(end);
            }
            let mut bytes = text.into_bytes();
            if rng.chance(10) && !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] = 0xFF;
            }
            bytes
        }
    }
}

/// A policy of the language's words, as an encoded input.
fn token_soup(rng: &mut Rng) -> Vec<u8> {
    let files: Vec<(&str, Vec<u8>)> = (0..rng.below(6))
        .map(|_| {
            let path = *rng.pick(PATHS);
            (path, content(rng, path))
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, c.as_slice())).collect();
    encode(&refs)
}

fn path_bytes(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => (0..rng.below(16)).map(|_| rng.next_u64() as u8).collect(),
        _ => rng
            .pick(&[
                "refs/owner.conf",
                "keys/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.asc",
                "a",
                "",
                "merge-reqs/x/1/title",
            ])
            .as_bytes()
            .to_vec(),
    }
}

/// Every entry point on one input; returns whether it parsed.
fn exercise(input: &[u8]) -> bool {
    let files = decode(input);
    let parsed = Policy::parse(
        files
            .iter()
            .map(|(path, content)| PolicyFile { path, content }),
    );
    let policy = match parsed {
        Ok(p) => p,
        Err(d) => {
            // Never empty, every line formatted as file:line: message.
            assert!(!d.is_empty());
            assert_eq!(d.to_string().lines().count(), d.len());
            return false;
        }
    };
    // The same questions for the same input: a generator seeded by it.
    let mut rng = Rng::new(
        input
            .iter()
            .fold(7u64, |h, &b| h.rotate_left(5) ^ u64::from(b)),
    );
    let owner = Fingerprint::parse(A).expect("valid");
    let other = Fingerprint::parse(B).expect("valid");
    let _ = policy.lockout_problems(&owner);
    for user in [&owner, &other] {
        let Ok(rules) = policy.for_user(user, &owner) else {
            continue;
        };
        for _ in 0..3 {
            let refname = *rng.pick(REFS);
            let op = *rng.pick(&RefOp::ALL);
            assert_eq!(
                rules.ref_allowed(op, refname),
                rules.ref_allowed_by(op, refname).is_some()
            );
            let Ok(tree) = rules.tree_rules_for(refname) else {
                continue;
            };
            for _ in 0..3 {
                let op = *rng.pick(&TreeOp::ALL);
                let path = path_bytes(&mut rng);
                assert_eq!(
                    tree.allowed(op, &path),
                    tree.allowed_by(op, &path).is_some()
                );
                if let Some((_, at)) = tree.size_limit(&path) {
                    assert!(at.file.starts_with("branches/"), "{at}");
                }
            }
        }
    }
    true
}

fn corpus() -> Vec<Vec<u8>> {
    let merge_reqs = "branch ^heads/apps/merge-reqs/data$\n\
        limit size 1m ^.*$\n\
        limit size 4k ^merge-reqs/[0-9A-F]+/[1-9][0-9]*/(title|target)$\n\
        anyone create-directory ^merge-reqs/$user_id/[1-9][0-9]*$\n\
        maintainers create-symlink,delete-file ^labels/[^/]+/[0-9A-F]+/[1-9][0-9]*$\n";
    let many_rules: String = (0..300)
        .map(|i| format!("anyone create-file,modify ^dir{i}/[^/]+/file{i}\\.txt$\n"))
        .collect();
    let long_line = format!("owner modify ^{}$\n", "a".repeat(1 << 20));
    let mut corpus = vec![
        encode(&[
            (
                "refs/owner.conf",
                gitapps_policy::DEFAULT_REF_RULES.as_bytes(),
            ),
            (
                "branches/owner.conf",
                gitapps_policy::DEFAULT_TREE_RULES.as_bytes(),
            ),
        ]),
        encode(&[
            (
                "refs/registration.conf",
                gitapps_policy::OPEN_REGISTRATION_REF_RULES.as_bytes(),
            ),
            (
                "branches/registration.conf",
                gitapps_policy::OPEN_REGISTRATION_TREE_RULES.as_bytes(),
            ),
        ]),
        encode(&[
            ("branches/merge-reqs.conf", merge_reqs.as_bytes()),
            ("groups/maintainers", format!("{A}\n@ci\n").as_bytes()),
            ("groups/ci", b"# bots\n"),
        ]),
        // Issue 9: rules hidden by a carriage return, a line separator, a
        // bidirectional override.
        encode(&[(
            "refs/evil.conf",
            "anyone fast-forward,force,delete ^.*$\r# read-only\n".as_bytes(),
        )]),
        encode(&[(
            "branches/evil.conf",
            "anyone modify ^docs/.*$\u{2028}anyone modify ^.*$\n".as_bytes(),
        )]),
        encode(&[("groups/g1", "# \u{202E}admins\n".as_bytes())]),
        encode(&[("branches/many.conf", many_rules.as_bytes())]),
        encode(&[("branches/long.conf", long_line.as_bytes())]),
        encode(&[("refs/big.conf", b"owner force (a{100}){100}{100}\n")]),
        encode(&[(
            "refs/deep.conf",
            format!("owner force {}x{}\n", "(".repeat(500), ")".repeat(500)).as_bytes(),
        )]),
        encode(&[("groups/g1", b"@g2\n"), ("groups/g2", b"@g1\n")]),
    ];
    let mut rng = Rng::new(0x1234_5678_9ABC_DEF1);
    corpus.extend((0..300).map(|_| token_soup(&mut rng)));
    corpus
}

const DICTIONARY: &[&[u8]] = &[
    b"\n",
    b"\x01\x02refs/x.conf\x00",
    b"\x01\x02branches/x.conf\x00",
    b"\x01\x02groups/g1\x00",
    b"branch ",
    b"limit size 1k ",
    b"owner ",
    b"anyone ",
    b"@g1 ",
    b"create-file,modify ",
    b"fast-forward ",
    b"^.*$",
    b"$user_id",
    b"\r",
    "\u{2028}".as_bytes(),
    "\u{202E}".as_bytes(),
    b"\xff",
];

#[test]
fn policies() {
    let corpus = corpus();
    let valid = corpus.iter().filter(|c| exercise(c)).count();
    // The corpus reaches the evaluation paths, not only the errors.
    assert!(valid > corpus.len() / 20, "only {valid} valid policies");
    fuzz::run(
        "policy",
        &corpus,
        DICTIONARY,
        fuzz::iterations(800),
        BOUNDS,
        |input| {
            exercise(input);
        },
    );
}

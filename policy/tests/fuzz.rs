//! Property test: whatever the files hold, nothing panics.
//!
//! A hand-rolled deterministic generator (xorshift) rather than proptest:
//! it needs no new dependency in the shared lock file, and a failure is
//! reproduced by its iteration number. Inputs mix random bytes with "token
//! soups" of the language's own words, which reach the deep paths (groups,
//! scopes, compilation) far more often than random bytes do.

use gitapps_policy::{Fingerprint, Policy, PolicyFile, RefOp, TreeOp};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
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
    "@",
    "",
    "é",
    "#x",
];
const OPS: &[&str] = &[
    "create-branch",
    "create-tag",
    "fast-forward",
    "force",
    "delete",
    "create-directory",
    "create-file",
    "create-symlink",
    "create-submodule",
    "modify",
    "delete-file",
    "delete-directory",
    "modfy",
    "",
    ",",
    "x",
];
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
    match rng.below(10) {
        0 => format!("branch {}", regex(rng)),
        1 => format!("# {}", regex(rng)),
        _ => {
            let ops: Vec<&str> = (0..=rng.below(3)).map(|_| *rng.pick(OPS)).collect();
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
        0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
        _ => {
            let mut text = String::new();
            for _ in 0..rng.below(8) {
                let line = if path.starts_with("groups/") {
                    group_line(rng)
                } else {
                    rule_line(rng)
                };
                text.push_str(&line);
                let end = rng.pick::<&str>(LINE_ENDS);
                text.push_str(end);
            }
            let mut bytes = text.into_bytes();
            if rng.below(10) == 0 && !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] = 0xFF;
            }
            bytes
        }
    }
}

fn path_bytes(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => (0..rng.below(16)).map(|_| rng.next() as u8).collect(),
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

/// Every entry point on one generated input; returns whether it parsed.
fn exercise(rng: &mut Rng) -> bool {
    let files: Vec<(&str, Vec<u8>)> = (0..rng.below(6))
        .map(|_| {
            let path = *rng.pick(PATHS);
            (path, content(rng, path))
        })
        .collect();
    let parsed = Policy::parse(
        files
            .iter()
            .map(|(path, content)| PolicyFile { path, content }),
    );
    let policy = match parsed {
        Ok(p) => p,
        Err(d) => {
            // Never empty, every line formatted.
            assert!(!d.is_empty());
            assert_eq!(d.to_string().lines().count(), d.len());
            return false;
        }
    };
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
                let path = path_bytes(rng);
                assert_eq!(
                    tree.allowed(op, &path),
                    tree.allowed_by(op, &path).is_some()
                );
            }
        }
    }
    true
}

#[test]
fn never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut valid = 0;
    const ITERATIONS: usize = 10_000;
    for i in 0..ITERATIONS {
        let seed = rng.next() | 1;
        let result = std::panic::catch_unwind(|| exercise(&mut Rng(seed)));
        match result {
            Ok(true) => valid += 1,
            Ok(false) => {}
            Err(_) => panic!("iteration {i} (seed {seed:#x}) panicked"),
        }
    }
    eprintln!("{valid} of {ITERATIONS} generated policies were valid");
    // The generator must reach the evaluation paths, not only the errors.
    assert!(valid > ITERATIONS / 20, "only {valid} valid policies");
}

#[test]
fn never_panics_on_raw_bytes() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..2000 {
        let path = *rng.pick(PATHS);
        let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        let _ = Policy::parse([PolicyFile {
            path,
            content: &bytes,
        }]);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Fingerprint::parse(&text);
        let _ = text.parse::<RefOp>();
        let _ = text.parse::<TreeOp>();
    }
}

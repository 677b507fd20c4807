//! The prefilter (try only the rules whose literal prefix fits a name)
//! answers what trying every rule answers: checked against the `regex`
//! crate, rule by rule, on rules of every shape the prefilter treats
//! differently and names that almost match them.

use gitapps_policy::{Fingerprint, Policy, PolicyFile, RefOp, TreeOp};

fn fpr(c: char) -> Fingerprint {
    Fingerprint::parse(&c.to_string().repeat(40)).expect("valid fingerprint")
}

/// Regexes of many shapes: plain literal prefixes, alternations, optional
/// parts, case-insensitive text, classes, `$user_id` in several places,
/// bytes, look-arounds, empty matches, nothing to go by.
const REGEXES: &[&str] = &[
    "heads/team1/.*",
    "heads/team10/.*",
    "heads/team1",
    "heads/(release|hotfix)/1\\..*",
    "heads/(?:a|ab|abc)x",
    "heads/users/$user_id/.*",
    "heads/users/$user_id",
    "heads/$user_id-[a-z]+",
    "(?i)heads/Feature/.*",
    "(?i)HeAdS/x",
    "heads/[ab]c/.*",
    "heads/[a-z]/.*",
    "tags/v[0-9]+(\\.[0-9]+)*",
    ".*-wip",
    ".*",
    "(heads/)?main",
    "x*heads/y",
    "(?:)",
    "heads/\\bword\\b",
    "^heads/anchored$",
    "(?m)^heads/m$",
    "[$user_id]",
    "heads/caf\u{e9}/.*",
    "(?-u:\\xFF)x",
    "src/mod1/.*\\.rs",
    "src/mod1[0-9]/.*",
    "src/(?:a|b)/c|docs/.*",
    "(?s:.)*\\.md",
    "a{2,3}b",
    "[a&&b]x",
];

fn names(user: &Fingerprint) -> Vec<Vec<u8>> {
    let u = user.as_str();
    let mut names: Vec<Vec<u8>> = [
        "heads/team1/x".to_owned(),
        "heads/team1".to_owned(),
        "heads/team10/x".to_owned(),
        "heads/team2/x".to_owned(),
        "heads/release/1.2".to_owned(),
        "heads/hotfix/1.x".to_owned(),
        "heads/abcx".to_owned(),
        "heads/abx".to_owned(),
        "heads/ax".to_owned(),
        format!("heads/users/{u}/topic"),
        format!("heads/users/{u}"),
        format!("heads/users/{}/topic", fpr('9')),
        format!("heads/{u}-abc"),
        "heads/feature/x".to_owned(),
        "HEADS/FEATURE/x".to_owned(),
        "heads/x".to_owned(),
        "heads/bc/x".to_owned(),
        "heads/q/x".to_owned(),
        "tags/v1.2.3".to_owned(),
        "tags/v".to_owned(),
        "topic-wip".to_owned(),
        "main".to_owned(),
        "heads/main".to_owned(),
        "xxheads/y".to_owned(),
        "heads/y".to_owned(),
        String::new(),
        "heads/word".to_owned(),
        "heads/anchored".to_owned(),
        "heads/m".to_owned(),
        u[..1].to_owned(),
        "heads/caf\u{e9}/x".to_owned(),
        "src/mod1/a.rs".to_owned(),
        "src/mod12/a.rs".to_owned(),
        "src/a/c".to_owned(),
        "docs/x/y".to_owned(),
        "README.md".to_owned(),
        "line\nbreak.md".to_owned(),
        "aab".to_owned(),
        "aaab".to_owned(),
        "ab".to_owned(),
        "x".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    names.push(b"\xFFx".to_vec());
    names.push(b"heads/\xFF".to_vec());
    names
}

/// What trying the rule alone says, as the hook did before the prefilter.
fn oracle(regex: &str, user: &Fingerprint, name: &[u8]) -> bool {
    let text = regex.replace("$user_id", &regex::escape(user.as_str()));
    regex::bytes::RegexBuilder::new(&format!("^(?:{text})$"))
        .dot_matches_new_line(true)
        .build()
        .expect("compiles")
        .is_match(name)
}

#[test]
fn the_prefilter_misses_no_rule_and_adds_none() {
    let owner = fpr('0');
    // Each regex on its own line, for one user: ref rules for every op;
    // tree rules, the even ones before any scope.
    let mut refs = String::new();
    let mut tree = String::new();
    for regex in REGEXES {
        // Ref rules are checked as text: skip the one that is only bytes.
        if !regex.contains("xFF") {
            refs.push_str(&format!("anyone create-branch {regex}\n"));
        }
        tree.push_str(&format!("anyone modify {regex}\n"));
    }
    let policy = Policy::parse([
        PolicyFile {
            path: "refs/all.conf",
            content: refs.as_bytes(),
        },
        PolicyFile {
            path: "branches/all.conf",
            content: tree.as_bytes(),
        },
    ])
    .unwrap_or_else(|d| panic!("valid:\n{d}"));
    for user in [fpr('A'), fpr('B')] {
        let rules = policy.for_user(&user, &owner).expect("rules");
        let tree_rules = rules.tree_rules_for("refs/heads/main").expect("tree");
        for name in names(&user) {
            let ref_regexes: Vec<&&str> = REGEXES.iter().filter(|r| !r.contains("xFF")).collect();
            let want_ref = ref_regexes
                .iter()
                .position(|r| oracle(r, &user, &name))
                .map(|i| format!("refs/all.conf:{}", i + 1));
            let want_tree = REGEXES
                .iter()
                .position(|r| oracle(r, &user, &name))
                .map(|i| format!("branches/all.conf:{}", i + 1));
            let shown = String::from_utf8_lossy(&name);
            if let Ok(text) = std::str::from_utf8(&name) {
                let refname = format!("refs/{text}");
                let got = rules
                    .ref_allowed_by(RefOp::CreateBranch, &refname)
                    .map(ToString::to_string);
                assert_eq!(got, want_ref, "ref {shown:?} for {user}");
                assert_eq!(
                    rules.ref_allowed(RefOp::CreateBranch, &refname),
                    want_ref.is_some(),
                    "ref {shown:?} for {user}"
                );
            }
            let got = tree_rules
                .allowed_by(TreeOp::Modify, &name)
                .map(ToString::to_string);
            assert_eq!(got, want_tree, "path {shown:?} for {user}");
            assert_eq!(
                tree_rules.allowed(TreeOp::Modify, &name),
                want_tree.is_some(),
                "path {shown:?} for {user}"
            );
            assert!(!tree_rules.allowed(TreeOp::CreateFile, &name));
        }
    }
}

#[test]
fn scopes_and_limits_go_through_the_prefilter_too() {
    let owner = fpr('0');
    let tree = "anyone modify ^src/.*$\n\
                limit size 10 ^src/big/.*$\n\
                branch ^heads/team1/.*$\n\
                anyone create-file ^team1/.*$\n\
                limit size 5 ^src/big/tiny$\n\
                branch ^(?i)RELEASE/.*$\n\
                anyone create-file ^release/.*$\n\
                branch .*-wip\n\
                anyone delete-file ^.*$\n";
    let policy = Policy::parse([PolicyFile {
        path: "branches/x.conf",
        content: tree.as_bytes(),
    }])
    .unwrap_or_else(|d| panic!("valid:\n{d}"));
    let rules = policy.for_user(&fpr('A'), &owner).expect("rules");
    let cases: &[(&str, TreeOp, &str, bool)] = &[
        ("refs/heads/team1/x", TreeOp::CreateFile, "team1/a", true),
        ("refs/heads/team10/x", TreeOp::CreateFile, "team1/a", false),
        (
            "refs/heads/release/1",
            TreeOp::CreateFile,
            "release/a",
            true,
        ),
        (
            "refs/heads/Release/1",
            TreeOp::CreateFile,
            "release/a",
            true,
        ),
        ("refs/heads/main", TreeOp::CreateFile, "release/a", false),
        ("refs/heads/topic-wip", TreeOp::DeleteFile, "a", true),
        ("refs/notes/topic-wip", TreeOp::DeleteFile, "a", true),
        ("refs/heads/topic", TreeOp::DeleteFile, "a", false),
        ("refs/heads/main", TreeOp::Modify, "src/a", true),
    ];
    for &(refname, op, path, want) in cases {
        let tree = rules.tree_rules_for(refname).expect("tree");
        assert_eq!(
            tree.allowed(op, path.as_bytes()),
            want,
            "{op} {path} on {refname}"
        );
    }
    let main = rules.tree_rules_for("refs/heads/main").expect("tree");
    let team = rules.tree_rules_for("refs/heads/team1/x").expect("tree");
    let limit = |t: &gitapps_policy::TreeRules, p: &str| {
        t.size_limit(p.as_bytes())
            .map(|(max, at)| (max, at.to_string()))
    };
    assert_eq!(
        limit(&main, "src/big/tiny"),
        Some((10, "branches/x.conf:2".into()))
    );
    assert_eq!(
        limit(&team, "src/big/tiny"),
        Some((5, "branches/x.conf:5".into()))
    );
    assert_eq!(limit(&team, "src/small"), None);
    assert!(main.has_size_limits());
}

//! Evaluation: who may do what, and which rule said so.

use gitapps_policy::{
    Fingerprint, Policy, PolicyFile, RefOp, TreeOp, UserRules, ACCESS_CONTROL_REF,
    DEFAULT_REF_RULES, DEFAULT_TREE_RULES, OPEN_REGISTRATION_REF_RULES,
    OPEN_REGISTRATION_TREE_RULES,
};

/// (case name, user, ref, op, path, the rule expected to allow it)
type TreeCase<'a> = (
    &'a str,
    &'a Fingerprint,
    &'a str,
    TreeOp,
    String,
    Option<&'a str>,
);
/// (case name, user, op, ref, the rule expected to allow it)
type RefCase<'a> = (&'a str, &'a Fingerprint, RefOp, String, Option<&'a str>);
/// (path, content) pairs.
type Files<'a> = &'a [(&'a str, &'a str)];

fn fpr(c: char) -> Fingerprint {
    Fingerprint::parse(&c.to_string().repeat(40)).expect("valid fingerprint")
}

/// The owner.
fn o() -> Fingerprint {
    fpr('0')
}

fn policy(files: &[(&str, &str)]) -> Policy {
    match Policy::parse(files.iter().map(|&(path, c)| PolicyFile {
        path,
        content: c.as_bytes(),
    })) {
        Ok(p) => p,
        Err(d) => panic!("policy should be valid:\n{d}"),
    }
}

fn rules_for(policy: &Policy, user: &Fingerprint) -> UserRules {
    policy.for_user(user, &o()).expect("compiles")
}

/// A policy exercising every kind of WHO, `$user_id`, anchoring and scopes.
fn sample() -> Policy {
    let users = format!(
        "# everyone gets a namespace\n\
         anyone create-branch,fast-forward,force,delete ^heads/users/$user_id/.*$\n\
         {b} fast-forward heads/main\n\
         devs create-tag ^tags/v[0-9]+(\\.[0-9]+)*$\n\
         @leads force ^heads/main$\n\
         admins delete ^heads/.*$\n",
        b = fpr('B').as_str().to_lowercase()
    );
    let leads = format!("{}\n", fpr('D'));
    let devs = format!("@leads\n{}  # Carol\n", fpr('C'));
    let data = "anyone create-file ^public/.*$\n\
                branch ^heads/apps/merge-reqs/data$\n\
                anyone create-directory,create-file,modify merge-reqs/$user_id/.*\n\
                devs delete ^merge-reqs/[^/]+/.*$\n\
                branch apps/other\n\
                anyone modify ^other$\n\
                branch ^heads/users/$user_id/.*$\n\
                anyone create-file,modify,delete .*\n";
    // Given out of order on purpose: "first rule" follows sorted paths.
    policy(&[
        ("groups/leads", &leads),
        ("branches/data.conf", data),
        ("refs/users.conf", &users),
        ("groups/devs", &devs),
        ("groups/admins", "@owner\n"),
        ("refs/owner.conf", DEFAULT_REF_RULES),
        ("branches/owner.conf", DEFAULT_TREE_RULES),
    ])
}

#[test]
fn ref_rules() {
    let p = sample();
    let (b, c, d, e, owner) = (fpr('B'), fpr('C'), fpr('D'), fpr('E'), o());
    let ns = |u: &Fingerprint| format!("refs/heads/users/{u}/topic");
    let cases: Vec<RefCase<'_>> = vec![
        (
            "owner: anything",
            &owner,
            RefOp::CreateBranch,
            "refs/heads/x".into(),
            Some("refs/owner.conf:1"),
        ),
        (
            "owner: first rule wins",
            &owner,
            RefOp::Force,
            ns(&o()),
            Some("refs/owner.conf:1"),
        ),
        (
            "own namespace",
            &b,
            RefOp::CreateBranch,
            ns(&b),
            Some("refs/users.conf:2"),
        ),
        (
            "own namespace delete",
            &b,
            RefOp::Delete,
            ns(&b),
            Some("refs/users.conf:2"),
        ),
        (
            "someone else's namespace",
            &b,
            RefOp::CreateBranch,
            ns(&c),
            None,
        ),
        (
            "namespace root itself",
            &b,
            RefOp::CreateBranch,
            format!("refs/heads/users/{b}"),
            None,
        ),
        (
            "lower-case fingerprint rule",
            &b,
            RefOp::FastForward,
            "refs/heads/main".into(),
            Some("refs/users.conf:3"),
        ),
        (
            "anchored: no prefix match",
            &b,
            RefOp::FastForward,
            "refs/heads/main2".into(),
            None,
        ),
        (
            "anchored: no suffix match",
            &b,
            RefOp::FastForward,
            "refs/heads/xheads/main".into(),
            None,
        ),
        (
            "rules do not see refs/",
            &b,
            RefOp::FastForward,
            "refs/refs/heads/main".into(),
            None,
        ),
        (
            "op not granted",
            &b,
            RefOp::Force,
            "refs/heads/main".into(),
            None,
        ),
        (
            "group member",
            &c,
            RefOp::CreateTag,
            "refs/tags/v1.2".into(),
            Some("refs/users.conf:4"),
        ),
        (
            "group member: anchored",
            &c,
            RefOp::CreateTag,
            "refs/tags/v1.2x".into(),
            None,
        ),
        (
            "nested group member",
            &d,
            RefOp::CreateTag,
            "refs/tags/v1".into(),
            Some("refs/users.conf:4"),
        ),
        (
            "@group rule",
            &d,
            RefOp::Force,
            "refs/heads/main".into(),
            Some("refs/users.conf:5"),
        ),
        (
            "not in the inner group",
            &c,
            RefOp::Force,
            "refs/heads/main".into(),
            None,
        ),
        (
            "stranger",
            &e,
            RefOp::CreateBranch,
            "refs/heads/x".into(),
            None,
        ),
        (
            "stranger's namespace",
            &e,
            RefOp::CreateBranch,
            ns(&e),
            Some("refs/users.conf:2"),
        ),
        (
            "not a full ref name",
            &owner,
            RefOp::Force,
            "heads/main".into(),
            None,
        ),
        ("HEAD", &owner, RefOp::Force, "HEAD".into(), None),
    ];
    for (name, user, op, refname, want) in cases {
        let rules = rules_for(&p, user);
        let got = rules.ref_allowed_by(op, &refname).map(ToString::to_string);
        assert_eq!(got.as_deref(), want, "{name}");
        assert_eq!(rules.ref_allowed(op, &refname), want.is_some(), "{name}");
    }
}

#[test]
fn owner_group_member() {
    let p = policy(&[
        ("groups/admins", "@owner\n"),
        ("refs/x.conf", "\nadmins delete ^heads/.*$\n"),
    ]);
    // `admins` holds `@owner`: whoever is configured as owner.
    let (b, c) = (fpr('B'), fpr('C'));
    let as_owner = p.for_user(&b, &b).expect("compiles");
    assert_eq!(
        as_owner
            .ref_allowed_by(RefOp::Delete, "refs/heads/x")
            .map(ToString::to_string)
            .as_deref(),
        Some("refs/x.conf:2")
    );
    let not_owner = p.for_user(&b, &c).expect("compiles");
    assert!(!not_owner.ref_allowed(RefOp::Delete, "refs/heads/x"));
}

#[test]
fn tree_rules() {
    let p = sample();
    let (b, c, owner) = (fpr('B'), fpr('C'), o());
    let data = "refs/heads/apps/merge-reqs/data";
    let b_ns = format!("refs/heads/users/{b}/x");
    let c_ns = format!("refs/heads/users/{c}/x");
    let mine = |u: &Fingerprint| format!("merge-reqs/{u}/1/title");
    let cases: Vec<TreeCase<'_>> = vec![
        (
            "unscoped rule on any ref",
            &b,
            "refs/heads/main",
            TreeOp::CreateFile,
            "public/x".into(),
            Some("branches/data.conf:1"),
        ),
        (
            "unscoped rule on the data branch",
            &b,
            data,
            TreeOp::CreateFile,
            "public/x".into(),
            Some("branches/data.conf:1"),
        ),
        (
            "unscoped rule: anchored",
            &b,
            data,
            TreeOp::CreateFile,
            "x/public/x".into(),
            None,
        ),
        (
            "own directory, scoped",
            &b,
            data,
            TreeOp::CreateFile,
            mine(&b),
            Some("branches/data.conf:3"),
        ),
        (
            "own directory, dir op",
            &b,
            data,
            TreeOp::CreateDirectory,
            format!("merge-reqs/{b}"),
            None,
        ),
        (
            "own subdirectory",
            &b,
            data,
            TreeOp::CreateDirectory,
            format!("merge-reqs/{b}/1"),
            Some("branches/data.conf:3"),
        ),
        (
            "someone else's directory",
            &b,
            data,
            TreeOp::Modify,
            mine(&c),
            None,
        ),
        (
            "scope does not apply elsewhere",
            &b,
            "refs/heads/main",
            TreeOp::CreateFile,
            mine(&b),
            None,
        ),
        (
            "scope does not apply to tags",
            &b,
            "refs/tags/apps/merge-reqs/data",
            TreeOp::CreateFile,
            mine(&b),
            None,
        ),
        (
            "not a group member: no delete",
            &b,
            data,
            TreeOp::DeleteFile,
            mine(&b),
            None,
        ),
        (
            "delete shorthand: file",
            &c,
            data,
            TreeOp::DeleteFile,
            mine(&b),
            Some("branches/data.conf:4"),
        ),
        (
            "delete shorthand: directory",
            &c,
            data,
            TreeOp::DeleteDirectory,
            format!("merge-reqs/{b}/1"),
            Some("branches/data.conf:4"),
        ),
        (
            "delete: anchored",
            &c,
            data,
            TreeOp::DeleteDirectory,
            "merge-reqs".into(),
            None,
        ),
        (
            "plain branch name scope",
            &b,
            "refs/heads/apps/other",
            TreeOp::Modify,
            "other".into(),
            Some("branches/data.conf:6"),
        ),
        // Documented: the short form of refs/apps/other is apps/other too.
        (
            "plain scope also selects refs/apps/other",
            &b,
            "refs/apps/other",
            TreeOp::Modify,
            "other".into(),
            Some("branches/data.conf:6"),
        ),
        (
            "scope ends at the next branch line",
            &b,
            data,
            TreeOp::Modify,
            "other".into(),
            None,
        ),
        (
            "$user_id scope: own",
            &b,
            &b_ns,
            TreeOp::DeleteDirectory,
            "a/b".into(),
            Some("branches/data.conf:8"),
        ),
        (
            "$user_id scope: other's",
            &b,
            &c_ns,
            TreeOp::CreateFile,
            "a".into(),
            None,
        ),
        (
            "op never granted",
            &b,
            data,
            TreeOp::CreateSymlink,
            mine(&b),
            None,
        ),
        (
            "owner anywhere",
            &owner,
            "refs/heads/x",
            TreeOp::CreateSubmodule,
            "vendor/lib".into(),
            Some("branches/owner.conf:1"),
        ),
        (
            "owner: delete shorthand",
            &owner,
            data,
            TreeOp::DeleteDirectory,
            "merge-reqs".into(),
            Some("branches/owner.conf:1"),
        ),
        (
            "owner: first rule wins",
            &owner,
            data,
            TreeOp::CreateFile,
            "public/x".into(),
            Some("branches/data.conf:1"),
        ),
    ];
    for (name, user, refname, op, path, want) in cases {
        let tree = rules_for(&p, user)
            .tree_rules_for(refname)
            .expect("compiles");
        let got = tree
            .allowed_by(op, path.as_bytes())
            .map(ToString::to_string);
        assert_eq!(got.as_deref(), want, "{name}");
        assert_eq!(tree.allowed(op, path.as_bytes()), want.is_some(), "{name}");
    }
}

#[test]
fn both_scope_name_forms() {
    for scope in [
        "^heads/apps/merge-reqs/data$",
        "apps/merge-reqs/data",
        "heads/apps/.*",
        "apps/merge-reqs/.*",
    ] {
        let p = policy(&[(
            "branches/x.conf",
            &format!("branch {scope}\nanyone create-file ^f$\n"),
        )]);
        let rules = rules_for(&p, &fpr('B'));
        let on = |r: &str| {
            rules
                .tree_rules_for(r)
                .expect("compiles")
                .allowed(TreeOp::CreateFile, b"f")
        };
        assert!(on("refs/heads/apps/merge-reqs/data"), "{scope}");
        assert!(!on("refs/heads/main"), "{scope}");
        assert!(!on("refs/tags/v1"), "{scope}");
        assert!(
            !on("heads/apps/merge-reqs/data"),
            "{scope}: not a full ref name"
        );
    }
}

#[test]
fn byte_paths() {
    let p = policy(&[(
        "branches/x.conf",
        "anyone create-file ^docs/.*$\nanyone modify (?s-u:.)*\n",
    )]);
    let tree = rules_for(&p, &fpr('B'))
        .tree_rules_for("refs/heads/main")
        .expect("compiles");
    assert!(tree.allowed(TreeOp::CreateFile, "docs/é".as_bytes()));
    // `.` is a character: a path that is not UTF-8 needs a byte pattern.
    assert!(!tree.allowed(TreeOp::CreateFile, b"docs/\xE9"));
    assert!(tree.allowed(TreeOp::Modify, b"docs/\xE9\n"));
    // A path has no lines: `.` matches a newline in it.
    assert!(tree.allowed(TreeOp::CreateFile, b"docs/two\nlines"));
}

#[test]
fn nobody_has_rules() {
    let p = policy(&[]);
    let rules = rules_for(&p, &o());
    for op in RefOp::ALL {
        assert!(!rules.ref_allowed(op, "refs/heads/main"));
    }
    let tree = rules.tree_rules_for("refs/heads/main").expect("compiles");
    for op in TreeOp::ALL {
        assert!(!tree.allowed(op, b"x"));
        assert!(tree.allowed_by(op, b"x").is_none());
    }
}

#[test]
fn v6_user() {
    let v6 = Fingerprint::parse(&"ab".repeat(32)).expect("v6");
    let p = policy(&[(
        "refs/x.conf",
        "anyone create-branch ^heads/users/$user_id/.*$\n",
    )]);
    let rules = rules_for(&p, &v6);
    assert!(rules.ref_allowed(
        RefOp::CreateBranch,
        format!("refs/heads/users/{}/x", "AB".repeat(32)).as_str()
    ));
    assert!(!rules.ref_allowed(
        RefOp::CreateBranch,
        &format!("refs/heads/users/{}/x", "ab".repeat(32))
    ));
}

#[test]
fn open_registration() {
    let p = policy(&[
        ("refs/owner.conf", DEFAULT_REF_RULES),
        ("branches/owner.conf", DEFAULT_TREE_RULES),
        ("refs/registration.conf", OPEN_REGISTRATION_REF_RULES),
        ("branches/registration.conf", OPEN_REGISTRATION_TREE_RULES),
    ]);
    let (e, b) = (fpr('E'), fpr('B'));
    let rules = rules_for(&p, &e);
    assert!(rules.ref_allowed(RefOp::FastForward, ACCESS_CONTROL_REF));
    for op in [RefOp::CreateBranch, RefOp::Force, RefOp::Delete] {
        assert!(!rules.ref_allowed(op, ACCESS_CONTROL_REF), "{op}");
    }
    assert!(!rules.ref_allowed(RefOp::FastForward, "refs/heads/main"));
    let tree = rules.tree_rules_for(ACCESS_CONTROL_REF).expect("compiles");
    let own = format!("keys/{e}.asc");
    assert!(tree.allowed(TreeOp::CreateFile, own.as_bytes()));
    assert!(tree.allowed(TreeOp::Modify, own.as_bytes()));
    assert!(!tree.allowed(TreeOp::DeleteFile, own.as_bytes()));
    assert!(!tree.allowed(TreeOp::CreateFile, format!("keys/{b}.asc").as_bytes()));
    assert!(!tree.allowed(TreeOp::CreateFile, format!("keys/{e}xasc").as_bytes()));
    assert!(!tree.allowed(TreeOp::Modify, b"refs/owner.conf"));
    assert!(!tree.allowed(TreeOp::CreateFile, b"groups/maintainers"));
    let main = rules.tree_rules_for("refs/heads/main").expect("compiles");
    assert!(!main.allowed(TreeOp::CreateFile, own.as_bytes()));
    assert!(p.lockout_problems(&o()).is_empty());
}

#[test]
fn lockout() {
    let ff_only = "owner fast-forward ^heads/apps/access-control$\n";
    let all_files = "owner create-file,modify,delete ^.*$\n";
    let cases: &[(&str, Files<'_>, &[&str])] = &[
        (
            "defaults",
            &[("refs/owner.conf", DEFAULT_REF_RULES), ("branches/owner.conf", DEFAULT_TREE_RULES)],
            &[],
        ),
        ("just enough", &[("refs/a.conf", ff_only), ("branches/a.conf", all_files)], &[]),
        (
            "through anyone and a scope in plain form",
            &[
                ("refs/a.conf", "anyone fast-forward .*\n"),
                ("branches/a.conf", "branch apps/access-control\nanyone modify,create-file,delete-file .*\n"),
            ],
            &[],
        ),
        (
            "nothing at all",
            &[],
            &[
                "the owner could no longer fast-forward refs/heads/apps/access-control",
                "the owner could no longer modify, create-file or delete-file refs/owner.conf on refs/heads/apps/access-control",
                "the owner could no longer modify, create-file or delete-file branches/owner.conf on refs/heads/apps/access-control",
            ],
        ),
        (
            "no fast-forward",
            &[("refs/a.conf", "owner force,create-branch .*\n"), ("branches/a.conf", all_files)],
            &["the owner could no longer fast-forward refs/heads/apps/access-control"],
        ),
        (
            "tree rules scoped elsewhere",
            &[
                ("refs/a.conf", ff_only),
                ("branches/a.conf", "branch ^heads/main$\nowner create-file,modify,delete .*\n"),
            ],
            &[
                "the owner could no longer modify, create-file or delete-file refs/owner.conf on refs/heads/apps/access-control",
                "the owner could no longer modify, create-file or delete-file branches/owner.conf on refs/heads/apps/access-control",
            ],
        ),
        (
            "some ops, some files",
            &[
                ("refs/a.conf", ff_only),
                ("branches/a.conf", "owner modify .*\nowner delete ^refs/.*$\n"),
            ],
            &[
                "the owner could no longer create-file refs/owner.conf on refs/heads/apps/access-control",
                "the owner could no longer create-file or delete-file branches/owner.conf on refs/heads/apps/access-control",
            ],
        ),
        (
            "a size limit too small for the owner's files",
            &[
                ("refs/a.conf", ff_only),
                ("branches/a.conf", "owner create-file,modify,delete .*\nbranch ^heads/apps/access-control$\nlimit size 1k ^.*$\nlimit size 1m ^keys/.*$\n"),
            ],
            &[
                "the size limit at branches/a.conf:3 allows refs/owner.conf on refs/heads/apps/access-control at most 1024 bytes; the owner's files need room for 65536",
                "the size limit at branches/a.conf:3 allows branches/owner.conf on refs/heads/apps/access-control at most 1024 bytes; the owner's files need room for 65536",
                "the size limit at branches/a.conf:3 allows keys/0000000000000000000000000000000000000000.asc on refs/heads/apps/access-control at most 1024 bytes; the owner's files need room for 65536",
            ],
        ),
        (
            "size limits that leave the owner room, or are elsewhere",
            &[
                ("refs/a.conf", ff_only),
                ("branches/a.conf", "owner create-file,modify,delete .*\nlimit size 64k ^.*$\nbranch ^heads/main$\nlimit size 0 ^.*$\n"),
            ],
            &[],
        ),
        (
            "rules for someone else do not count",
            &[
                ("refs/a.conf", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB fast-forward .*\n"),
                ("branches/a.conf", all_files),
            ],
            &["the owner could no longer fast-forward refs/heads/apps/access-control"],
        ),
    ];
    for (name, files, want) in cases {
        assert_eq!(policy(files).lockout_problems(&o()), *want, "{name}");
    }
}

#[test]
fn size_limits() {
    let p = policy(&[(
        "branches/limits.conf",
        "limit size 10m ^.*$\n\
         branch ^heads/apps/merge-reqs/data$\n\
         limit size 1m ^.*$\n\
         limit size 4k ^merge-reqs/[^/]+/[0-9]+/title$\n\
         limit size 100 ^merge-reqs/$user_id/.*/note$\n\
         branch ^heads/main$\n\
         owner modify ^.*$\n",
    )]);
    let data = "refs/heads/apps/merge-reqs/data";
    let b = fpr('B');
    let limit = |user: &Fingerprint, refname: &str, path: &str| {
        rules_for(&p, user)
            .tree_rules_for(refname)
            .expect("compiles")
            .size_limit(path.as_bytes())
            .map(|(max, at)| (max, at.to_string()))
    };
    let at = |line: usize| format!("branches/limits.conf:{line}");
    // Everywhere: 10m; on the data branch the smallest that matches wins.
    assert_eq!(limit(&b, "refs/heads/main", "a"), Some((10 << 20, at(1))));
    assert_eq!(
        limit(&b, "refs/heads/x", "merge-reqs/A/1/title"),
        Some((10 << 20, at(1)))
    );
    assert_eq!(limit(&b, data, "a"), Some((1 << 20, at(3))));
    assert_eq!(limit(&b, data, "merge-reqs/A/1/title"), Some((4096, at(4))));
    // $user_id: the limit follows the pusher. It binds the owner too.
    let own = format!("merge-reqs/{b}/1/note");
    assert_eq!(limit(&b, data, &own), Some((100, at(5))));
    assert_eq!(limit(&o(), data, &own), Some((1 << 20, at(3))));
    // A scope with only limits in it is still compiled.
    let rules = rules_for(&p, &fpr('C'))
        .tree_rules_for(data)
        .expect("compiles");
    assert!(rules.has_size_limits());
    // No limit: none.
    let none = policy(&[("branches/x.conf", "anyone modify ^.*$\n")]);
    let rules = rules_for(&none, &b).tree_rules_for(data).expect("compiles");
    assert!(!rules.has_size_limits());
    assert_eq!(rules.size_limit(b"a"), None);
}

#[test]
fn input_order_does_not_matter() {
    let files = [
        ("refs/b.conf", "anyone force .*\n"),
        ("refs/a.conf", "anyone force ^heads/.*$\n"),
    ];
    let mut reversed = files;
    reversed.reverse();
    for f in [&files, &reversed] {
        let p = policy(f);
        let rules = rules_for(&p, &fpr('B'));
        assert_eq!(
            rules
                .ref_allowed_by(RefOp::Force, "refs/heads/x")
                .map(ToString::to_string)
                .as_deref(),
            Some("refs/a.conf:1")
        );
    }
}

//! SPEC section 3: the hook reads tree entry modes as git does, and refuses
//! modes git would not write. Trees are written byte for byte
//! (`git hash-object -t tree --literally`) and pushed for real.

use gitapps_policy::RejectCode;
use gitapps_tests::{Server, User, Workdir};

use crate::common::{assert_refs_unchanged, push_main};

/// A server whose `main` holds the owner's `shared/notes.txt` and
/// `shared/run.sh`, and where alice may only create, change and delete
/// files under `alice/`.
fn setup() -> (User, User, Server) {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(
        &ow,
        &[
            ("shared/notes.txt", "the owner's\n"),
            ("shared/run.sh", "#!/bin/sh\n"),
            ("alice/x", "hers\n"),
        ],
    );
    ow.register(&[&alice]);
    ow.grant(&[
        ("refs/main.conf", "anyone fast-forward ^heads/main$\n"),
        (
            "branches/alice.conf",
            &format!(
                "{} create-file,modify,delete ^alice/.*$\n",
                alice.fingerprint()
            ),
        ),
    ]);
    (owner, alice, server)
}

/// `(mode, name, id)` of each entry of `tree`, as `git ls-tree` shows them.
fn entries(wd: &Workdir<'_>, tree: &str) -> Vec<(String, String, String)> {
    wd.git_ok(&["ls-tree", tree])
        .lines()
        .map(|l| {
            let (meta, name) = l.split_once('\t').expect("ls-tree line");
            let mut parts = meta.split(' ');
            // ls-tree pads a tree's mode to six digits; trees hold `40000`.
            let mode = match parts.next().expect("mode") {
                "040000" => "40000".to_string(),
                other => other.to_string(),
            };
            let id = parts.nth(1).expect("id").to_string();
            (mode, name.to_string(), id)
        })
        .collect()
}

/// A commit on top of `origin/main` whose tree is main's with the entry
/// `name` (at the root, or in `shared/` when `in_shared`) given the raw
/// `mode`, its object unchanged.
fn with_mode(wd: &Workdir<'_>, name: &str, mode: &str, in_shared: bool) -> String {
    let main = wd.rev_parse("origin/main");
    let root = wd.rev_parse("origin/main^{tree}");
    let rewrite = |tree: &str, target: &str, mode: &str| {
        let list = entries(wd, tree);
        let raw: Vec<(&str, &str, &str)> = list
            .iter()
            .map(|(m, n, id)| {
                let m = if n == target { mode } else { m.as_str() };
                (m, n.as_str(), id.as_str())
            })
            .collect();
        wd.write_raw_tree(&raw)
    };
    let tree = if in_shared {
        let shared = wd.rev_parse("origin/main:shared");
        let new_shared = rewrite(&shared, name, mode);
        let list = entries(wd, &root);
        let raw: Vec<(&str, &str, &str)> = list
            .iter()
            .map(|(m, n, id)| {
                let id = if n == "shared" {
                    new_shared.as_str()
                } else {
                    id
                };
                (m.as_str(), n.as_str(), id)
            })
            .collect();
        wd.write_raw_tree(&raw)
    } else {
        rewrite(&root, name, mode)
    };
    wd.commit_tree(&tree, &[&main], &format!("{name} as {mode}"))
}

/// Issue 9, attack 2: `shared` re-moded from `40000` to `140000`, same tree:
/// git reads a gitlink there, so the owner's files vanish from every
/// checkout; the hook's library read it as the same directory and judged
/// nothing. Every other mode git would not write is refused as well.
#[test]
fn modes_git_would_not_write_are_refused() {
    let (_owner, alice, server) = setup();
    let aw = Workdir::clone(&alice, &server);
    let before = server.refs();
    let cases = [
        // (entry, mode, inside shared/)
        ("shared", "140000", false),
        ("shared", "040000", false),
        ("shared", "0040000", false),
        ("shared", "4040000", false),
        ("shared", "140755", false),
        ("notes.txt", "100664", true),
        ("notes.txt", "0100644", true),
        ("notes.txt", "1100644", true),
        ("notes.txt", "100600", true),
        ("run.sh", "100775", true),
        ("notes.txt", "120777", true),
        ("notes.txt", "150000", true),
        ("notes.txt", "0", true),
    ];
    for (name, mode, in_shared) in cases {
        let commit = with_mode(&aw, name, mode, in_shared);
        let out = aw.push_signed(&["origin", &format!("{commit}:refs/heads/main")]);
        assert!(!out.success(), "mode {mode} on {name} was accepted:\n{out}");
        out.assert_reject_code(RejectCode::Malformed);
        out.assert_stderr_contains(mode);
    }
    assert_refs_unchanged(&server, &before);
}

/// The control: a gitlink written as git writes it (`160000`) in place of
/// the directory is judged, as git reads it, as the directory's removal
/// and a new submodule.
#[test]
fn a_canonical_gitlink_in_place_of_a_directory_is_judged() {
    let (_owner, alice, server) = setup();
    let aw = Workdir::clone(&alice, &server);
    let before = server.refs();
    let commit = with_mode(&aw, "shared", "160000", false);
    let out = aw.push_signed(&["origin", &format!("{commit}:refs/heads/main")]);
    out.assert_reject_code(RejectCode::Denied);
    out.assert_denied("delete-file", "shared/notes.txt");
    out.assert_denied("delete-directory", "shared");
    out.assert_denied("create-submodule", "shared");
    assert_refs_unchanged(&server, &before);
}

/// A tree already on the server with a mode git reads its own way (put
/// there before the hook refused such modes): a push that changes it back
/// is judged as git sees the change, here the owner's files appearing.
#[test]
fn trees_already_stored_are_read_as_git_reads_them() {
    let (owner, alice, server) = setup();
    let ow = Workdir::clone(&owner, &server);
    let hidden = with_mode(&ow, "shared", "140000", false);
    server.import(&ow, &hidden);
    server.git_ok(&["update-ref", "refs/heads/main", &hidden]);
    // git itself sees a gitlink.
    let listing = server.git_ok(&["ls-tree", "main", "shared"]);
    assert!(listing.starts_with("160000 commit "), "{listing}");

    let aw = Workdir::clone(&alice, &server);
    aw.fetch();
    let restored = with_mode(&aw, "shared", "40000", false);
    let before = server.refs();
    let out = aw.push_signed(&["origin", &format!("{restored}:refs/heads/main")]);
    out.assert_reject_code(RejectCode::Denied);
    out.assert_denied("delete-file", "shared");
    out.assert_denied("create-directory", "shared");
    out.assert_denied("create-file", "shared/notes.txt");
    assert_refs_unchanged(&server, &before);

    // Alice's own changes next to it are fine: the stored tree is read, not refused.
    aw.git_ok(&["switch", "--quiet", "-C", "work", "origin/main"]);
    aw.write("alice/y", "more\n");
    aw.commit_all("alice adds a file");
    aw.push_signed(&["origin", "work:main"]).assert_ok();
}

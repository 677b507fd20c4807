//! Limits that hold against a registered user who pushes too much: file
//! sizes that live in the policy (`limit size`), the number of ref updates
//! in one push, and what `git mr init` writes for its data branch.

use gitapps_policy::RejectCode;
use gitapps_tests::{Forge, Server, User, Workdir};

use crate::common::{assert_refs_unchanged, push_main};

const DATA_BRANCH: &str = "apps/merge-reqs/data";

/// Issue 9: after `install` and `git mr init`, with nothing else set, a
/// 64 MiB file and a 16 MiB comment on the data branch are refused: the
/// size limit travels with the repository (`branches/merge-reqs.conf`).
#[test]
fn git_mr_init_caps_file_sizes_on_the_data_branch() {
    let forge = Forge::new(&["owner", "alice"], &[]);
    forge.push_main();
    forge.clone_all();
    forge.owner().mr(&["init"]);
    let alice = forge.user("alice");
    let a = alice.fpr.clone();
    alice.git(&["fetch", "-q", "origin"]);
    alice.git(&["commit", "-q", "--allow-empty", "-m", "work to review"]);
    let mr = alice.mr(&["create", "-t", "a title", "-m", "a description"]);
    let mr = mr.trim().to_string();
    assert!(mr.starts_with(&a), "{mr}");
    let before = forge.server.refs();

    // 16 MiB of comment, as `git mr comment` sends it.
    let big = alice.home.join("big-comment.txt");
    std::fs::write(&big, "spam ".repeat((16 << 20) / 5 + 1)).expect("write comment");
    let out = alice.mr_out(&["comment", &mr, "-F", big.to_str().unwrap()]);
    out.assert_failed();
    out.assert_stderr_contains("branches/merge-reqs.conf");
    assert_refs_unchanged(&forge.server, &before);

    // 64 MiB of zeros, pushed by hand where a comment may go.
    let wd = Workdir::clone(alice.user(), &forge.server);
    wd.fetch();
    let path = format!("merge-reqs/{a}/1/comments/{a}/1");
    let zeros = "\0".repeat(64 << 20);
    let commit = wd.commit_files(
        Some(&format!("origin/{DATA_BRANCH}")),
        &[(&path, Some(&zeros))],
        "a big one",
    );
    let out = wd.push_signed(&["origin", &format!("{commit}:refs/heads/{DATA_BRANCH}")]);
    out.assert_reject_code(RejectCode::Limit);
    out.assert_stderr_contains(&format!("{} bytes", 64u64 << 20));
    assert_refs_unchanged(&forge.server, &before);

    // A comment of a normal size still goes through.
    alice.mr(&["comment", &mr, "-m", "a normal comment"]);
}

/// A project set up by an older `git mr init` (no size limit) gets the
/// limits by running `init` again: they are appended to its rules, in the
/// data branch's scope, and hold.
#[test]
fn running_git_mr_init_again_adds_the_size_limits() {
    let forge = Forge::new(&["owner", "alice"], &[]);
    forge.push_main();
    forge.clone_all();
    let owner = forge.owner();
    owner.mr(&["init"]);
    let branch = "apps/access-control";
    let branches = forge
        .server
        .read_file(branch, "branches/merge-reqs.conf")
        .expect("branches");
    // What the previous version wrote: the same rules without the limits.
    let old: String = branches
        .lines()
        .filter(|l| !l.starts_with("limit "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(old, branches);
    forge.edit_access_control(
        &[("branches/merge-reqs.conf", Some(&old))],
        "as an older git mr init left it",
    );
    let alice = forge.user("alice");
    alice.git(&["fetch", "-q", "origin"]);
    alice.git(&["commit", "-q", "--allow-empty", "-m", "work to review"]);
    let mr = alice
        .mr(&["create", "-t", "t", "-m", "d"])
        .trim()
        .to_string();
    let big = alice.home.join("big-comment.txt");
    std::fs::write(&big, "x".repeat(2 << 20)).expect("write comment");
    alice.mr(&["comment", &mr, "-F", big.to_str().unwrap()]);

    owner.mr(&["init"]);
    let repaired = forge
        .server
        .read_file(branch, "branches/merge-reqs.conf")
        .expect("branches");
    for line in branches.lines().filter(|l| l.starts_with("limit ")) {
        assert!(repaired.contains(line), "{line} missing from:\n{repaired}");
    }
    let before = forge.server.refs();
    let out = alice.mr_out(&["comment", &mr, "-F", big.to_str().unwrap()]);
    out.assert_failed();
    out.assert_stderr_contains("branches/merge-reqs.conf");
    assert_refs_unchanged(&forge.server, &before);
}

/// `git mr init` also caps the revisions of a merge request, so that many
/// small pushes cannot flood the server with tags either.
#[test]
fn git_mr_init_caps_revisions_per_merge_request() {
    let forge = Forge::new(&["owner", "alice"], &[]);
    forge.clone_all();
    forge.owner().mr(&["init"]);
    let alice = forge.user("alice");
    let wd = Workdir::clone(alice.user(), &forge.server);
    wd.switch_orphan("topic");
    wd.write("f", "x\n");
    wd.commit_all("x");
    let a = &alice.fpr;
    let tag = |k: u32| format!("HEAD:refs/tags/apps/merge-reqs/{a}/1-v{k}");
    wd.push_signed(&["origin", &tag(99)]).assert_ok();
    let before = forge.server.refs();
    let out = wd.push_signed(&["origin", &tag(100)]);
    out.assert_reject_code(RejectCode::Denied);
    out.assert_denied("create-tag", &format!("tags/apps/merge-reqs/{a}/1-v100"));
    assert_refs_unchanged(&forge.server, &before);
}

#[test]
fn a_size_limit_in_the_policy_binds_everyone_on_its_branches() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "r\n")]);
    ow.grant(&[(
        "branches/limits.conf",
        "branch ^heads/main$\nlimit size 1k ^.*$\nlimit size 10 ^tiny/.*$\n",
    )]);
    let before = server.refs();
    ow.switch("main");
    ow.write("big.txt", "x".repeat(1025));
    ow.commit_all("big");
    let out = ow.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Limit);
    out.assert_stderr_contains("create-file big.txt on heads/main");
    out.assert_stderr_contains(
        "1025 bytes, over the limit of 1024 bytes at branches/limits.conf:2",
    );
    ow.git_ok(&["reset", "--quiet", "--hard", "origin/main"]);
    // Symlink targets are blobs too.
    ow.symlink("tiny/link", &"t".repeat(11));
    ow.commit_all("long link");
    let out = ow.push_signed(&["origin", "main"]);
    out.assert_reject_code(RejectCode::Limit);
    out.assert_stderr_contains("branches/limits.conf:3");
    assert_refs_unchanged(&server, &before);
    // Other branches are not limited; at the limit is fine.
    ow.git_ok(&["reset", "--quiet", "--hard", "origin/main"]);
    ow.write("big.txt", "x".repeat(1024));
    ow.commit_all("at the limit");
    ow.push_signed(&["origin", "main"]).assert_ok();
    ow.write("big.txt", "x".repeat(5000));
    ow.commit_all("elsewhere");
    ow.push_signed(&["origin", "HEAD:refs/heads/other"])
        .assert_ok();
    // explain says which line.
    let out = server.explain(
        owner.fingerprint(),
        &[(
            "refs/heads/main",
            &server.git_ok(&["rev-parse", "refs/heads/other"]),
        )],
    );
    out.assert_code(1);
    out.assert_stdout_contains(
        "deny modify big.txt (5000 bytes, over the limit of 1024 bytes at branches/limits.conf:2)",
    );
}

/// Issue 9: a push of 100k tags was accepted, and made every later fetch
/// slow. The number of ref updates in one push is bounded (10,000 unless
/// `gitapps.maxRefUpdates` says otherwise), checked before anything else.
#[test]
fn the_ref_updates_of_one_push_are_bounded() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "r\n")]);
    server.set_config("gitapps.maxRefUpdates", "5");
    for i in 0..6 {
        ow.git_ok(&["tag", &format!("t{i}")]);
    }
    let before = server.refs();
    let out = ow.push_signed(&["origin", "--tags"]);
    out.assert_reject_code(RejectCode::Limit);
    out.assert_stderr_contains("6 ref updates");
    out.assert_stderr_contains("gitapps.maxRefUpdates = 5");
    assert_refs_unchanged(&server, &before);
    ow.git_ok(&["tag", "-d", "t5"]);
    ow.push_signed(&["origin", "--tags"]).assert_ok();
}

#[test]
fn install_bounds_the_size_of_a_push() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    assert_eq!(
        server.config("receive.maxInputSize").as_deref(),
        Some("1073741824")
    );
    let small = Server::install_with(&owner, &["--max-input-size", "10m"]);
    assert_eq!(
        small.config("receive.maxInputSize").as_deref(),
        Some("10485760")
    );
    let ow = Workdir::clone(&owner, &small);
    // Pseudo-random text hardly compresses: a pack of more than 10 MiB.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: String = (0..16u64 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    ow.switch_orphan("main");
    ow.write("noise", &noise);
    ow.commit_all("noise");
    ow.push_signed(&["origin", "main"]).assert_failed();
    assert_eq!(small.ref_value("refs/heads/main"), None);
}

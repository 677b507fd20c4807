//! SPEC section 6, `gitapps-hook verify`: any clone checks the whole audit
//! log and every ref the server shows.

use gitapps_tests::cert::{PushCert, RefUpdate};
use gitapps_tests::{bin, now_secs, Output, Server, User, Workdir, ZERO_OID};

use crate::common::push_main;

/// What a dishonest (or broken) server can do to its disk: write records and
/// move refs without the hook. Each helper does one thing by git plumbing,
/// as an attacker with a shell on the server would.
mod server_side {
    use super::*;

    /// The blob id of `path` in record `commit`.
    pub fn file_of(server: &Server, commit: &str, path: &str) -> String {
        server.git_ok(&["rev-parse", &format!("{commit}:{path}")])
    }

    /// Writes `content` as a blob on the server.
    pub fn blob(server: &Server, content: &str) -> String {
        let out = server.git_with_input(&["hash-object", "-w", "--stdin"], content.as_bytes());
        out.assert_ok();
        out.stdout_trimmed().to_string()
    }

    /// A push record as the hook writes one, on top of `previous`, for the
    /// signed certificate `cert` of `pusher`, judged by `access_control`,
    /// applying `updates`; its other parents keep `keep`. Returns it
    /// (nothing is moved).
    pub fn push_record(
        server: &Server,
        previous: &str,
        cert: &str,
        pusher: &str,
        access_control: &str,
        updates: &[RefUpdate],
        keep: &[&str],
    ) -> String {
        let mut push = format!(
            "gitapps push 2\ntime {}\naccess-control {access_control}\n",
            now_secs()
        );
        for u in updates {
            push.push_str(&format!("update {u}\n"));
        }
        let tree_input = format!(
            "100644 blob {}\tcert\n100644 blob {}\tpush\n100644 blob {}\tpusher\n100644 blob {}\tsettings\n",
            blob(server, cert),
            blob(server, &push),
            blob(server, &format!("{pusher}\n")),
            file_of(server, previous, "settings"),
        );
        let out = server.git_with_input(&["mktree"], tree_input.as_bytes());
        out.assert_ok();
        let tree = out.stdout_trimmed().to_string();
        let mut args = vec!["commit-tree", tree.as_str(), "-p", previous];
        for k in keep {
            args.extend(["-p", k]);
        }
        let message = format!("push by {pusher}");
        args.extend(["-m", message.as_str()]);
        server.git_ok(&args)
    }

    /// A certificate `user` signs for `updates`, as git makes one now.
    pub fn signed_cert(server: &Server, user: &User, updates: &[RefUpdate]) -> String {
        let nonce = format!("{}-0123456789abcdef", now_secs());
        PushCert::new(user, &server.url(), &nonce, updates).signed_by(user)
    }

    /// Appends a forged push record to the log and applies its updates, as
    /// if the hook had accepted the push.
    pub fn accept_forged(server: &Server, user: &User, updates: &[RefUpdate]) -> String {
        let cert = signed_cert(server, user, updates);
        let tip = server.ref_value("refs/apps/push-certs").expect("a log");
        let policy = server
            .ref_value("refs/heads/apps/access-control")
            .expect("a policy");
        let keep: Vec<&str> = updates
            .iter()
            .filter(|u| u.new != ZERO_OID)
            .map(|u| u.new.as_str())
            .collect();
        let record = push_record(
            server,
            &tip,
            &cert,
            user.fingerprint(),
            &policy,
            updates,
            &keep,
        );
        server.git_ok(&["update-ref", "refs/apps/push-certs", &record, &tip]);
        for u in updates {
            if u.new == ZERO_OID {
                server.git_ok(&["update-ref", "-d", &u.refname]);
            } else {
                server.git_ok(&["update-ref", &u.refname, &u.new]);
            }
        }
        record
    }

    /// Rewrites the log: its records (genesis first) are replaced by those
    /// `pick` chooses, in its order, each re-chained onto the one before
    /// (same tree, same other parents).
    pub fn rewrite_log(server: &Server, pick: impl FnOnce(Vec<String>) -> Vec<String>) {
        let mut log: Vec<String> = server.audit_log().into_iter().map(|e| e.commit).collect();
        log.reverse();
        let chosen = pick(log);
        let mut previous: Option<String> = None;
        for commit in chosen {
            let tree = server.git_ok(&["rev-parse", &format!("{commit}^{{tree}}")]);
            let parents = server.git_ok(&["rev-list", "--parents", "-n1", &commit]);
            let others: Vec<&str> = parents.split(' ').skip(2).collect();
            let message = server.git_ok(&["log", "-1", "--format=%B", &commit]);
            let mut args = vec!["commit-tree", tree.as_str()];
            if let Some(p) = &previous {
                args.extend(["-p", p.as_str()]);
            }
            for o in &others {
                args.extend(["-p", o]);
            }
            args.extend(["-m", message.as_str()]);
            previous = Some(server.git_ok(&args));
        }
        server.git_ok(&[
            "update-ref",
            "refs/apps/push-certs",
            &previous.expect("a record"),
        ]);
    }
}

/// The problem lines of a verify run (all but the summary).
fn problems(out: &Output) -> Vec<String> {
    let lines = out.stdout_lines();
    lines[..lines.len().saturating_sub(1)]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Asserts a verify run found problems (exit 1), one of which contains
/// every one of `needles`.
#[track_caller]
fn assert_problem(out: &Output, needles: &[&str]) {
    assert_eq!(out.code(), Some(1), "verify should find a problem:\n{out}");
    let found = problems(out)
        .iter()
        .any(|line| needles.iter().all(|n| line.contains(n)));
    assert!(found, "no problem line with {needles:?}:\n{out}");
}

/// The last line of a verify run: its summary.
fn summary(out: &gitapps_tests::Output) -> String {
    out.stdout_lines()
        .last()
        .map(|l| l.to_string())
        .unwrap_or_default()
}

#[test]
fn an_honest_history_verifies_clean_and_then_only_what_is_new() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    ow.register(&[&alice]);
    ow.grant(&[
        ("refs/alice.conf", "anyone create-branch,fast-forward,delete ^heads/alice/.*$\nanyone create-tag ^tags/alice/.*$\n"),
        ("branches/alice.conf", "branch ^heads/alice/.*$\nanyone create-directory,create-file,modify,delete ^.*$\n"),
    ]);
    let aw = Workdir::clone(&alice, &server);
    aw.switch_new("alice/work", "origin/main");
    aw.write("notes/a", "a\n");
    aw.commit_all("a");
    aw.push_signed(&["origin", "alice/work"]).assert_ok();
    aw.git_ok(&["tag", "alice/v1"]);
    // Without --atomic: one record per ref.
    aw.write("notes/b", "b\n");
    aw.commit_all("b");
    aw.push_signed(&["origin", "alice/work", "alice/work:alice/other", "alice/v1"])
        .assert_ok();
    aw.push_signed(&["--atomic", "origin", ":alice/other"])
        .assert_ok();

    let cw = Workdir::clone(&auditor, &server);
    let first = cw.verify(&["--owner", owner.fingerprint()]);
    first.assert_ok();
    let log = server.audit_log();
    assert!(
        summary(&first).starts_with(&format!(
            "verified {} records of origin's audit log ({} new)",
            log.len(),
            log.len()
        )),
        "{first}"
    );
    assert!(summary(&first).ends_with("all verified"), "{first}");

    // Again: nothing new; then one more push is all that is checked.
    let again = cw.verify(&[]);
    again.assert_ok();
    assert!(summary(&again).contains("(0 new)"), "{again}");
    ow.switch("main");
    ow.write("README", "2\n");
    ow.commit_all("2");
    ow.push_signed(&["origin", "main"]).assert_ok();
    let third = cw.verify(&["--json"]);
    third.assert_ok();
    assert!(
        third.stdout.contains("\"ok\":true") && third.stdout.contains("\"new\":1,"),
        "{third}"
    );
}

/// A ref moved, created or deleted on the server's disk, by hand: each is
/// reported by name, and nothing else is. A ref put back where it was
/// before its last record is what git dying after the record leaves too:
/// said in a note to a clone that never saw it applied, and a problem for
/// one that did.
#[test]
fn refs_changed_on_the_server_by_hand_are_reported() {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let first = push_main(&ow, &[("README", "1\n")]);
    ow.write("README", "2\n");
    ow.commit_all("2");
    ow.push_signed(&["origin", "main", "main:topic"])
        .assert_ok();
    let cw = Workdir::clone(&auditor, &server);
    cw.verify(&[]).assert_ok();

    server.git_ok(&["update-ref", "refs/heads/main", &first]);
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    out.assert_ok();
    out.assert_stderr_contains("its update of refs/heads/main is not applied");
    let out = cw.verify(&[]);
    assert_problem(
        &out,
        &[
            "ref refs/heads/main: present:",
            &format!("shows refs/heads/main at {first}"),
        ],
    );

    let moved = server.admin_commit("refs/heads/main", &[("EVIL", Some("x\n"))], "by hand");
    server.git_ok(&["update-ref", "refs/heads/evil", &first]);
    server.git_ok(&["update-ref", "-d", "refs/heads/topic"]);
    let out = cw.verify(&[]);
    assert_problem(
        &out,
        &[
            "ref refs/heads/main: present:",
            &format!("shows refs/heads/main at {moved}"),
        ],
    );
    assert_problem(
        &out,
        &["ref refs/heads/evil: present:", "which no record explains"],
    );
    assert_problem(&out, &["ref refs/heads/topic: present:", "no longer shows"]);
    assert_eq!(problems(&out).len(), 3, "{out}");
    assert!(summary(&out).ends_with("3 problems"), "{out}");
}

/// A record dropped from the middle of the log breaks the chain of the ref
/// it updated; a clone that verified the log before also sees that the log
/// no longer extends its copy.
#[test]
fn a_record_deleted_from_the_middle_is_reported() {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    for n in 2..5 {
        ow.write("README", format!("{n}\n"));
        ow.commit_all(&n.to_string());
        ow.push_signed(&["origin", "main"]).assert_ok();
    }
    let before = Workdir::clone(&auditor, &server);
    before.verify(&[]).assert_ok();
    // Records: genesis, 1, 2, 3, 4: drop 2.
    server_side::rewrite_log(&server, |mut log| {
        log.remove(2);
        log
    });
    let fresh = Workdir::clone(&auditor, &server);
    let out = fresh.verify(&[]);
    assert_problem(&out, &["record 3 (", "chain:", "refs/heads/main"]);
    let out = before.verify(&[]);
    assert_problem(&out, &["log:", "no longer holds record 5"]);
}

/// Two records swapped: the chain of their ref breaks.
#[test]
fn two_records_swapped_are_reported() {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    ow.write("README", "2\n");
    ow.commit_all("2");
    ow.push_signed(&["origin", "main"]).assert_ok();
    server_side::rewrite_log(&server, |mut log| {
        log.swap(1, 2);
        log
    });
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    assert_problem(&out, &["record 2 (", "chain:", "refs/heads/main"]);
    assert_problem(&out, &["record 3 (", "chain:", "refs/heads/main"]);
}

/// A push the policy of its time forbade, written into the server as if
/// the hook had accepted it (a signed certificate and all).
#[test]
fn a_push_the_policy_forbade_written_directly_is_reported() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let main = push_main(&ow, &[("README", "1\n")]);
    ow.register(&[&alice]);
    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.write("README", "alice was here\n");
    let theirs = aw.commit_all("alice");
    // The hook refuses it...
    aw.push_signed(&["origin", "main"])
        .assert_denied("fast-forward", "heads/main");
    // ...the server takes it anyway.
    server.import(&aw, &theirs);
    server_side::accept_forged(
        &server,
        &alice,
        &[RefUpdate::new(&main, &theirs, "refs/heads/main")],
    );
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    assert_problem(
        &out,
        &[
            "record 4 (",
            "alice",
            "policy:",
            "denied: fast-forward heads/main",
        ],
    );
    assert_eq!(problems(&out).len(), 1, "{out}");
}

/// A certificate signed by a key that came to apps/access-control only
/// later, recorded before that (the log rewritten): its key is unknown at
/// its place in the log.
#[test]
fn a_certificate_from_a_key_added_later_is_reported() {
    let owner = User::new("owner");
    let bob = User::new("bob");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    ow.grant(&[
        ("refs/bob.conf", "anyone create-branch ^heads/bob$\n"),
        (
            "branches/bob.conf",
            "branch ^heads/bob$\nanyone create-file,create-directory,modify ^.*$\n",
        ),
    ]);
    let granted = server
        .ref_value("refs/heads/apps/access-control")
        .expect("policy");
    ow.register(&[&bob]);
    let bw = Workdir::clone(&bob, &server);
    bw.switch_new("bob", "origin/main");
    bw.write("bob.txt", "bob\n");
    let commit = bw.commit_all("bob");
    bw.push_signed(&["origin", "bob"]).assert_ok();
    // Records: genesis, main, grant, register, bob. The server puts bob's
    // record before his key's, saying it was judged by the policy then:
    // genesis, main, grant, bob, register.
    let log: Vec<String> = server
        .audit_log()
        .into_iter()
        .rev()
        .map(|e| e.commit)
        .collect();
    let cert = server
        .read_file(&log[4], "cert")
        .expect("bob's certificate");
    let earlier = server_side::push_record(
        &server,
        &log[2],
        &cert,
        bob.fingerprint(),
        &granted,
        &[RefUpdate::new(ZERO_OID, &commit, "refs/heads/bob")],
        &[&commit],
    );
    server_side::rewrite_log(&server, |log| {
        vec![
            log[0].clone(),
            log[1].clone(),
            log[2].clone(),
            earlier,
            log[3].clone(),
        ]
    });
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    assert_problem(&out, &["record 4 (", "signature:", "not in the keyring"]);
    assert_eq!(problems(&out).len(), 1, "{out}");
}

/// CVE-2026-128035: a policy change in the middle of the range verified
/// takes effect from that point on, also for a clone that verified the
/// range before the change (incrementally).
#[test]
fn a_policy_change_in_the_middle_forbids_what_later_records_did() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    ow.register(&[&alice]);
    ow.grant(&[
        ("refs/alice.conf", "anyone fast-forward ^heads/main$\n"),
        ("branches/alice.conf", "anyone modify ^README$\n"),
    ]);
    let aw = Workdir::clone(&alice, &server);
    aw.switch("main");
    aw.write("README", "alice 1\n");
    aw.commit_all("alice 1");
    aw.push_signed(&["origin", "main"]).assert_ok();
    let cw = Workdir::clone(&auditor, &server);
    cw.verify(&[]).assert_ok();

    // The owner takes the grant back; the server still takes alice's push.
    ow.edit_access_control(&[("refs/alice.conf", None), ("branches/alice.conf", None)])
        .assert_ok();
    let main = server.ref_value("refs/heads/main").expect("main");
    aw.write("README", "alice 2\n");
    let theirs = aw.commit_all("alice 2");
    aw.push_signed(&["origin", "main"])
        .assert_denied("fast-forward", "heads/main");
    server.import(&aw, &theirs);
    server_side::accept_forged(
        &server,
        &alice,
        &[RefUpdate::new(&main, &theirs, "refs/heads/main")],
    );
    let out = cw.verify(&[]);
    assert_problem(
        &out,
        &["record 7 (", "policy:", "denied: fast-forward heads/main"],
    );
    assert!(summary(&out).contains("(2 new)"), "{out}");
    // A fresh clone, from the genesis, says the same.
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    assert_problem(
        &out,
        &["record 7 (", "policy:", "denied: fast-forward heads/main"],
    );
    assert_eq!(problems(&out).len(), 1, "{out}");
}

/// CVE-2026-128036: every file of a new policy is checked. A server that
/// took a policy change whose second file is invalid is caught.
#[test]
fn every_file_of_a_new_policy_is_checked() {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    ow.fetch();
    let policy = server
        .ref_value("refs/heads/apps/access-control")
        .expect("policy");
    let bad = ow.commit_files(
        Some("origin/apps/access-control"),
        &[
            (
                "refs/a-fine.conf",
                Some("owner fast-forward ^heads/main$\n"),
            ),
            ("refs/z-broken.conf", Some("owner fly-away ^heads/main$\n")),
        ],
        "two files",
    );
    ow.push_signed(&["origin", &format!("{bad}:refs/heads/apps/access-control")])
        .assert_rejected_with("refs/z-broken.conf:1:");
    server.import(&ow, &bad);
    server_side::accept_forged(
        &server,
        &owner,
        &[RefUpdate::new(
            &policy,
            &bad,
            "refs/heads/apps/access-control",
        )],
    );
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    assert_problem(&out, &["record 3 (", "policy:", "refs/z-broken.conf:1:"]);
}

/// The owner is pinned on first use: a server whose log is replaced by one
/// with another owner's genesis is refused, and an owner given with
/// --owner must be the genesis's.
#[test]
fn the_owner_is_pinned_and_a_replaced_genesis_refused() {
    let owner = User::new("owner");
    let mallory = User::new("mallory");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "1\n")]);
    let cw = Workdir::clone(&auditor, &server);
    let wrong = cw.verify(&["--owner", mallory.fingerprint()]);
    assert_problem(
        &wrong,
        &[
            "record 1 (",
            "genesis:",
            &format!("names the owner {}", owner.fingerprint()),
        ],
    );
    cw.verify(&[]).assert_ok();
    assert_eq!(
        cw.git_ok(&["config", "--get-all", "remote.origin.gitappsOwner"]),
        owner.fingerprint()
    );
    // The server starts over under mallory's name: a new log.
    let evil = Server::install(&mallory);
    cw.git_ok(&["remote", "set-url", "origin", &evil.url()]);
    let out = cw.verify(&[]);
    assert_problem(&out, &["log:", "no longer holds record"]);
    assert_problem(
        &out,
        &[
            "genesis:",
            &format!("names the owner {}", mallory.fingerprint()),
        ],
    );
}

/// The pushes of one user in the honest history below, as a script (a
/// loop of real signed pushes, without a process of the test's per push):
/// rounds `$1` to `$2`, tags under `$3`, five kinds in turn: an atomic push of `main` (with
/// retries: the others push it too) and the user's branch forced onto it;
/// two fast-forwards of the branch; a push without --atomic of a tag and a
/// new branch (two records); the branch's deletion. Prints how many pushes
/// it made.
const HONEST_PUSHES: &str = r#"
set -e
me=$(git config user.signingkey)
b="$me/work"
pushes=0
for r in $(seq "$1" "$2"); do
  case $((r % 5)) in
  0)
    tries=0
    until git fetch -q origin main \
      && git checkout -q -B "$b" FETCH_HEAD \
      && mkdir -p "log/$me" && echo "$r" > "log/$me/$r" \
      && git add -A && git commit -qm "main $r" \
      && git push -q --signed --atomic origin HEAD:main "+HEAD:$b" 2>/dev/null
    do
      tries=$((tries + 1))
      [ "$tries" -lt 50 ] || { echo "main push $r failed 50 times" >&2; exit 1; }
      sleep 0.0$((tries % 10))
    done ;;
  1|2)
    mkdir -p work && echo "$r" > "work/$r"
    git add -A && git commit -qm "work $r"
    git push -q --signed origin "$b" ;;
  3)
    git tag "$3/r$r"
    git push -q --signed origin "$3/r$r" "$b:$me/copy" ;;
  *)
    git push -q --signed origin ":$me/copy" ;;
  esac
  pushes=$((pushes + 1))
done
echo "$pushes"
"#;

/// An honest history of several hundred pushes by several users, pushing
/// at the same time (branches created, advanced, forced and deleted, tags,
/// atomic pushes and pushes without --atomic, a policy change between the
/// halves) verifies clean, from scratch and incrementally.
#[test]
fn several_hundred_pushes_by_several_users_verify_clean() {
    let owner = User::new("owner");
    let users = [User::new("alice"), User::new("bob"), User::new("carol")];
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    push_main(&ow, &[("README", "0\n")]);
    ow.register(&[&users[0], &users[1], &users[2]]);
    ow.grant(&[
        (
            "refs/people.conf",
            "anyone create-branch,fast-forward,force,delete ^heads/$user_id/.*$\nanyone create-tag ^tags/$user_id/.*$\nanyone fast-forward ^heads/main$\n",
        ),
        (
            "branches/people.conf",
            "branch ^heads/[0-9A-F]{40}/.*$\nanyone create-directory,create-file,modify,delete ^.*$\nbranch ^heads/main$\nanyone create-directory ^log(/$user_id)?$\nanyone create-file,modify ^log/$user_id/.*$\n",
        ),
    ]);
    let clones: Vec<Workdir> = users.iter().map(|u| Workdir::clone(u, &server)).collect();
    for wd in &clones {
        wd.git_ok(&["config", "user.signingkey", wd.user().fingerprint()]);
    }
    // 3 users x 70 rounds: 210 pushes (and 4 of the owner's), 256 records.
    let rounds: usize = std::env::var("GITAPPS_VERIFY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(70);
    let half = rounds / 2;
    let started = std::time::Instant::now();
    let run_all = |from: usize, to: usize, tags: &str| {
        let children: Vec<_> = clones
            .iter()
            .map(|wd| {
                let mut cmd = wd.command("sh");
                cmd.args(["-c", HONEST_PUSHES, "honest"])
                    .arg(from.to_string())
                    .arg(to.to_string())
                    .arg(tags.replace("$me", wd.user().fingerprint()))
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().expect("spawn the pushes")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("wait for the pushes");
            assert!(
                out.status.success(),
                "pushes failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let made: usize = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("a count");
            assert_eq!(made, to + 1 - from);
        }
    };
    let cw = Workdir::clone(&auditor, &server);
    run_all(0, half - 1, "$me");
    cw.verify(&[]).assert_ok();
    // The policy changes between the halves: the second half's tags are
    // allowed by the new rule only.
    ow.edit_access_control(&[(
        "refs/shared.conf",
        Some("anyone create-tag ^tags/shared/$user_id/.*$\n"),
    )])
    .assert_ok();
    run_all(half, rounds - 1, "shared/$me");
    let records = server.push_cert_count();
    eprintln!(
        "{records} push records from {} pushes in {:?}",
        3 * rounds + 4,
        started.elapsed()
    );
    // Each user, every five rounds: one atomic push, two, a push without
    // --atomic of two refs (two records), a deletion.
    assert_eq!(records, 4 + 3 * 6 * rounds / 5, "every push is recorded");
    let out = cw.verify(&[]);
    out.assert_ok();
    assert!(summary(&out).ends_with("all verified"), "{out}");
    let out = Workdir::clone(&auditor, &server).verify(&[]);
    out.assert_ok();
    assert!(
        summary(&out).starts_with(&format!("verified {} records", records + 1)),
        "{out}"
    );
}

/// Exit codes: 0 all verified, 1 a problem found, 2 could not run (no
/// repository, no such remote, nothing fetched for --offline, a remote that
/// cannot be reached). --offline checks what was fetched last, and --json
/// says the same as the text.
#[test]
fn exit_codes_offline_and_json() {
    let owner = User::new("owner");
    let auditor = User::new("auditor");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    let first = push_main(&ow, &[("README", "1\n")]);
    ow.write("README", "2\n");
    ow.commit_all("2");
    ow.push_signed(&["origin", "main"]).assert_ok();

    let mut outside = auditor.command(bin("gitapps-hook").to_str().expect("UTF-8 path"));
    outside.current_dir(auditor.scratch_dir()).arg("verify");
    let out = gitapps_tests::run(outside, None);
    out.assert_code(2);
    out.assert_stderr_contains("gitapps-hook: error:");

    let cw = Workdir::clone(&auditor, &server);
    let out = cw.verify(&["--remote", "nosuch"]);
    out.assert_code(2);
    out.assert_stderr_contains("no remote \"nosuch\"");
    let out = cw.verify(&["--offline"]);
    out.assert_code(2);
    out.assert_stderr_contains("without --offline first");
    let out = cw.verify(&["--owner", "not-a-fingerprint"]);
    out.assert_code(2);

    cw.verify(&["--json"]).assert_ok();
    // The server moves main back by hand: --offline does not see it (it
    // fetches nothing), a run that fetches does.
    server.git_ok(&["update-ref", "refs/heads/main", &first]);
    let out = cw.verify(&["--offline"]);
    out.assert_ok();
    assert!(summary(&out).contains("(0 new)"), "{out}");
    let out = cw.verify(&["--json"]);
    out.assert_code(1);
    let json = out.stdout_trimmed();
    assert!(json.starts_with('{') && json.ends_with('}'), "{out}");
    for needle in [
        "\"remote\":\"origin\"",
        "\"ok\":false",
        "\"check\":\"present\"",
        "\"ref\":\"refs/heads/main\"",
        "\"records\":3,",
    ] {
        assert!(json.contains(needle), "no {needle} in {json}");
    }
    // Now --offline sees what was fetched last.
    cw.verify(&["--offline"]).assert_code(1);

    // A remote that cannot be reached: could not run.
    cw.git_ok(&["remote", "set-url", "origin", "/nonexistent/server.git"]);
    cw.verify(&[]).assert_code(2);
}

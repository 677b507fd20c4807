//! `git mr comment` as the data branch grows (issue 15, "Scale").
//!
//! `cargo bench -p gitapps-tests --bench mr_scale`: a server with the hook, the
//! owner's merge request, and N more merge requests by 50 other authors (titles,
//! targets, labels, a description each, a v1 revision tag each) put on the data
//! branch with `git fast-import`. For N = 50, 5,000 and 50,000 it times, in
//! alternate rounds:
//!
//! - `git mr comment` on the owner's merge request (a fetch, a read of that
//!   merge request, a signed push with the hook);
//! - the floor git sets for any push to that server: a signed push of one
//!   commit to a branch, which receives the whole ref advertisement (every
//!   revision tag) like the comment's push and fetch do;
//! - git's own cost of the comment's push: a signed push of one commit that
//!   adds one comment file on the data branch (made with plumbing, untimed),
//!   whose server side also walks the data branch's tree.
//!
//! Goal: the comment at 50,000 within 1.5x of the comment at 50.
//! GITAPPS_BENCH_QUICK=1: 50 and 500; GITAPPS_BENCH_POINTS=50,5000: the points;
//! GITAPPS_BENCH_ROUNDS: rounds (default 9); GITAPPS_BENCH_TRACE=FILE: git's
//! GIT_TRACE2_PERF of the timed commands (the hook's processes included).

use std::io::Write as _;
use std::time::Duration;

use gitapps_tests::bench::{self, alternate, env_usize, median, ms, Stream};
use gitapps_tests::{Forge, Member, Server};

const AUTHORS: usize = 50;

fn author(i: usize) -> String {
    format!("{:040X}", 0x1000 + i * 7919)
}

/// `count` merge requests more (numbers from `first` per author), on the
/// server's data branch and as revision tags on `main`.
fn add_merge_requests(server: &Server, first: usize, count: usize) {
    let rev = |r: &str| {
        let out = server.git(&["rev-parse", r]);
        out.stdout.trim().to_owned()
    };
    let data = rev("refs/heads/apps/merge-reqs/data");
    let main = rev("refs/heads/main");
    let mut s = Stream::default();
    let open = s.blob(b"/labels/open");
    let main_target = s.blob(b"main\n");
    let mut files: Vec<(&str, usize, String)> = Vec::new();
    let mut tags = Vec::new();
    for i in first..first + count {
        let a = author(i % AUTHORS);
        let k = i / AUTHORS + 1;
        let dir = format!("merge-reqs/{a}/{k}");
        let title = s.blob(format!("Merge request {i}: fix the frobnicator\n").as_bytes());
        files.push(("100644", title, format!("{dir}/title")));
        files.push(("100644", main_target, format!("{dir}/target")));
        files.push(("120000", open, format!("{dir}/labels/open")));
        let link = s.blob(format!("/{dir}").as_bytes());
        files.push(("120000", link, format!("labels/open/{a}/{k}")));
        let body = s.blob(
            format!("Date: 2026-11-01T10:00:00Z\nRevision: 1\n\nDescription of {i}.\n").as_bytes(),
        );
        files.push(("100644", body, format!("{dir}/comments/{a}/0")));
        tags.push(format!("refs/tags/apps/merge-reqs/{a}/{k}-v1"));
    }
    s.commit(
        "refs/heads/apps/merge-reqs/data",
        Some(&data),
        &files,
        "bench: merge requests",
    );
    for t in tags {
        writeln!(s.bytes, "reset {t}\nfrom {main}\n").expect("write");
    }
    // Without hooks: this is the fixture, not a push (and the transaction hook
    // would run twice for each of fast-import's ref updates).
    server
        .git_with_input(
            &[
                "-c",
                "core.hooksPath=/dev/null",
                "fast-import",
                "--quiet",
                "--force",
            ],
            &s.bytes,
        )
        .assert_ok();
    bench::check(server.command("git").args([
        "-c",
        "core.hooksPath=/dev/null",
        "pack-refs",
        "--all",
    ]));
}

/// A signed push of one new commit to `refs/heads/bench-floor`.
fn floor_push(owner: &Member, round: usize, trace: Option<&std::ffi::OsStr>) -> Duration {
    let tree = owner.git(&["rev-parse", "HEAD^{tree}"]);
    let parent = owner.git(&["rev-parse", "HEAD"]);
    let commit = owner.git(&[
        "commit-tree",
        tree.trim(),
        "-p",
        parent.trim(),
        "-m",
        &format!("floor {round}"),
    ]);
    timed_push(
        owner,
        &format!("+{}:refs/heads/bench-floor", commit.trim()),
        trace,
    )
}

/// The time of `git push --signed origin <refspec>` from `owner`'s clone.
fn timed_push(owner: &Member, refspec: &str, trace: Option<&std::ffi::OsStr>) -> Duration {
    let mut cmd = owner.cmd("git", &owner.clone);
    cmd.args(["push", "-q", "--signed", "origin", refspec]);
    if let Some(t) = trace {
        cmd.env("GIT_TRACE2_PERF", t);
    }
    bench::time(&mut cmd)
}

/// git's own cost of a comment's push: a signed push of one commit that
/// adds one comment file to the owner's merge request on the data branch.
/// The commit is made with plumbing, untimed; the push is timed. Its server
/// side walks the data branch's tree (receive-pack's connectivity check
/// marks every tree of the old tip uninteresting), as the comment's does.
fn data_floor_push(
    owner: &Member,
    mr: &str,
    seq: usize,
    trace: Option<&std::ffi::OsStr>,
) -> Duration {
    owner.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/heads/apps/merge-reqs/data:refs/bench/data",
    ]);
    let file = owner.clone.join(".git").join("bench-comment");
    std::fs::write(
        &file,
        format!("Date: 2026-11-30T12:00:00Z\nRevision: 1\n\nfloor {seq}\n"),
    )
    .expect("write the comment");
    let blob = owner.git(&["hash-object", "-w", &file.to_string_lossy()]);
    let index = owner.clone.join(".git").join("bench-index");
    let (who, n) = mr.split_once('/').expect("<who>/<n>");
    let path = format!("merge-reqs/{who}/{n}/comments/{who}/{}", 1_000_000 + seq);
    let with_index = |args: &[&str]| {
        let mut cmd = owner.cmd("git", &owner.clone);
        cmd.env("GIT_INDEX_FILE", &index).args(args);
        let out = bench::check(&mut cmd);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    with_index(&["read-tree", "refs/bench/data"]);
    with_index(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{},{path}", blob.trim()),
    ]);
    let tree = with_index(&["write-tree"]);
    let commit = owner.git(&[
        "commit-tree",
        &tree,
        "-p",
        "refs/bench/data",
        "-m",
        &format!("floor {seq}"),
    ]);
    timed_push(
        owner,
        &format!("{}:refs/heads/apps/merge-reqs/data", commit.trim()),
        trace,
    )
}

fn main() {
    let quick = std::env::var_os("GITAPPS_BENCH_QUICK").is_some();
    let points: Vec<usize> = match std::env::var("GITAPPS_BENCH_POINTS") {
        Ok(list) => list
            .split(',')
            .map(|p| p.trim().parse().expect("GITAPPS_BENCH_POINTS: numbers"))
            .collect(),
        Err(_) if quick => vec![50, 500],
        Err(_) => vec![50, 5_000, 50_000],
    };
    // GIT_TRACE2_PERF for the timed commands (and, through git, the hook).
    let trace = std::env::var_os("GITAPPS_BENCH_TRACE");
    let rounds = env_usize("GITAPPS_BENCH_ROUNDS", 9);
    let forge = Forge::new(&["owner"], &[]);
    forge.push_main();
    let mr = gitapps_tests::bench::owner_merge_request(&forge);
    let owner = forge.owner();
    let mut have = 0;
    let mut first = None;
    println!("git mr comment on one merge request among N, {rounds} alternate rounds each");
    for &n in &points {
        add_merge_requests(&forge.server, have, n - have);
        have = n;
        owner.mr(&["fetch"]);
        owner.mr(&["comment", &mr, "-m", "warm up"]);
        let samples = alternate(3, rounds, |which, round| match which {
            0 => {
                let mut cmd = owner.mr_command();
                cmd.args(["comment", &mr, "-m", &format!("at {n}, round {round}")]);
                if let Some(t) = &trace {
                    cmd.env("GIT_TRACE2_PERF", t);
                }
                bench::time(&mut cmd)
            }
            1 => floor_push(owner, round, trace.as_deref()),
            _ => data_floor_push(owner, &mr, n * 100 + round, trace.as_deref()),
        });
        let [comment, floor, data_floor] = [0, 1, 2].map(|i| median(&samples[i]));
        let (base, data_base) = *first.get_or_insert((comment, data_floor));
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "{n} merge requests: comment {:.1} ms, signed push of one commit {:.1} ms \
(comment / floor {:.2}), signed push of one comment file on the data branch {:.1} ms \
(comment / that {:.2}); comment / comment at {} {:.2}, data-branch push / the same at {} {:.2}",
            ms(comment),
            ms(floor),
            ratio(comment, floor),
            ms(data_floor),
            ratio(comment, data_floor),
            points[0],
            ratio(comment, base),
            points[0],
            ratio(data_floor, data_base),
        );
    }
    println!(
        "goal: comment at {} within 1.5x of the comment at {}",
        points[points.len() - 1],
        points[0]
    );
}

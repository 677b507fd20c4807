//! `git mr export --html` end to end: merge requests made through a real server with
//! `gitapps-hook`, exported, and the pages rendered by headless Chromium (Debian's
//! `chromium` package; `./test` installs it). The assertions are on the DOM Chromium
//! built, so they check what a browser shows, not only what was written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{commit_file, User};
use git_mr::{Fingerprint, MrId};
use gitapps_tests::run;

/// `git mr args…` with the clock at `now`.
fn mr_at(u: &User, now: &str, args: &[&str]) -> String {
    let mut cmd = u.mr_command();
    cmd.env("GITAPPS_NOW", now).args(args);
    run(cmd, None).success_stdout().to_owned()
}

const CHROMIUM: &str = "chromium";
const MISSING: &str = "`chromium` is not installed, and this test renders the exported site in \
headless Chromium: install Debian's package (`apt-get install -y chromium`), or run the project's \
test command `./test`, which installs what the tests need";

/// Fail at once, before building a world, when Chromium is missing.
fn require_chromium() {
    match Command::new(CHROMIUM)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{MISSING}"),
        Err(e) => panic!("cannot start chromium: {e}"),
    }
}

/// `chromium --headless --dump-dom file://…`: the DOM after the page loaded, serialized.
/// Fails the test when Chromium is missing: CI installs it, and a test that passes
/// without looking at the pages would prove nothing.
fn chromium_dom(page: &Path, scratch: &Path) -> String {
    let page = page.canonicalize().unwrap();
    let path = page.to_str().unwrap();
    assert!(
        path.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)),
        "{path} would need percent-encoding in a file:// URL"
    );
    let run = scratch.join(format!(
        "chromium-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&run).unwrap();
    let dom_file = run.join("dom.html");
    let log_file = run.join("stderr.log");
    let spawned = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", run.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{path}"))
        .env("HOME", &run)
        .env("XDG_CONFIG_HOME", run.join("config"))
        .env("XDG_CACHE_HOME", run.join("cache"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_file).unwrap())
        .stderr(std::fs::File::create(&log_file).unwrap())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{MISSING}"),
        Err(e) => panic!("cannot start chromium: {e}"),
    };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish rendering {path} within 60 s:\n{}",
                std::fs::read_to_string(&log_file).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed on {path} ({status}):\n{}",
        std::fs::read_to_string(&log_file).unwrap_or_default()
    );
    dom
}

/// The text a reader sees: tags dropped, the references Chromium writes decoded,
/// white space collapsed.
fn text(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The elements in a serialized DOM, by tag name (lower case).
fn elements(dom: &str) -> Vec<String> {
    dom.split('<')
        .skip(1)
        .map(|t| {
            t.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// The row of the index's table that mentions `needle`, as text.
fn row<'a>(dom: &'a str, needle: &str) -> &'a str {
    let found: Vec<&str> = dom
        .split("<tr")
        .skip(1)
        .map(|r| &r[..r.find("</tr>").unwrap_or(r.len())])
        .filter(|r| r.contains(needle))
        .collect();
    assert_eq!(found.len(), 1, "one row with {needle}:\n{dom}");
    found[0]
}

fn hrefs(dom: &str) -> Vec<String> {
    dom.split("href=\"")
        .skip(1)
        .map(|p| p[..p.find('"').unwrap()].to_owned())
        .collect()
}

/// Both the title and a comment try to run script (an element, and an event handler):
/// if anything ran, the body would carry `data-pwned`.
const TITLE: &str =
    "Fix <script>document.body.setAttribute('data-pwned','title')</script> parsing & more";
const HOSTILE_LINE: &str =
    "one\n<script>document.body.setAttribute('data-pwned','diff')</script>\n";
const HOSTILE_COMMENT: &str =
    "Looks fine. <script>document.body.setAttribute('data-pwned','comment')</script> \
<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">";

#[test]
fn export_renders_in_a_browser() {
    require_chromium();
    let world = common::World::new(&["owner", "alice", "bob"]);
    let owner = world.owner();
    let alice = world.user("alice");
    let bob = world.user("bob");
    world.setup_main();
    // The owner reports CI here (the ci group): CI results come from it alone.
    owner.mr(&["init", "--maintainer", "bob", "--ci", &owner.fpr]);

    // Alice's merge request, reviewed by Bob (a line comment, an approval), with a
    // CI result; Bob's own, closed. A line of the diff tries to run script too.
    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    let v1 = commit_file(alice, "a.txt", HOSTILE_LINE, "add a");
    mr_at(
        alice,
        "2026-11-26T10:00:00Z",
        &[
            "create",
            "-t",
            TITLE,
            "-m",
            "Adds a.txt.",
            "--label",
            "needs-review",
        ],
    );
    bob.git(&["checkout", "-q", "-b", "cleanup", "origin/main"]);
    commit_file(bob, "b.txt", "b\n", "add b");
    mr_at(
        bob,
        "2026-11-25T09:00:00Z",
        &["create", "-t", "Bob's cleanup", "-m", "Tidies up."],
    );
    mr_at(bob, "2026-11-25T09:30:00Z", &["close", "me/1"]);
    mr_at(
        bob,
        "2026-11-26T12:00:00Z",
        &["comment", "alice/1", "-m", HOSTILE_COMMENT],
    );
    mr_at(
        alice,
        "2026-11-26T13:00:00Z",
        &[
            "comment",
            "me/1",
            "-m",
            "Thanks, fixed in my head.",
            "--reply-to",
            &format!("{}/0", &bob.fpr[..8]),
        ],
    );
    ci_result(&world, alice, "2026-11-26T11:00:00Z");
    mr_at(
        bob,
        "2026-11-26T12:30:00Z",
        &[
            "comment",
            "alice/1",
            "--path",
            "a.txt",
            "--line",
            "1",
            "-m",
            "One? Really.",
        ],
    );
    mr_at(
        bob,
        "2026-11-26T12:40:00Z",
        &["approve", "alice/1", "-m", "LGTM"],
    );

    // Export, with the clock three days on.
    let site = world.root.path().join("site");
    let mut cmd = alice.mr_command();
    cmd.env("GITAPPS_NOW", "2026-11-29T10:00:00Z")
        .args(["export", "--html"])
        .arg(&site);
    let out = run(cmd, None);
    let stderr = out.stderr.clone();
    let stdout = out.success_stdout();
    assert_eq!(
        PathBuf::from(stdout.trim()),
        site.join("index.html"),
        "{stderr}"
    );
    assert!(stderr.contains("exported 2 merge requests"), "{stderr}");
    assert!(site.join("style.css").is_file());

    // The index, as Chromium shows it.
    let index = chromium_dom(&site.join("index.html"), world.root.path());
    let index_text = text(&index);
    assert!(
        index_text.contains("Merge requests 1 open · 0 merged · 1 closed"),
        "{index_text}"
    );
    let alice_row = row(&index, "parsing");
    let alice_text = text(alice_row);
    for want in [
        TITLE,
        "open",
        "CI pass",
        "needs-review",
        &format!("Alice {}", &alice.fpr[..8]),
        "3 days ago",
    ] {
        assert!(alice_text.contains(want), "{want:?} in {alice_text}");
    }
    let bob_text = text(row(&index, "cleanup"));
    for want in [
        "Bob's cleanup",
        "closed",
        &format!("Bob {}", &bob.fpr[..8]),
        "4 days ago",
    ] {
        assert!(bob_text.contains(want), "{want:?} in {bob_text}");
    }
    assert!(
        !bob_text.contains("CI pass") && !bob_text.contains("needs-review"),
        "{bob_text}"
    );
    // Open first: Alice's row comes before Bob's closed one.
    assert!(index.find("parsing").unwrap() < index.find("cleanup").unwrap());

    // Every link is relative and leads to a file of the site.
    let links = hrefs(&index);
    assert_eq!(links.len(), 3, "stylesheet and two pages: {links:?}");
    for l in &links {
        assert!(!l.contains(':') && !l.starts_with('/'), "{l}");
        assert!(site.join(l).is_file(), "{l} is in the site");
    }
    let alice_id = MrId {
        author: Fingerprint::parse(&alice.fpr).unwrap(),
        number: 1,
    };
    let page_link = format!("mr/{}-1.html", alice_id.author);
    assert!(links.contains(&page_link), "{links:?}");
    assert!(
        hrefs(alice_row).contains(&page_link),
        "the row links its page"
    );

    // Alice's merge request's page, reached through the index's link.
    let page = chromium_dom(&site.join(&page_link), world.root.path());
    let page_text = text(&page);
    for want in [
        TITLE,
        "open",
        "CI pass",
        "Target main",
        "needs-review",
        "Revisions (1)",
        &format!("v1 {v1} diff"),
        "Votes",
        &format!("Bob {} approved v1", &bob.fpr[..8]),
        "LGTM",
        "Changes in v1",
        "a.txt",
        &format!(
            "1 +one Bob {}/1 · 2026-11-26T12:30:00Z · v1 One? Really.",
            &bob.fpr[..8]
        ),
        "Comments (5)",
        "Adds a.txt.",
        "description",
        HOSTILE_COMMENT,
        &format!("Bob {}/0 · 2026-11-26T12:00:00Z · v1", &bob.fpr[..8]),
        &format!("reply to Bob {}/0", &bob.fpr[..8]),
        "Thanks, fixed in my head.",
        "CI-Status: pass",
        "CI-Command: cargo test",
        "test result: ok. 3 passed",
    ] {
        assert!(page_text.contains(want), "{want:?} in {page_text}");
    }
    // Comments in date order: description 10:00, CI 11:00, Bob 12:00, reply 13:00.
    let at = |s: &str| page_text.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("Adds a.txt.") < at("CI-Status: pass"));
    assert!(at("CI-Status: pass") < at("Looks fine."));
    assert!(at("Looks fine.") < at("Thanks, fixed"));
    // The reply links to Bob's comment, on the same page.
    assert!(
        page.contains(&format!("href=\"#c-{}-0\"", bob.fpr))
            && page.contains(&format!("id=\"c-{}-0\"", bob.fpr)),
        "{page}"
    );
    // The line comment sits in the diff's table, under its line, and the one in
    // the timeline links there.
    let diff = &page[page.find("id=\"diff-v1\"").expect("the diff of v1")..];
    let line_row = diff.find("+one").expect("the line");
    let line_comment = diff
        .find("One? Really.")
        .expect("the line comment in the diff");
    assert!(line_row < line_comment, "{diff}");
    assert!(
        diff[..line_comment].contains("<tr class=\"comments\">"),
        "{diff}"
    );
    assert!(
        page.contains(&format!("href=\"#lc-{}-1\"", bob.fpr))
            && page.contains(&format!("id=\"lc-{}-1\"", bob.fpr)),
        "{page}"
    );
    assert!(hrefs(&page).contains(&"#diff-v1".to_owned()));
    assert!(hrefs(&page).contains(&"../index.html".to_owned()));
    assert!(hrefs(&page).contains(&"../style.css".to_owned()));

    // Hostile input is text: no element was injected and nothing ran.
    for (name, dom) in [("index", &index), ("page", &page)] {
        let els = elements(dom);
        for bad in ["script", "img", "iframe", "object", "embed"] {
            assert!(
                !els.iter().any(|e| e == bad),
                "<{bad}> in the {name}:\n{dom}"
            );
        }
        assert!(
            !dom.contains("data-pwned=\""),
            "script ran in the {name}:\n{dom}"
        );
        assert!(dom.contains("&lt;script&gt;"), "the {name} shows the text");
    }
    assert!(
        page.contains("&lt;img src=x onerror=\"document.body"),
        "{page}"
    );
}

/// A CI result as ci-bot writes it (a comment with `CI-Status:` and the `ci-pass`
/// label), pushed by hand by the owner, who may change anything.
fn ci_result(world: &common::World, author: &User, date: &str) {
    let owner = world.owner();
    let dir = world.root.path().join("ci-data");
    let hand = owner.clone_branch(&world.server, "apps/merge-reqs/data", &dir);
    let id = MrId {
        author: Fingerprint::parse(&author.fpr).unwrap(),
        number: 1,
    };
    let ci = Fingerprint::parse(&owner.fpr).unwrap();
    let comment = dir.join(git_mr::layout::comment_path(&id, &ci, 0));
    std::fs::create_dir_all(comment.parent().unwrap()).unwrap();
    std::fs::write(
        &comment,
        format!(
            "Date: {date}\nRevision: 1\nCI-Status: pass\nCI-Command: cargo test\n\n\
test result: ok. 3 passed\n"
        ),
    )
    .unwrap();
    for (link, target) in [
        (
            git_mr::layout::mr_label_path(&id, "ci-pass"),
            git_mr::layout::label_link_target("ci-pass"),
        ),
        (
            git_mr::layout::label_index_path("ci-pass", &id),
            git_mr::layout::mr_link_target(&id),
        ),
    ] {
        let link = dir.join(link);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, link).unwrap();
    }
    hand.commit_and_push("ci: pass", "refs/heads/apps/merge-reqs/data");
}

//! End to end over real servers: signed pushes through nginx + fcgiwrap +
//! `git http-backend` (no transport authentication) and through `sshd` +
//! `git-shell`, each started once per test binary on 127.0.0.1 and a free
//! port (tests/src/http.rs, tests/src/ssh.rs), with a repository of its own
//! per test.
//!
//! Pushing to a local path runs receive-pack, and so the hook, with the
//! pusher's own environment (their `GNUPGHOME`, their `PATH`). Here the hook
//! runs with the server's, as it will for users.
//!
//! The scenarios that make sense over both transports are written once, as
//! `fn(Transport)`, and instantiated as `http::NAME` and `ssh::NAME`.

use std::collections::BTreeMap;
use std::path::Path;

use gitapps_tests::http::{HttpServer, SERVER_PATH};
use gitapps_tests::ssh::SshServer;
use gitapps_tests::{bin, run, sealed_command, short_tempdir, Output, Server, User, Workdir};

const ACCESS_CONTROL: &str = "refs/heads/apps/access-control";
const PUSH_CERTS: &str = "refs/apps/push-certs";
const DATA_BRANCH: &str = "refs/heads/apps/merge-reqs/data";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Http,
    Ssh,
}

impl Transport {
    /// The URL users clone and push `server` at (serving it first, for HTTP).
    fn url(self, server: &Server) -> String {
        match self {
            Transport::Http => HttpServer::shared().serve(server),
            Transport::Ssh => SshServer::shared().url(server),
        }
    }

    /// `user`'s clone of `server` whose `origin` is this transport's URL.
    fn clone<'a>(self, user: &'a User, server: &Server) -> Workdir<'a> {
        let wd = match self {
            Transport::Http => Workdir::clone_url(user, &self.url(server)),
            Transport::Ssh => SshServer::shared().clone(user, server),
        };
        assert_eq!(
            wd.git_ok(&["remote", "get-url", "origin"]),
            self.url(server)
        );
        wd
    }

    /// The servers' logs, for failure messages.
    fn logs(self) -> String {
        match self {
            Transport::Http => HttpServer::shared().logs(),
            Transport::Ssh => SshServer::shared().log(),
        }
    }
}

/// Each `fn NAME(Transport)` as the tests `http::NAME` and `ssh::NAME`.
macro_rules! over_both_transports {
    ($($name:ident),* $(,)?) => {
        mod http {
            $(#[test] fn $name() { super::$name(super::Transport::Http) })*
        }
        mod ssh {
            $(#[test] fn $name() { super::$name(super::Transport::Ssh) })*
        }
    };
}

over_both_transports!(
    owner_push_is_accepted_and_logged,
    self_registration_then_nothing_more,
    denied_push_shows_the_denials_as_remote_lines,
    hook_runs_with_the_servers_environment,
    merge_request_create_comment_merge,
);

// ---------------------------------------------------------------------------
// Helpers

/// Makes `main` an orphan branch with `files` and pushes it (signed, must
/// succeed). Returns the commit.
fn push_main(wd: &Workdir<'_>, files: &[(&str, &str)]) -> String {
    wd.switch_orphan("main");
    for (path, content) in files {
        wd.write(path, content);
    }
    let commit = wd.commit_all("main");
    wd.push_signed(&["origin", "main"]).assert_ok();
    commit
}

#[track_caller]
fn assert_refs_unchanged(server: &Server, before: &BTreeMap<String, String>) {
    assert_eq!(
        &server.refs(),
        before,
        "a rejected push changed the server's refs"
    );
}

/// `git mr ARGS` in the clone, as its user.
fn git_mr(wd: &Workdir<'_>, args: &[&str]) -> Output {
    let git_mr = bin("git-mr");
    let mut cmd = wd.command(git_mr.to_str().expect("UTF-8 target path"));
    cmd.args(args);
    run(cmd, None)
}

/// Makes `gpg.program` in the clone a wrapper that waits `secs` seconds
/// before signing: the push certificate's nonce, issued when git fetched the
/// refs, is that much older when the push arrives.
fn sign_slowly(wd: &Workdir<'_>, secs: u32) {
    use std::os::unix::fs::PermissionsExt;
    let wrapper = wd.user().scratch_dir().join("slow-gpg");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nsleep {secs}\nexec gpg \"$@\"\n"),
    )
    .expect("write slow-gpg");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .expect("chmod slow-gpg");
    wd.git_ok(&["config", "gpg.program", wrapper.to_str().unwrap()]);
}

/// `KEY=VALUE` lines of `env` output (multi-line values are cut, which is
/// fine for the variables looked at).
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------
// Over both transports

fn owner_push_is_accepted_and_logged(t: Transport) {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let ow = t.clone(&owner, &server);
    let commit = push_main(&ow, &[("README", "hello\n"), ("src/lib.rs", "// lib\n")]);
    assert_eq!(
        server.ref_value("refs/heads/main").as_deref(),
        Some(commit.as_str()),
        "{}",
        t.logs()
    );
    // One more, a fast-forward, to see a second nonce accepted.
    ow.write("README", "hello again\n");
    let second = ow.commit_all("second");
    ow.push_signed(&["origin", "main"]).assert_ok();
    assert_eq!(server.ref_value("refs/heads/main"), Some(second));

    let log = server.push_certs();
    assert_eq!(log.len(), 2, "one audit entry per push");
    for entry in &log {
        assert_eq!(entry.pusher.trim(), owner.fingerprint());
        // The certificate names the URL the owner pushed to.
        let pushee = entry
            .cert
            .lines()
            .find_map(|l| l.strip_prefix("pushee "))
            .expect("a pushee line");
        let scheme = match t {
            Transport::Http => "http://",
            Transport::Ssh => "ssh://",
        };
        assert!(
            pushee.starts_with(scheme) && pushee.trim_end_matches('/').ends_with(".git"),
            "pushee {pushee:?}"
        );
    }
}

fn self_registration_then_nothing_more(t: Transport) {
    let owner = User::new("owner");
    let stranger = User::new("stranger");
    let server = Server::install_with(&owner, &["--open-registration"]);
    let sw = t.clone(&stranger, &server);
    sw.edit_access_control(&[(&stranger.key_path(), Some(stranger.public_key_armored()))])
        .assert_ok();
    assert_eq!(
        server
            .read_file(ACCESS_CONTROL, &stranger.key_path())
            .as_deref(),
        Some(stranger.public_key_armored())
    );
    let log = server.push_certs();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].pusher.trim(), stranger.fingerprint());

    // Registered, and allowed nothing else: the denial reaches the client.
    sw.switch_orphan("main");
    sw.write("README", "mine\n");
    sw.commit_all("stranger's main");
    let before = server.refs();
    let out = sw.push_signed(&["origin", "main"]);
    out.assert_remote_said("gitapps: denied:")
        .assert_denied("create-branch", "heads/main");
    assert_refs_unchanged(&server, &before);
}

fn denied_push_shows_the_denials_as_remote_lines(t: Transport) {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = t.clone(&owner, &server);
    push_main(&ow, &[("README", "hello\n")]);
    ow.register(&[&alice]);

    let aw = t.clone(&alice, &server);
    aw.switch("main");
    aw.write("notes.txt", "from alice\n");
    aw.commit_all("alice's note");
    let before = server.refs();
    let out = aw.push_signed(&["origin", "main"]);
    out.assert_remote_said("gitapps: denied: fast-forward heads/main")
        .assert_denied("fast-forward", "heads/main")
        .assert_denied("create-file", "notes.txt");
    assert!(
        out.stderr.contains(alice.fingerprint()),
        "the denial names the pusher:\n{out}"
    );
    assert_refs_unchanged(&server, &before);

    // Unsigned: rejected, with the hint, as remote lines too.
    let out = aw.push_unsigned(&["origin", "main"]);
    out.assert_remote_said("--signed");
    assert_refs_unchanged(&server, &before);
    assert_eq!(server.push_cert_count(), 2, "only the owner's two pushes");
}

fn hook_runs_with_the_servers_environment(t: Transport) {
    use std::os::unix::fs::PermissionsExt;
    let owner = User::new("owner");
    let server = Server::install(&owner);
    // receive-pack runs every hook with the same environment; post-update
    // (which gitapps does not use) records it.
    let record = server.path().join("hook-env");
    let post_update = server.path().join("hooks").join("post-update");
    std::fs::write(
        &post_update,
        format!("#!/bin/sh\nenv > '{}'\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&post_update, std::fs::Permissions::from_mode(0o755)).unwrap();

    let ow = t.clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("README", "hello\n");
    ow.commit_all("main");
    // The pusher has a marker variable, a PATH entry of their own, and of
    // course their GNUPGHOME: none of it may reach the server.
    let pusher_bin = owner.scratch_dir().join("pusher-bin");
    std::fs::create_dir_all(&pusher_bin).unwrap();
    let path = format!(
        "{}:{}",
        pusher_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = ow.command("git");
    cmd.env("PATH", &path)
        .env("GITAPPS_PUSHER_MARKER", "from-the-pusher")
        .args(["push", "--signed", "origin", "main"]);
    run(cmd, None).assert_ok();

    let text = std::fs::read_to_string(&record).expect("post-update recorded the environment");
    let env = parse_env(&text);
    assert!(
        !text.contains("GITAPPS_PUSHER_MARKER") && !text.contains("from-the-pusher"),
        "the pusher's variable reached the hook:\n{text}"
    );
    assert!(
        !env.contains_key("GNUPGHOME") && !text.contains(&*owner.gnupghome().to_string_lossy()),
        "the pusher's GNUPGHOME reached the hook:\n{text}"
    );
    assert!(
        !env["PATH"].contains(&*pusher_bin.to_string_lossy()),
        "the pusher's PATH reached the hook:\n{text}"
    );
    assert!(
        !text.contains(&*owner.home().to_string_lossy()),
        "the pusher's HOME reached the hook:\n{text}"
    );
    match t {
        Transport::Http => {
            // What fcgiwrap was started with (git puts its exec path
            // first), and the request's CGI variables.
            assert!(env["PATH"].ends_with(&format!(":{SERVER_PATH}")), "{text}");
            assert_eq!(
                Path::new(&env["HOME"]),
                HttpServer::shared().home(),
                "{text}"
            );
            assert_eq!(env.get("REQUEST_METHOD").map(String::as_str), Some("POST"));
        }
        Transport::Ssh => {
            // What sshd gives a session.
            assert!(env.contains_key("SSH_CONNECTION"), "{text}");
            assert_eq!(
                env.get("USER").map(String::as_str),
                Some(SshServer::shared().user()),
                "{text}"
            );
        }
    }
    // And the push went through the hook all the same.
    assert_eq!(server.push_cert_count(), 1);
}

fn merge_request_create_comment_merge(t: Transport) {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let ow = t.clone(&owner, &server);
    push_main(&ow, &[("README", "hello\n")]);
    ow.register(&[&alice]);
    git_mr(&ow, &["init", "--maintainer", owner.fingerprint()]).assert_ok();
    // `git mr init` grants nothing on main: the owner lets maintainers merge.
    ow.grant(&[
        ("refs/main.conf", "maintainers fast-forward ^heads/main$\n"),
        (
            "branches/main.conf",
            "branch ^heads/main$\nmaintainers create-directory,create-file,modify,delete ^.*$\n",
        ),
    ]);

    let aw = t.clone(&alice, &server);
    aw.switch_new("feature", "origin/main");
    aw.write("a.txt", "one\n");
    let feature = aw.commit_all("add a");
    let out = git_mr(
        &aw,
        &[
            "create",
            "-t",
            "Add a",
            "-m",
            "Adds a.txt.",
            "--target",
            "main",
        ],
    );
    out.assert_ok();
    let id = out.stdout_trimmed().to_string();
    assert_eq!(id, format!("{}/1", alice.fingerprint()));
    let a = alice.fingerprint();
    let o = owner.fingerprint();
    assert!(
        server
            .ref_value(&format!("refs/tags/apps/merge-reqs/{a}/1-v1"))
            .is_some(),
        "the revision tag is on the server"
    );

    git_mr(&ow, &["comment", &id, "-m", "Looks good."]).assert_ok();
    git_mr(&ow, &["merge", &id]).assert_ok();

    // On the server: main has alice's change, the data branch the comments
    // and the labels.
    assert_eq!(
        server.read_file("refs/heads/main", "a.txt").as_deref(),
        Some("one\n")
    );
    let main = server.ref_value("refs/heads/main").unwrap();
    server.git_ok(&["merge-base", "--is-ancestor", &feature, &main]);
    let data = server.ls_tree(DATA_BRANCH);
    for path in [
        format!("merge-reqs/{a}/1/title"),
        format!("merge-reqs/{a}/1/comments/{a}/0"),
        format!("merge-reqs/{a}/1/comments/{o}/0"),
        format!("merge-reqs/{a}/1/labels/merged"),
    ] {
        assert!(
            data.contains(&path),
            "{path} not in the data branch: {data:#?}"
        );
    }
    // And alice sees it merged, through the server.
    let out = git_mr(&aw, &["show", &id, "--json"]);
    out.assert_ok();
    let compact: String = out.stdout.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(compact.contains("\"state\":\"merged\""), "{out}");
    assert!(compact.contains("Looksgood."), "{out}");
    let pushers: Vec<String> = server
        .push_certs()
        .iter()
        .map(|e| e.pusher.trim().to_string())
        .collect();
    assert!(pushers.iter().any(|p| p == a) && pushers.iter().any(|p| p == o));
}

// ---------------------------------------------------------------------------
// HTTP only

/// Anyone reads everything over HTTP, with no credentials and no key: every
/// branch and tag, and the audit log, whose certificates check out against
/// the keys on `apps/access-control`.
#[test]
fn http_anonymous_clone_reads_everything_including_the_audit_log() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let server = Server::install(&owner);
    let url = Transport::Http.url(&server);
    let ow = Transport::Http.clone(&owner, &server);
    push_main(&ow, &[("README", "hello\n")]);
    ow.register(&[&alice]);
    ow.git_ok(&["tag", "v1"]);
    ow.push_signed(&["origin", "v1"]).assert_ok();
    assert_eq!(server.push_cert_count(), 3);

    // No GNUPGHOME, no key, no credentials.
    let scratch = short_tempdir("r");
    let home = scratch.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let clone = scratch.path().join("clone");
    let git = |dir: &Path, args: &[&str]| {
        let mut cmd = sealed_command("git", &home, None);
        cmd.current_dir(dir).args(args);
        run(cmd, None)
    };
    git(scratch.path(), &["clone", "--quiet", &url, "clone"]).assert_ok();
    git(
        &clone,
        &[
            "fetch",
            "--quiet",
            "origin",
            &format!("{PUSH_CERTS}:{PUSH_CERTS}"),
        ],
    )
    .assert_ok();

    // Every ref of the server is advertised, with its value...
    let out = git(&clone, &["ls-remote", "origin"]);
    out.assert_ok();
    let advertised: BTreeMap<String, String> = out
        .stdout_lines()
        .iter()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(_, name)| *name != "HEAD")
        .map(|(oid, name)| (name.to_string(), oid.to_string()))
        .collect();
    assert_eq!(advertised, server.refs());
    // ...and is in the clone.
    let local = |r: &str| {
        git(&clone, &["rev-parse", "--verify", r])
            .stdout_trimmed()
            .to_string()
    };
    for (name, oid) in server.refs() {
        let here = if let Some(branch) = name.strip_prefix("refs/heads/") {
            local(&format!("refs/remotes/origin/{branch}"))
        } else {
            local(&name)
        };
        assert_eq!(here, oid, "{name}");
    }
    // The genesis record and the three pushes: the log is the first-parent
    // chain down to the genesis (a record's other parents, and the
    // genesis's, keep the commits it speaks of reachable).
    let chain = git(
        &clone,
        &["log", "--first-parent", "--format=%H %s", PUSH_CERTS],
    );
    let mut records = Vec::new();
    for line in chain.stdout_lines() {
        let (commit, subject) = line.split_once(' ').expect("%H %s");
        records.push(commit.to_owned());
        if subject.starts_with("genesis:") {
            break;
        }
    }
    assert_eq!(records.len(), 4, "{chain}");
    // gitapps-hook verify, anonymous over HTTP, checks it all.
    let mut verify = sealed_command(bin("gitapps-hook"), &home, None);
    verify.current_dir(&clone).arg("verify");
    let out = run(verify, None);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("verified 4 records of origin's audit log"),
        "{out}"
    );

    // Any clone can check every certificate against the keys.
    let reader = User::new("reader");
    let keys = git(
        &clone,
        &[
            "ls-tree",
            "--name-only",
            "origin/apps/access-control",
            "keys/",
        ],
    );
    keys.assert_ok();
    for key in keys.stdout_lines() {
        let armored = git(
            &clone,
            &["show", &format!("origin/apps/access-control:{key}")],
        );
        let file = reader.scratch_dir().join("key.asc");
        std::fs::write(&file, &armored.stdout).unwrap();
        reader
            .gpg(&["--import", file.to_str().unwrap()])
            .assert_ok();
    }
    for commit in &records {
        if !git(&clone, &["cat-file", "-e", &format!("{commit}:cert")]).success() {
            // The genesis record: no certificate.
            assert!(git(&clone, &["cat-file", "-e", &format!("{commit}:genesis")]).success());
            continue;
        }
        let cert = git(&clone, &["show", &format!("{commit}:cert")]).stdout;
        let pusher = git(&clone, &["show", &format!("{commit}:pusher")]).stdout;
        let at = cert
            .find("-----BEGIN PGP SIGNATURE-----")
            .expect("a signature in the certificate");
        let payload = reader.scratch_dir().join("payload");
        let signature = reader.scratch_dir().join("payload.sig");
        std::fs::write(&payload, &cert[..at]).unwrap();
        std::fs::write(&signature, &cert[at..]).unwrap();
        let out = reader.gpg(&[
            "--status-fd",
            "1",
            "--verify",
            signature.to_str().unwrap(),
            payload.to_str().unwrap(),
        ]);
        out.assert_ok();
        let validsig = out
            .stdout_lines()
            .into_iter()
            .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no VALIDSIG:\n{out}"));
        // The last field is the primary key's fingerprint: the user id.
        assert_eq!(
            validsig.split(' ').next_back(),
            Some(pusher.trim()),
            "{validsig}"
        );
    }
}

/// With `receive.certNonceSlop` at 0, a nonce issued by the first HTTP
/// request and back in the second a second or more later is `SLOP`, and the
/// hook refuses it (unless `gitapps.allowNonceSlop`).
#[test]
fn http_push_with_a_nonce_outside_the_slop_window_is_rejected() {
    let owner = User::new("owner");
    let server = Server::install_with(&owner, &["--nonce-slop", "0"]);
    assert_eq!(server.config("receive.certNonceSlop").as_deref(), Some("0"));
    let ow = Transport::Http.clone(&owner, &server);
    sign_slowly(&ow, 2);
    ow.switch_orphan("main");
    ow.write("README", "hello\n");
    ow.commit_all("main");
    let before = server.refs();
    let out = ow.push_signed(&["origin", "main"]);
    out.assert_remote_said("SLOP")
        .assert_stderr_mentions(&["stale"]);
    assert_refs_unchanged(&server, &before);
    assert_eq!(server.push_cert_count(), 0);
}

/// SPEC section 2: `SLOP` is accepted when `gitapps.allowNonceSlop` is true.
#[test]
fn http_stale_nonce_is_accepted_when_the_admin_allows_slop() {
    let owner = User::new("owner");
    let server = Server::install_with(&owner, &["--nonce-slop", "0"]);
    server.set_config("gitapps.allowNonceSlop", "true");
    let ow = Transport::Http.clone(&owner, &server);
    sign_slowly(&ow, 2);
    let commit = push_main(&ow, &[("README", "hello\n")]);
    assert_eq!(server.ref_value("refs/heads/main"), Some(commit));
}

/// With the default window (`install` sets 30 s) the same slow push is `OK`.
#[test]
fn http_push_within_the_default_slop_window_is_accepted() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    assert_eq!(
        server.config("receive.certNonceSlop").as_deref(),
        Some("30")
    );
    let ow = Transport::Http.clone(&owner, &server);
    sign_slowly(&ow, 2);
    let commit = push_main(&ow, &[("README", "hello\n")]);
    assert_eq!(server.ref_value("refs/heads/main"), Some(commit));
}

// ---------------------------------------------------------------------------
// SSH only

/// Over ssh one receive-pack process issues the nonce and checks it, so a
/// slow signer is fine even with no slop window.
#[test]
fn ssh_nonce_is_checked_in_one_process_so_no_slop_is_needed() {
    let owner = User::new("owner");
    let server = Server::install_with(&owner, &["--nonce-slop", "0"]);
    let ow = Transport::Ssh.clone(&owner, &server);
    sign_slowly(&ow, 2);
    let commit = push_main(&ow, &[("README", "hello\n")]);
    assert_eq!(server.ref_value("refs/heads/main"), Some(commit));
}

/// A real `git clone` through sshd (the other tests re-point a local clone).
#[test]
fn ssh_clone_reads_the_repository() {
    let owner = User::new("owner");
    let server = Server::install(&owner);
    let dest = owner.scratch_dir().join("ssh-clone");
    SshServer::shared()
        .git_clone(&owner, &server, &dest)
        .assert_ok();
    let mut cmd = owner.command("git");
    cmd.current_dir(&dest)
        .args(["rev-parse", "refs/remotes/origin/apps/access-control"]);
    let out = run(cmd, None);
    out.assert_ok();
    assert_eq!(
        Some(out.stdout_trimmed().to_string()),
        server.ref_value(ACCESS_CONTROL)
    );
}

/// `ci-bot --once` against the HTTP URL: it fetches, tests each open merge
/// request's revision, and pushes its comment and label through nginx and
/// the hook, signed with its own key.
#[test]
fn http_ci_bot_once_tests_and_reports_through_the_server() {
    let owner = User::new("owner");
    let alice = User::new("alice");
    let bot = User::new("bot");
    let server = Server::install(&owner);
    let url = Transport::Http.url(&server);
    let ow = Transport::Http.clone(&owner, &server);
    push_main(&ow, &[("README", "hello\n")]);
    ow.register(&[&alice, &bot]);
    git_mr(
        &ow,
        &[
            "init",
            "--maintainer",
            owner.fingerprint(),
            "--ci",
            bot.fingerprint(),
        ],
    )
    .assert_ok();

    // Two merge requests: one whose revision has the file `ok` the command
    // checks for, one without.
    let aw = Transport::Http.clone(&alice, &server);
    let mut ids = vec![];
    for (branch, ok) in [("good", true), ("bad", false)] {
        aw.switch_new(branch, "origin/main");
        if ok {
            aw.write("ok", "");
        }
        aw.write(branch, "change\n");
        aw.commit_all(branch);
        let out = git_mr(
            &aw,
            &["create", "-t", branch, "-m", branch, "--target", "main"],
        );
        out.assert_ok();
        ids.push(out.stdout_trimmed().to_string());
    }

    let config = bot.scratch_dir().join("ci-bot.toml");
    std::fs::write(
        &config,
        format!(
            "remote = {url:?}\nworkdir = {:?}\ncommand = \"test -f ok\"\ntimeout_secs = 60\n\
             poll_secs = 1\nsigning_key = {:?}\nlog_tail_lines = 20\n",
            bot.scratch_dir().join("work").display().to_string(),
            bot.fingerprint(),
        ),
    )
    .unwrap();
    let ci_bot = bin("ci-bot");
    let mut cmd = bot.command(ci_bot.to_str().unwrap());
    cmd.current_dir(bot.scratch_dir())
        .arg("--config")
        .arg(&config)
        .arg("--once");
    run(cmd, None).assert_ok();

    let a = alice.fingerprint();
    let b = bot.fingerprint();
    let data = server.ls_tree(DATA_BRANCH);
    for (n, label) in [(1, "ci-pass"), (2, "ci-fail")] {
        assert!(
            data.contains(&format!("merge-reqs/{a}/{n}/labels/{label}")),
            "{a}/{n} has no {label}: {data:#?}"
        );
        let comment = server
            .read_file(DATA_BRANCH, &format!("merge-reqs/{a}/{n}/comments/{b}/0"))
            .unwrap_or_else(|| panic!("no comment of the bot on {a}/{n}: {data:#?}"));
        let status = if n == 1 { "pass" } else { "fail" };
        assert!(
            comment.contains(&format!("CI-Status: {status}")),
            "{comment}"
        );
    }
    assert!(
        server.push_certs().iter().any(|e| e.pusher.trim() == b),
        "the bot's pushes are in the audit log"
    );
    // And git mr reads the result back over HTTP.
    let out = git_mr(&aw, &["show", &ids[0], "--json"]);
    out.assert_ok();
    assert!(out.stdout.contains("ci-pass"), "{out}");
}

//! A sealed world for the bot's end-to-end tests: a [`Forge`] (a bare server
//! repository with `gitapps-hook` installed, real gpg users each with their own
//! GNUPGHOME and HOME, real git without system or global config), `main` pushed and
//! `git mr init --ci <bots>` done by the owner, and the `ci-bot` binary under test.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use gitapps_tests::Member as User;
use gitapps_tests::{run, Forge, Output};

/// The data branch, where merge requests live.
const DATA: &str = "refs/heads/apps/merge-reqs/data";

/// The command every test bot runs. `RUNS` gets one line per run; a file `slow`
/// makes it outlive any short timeout; a file `wait` makes it sleep that many
/// seconds (or `$WAIT_SECS`); `ok` decides pass or fail.
pub fn command(runs: &Path) -> String {
    format!(
        "echo \"$GITAPPS_MR v$GITAPPS_REVISION $BOT_NAME\" >> '{}'; \
         if [ -f slow ]; then sleep 30; fi; \
         if [ -f wait ]; then sleep \"${{WAIT_SECS:-$(cat wait)}}\"; fi; \
         echo checking; test -f ok",
        runs.display()
    )
}

pub fn ci_bot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ci-bot"))
}

/// What an author does with `git mr` in their clone.
pub trait MrAuthor {
    /// Open a merge request on a new branch off `main` holding `files`; its name.
    fn open_mr(&self, branch: &str, files: &[(&str, &str)]) -> String;
    /// A new revision of `mr` on `branch`, with `files` added and `removed` removed.
    fn revise(&self, mr: &str, branch: &str, files: &[(&str, &str)], removed: &[&str]);
}

impl MrAuthor for User {
    fn open_mr(&self, branch: &str, files: &[(&str, &str)]) -> String {
        self.git(&["checkout", "-q", "-B", branch, "origin/main"]);
        for (path, content) in files {
            std::fs::write(self.clone.join(path), content).unwrap();
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", branch]);
        self.mr(&[
            "create",
            "-t",
            branch,
            "-m",
            "please test",
            "--target",
            "main",
        ])
        .trim()
        .to_owned()
    }

    fn revise(&self, mr: &str, branch: &str, files: &[(&str, &str)], removed: &[&str]) {
        self.git(&["checkout", "-q", branch]);
        for (path, content) in files {
            std::fs::write(self.clone.join(path), content).unwrap();
        }
        for path in removed {
            std::fs::remove_file(self.clone.join(path)).unwrap();
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "revised"]);
        self.mr(&["revise", mr, "-m", "revised"]);
    }
}

/// A [`Forge`] for the bots (reached through `Deref`: `root`, `server`, `user(…)`,
/// `owner()`, `edit_access_control(…)`).
pub struct World {
    forge: Forge,
    /// One line per command run, by every bot.
    pub runs: PathBuf,
}

impl Deref for World {
    type Target = Forge;

    fn deref(&self) -> &Forge {
        &self.forge
    }
}

/// A bot's configuration and how to start it.
pub struct BotSetup {
    pub user: User,
    pub config: PathBuf,
    pub workdir: PathBuf,
}

impl World {
    /// A server owned by `owner`, with `alice` the author and the `bots` in group
    /// `ci`; every key registered, `main` pushed, `git mr init` done.
    pub fn new(bots: &[&str], others: &[&str]) -> World {
        let mut names = vec!["owner", "alice"];
        names.extend_from_slice(bots);
        names.extend_from_slice(others);
        let forge = Forge::new(&names, &[]);
        forge.push_main();
        let mut init = vec!["init".to_owned()];
        for b in bots {
            init.push("--ci".to_owned());
            init.push(forge.user(b).fpr.clone());
        }
        let init: Vec<&str> = init.iter().map(String::as_str).collect();
        forge.owner().mr(&init);
        forge.clone_all();
        World {
            runs: forge.root.path().join("runs"),
            forge,
        }
    }

    pub fn alice(&self) -> &User {
        self.user("alice")
    }

    /// Write a bot's configuration (`extra` appended) and return how to run it. Its
    /// jobs run [`command`] unsandboxed (`sandbox = "none"`): the tests of claims and
    /// restarts count runs in a file outside the checkout, which a sandboxed job
    /// cannot write. The sandbox's own tests use [`World::sandboxed_bot`].
    pub fn bot(&self, name: &str, timeout_secs: u64, extra: &str) -> BotSetup {
        self.bot_with(
            name,
            timeout_secs,
            &command(&self.runs),
            &format!("sandbox = \"none\"\n{extra}"),
        )
    }

    /// A bot whose jobs run `command` in the default sandbox.
    pub fn sandboxed_bot(
        &self,
        name: &str,
        timeout_secs: u64,
        command: &str,
        extra: &str,
    ) -> BotSetup {
        self.bot_with(name, timeout_secs, command, extra)
    }

    /// Write a bot's configuration running `command` (`extra` appended).
    pub fn bot_with(&self, name: &str, timeout_secs: u64, command: &str, extra: &str) -> BotSetup {
        let user = self.user(name).clone();
        let dir = self.root.path().join(format!("bot-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("ci-bot.toml");
        let workdir = dir.join("work");
        std::fs::write(
            &config,
            format!(
                "remote = {:?}\nworkdir = {:?}\ncommand = {:?}\ntimeout_secs = {timeout_secs}\n\
                 poll_secs = 1\nsigning_key = {:?}\nlog_tail_lines = 20\n{extra}",
                self.server.url(),
                workdir.display().to_string(),
                command,
                user.fpr,
            ),
        )
        .unwrap();
        BotSetup {
            user,
            config,
            workdir,
        }
    }

    /// The data branch's tip on the server.
    pub fn data_tip(&self) -> String {
        self.server.git_ok(&["rev-parse", DATA])
    }

    /// Names in the data branch's directory `path` (empty when it does not exist).
    pub fn ls(&self, path: &str) -> Vec<String> {
        let out = self
            .server
            .git(&["ls-tree", "--name-only", &format!("{DATA}:{path}")]);
        if !out.success() {
            return Vec::new();
        }
        out.stdout.lines().map(str::to_owned).collect()
    }

    /// A file on the data branch.
    pub fn cat(&self, path: &str) -> String {
        self.server
            .read_file(DATA, path)
            .unwrap_or_else(|| panic!("{path} is not on the data branch"))
    }

    /// A file on apps/access-control.
    pub fn cat_access_control(&self, path: &str) -> String {
        self.server
            .read_file("refs/heads/apps/access-control", path)
            .unwrap_or_else(|| panic!("{path} is not on apps/access-control"))
    }

    /// The labels of merge request `mr` (`<FPR>/<n>`).
    pub fn labels(&self, mr: &str) -> Vec<String> {
        self.ls(&format!("merge-reqs/{mr}/labels"))
    }

    /// The CI comments on `mr`: (bot fingerprint, index, headers, body).
    pub fn ci_comments(&self, mr: &str) -> Vec<CiComment> {
        let mut out = Vec::new();
        for who in self.ls(&format!("merge-reqs/{mr}/comments")) {
            for k in self.ls(&format!("merge-reqs/{mr}/comments/{who}")) {
                let text = self.cat(&format!("merge-reqs/{mr}/comments/{who}/{k}"));
                let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
                let headers: BTreeMap<String, String> = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                if headers.contains_key("CI-Status") {
                    out.push(CiComment {
                        author: who.clone(),
                        index: k.parse().unwrap(),
                        headers,
                        body: body.to_owned(),
                    });
                }
            }
        }
        out
    }

    /// The claim files on revision `k` of `mr`, with their contents.
    pub fn claims(&self, mr: &str, k: u32) -> Vec<(String, String)> {
        let dir = format!("merge-reqs/{mr}/ci/v{k}");
        self.ls(&dir)
            .into_iter()
            .map(|name| {
                let text = self.cat(&format!("{dir}/{name}"));
                (name, text)
            })
            .collect()
    }

    /// The lines of the runs file.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct CiComment {
    pub author: String,
    pub index: u32,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl CiComment {
    pub fn status(&self) -> &str {
        &self.headers["CI-Status"]
    }

    pub fn revision(&self) -> &str {
        &self.headers["Revision"]
    }
}

impl BotSetup {
    pub fn command(&self, env: &[(&str, &str)]) -> Command {
        let mut cmd = self.user.cmd(ci_bot_bin(), &self.user.home);
        cmd.arg("--config")
            .arg(&self.config)
            .env("BOT_NAME", &self.user.name)
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `ci-bot --once`, whatever the outcome.
    pub fn once(&self, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(env);
        cmd.arg("--once");
        run(cmd, None)
    }

    /// `ci-bot --once` that must succeed; its stderr (the log).
    #[track_caller]
    pub fn once_ok(&self, env: &[(&str, &str)]) -> String {
        let out = self.once(env);
        out.assert_ok();
        out.stderr
    }

    /// The daemon, its log in [`BotSetup::log_path`].
    pub fn spawn(&self, env: &[(&str, &str)]) -> Child {
        self.spawn_with(env, &[])
    }

    /// `ci-bot --once` in the background, its log in [`BotSetup::log_path`].
    pub fn spawn_once(&self, env: &[(&str, &str)]) -> Child {
        self.spawn_with(env, &["--once"])
    }

    fn spawn_with(&self, env: &[(&str, &str)], args: &[&str]) -> Child {
        let log = std::fs::File::create(self.log_path()).unwrap();
        self.command(env)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    pub fn log_path(&self) -> PathBuf {
        self.workdir.parent().unwrap().join("daemon.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

/// The processes whose command line contains `marker` (the test's own excepted).
pub fn processes_with(marker: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // A zombie has an empty command line; it runs nothing any more.
        if cmdline.contains(marker) {
            out.push(format!("{name}: {}", cmdline.trim()));
        }
    }
    out
}

/// Wait up to `secs` for `cond`.
pub fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Wait up to `secs` for a child to exit; kill it and fail otherwise.
pub fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the process did not exit within {secs} s");
}

//! A real ssh git server: `sshd` from Debian's `openssh-server`, configured by
//! `examples/sshd_config`, on 127.0.0.1 and a free port, with its own host key
//! and an `authorized_keys` entry that forces `git-shell` for the account the
//! tests run as.
//!
//! Any [`Server`] is reachable at [`SshServer::url`] (its absolute path).
//! The ssh key is only the transport's: every test uses the same one, and
//! identity still comes from the push certificate's signature.
//! [`SshServer::shared`] starts one per test process; it is stopped when the
//! process ends (see [`crate::daemon`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::daemon::{
    current_user, fill_template, free_port, is_root, require_program, tcp_probe, wait_ready, Daemon,
};
use crate::http::SERVER_PATH;
use crate::{run, short_tempdir, Output, Server, User, Workdir};

/// The sshd configuration the tests run: the example, with placeholders.
pub const SSHD_CONFIG_TEMPLATE: &str = include_str!("../../examples/sshd_config");

/// sshd with its host key, `authorized_keys` and a client key.
pub struct SshServer {
    port: u16,
    user: String,
    dir: PathBuf,
    client_key: PathBuf,
    sshd: Daemon,
    _tempdir: tempfile::TempDir,
}

impl SshServer {
    /// The server shared by every test in this process, started on first use.
    pub fn shared() -> &'static SshServer {
        static SHARED: OnceLock<SshServer> = OnceLock::new();
        SHARED.get_or_init(SshServer::start)
    }

    /// Starts sshd in a new temporary directory, on a free port; panics
    /// (with its log) when it does not come up.
    pub fn start() -> SshServer {
        let sshd_bin = require_program("sshd", "openssh-server");
        let git_shell = require_program("git-shell", "git");
        let tempdir = short_tempdir("x");
        let dir = tempdir.path().to_path_buf();
        let host_key = dir.join("ssh_host_ed25519_key");
        let client_key = dir.join("client_key");
        keygen(&host_key, "gitapps-test-host");
        keygen(&client_key, "gitapps-test-client");
        let client_pub = std::fs::read_to_string(client_key.with_extension("pub"))
            .expect("read the client's public key");
        // The line examples/sshd_config documents.
        let authorized = format!(
            "restrict,command=\"{} -c \\\"$SSH_ORIGINAL_COMMAND\\\"\" {}",
            git_shell.display(),
            client_pub.trim()
        );
        std::fs::write(dir.join("authorized_keys"), format!("{authorized}\n"))
            .expect("write authorized_keys");
        if is_root() && !Path::new("/run/sshd").exists() {
            // sshd's privilege separation directory (Debian's unit makes it).
            std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        }
        let user = current_user();
        let conf_path = dir.join("sshd_config");
        let mut attempts = vec![];
        for _ in 0..5 {
            let port = free_port();
            let conf = fill_template(
                "examples/sshd_config",
                SSHD_CONFIG_TEMPLATE,
                &[
                    ("LISTEN", &format!("127.0.0.1:{port}")),
                    ("DIR", dir.to_str().expect("UTF-8 temporary path")),
                    ("USER", &user),
                    ("STRICT_MODES", "no"),
                ],
            );
            std::fs::write(&conf_path, conf).expect("write sshd_config");
            let check = Command::new(&sshd_bin)
                .arg("-t")
                .arg("-f")
                .arg(&conf_path)
                .output()
                .expect("run sshd -t");
            assert!(
                check.status.success(),
                "sshd -t -f {} rejects the configuration:\n{}",
                conf_path.display(),
                String::from_utf8_lossy(&check.stderr)
            );
            let mut cmd = Command::new(&sshd_bin);
            cmd.env_clear()
                .env("PATH", SERVER_PATH)
                .args(["-D", "-e", "-f"])
                .arg(&conf_path);
            let mut sshd = Daemon::spawn_cleaning("sshd", cmd, &dir.join("sshd.log"), Some(&dir));
            let up = wait_ready(&mut sshd, Duration::from_secs(10), || {
                tcp_probe(port, b"").is_some_and(|banner| banner.starts_with("SSH-"))
            });
            if up {
                return SshServer {
                    port,
                    user,
                    dir,
                    client_key,
                    sshd,
                    _tempdir: tempdir,
                };
            }
            attempts.push(format!("port {port}:\n{}", sshd.log()));
            drop(sshd);
        }
        panic!(
            "sshd did not come up (5 attempts):\n{}",
            attempts.join("\n")
        );
    }

    /// The port sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account pushes log in as (the one the tests run as).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `ssh://USER@127.0.0.1:PORT/abs/path/repo.git` for `server`.
    pub fn url(&self, server: &Server) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            server.path().display()
        )
    }

    /// The ssh command git should use (`GIT_SSH_COMMAND`, `core.sshCommand`):
    /// the test's client key, no config files, no known hosts, never a
    /// prompt. The port comes from the URL.
    pub fn ssh_command(&self) -> String {
        format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o BatchMode=yes \
             -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR",
            self.client_key.display()
        )
    }

    /// A clone of `server` for `user` whose `origin` is the ssh URL (with
    /// `core.sshCommand` set), so every fetch and push goes through sshd.
    ///
    /// [`Workdir`] clones with the user's sealed environment, which has no
    /// way to pass an ssh command, so this clones the local path and then
    /// points `origin` at sshd and fetches through it.
    pub fn clone<'a>(&self, user: &'a User, server: &Server) -> Workdir<'a> {
        let wd = Workdir::clone(user, server);
        wd.git_ok(&["remote", "set-url", "origin", &self.url(server)]);
        wd.git_ok(&["config", "core.sshCommand", &self.ssh_command()]);
        wd.git_ok(&["fetch", "--quiet", "--prune", "origin"]);
        wd
    }

    /// `git clone URL DEST` through sshd, run as `user` (`GIT_SSH_COMMAND` set).
    pub fn git_clone(&self, user: &User, server: &Server, dest: &Path) -> Output {
        let mut cmd = user.command("git");
        cmd.env("GIT_SSH_COMMAND", self.ssh_command())
            .args(["clone", "--quiet", &self.url(server)])
            .arg(dest);
        run(cmd, None)
    }

    /// sshd's log so far (for failure messages).
    pub fn log(&self) -> String {
        self.sshd.log()
    }

    /// The temporary directory of sshd's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl std::fmt::Debug for SshServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SshServer({}@127.0.0.1:{})", self.user, self.port)
    }
}

fn keygen(path: &Path, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen -f {} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

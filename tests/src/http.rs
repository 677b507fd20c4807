//! A real HTTP git server: nginx and fcgiwrap (Debian's packages) running
//! `git http-backend`, configured by `examples/nginx.conf`, on 127.0.0.1 and
//! a free port, with no transport authentication.
//!
//! One [`HttpServer`] serves any number of [`Server`]s:
//! [`HttpServer::serve`] links a server's bare repository into the project
//! root and turns `http.receivepack` on. [`HttpServer::shared`] starts one per
//! test process; it is stopped when the process ends (see [`crate::daemon`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::daemon::{fill_template, free_port, require_program, tcp_probe, wait_ready, Daemon};
use crate::{short_tempdir, Server};

/// The nginx configuration the tests run: the example, with placeholders.
pub const NGINX_CONF_TEMPLATE: &str = include_str!("../../examples/nginx.conf");

/// The `PATH` fcgiwrap (so http-backend, receive-pack and the hook) runs
/// with: a server's, not the test's or a pusher's.
pub const SERVER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// nginx and fcgiwrap serving the bare repositories under one directory.
pub struct HttpServer {
    port: u16,
    root: PathBuf,
    home: PathBuf,
    dir: PathBuf,
    // Fields drop in order: nginx first, then fcgiwrap, then the directory.
    nginx: Daemon,
    fcgiwrap: Daemon,
    _tempdir: tempfile::TempDir,
}

impl HttpServer {
    /// The server shared by every test in this process, started on first use.
    pub fn shared() -> &'static HttpServer {
        static SHARED: OnceLock<HttpServer> = OnceLock::new();
        SHARED.get_or_init(HttpServer::start)
    }

    /// Starts nginx and fcgiwrap in a new temporary directory, on a free
    /// port; panics (with their logs) when they do not come up.
    pub fn start() -> HttpServer {
        let nginx_bin = require_program("nginx", "nginx");
        let fcgiwrap_bin = require_program("fcgiwrap", "fcgiwrap");
        let backend = git_http_backend();

        let tempdir = short_tempdir("h");
        let dir = tempdir.path().to_path_buf();
        let root = dir.join("repos");
        let home = dir.join("home");
        let prefix = dir.join("nginx");
        for d in [&root, &home, &prefix] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        }
        let socket = dir.join("fcgiwrap.sock");

        // fcgiwrap: the environment every CGI (http-backend, hence
        // receive-pack and the hook) inherits, besides the request's
        // variables.
        let mut cmd = Command::new(&fcgiwrap_bin);
        cmd.env_clear()
            .env("PATH", SERVER_PATH)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .args(["-c", "4", "-s"])
            .arg(format!("unix:{}", socket.display()));
        let mut fcgiwrap =
            Daemon::spawn_cleaning("fcgiwrap", cmd, &dir.join("fcgiwrap.log"), Some(&dir));
        let up = wait_ready(&mut fcgiwrap, Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        assert!(
            up,
            "fcgiwrap did not come up on {}:\n{}",
            socket.display(),
            fcgiwrap.log()
        );

        let user = crate::daemon::current_user();
        let mut attempts = vec![];
        for _ in 0..5 {
            let port = free_port();
            let conf = fill_template(
                "examples/nginx.conf",
                NGINX_CONF_TEMPLATE,
                &[
                    ("USER", &user),
                    ("PREFIX", path_str(&prefix)),
                    ("LISTEN", &format!("127.0.0.1:{port}")),
                    ("FCGIWRAP_SOCKET", path_str(&socket)),
                    ("GIT_HTTP_BACKEND", path_str(&backend)),
                    ("PROJECT_ROOT", path_str(&root)),
                ],
            );
            let conf_path = prefix.join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let log = prefix.join("error.log");
            let mut cmd = Command::new(&nginx_bin);
            cmd.env_clear()
                .env("PATH", SERVER_PATH)
                .arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(&log)
                .args(["-g", "daemon off;"]);
            let mut nginx = Daemon::spawn("nginx", cmd, &prefix.join("nginx.out"));
            // Ready when it answers HTTP (a 404 for a repository that is not there).
            let up = wait_ready(&mut nginx, Duration::from_secs(10), || {
                tcp_probe(
                    port,
                    b"GET /none.git/info/refs HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                )
                .is_some_and(|answer| answer.starts_with("HTTP/"))
            });
            if up {
                return HttpServer {
                    port,
                    root,
                    home,
                    dir,
                    nginx,
                    fcgiwrap,
                    _tempdir: tempdir,
                };
            }
            attempts.push(format!(
                "port {port}:\n{}\n{}",
                nginx.log(),
                crate::daemon::read_log(&log)
            ));
            drop(nginx);
        }
        panic!(
            "nginx did not come up (5 attempts):\n{}",
            attempts.join("\n")
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port nginx listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `HOME` the hook runs with.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Serves `server`'s bare repository (a symlink in the project root
    /// named after the server's temporary directory), with
    /// `http.receivepack = true` as an admin sets it. Returns its URL.
    pub fn serve(&self, server: &Server) -> String {
        let name = format!("{}.git", server_dir_name(server));
        let link = self.root.join(&name);
        if !link.exists() {
            std::os::unix::fs::symlink(server.path(), &link)
                .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
        }
        server.set_config("http.receivepack", "true");
        format!("{}/{name}", self.base_url())
    }

    /// nginx's and fcgiwrap's logs so far (for failure messages).
    pub fn logs(&self) -> String {
        format!(
            "--- nginx error.log ---\n{}\n--- fcgiwrap ---\n{}",
            crate::daemon::read_log(&self.dir.join("nginx").join("error.log")),
            self.fcgiwrap.log()
        )
    }

    /// The nginx daemon (to look at its process).
    pub fn nginx(&self) -> &Daemon {
        &self.nginx
    }
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HttpServer({} serving {})",
            self.base_url(),
            self.root.display()
        )
    }
}

/// `git --exec-path`/git-http-backend, of the `git` the tests run.
pub fn git_http_backend() -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("run git --exec-path");
    assert!(out.status.success(), "git --exec-path failed");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("git-http-backend");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// The name of the temporary directory a [`Server`]'s repository is in.
pub(crate) fn server_dir_name(server: &Server) -> String {
    server
        .path()
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .expect("server repository in a named temporary directory")
        .to_string()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

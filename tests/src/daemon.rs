//! Long-running server processes (nginx, fcgiwrap, sshd) started by tests,
//! and always stopped.
//!
//! A [`Daemon`] runs in a process group of its own. It is stopped (the whole
//! group: workers, CGI children, sessions) when it is dropped, and also when
//! the test process ends in any way, even without running destructors (a
//! server kept in a `static` is never dropped, and a test binary may be
//! killed): a small guard shell, in its own process group as well, holds the
//! read end of a pipe whose write end only the test process has, and kills
//! the daemon's group when that pipe closes.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// A process started in its own process group, killed with its group on drop
/// or when the test process goes away.
pub struct Daemon {
    name: String,
    child: Child,
    guard: Option<(Child, ChildStdin)>,
    log: PathBuf,
}

impl Daemon {
    /// Spawns `cmd` in a new process group, with stdin from `/dev/null` and
    /// stdout and stderr appended to `log`.
    pub fn spawn(name: &str, cmd: Command, log: &Path) -> Daemon {
        Self::spawn_cleaning(name, cmd, log, None)
    }

    /// [`Daemon::spawn`], and when the test process ends without dropping
    /// the daemon (a `static`), also remove `dir` (its temporary directory)
    /// once the daemon is stopped.
    pub fn spawn_cleaning(name: &str, mut cmd: Command, log: &Path, dir: Option<&Path>) -> Daemon {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let err = out.try_clone().expect("dup log file");
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({:?}): {e}", cmd.get_program()));
        let pgid = child.id();
        // The guard: waits for EOF on stdin (the test process is gone, or
        // dropped us), then stops the daemon's whole group.
        let mut guard = Command::new("/bin/sh");
        guard
            .arg("-c")
            .arg(format!(
                "read _; kill -TERM -{pgid} 2>/dev/null; i=0; \
                 while kill -0 -{pgid} 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; \
                 kill -KILL -{pgid} 2>/dev/null; if [ -n \"$1\" ]; then rm -rf -- \"$1\"; fi"
            ))
            .arg("guard")
            .arg(dir.map(|d| d.as_os_str()).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let guard = match guard.spawn() {
            Ok(mut g) => {
                let stdin = g.stdin.take().expect("guard stdin");
                Some((g, stdin))
            }
            Err(e) => {
                kill_group(pgid, "KILL");
                panic!("start the guard of {name}: {e}");
            }
        };
        Daemon {
            name: name.to_string(),
            child,
            guard,
            log: log.to_path_buf(),
        }
    }

    /// The process id (and process group id) of the daemon.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `None` while running, else how it ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// What the daemon wrote to its log so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// The name given at [`Daemon::spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the daemon's process group: TERM, then KILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_none() {
            kill_group(self.pid(), "TERM");
            let deadline = Instant::now() + grace;
            while self.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Whatever is left in the group (the leader may be gone, its
        // children not).
        kill_group(self.pid(), "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((mut guard, stdin)) = self.guard.take() {
            let _ = guard.kill();
            let _ = guard.wait();
            drop(stdin);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Daemon({} pid {})", self.name, self.child.id())
    }
}

/// `kill -SIG -PGID`, through the shell's builtin (procps' `kill` wants `--`).
fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("kill -{signal} -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The content of a log file (lossy UTF-8), or a note that it is missing.
pub fn read_log(path: &Path) -> String {
    let mut bytes = vec![];
    match File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("(no log at {}: {e})", path.display()),
    }
}

/// A TCP port on 127.0.0.1 that nothing listened on a moment ago (bind to
/// port 0, read the port, close). Another process may take it before the
/// daemon does: callers retry with a new port when the daemon fails to start.
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 for a free port");
    listener.local_addr().expect("local_addr").port()
}

/// Polls `ready` every 50 ms until it returns true, `daemon` exits, or
/// `timeout` passes. Returns whether it became ready.
pub fn wait_ready(daemon: &mut Daemon, timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if daemon.exited().is_some() || Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Connects to 127.0.0.1:`port`, sends `request` (if any) and returns the
/// first bytes the server answers, or `None` when nothing answers.
pub fn tcp_probe(port: u16, request: &[u8]) -> Option<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    if !request.is_empty() {
        stream.write_all(request).ok()?;
    }
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).ok()?;
    (n > 0).then(|| String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The absolute path of `program`: searched in `PATH`, then in the `sbin`
/// directories (where Debian puts `nginx`, `fcgiwrap` and `sshd`, and which a
/// non-root `PATH` often lacks). `None` when not found.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.is_absolute()
                && std::fs::metadata(p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Like [`find_program`], but panics with how to install `package` when the
/// program is missing.
pub fn require_program(program: &str, package: &str) -> PathBuf {
    find_program(program).unwrap_or_else(|| {
        panic!(
            "`{program}` was not found (in PATH or /usr/sbin): this test needs Debian's \
             `{package}` package. Install it (`apt-get install -y {package}`), or run the \
             project's test command `./test`, which installs what the tests need"
        )
    })
}

/// The name of the user this process runs as (`id -un`).
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    assert!(out.status.success(), "id -un failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether this process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Replaces every `@NAME@` in `template` by its value, and asserts none is
/// left: the example configuration files are templates the tests fill in.
pub fn fill_template(name: &str, template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (key, value) in values {
        let placeholder = format!("@{key}@");
        assert!(
            text.contains(&placeholder),
            "{name} has no placeholder {placeholder}"
        );
        text = text.replace(&placeholder, value);
    }
    let leftover: Vec<&str> =
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter(|l| {
                l.split('@').skip(1).step_by(2).any(|w| {
                    !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                })
            })
            .collect();
    assert!(
        leftover.is_empty(),
        "{name}: placeholders left unfilled: {leftover:?}"
    );
    text
}

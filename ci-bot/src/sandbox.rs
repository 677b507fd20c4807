//! The sandbox a job runs in: bubblewrap (`bwrap`), by default.
//!
//! What a job sees: the system's directories (`/usr`, `/etc`, `/bin` …) read-only,
//! the paths the operator lists read-only, a fresh `/proc` and `/dev`, a private
//! `/tmp` (its `HOME`), the bot's object store read-only (the checkout borrows its
//! objects), and its checkout, the one place it may write. Nothing else: not the
//! bot's home, keys, agent sockets or workdir (hidden even when a listed path holds
//! them). Its own pid, IPC, UTS and cgroup namespaces; no network but a loopback of
//! its own unless `network = true`; no capabilities; `no_new_privs`.
//!
//! When the bot runs as root, bwrap sets the sandbox up as root and the job then
//! runs as `nobody` (uid and gid 65534) through `setpriv`: a job running as root,
//! even without capabilities, could still read every root-owned file it sees.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::{Config, SandboxMode};

/// The uid and gid jobs of a bot running as root run as.
pub const NOBODY: u32 = 65534;

/// The system's directories a job reads (those that exist; a symlink stays one).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
];

/// What a job may see and do.
#[derive(Clone, Debug)]
pub struct Sandbox {
    mode: SandboxMode,
    network: bool,
    read_only: Vec<PathBuf>,
    /// The bot's secrets and state: covered whenever a visible path holds them.
    hidden: Vec<PathBuf>,
    bwrap: PathBuf,
    /// `Some(setpriv)` when the bot is root: the job drops to [`NOBODY`].
    setpriv: Option<PathBuf>,
    /// The bot's PATH, which jobs get too.
    path: OsString,
}

/// The directories of one job.
pub struct JobDirs<'a> {
    /// The checkout: writable, the job's working directory.
    pub checkout: &'a Path,
    /// The bot's object store (the checkout's alternate): read-only.
    pub objects: &'a Path,
}

impl Sandbox {
    /// The sandbox `config` asks for, with what this machine and this bot need
    /// (where bwrap and setpriv are, which paths to hide). Fails when bwrap is
    /// missing.
    pub fn new(config: &Config) -> Result<Sandbox, String> {
        let path =
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        let root = unsafe { libc::geteuid() } == 0;
        let mode = config.sandbox.mode;
        let find = |name: &str| find_in(&path, name);
        let bwrap = match mode {
            SandboxMode::None => PathBuf::from("bwrap"),
            SandboxMode::Bwrap => find("bwrap").ok_or_else(|| {
                "`bwrap` is not installed: jobs run in bubblewrap by default. Install it \
                 (Debian: apt-get install bubblewrap), or set `sandbox = \"none\"` in the \
                 configuration to run jobs unsandboxed, as the bot's user, able to read its key"
                    .to_owned()
            })?,
        };
        let setpriv = if root && mode == SandboxMode::Bwrap {
            Some(find("setpriv").ok_or_else(|| {
                "`setpriv` (util-linux) is not installed: a bot running as root needs it to \
                 run jobs as nobody"
                    .to_owned()
            })?)
        } else {
            None
        };
        for p in &config.sandbox.read_only_paths {
            if mode == SandboxMode::Bwrap && !p.exists() {
                return Err(format!("`read_only_paths`: {} does not exist", p.display()));
            }
        }
        let sandbox = Sandbox {
            mode,
            network: config.sandbox.network,
            read_only: config.sandbox.read_only_paths.clone(),
            hidden: hidden_paths(&config.workdir),
            bwrap,
            setpriv,
            path,
        };
        if mode == SandboxMode::Bwrap {
            let checkout = config.jobs_dir().join("job").join("src");
            let objects = config.repo_dir().join("objects");
            let plan = sandbox.plan(&JobDirs {
                checkout: &checkout,
                objects: &objects,
            });
            for p in &sandbox.read_only {
                if !plan.shows_host(p) {
                    return Err(format!(
                        "`read_only_paths`: {} is (or is inside) a path jobs never see: the \
                         bot's home, gpg home, agent sockets or workdir ({}). List the \
                         directories jobs need (a toolchain), not the bot's home",
                        p.display(),
                        sandbox
                            .hidden
                            .iter()
                            .map(|h| h.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Ok(sandbox)
    }

    /// Jobs as the bot's user, for the job runner's own tests.
    #[cfg(test)]
    pub fn unsandboxed() -> Sandbox {
        Sandbox {
            mode: SandboxMode::None,
            network: true,
            read_only: Vec::new(),
            hidden: Vec::new(),
            bwrap: PathBuf::from("bwrap"),
            setpriv: None,
            path: std::env::var_os("PATH").unwrap_or_default(),
        }
    }

    /// One line for the log and the status: how jobs are isolated.
    pub fn describe(&self) -> String {
        if self.mode == SandboxMode::None {
            return "unsandboxed (sandbox = \"none\"), as the bot's user".to_owned();
        }
        let who = if self.setpriv.is_some() {
            format!("as nobody (uid {NOBODY}; the bot is root)")
        } else {
            "as the bot's user, in a user namespace".to_owned()
        };
        let listed: Vec<String> = self
            .read_only
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "in bubblewrap ({}), {who}, network {}, read-only: the system{}{}",
            self.bwrap.display(),
            if self.network { "on" } else { "off" },
            if listed.is_empty() { "" } else { ", " },
            listed.join(", ")
        )
    }

    pub fn mode(&self) -> SandboxMode {
        self.mode
    }

    /// The uid and gid the job runs as, when it is not the bot's.
    pub fn job_owner(&self) -> Option<(u32, u32)> {
        self.setpriv.as_ref().map(|_| (NOBODY, NOBODY))
    }

    /// The command that runs `sh -c script` for a job in `dirs`, with `env` (on top
    /// of a minimal environment). Unsandboxed, the bot's environment is inherited
    /// but for [`crate::job::SCRUBBED_ENV`].
    pub fn command(&self, dirs: &JobDirs, script: &str, env: &[(String, String)]) -> Command {
        self.build(dirs, script, env, true)
    }

    /// [`Sandbox::command`]; `as_job_user: false` keeps the sandbox's own user (for
    /// the probe: a bot running as root checks that the hidden paths are hidden, not
    /// only unreadable by nobody).
    fn build(
        &self,
        dirs: &JobDirs,
        script: &str,
        env: &[(String, String)],
        as_job_user: bool,
    ) -> Command {
        let mut cmd = match self.mode {
            SandboxMode::None => {
                let mut cmd = Command::new("sh");
                for k in crate::job::SCRUBBED_ENV {
                    cmd.env_remove(k);
                }
                cmd
            }
            SandboxMode::Bwrap => {
                let mut cmd = Command::new(&self.bwrap);
                cmd.args(self.bwrap_args(dirs));
                if let Some(setpriv) = self.setpriv.as_ref().filter(|_| as_job_user) {
                    cmd.arg(setpriv).args([
                        format!("--reuid={NOBODY}"),
                        format!("--regid={NOBODY}"),
                        "--clear-groups".to_owned(),
                        "--inh-caps=-all".to_owned(),
                        "--bounding-set=-all".to_owned(),
                        "--".to_owned(),
                    ]);
                }
                cmd.arg("sh");
                // Only what a build needs: none of the bot's variables (GNUPGHOME …).
                cmd.env_clear()
                    .env("PATH", &self.path)
                    .env("HOME", "/tmp")
                    .env("TMPDIR", "/tmp");
                for k in ["LANG", "LC_ALL", "TZ"] {
                    if let Some(v) = std::env::var_os(k) {
                        cmd.env(k, v);
                    }
                }
                cmd
            }
        };
        cmd.arg("-c").arg(script).current_dir(dirs.checkout);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// bwrap's arguments, up to the command.
    fn bwrap_args(&self, dirs: &JobDirs) -> Vec<OsString> {
        self.plan(dirs).args
    }

    /// bwrap's arguments, with the mounts they make.
    fn plan(&self, dirs: &JobDirs) -> Args {
        let mut a = Args::default();
        a.flag("--die-with-parent");
        a.flag("--new-session");
        if self.setpriv.is_some() {
            // As root: no user namespace (the job drops to nobody for real instead).
            for ns in [
                "--unshare-ipc",
                "--unshare-pid",
                "--unshare-uts",
                "--unshare-cgroup-try",
            ] {
                a.flag(ns);
            }
            if !self.network {
                a.flag("--unshare-net");
            }
            a.flag("--cap-drop");
            a.flag("ALL");
            for cap in ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"] {
                a.flag("--cap-add");
                a.flag(cap);
            }
        } else {
            a.flag("--unshare-all");
            if self.network {
                a.flag("--share-net");
            }
        }
        for dir in SYSTEM_DIRS {
            let p = Path::new(dir);
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(p) {
                        a.op("--symlink", &[target.as_os_str(), p.as_os_str()]);
                    }
                }
                Ok(m) if m.is_dir() => a.ro_bind(p, p),
                _ => {}
            }
        }
        if self.network {
            // /etc/resolv.conf is often a link into /run, which jobs do not see.
            if let Ok(target) = std::fs::canonicalize("/etc/resolv.conf") {
                if !target.starts_with("/etc") && !target.starts_with("/usr") {
                    a.ensure_parents(&target);
                    a.ro_bind(&target, &target);
                }
            }
        }
        a.op("--proc", &["/proc".as_ref()]);
        a.op("--dev", &["/dev".as_ref()]);
        a.op("--perms", &["1777".as_ref()]);
        a.op("--tmpfs", &["/tmp".as_ref()]);
        a.mounts.push((PathBuf::from("/tmp"), Kind::Fresh));
        for p in &self.read_only {
            a.ensure_parents(p);
            a.ro_bind(p, p);
        }
        // After the listed paths, so that none of them can show what is hidden.
        for h in &self.hidden {
            if !a.shows_host(h) {
                continue;
            }
            match std::fs::metadata(h) {
                Ok(m) if m.is_dir() => {
                    // Empty, and open to look at: a job sees there is nothing.
                    a.op("--perms", &["0755".as_ref()]);
                    a.op("--tmpfs", &[h.as_os_str()]);
                    a.mounts.push((h.clone(), Kind::Fresh));
                }
                Ok(_) => a.op("--ro-bind", &["/dev/null".as_ref(), h.as_os_str()]),
                Err(_) => {}
            }
        }
        a.ensure_parents(dirs.objects);
        a.ro_bind(dirs.objects, dirs.objects);
        a.ensure_parents(dirs.checkout);
        a.op(
            "--bind",
            &[dirs.checkout.as_os_str(), dirs.checkout.as_os_str()],
        );
        a.mounts.push((dirs.checkout.to_path_buf(), Kind::Host));
        a.op("--chdir", &[dirs.checkout.as_os_str()]);
        a.op("--remount-ro", &["/".as_ref()]);
        a.flag("--");
        a
    }

    /// Check at start that a job can run in the sandbox and is confined: it writes
    /// its checkout, cannot write the system, and sees nothing of the hidden paths
    /// (checked as the sandbox's own user, who could read them if they showed).
    pub fn probe(&self, scratch: &Path, objects: &Path) -> Result<(), String> {
        if self.mode == SandboxMode::None {
            return Ok(());
        }
        let checkout = scratch.join("src");
        std::fs::create_dir_all(&checkout)
            .map_err(|e| format!("cannot create {}: {e}", checkout.display()))?;
        let dirs = JobDirs {
            checkout: &checkout,
            objects,
        };
        // For each hidden directory, something in it that must not show (not a path
        // the sandbox shows on purpose: a listed one, the checkout, the objects).
        let shown: Vec<&Path> = self
            .read_only
            .iter()
            .map(PathBuf::as_path)
            .chain([dirs.checkout, dirs.objects])
            .collect();
        let mut hidden = String::from("set -e; ");
        for h in &self.hidden {
            let Ok(entries) = std::fs::read_dir(h) else {
                continue;
            };
            let witness = entries
                .flatten()
                .map(|e| e.path())
                .find(|p| !shown.iter().any(|s| s.starts_with(p)));
            if let Some(w) = witness {
                let w = shell_quote(&w.display().to_string());
                hidden.push_str(&format!(
                    "if test -e {w} || test -L {w}; then echo 'it sees '{w}; exit 1; fi; "
                ));
            }
        }
        let confined = "set -e; echo ok > probe; test \"$(cat probe)\" = ok; \
             if touch /usr/.ci-bot-probe 2>/dev/null; then echo 'the system is writable'; exit 1; fi";
        let result = self.run_probe(&dirs, &hidden, false).and_then(|()| {
            if let Some((uid, gid)) = self.job_owner() {
                chown_tree(&checkout, uid, gid)?;
            }
            self.run_probe(&dirs, confined, true)
        });
        let _ = std::fs::remove_dir_all(scratch);
        result
    }

    fn run_probe(&self, dirs: &JobDirs, script: &str, as_job_user: bool) -> Result<(), String> {
        let out = self
            .build(dirs, script, &[], as_job_user)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bwrap.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "a job cannot run in the sandbox ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// What a mount shows: the host's files, or a fresh, empty file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Host,
    Fresh,
}

/// bwrap's arguments in the making, with what is mounted where so far (the root
/// itself is a fresh tmpfs).
#[derive(Default)]
struct Args {
    args: Vec<OsString>,
    mounts: Vec<(PathBuf, Kind)>,
    made: Vec<PathBuf>,
}

impl Args {
    fn flag(&mut self, f: &str) {
        self.args.push(f.into());
    }

    fn op(&mut self, op: &str, values: &[&std::ffi::OsStr]) {
        self.args.push(op.into());
        self.args.extend(values.iter().map(|v| v.to_os_string()));
    }

    fn ro_bind(&mut self, src: &Path, dest: &Path) {
        self.op("--ro-bind", &[src.as_os_str(), dest.as_os_str()]);
        self.mounts.push((dest.to_path_buf(), Kind::Host));
    }

    /// The innermost mount holding `p` (the latest one wins at equal depth:
    /// `max_by_key` keeps the last of equal maxima).
    fn mount_of(&self, p: &Path) -> Option<&(PathBuf, Kind)> {
        self.mounts
            .iter()
            .filter(|(m, _)| p.starts_with(m))
            .max_by_key(|(m, _)| m.components().count())
    }

    /// Whether the host's `p` shows in the sandbox (a bind holds it).
    fn shows_host(&self, p: &Path) -> bool {
        matches!(self.mount_of(p), Some((_, Kind::Host)))
    }

    /// Make the directories above `p` that no bind provides, traversable by anyone
    /// (bwrap would make them 0700, and a job running as nobody could not reach a
    /// path under them) and writable by nobody (they are not the job's to fill).
    fn ensure_parents(&mut self, p: &Path) {
        let parents: Vec<PathBuf> = p
            .ancestors()
            .skip(1)
            .filter(|a| a.parent().is_some())
            .map(Path::to_path_buf)
            .collect();
        for dir in parents.into_iter().rev() {
            let exists = match self.mount_of(&dir) {
                Some((m, _)) if *m == dir => true,
                Some((_, Kind::Host)) => true,
                _ => self.made.contains(&dir),
            };
            if exists {
                continue;
            }
            self.op("--perms", &["0555".as_ref()]);
            self.op("--dir", &[dir.as_os_str()]);
            self.made.push(dir);
        }
    }
}

/// What jobs must never see: the bot's home, its gpg home and agent sockets, its
/// ssh agent, its runtime directory, and its workdir.
fn hidden_paths(workdir: &Path) -> Vec<PathBuf> {
    let env_path = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut out = vec![workdir.to_path_buf()];
    let home = env_path("HOME");
    if let Some(h) = &home {
        out.push(h.clone());
    }
    match env_path("GNUPGHOME") {
        Some(g) => out.push(g),
        None => {
            if let Some(h) = &home {
                out.push(h.join(".gnupg"));
            }
        }
    }
    if let Some(sock) = env_path("SSH_AUTH_SOCK") {
        out.extend(sock.parent().map(Path::to_path_buf));
    }
    match env_path("XDG_RUNTIME_DIR") {
        Some(r) => out.push(r),
        None => out.push(PathBuf::from(format!("/run/user/{}", unsafe {
            libc::geteuid()
        }))),
    }
    // gpg may keep its agent's sockets apart from GNUPGHOME (/run/user/<uid>/gnupg/…).
    if let Ok(o) = Command::new("gpgconf")
        .args(["--list-dirs", "socketdir"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        let dir = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        if o.status.success() && dir.starts_with('/') {
            out.push(PathBuf::from(dir));
        }
    }
    let mut out: Vec<PathBuf> = out
        .into_iter()
        .filter(|p| p.is_absolute() && p.parent().is_some())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `name` in the directories of `path` (as a shell finds it).
fn find_in(path: &OsString, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| p.is_absolute() && p.is_file())
}

/// `chown -R uid:gid dir`, without following symlinks.
pub fn chown_tree(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))
        .map_err(|e| format!("cannot chown {}: {e}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for e in entries {
            let e = e.map_err(|e| e.to_string())?;
            chown_tree(&e.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[OsString]) -> String {
        a.iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn parents_are_made_only_where_no_bind_provides_them() {
        let mut a = Args::default();
        a.ro_bind(Path::new("/usr"), Path::new("/usr"));
        a.mounts.push((PathBuf::from("/tmp"), Kind::Fresh));
        a.ensure_parents(Path::new("/usr/local/x"));
        a.ensure_parents(Path::new("/root/.rustup/toolchains"));
        a.ensure_parents(Path::new("/root/.cargo"));
        a.ensure_parents(Path::new("/tmp/w/jobs/src"));
        assert_eq!(
            args(&a.args),
            "--ro-bind /usr /usr --perms 0555 --dir /root --perms 0555 --dir /root/.rustup \
             --perms 0555 --dir /tmp/w --perms 0555 --dir /tmp/w/jobs"
        );
        assert!(a.shows_host(Path::new("/usr/bin")));
        assert!(!a.shows_host(Path::new("/root")));
        assert!(!a.shows_host(Path::new("/tmp/gnupg")));
        // A fresh mount inside a bind hides the host's files again, and so does one
        // on the very same path, made later.
        a.mounts.push((PathBuf::from("/usr/secret"), Kind::Fresh));
        assert!(!a.shows_host(Path::new("/usr/secret/key")));
        assert!(a.shows_host(Path::new("/usr/secrets")));
        a.ro_bind(Path::new("/opt/home"), Path::new("/opt/home"));
        assert!(a.shows_host(Path::new("/opt/home")));
        a.mounts.push((PathBuf::from("/opt/home"), Kind::Fresh));
        assert!(!a.shows_host(Path::new("/opt/home")));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
    }
}

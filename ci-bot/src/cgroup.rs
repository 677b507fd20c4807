//! A cgroup per job, where the kernel offers one the bot may write: it holds every
//! process of the job (even one that left its process group), caps its memory
//! (`memory` controller) and its processes (`pids` controller), and is killed as a
//! whole.
//!
//! Both cgroup versions are handled. v2 (one hierarchy): the job's cgroup is a child
//! of the bot's own, with the controllers the bot can enable for its children (under
//! systemd: `Delegate=yes`). v1 (a hierarchy per controller, as on this project's
//! CI machine): a child of the bot's cgroup in the `memory` and `pids` hierarchies.
//! Where a hierarchy cannot be written (no root, no delegation), the job runs
//! without it; `limits.rs`' rlimits stand in (see the README for what then holds).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Limits;

/// Where job cgroups can be made, found at start.
#[derive(Clone, Debug, Default)]
pub struct Places {
    /// Holds memory.max (v2) or memory.limit_in_bytes (v1).
    memory: Option<Place>,
    /// Holds pids.max.
    pids: Option<Place>,
    /// Only tracks processes (a v2 cgroup without controllers still does).
    tracking: Option<Place>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    /// The parent directory job cgroups are made in.
    dir: PathBuf,
    v2: bool,
}

impl Places {
    /// Look at the cgroup mounts and the bot's own cgroups, and keep the places where
    /// a child cgroup can be made (tried for real).
    pub fn discover() -> Places {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mut places = Places::default();
        for m in parse_mounts(&mountinfo) {
            let Some(path) = own_path(&own, &m) else {
                continue;
            };
            let rel = path
                .strip_prefix(m.root.as_str())
                .unwrap_or(&path)
                .trim_start_matches('/');
            let dir = m.mount_point.join(rel);
            if m.v2 {
                if places.tracking.is_some() || !writable(&dir) {
                    continue;
                }
                let enabled = enable_v2_controllers(&dir);
                let place = Place { dir, v2: true };
                if enabled.contains(&"memory") {
                    places.memory = Some(place.clone());
                }
                if enabled.contains(&"pids") {
                    places.pids = Some(place.clone());
                }
                places.tracking = Some(place);
            } else {
                for (controller, slot) in [("memory", 0), ("pids", 1)] {
                    if !m.controllers.iter().any(|c| c == controller) {
                        continue;
                    }
                    let target = if slot == 0 {
                        &mut places.memory
                    } else {
                        &mut places.pids
                    };
                    if target.is_none() && writable(&dir) {
                        *target = Some(Place {
                            dir: dir.clone(),
                            v2: false,
                        });
                    }
                }
            }
        }
        places
    }

    /// One line for the log: what limits where.
    pub fn describe(&self) -> String {
        let what = |p: &Option<Place>| match p {
            Some(p) => format!(
                "cgroup {} in {}",
                if p.v2 { "v2" } else { "v1" },
                p.dir.display()
            ),
            None => "no cgroup".to_owned(),
        };
        format!(
            "memory: {}; processes: {}; tracking: {}",
            what(&self.memory),
            what(&self.pids),
            match (&self.tracking, &self.pids, &self.memory) {
                (Some(_), _, _) => what(&self.tracking),
                (None, Some(_), _) => what(&self.pids),
                (None, None, Some(_)) => what(&self.memory),
                (None, None, None) => "the process group only".to_owned(),
            }
        )
    }

    pub fn limits_memory(&self) -> bool {
        self.memory.is_some()
    }

    pub fn limits_processes(&self) -> bool {
        self.pids.is_some()
    }

    /// Every place in use, once each.
    fn places(&self) -> Vec<&Place> {
        let mut places: Vec<&Place> = Vec::new();
        for p in [&self.tracking, &self.pids, &self.memory]
            .into_iter()
            .flatten()
        {
            if !places.contains(&p) {
                places.push(p);
            }
        }
        places
    }

    /// The directories [`Places::create`] makes for `name` (to record them first).
    pub fn dirs_for(&self, name: &str) -> Vec<PathBuf> {
        self.places().iter().map(|p| p.dir.join(name)).collect()
    }

    /// Make the cgroups of a job named `name`, with `limits` written.
    pub fn create(&self, name: &str, limits: &Limits) -> Result<JobCgroups, String> {
        let mut job = JobCgroups::default();
        for p in self.places() {
            let dir = p.dir.join(name);
            std::fs::create_dir(&dir)
                .map_err(|e| format!("cannot create the cgroup {}: {e}", dir.display()))?;
            let cg = Cgroup {
                dir,
                v2: p.v2,
                memory: self.memory.as_ref() == Some(p),
            };
            // Recorded before anything can fail, so that `remove` finds it.
            job.cgroups.push(cg.clone());
            if self.memory.as_ref() == Some(p) {
                if let Some(bytes) = limits.memory_bytes {
                    cg.limit_memory(bytes)?;
                }
            }
            if self.pids.as_ref() == Some(p) {
                if let Some(n) = limits.processes {
                    cg.write("pids.max", &n.to_string())?;
                }
            }
        }
        Ok(job)
    }
}

/// The cgroups of one job (one per hierarchy used).
#[derive(Clone, Debug, Default)]
pub struct JobCgroups {
    cgroups: Vec<Cgroup>,
}

#[derive(Clone, Debug)]
struct Cgroup {
    dir: PathBuf,
    v2: bool,
    memory: bool,
}

impl Cgroup {
    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn limit_memory(&self, bytes: u64) -> Result<(), String> {
        if self.v2 {
            self.write("memory.max", &bytes.to_string())?;
            // No swap either, where swap is accounted: the limit is the limit.
            let _ = self.write("memory.swap.max", "0");
        } else {
            self.write("memory.limit_in_bytes", &bytes.to_string())?;
            let _ = self.write("memory.memsw.limit_in_bytes", &bytes.to_string());
        }
        Ok(())
    }

    fn procs(&self) -> Vec<libc::pid_t> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

impl JobCgroups {
    /// Rebuild from recorded directories (after a restart).
    pub fn from_dirs(dirs: &[PathBuf]) -> JobCgroups {
        JobCgroups {
            cgroups: dirs
                .iter()
                .map(|d| Cgroup {
                    dir: d.clone(),
                    v2: d.join("cgroup.controllers").exists(),
                    memory: false,
                })
                .collect(),
        }
    }

    /// The `cgroup.procs` files, opened for the child to write itself into between
    /// fork and exec (see `job.rs`).
    pub fn open_procs(&self) -> Result<Vec<std::fs::File>, String> {
        self.cgroups
            .iter()
            .map(|c| {
                let path = c.dir.join("cgroup.procs");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))
            })
            .collect()
    }

    /// Processes still in the job's cgroups.
    pub fn procs(&self) -> Vec<libc::pid_t> {
        let mut all: Vec<libc::pid_t> = self.cgroups.iter().flat_map(Cgroup::procs).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// How often the kernel's OOM killer killed a process of the job.
    pub fn oom_kills(&self) -> u64 {
        let Some(c) = self.cgroups.iter().find(|c| c.memory) else {
            return 0;
        };
        let file = if c.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        std::fs::read_to_string(c.dir.join(file))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGKILL every process in the cgroups until none is left (or `patience` ran
    /// out: false). A process that forks meanwhile is caught on the next round.
    pub fn kill_all(&self, patience: Duration) -> bool {
        for c in self.cgroups.iter().filter(|c| c.v2) {
            // cgroup.kill (Linux 5.14): the kernel kills the whole subtree at once.
            let _ = c.write("cgroup.kill", "1");
        }
        let until = Instant::now() + patience;
        loop {
            let left = self.procs();
            if left.is_empty() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            for pid in left {
                // SAFETY: kill has no memory effects.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Remove the (empty) cgroups; the ones that cannot be removed are named.
    pub fn remove(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for c in &self.cgroups {
            // A cgroup whose last process is exiting stays busy a moment.
            let mut tries = 0;
            loop {
                match std::fs::remove_dir(&c.dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) if tries < 50 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => {
                        problems.push(format!("{}: {e}", c.dir.display()));
                        break;
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("cannot remove cgroups: {}", problems.join("; ")))
        }
    }
}

/// Write the calling process into cgroups: between fork and exec, so only
/// async-signal-safe calls (write).
pub fn join_from_child(procs: &[std::fs::File]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    for f in procs {
        // "0": the writing process itself.
        // SAFETY: write from a valid buffer to an open descriptor.
        let r = unsafe { libc::write(f.as_raw_fd(), b"0".as_ptr().cast(), 1) };
        if r != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A cgroup mount.
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    mount_point: PathBuf,
    /// The mount's root within the hierarchy (`/` unless a cgroup namespace says else).
    root: String,
    v2: bool,
    /// v1: the controllers of the hierarchy (and `name=…`).
    controllers: Vec<String>,
}

/// The cgroup mounts of `/proc/self/mountinfo`.
fn parse_mounts(mountinfo: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.len() < 3 {
            continue;
        }
        let (root, mount_point) = (left[3], left[4]);
        let v2 = match right[0] {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers = if v2 {
            Vec::new()
        } else {
            right[2].split(',').map(str::to_owned).collect()
        };
        out.push(Mount {
            mount_point: PathBuf::from(unescape_mount(mount_point)),
            root: unescape_mount(root),
            v2,
            controllers,
        });
    }
    out
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Some(n) = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(n);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The bot's own path in the hierarchy of `m`, from `/proc/self/cgroup`.
fn own_path(own: &str, m: &Mount) -> Option<String> {
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if m.v2 {
            if controllers.is_empty() {
                return Some(path.to_owned());
            }
        } else if !controllers.is_empty()
            && controllers
                .split(',')
                .any(|c| m.controllers.iter().any(|mc| mc == c))
        {
            return Some(path.to_owned());
        }
    }
    None
}

/// Whether a child cgroup can be made in `dir` (tried).
fn writable(dir: &Path) -> bool {
    if !dir.join("cgroup.procs").exists() {
        return false;
    }
    let probe = dir.join(format!("ci-bot-probe.{}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => {
            let _ = std::fs::remove_dir(&probe);
            true
        }
        Err(_) => false,
    }
}

/// Enable `memory` and `pids` for the children of the v2 cgroup `dir`, where the
/// parent offers them. A cgroup with processes of its own cannot (v2 keeps
/// processes in leaves only), so the bot first moves itself into a leaf `ci-bot`
/// of its cgroup, as a delegated service does. Returns what is enabled.
fn enable_v2_controllers(dir: &Path) -> Vec<&'static str> {
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<&'static str> = ["memory", "pids"]
        .into_iter()
        .filter(|c| available.split_whitespace().any(|a| a == *c))
        .collect();
    let enable = |c: &str| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.subtree_control"))?;
        f.write_all(format!("+{c}").as_bytes())
    };
    let mut enabled = Vec::new();
    for c in wanted {
        let mut r = enable(c);
        if matches!(&r, Err(e) if e.raw_os_error() == Some(libc::EBUSY)) {
            let leaf = dir.join("ci-bot");
            let moved = std::fs::create_dir(&leaf)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .and_then(|()| std::fs::write(leaf.join("cgroup.procs"), "0"));
            if moved.is_ok() {
                r = enable(c);
            }
        }
        if r.is_ok() {
            enabled.push(c);
        }
    }
    let subtree = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    enabled.retain(|c| subtree.split_whitespace().any(|s| s == *c));
    enabled
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn mounts_and_own_paths() {
        let mounts = parse_mounts(MOUNTINFO);
        assert_eq!(mounts.len(), 4);
        assert_eq!(
            mounts[0].mount_point,
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert_eq!(mounts[0].controllers, vec!["rw", "memory"]);
        assert!(mounts[3].v2);
        let own = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n0::/\n";
        assert_eq!(
            own_path(own, &mounts[0]).as_deref(),
            Some("/process_api/abc")
        );
        assert_eq!(own_path(own, &mounts[1]).as_deref(), Some("/"));
        assert_eq!(own_path(own, &mounts[3]).as_deref(), Some("/"));
        let pure_v2 = "0::/system.slice/ci-bot.service\n";
        assert_eq!(
            own_path(pure_v2, &mounts[3]).as_deref(),
            Some("/system.slice/ci-bot.service")
        );
        assert_eq!(own_path(pure_v2, &mounts[0]), None);
    }

    #[test]
    fn escaped_mount_points() {
        assert_eq!(unescape_mount("/a\\040b"), "/a b");
        assert_eq!(unescape_mount("/plain"), "/plain");
        assert_eq!(unescape_mount("/end\\"), "/end\\");
    }
}

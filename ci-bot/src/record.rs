//! What a job leaves in its directory so that a bot restarted after a SIGKILL can
//! finish it off: the boot, the job's cgroups (written before the job starts) and
//! its process group (written as soon as it exists). On start the bot kills what
//! is recorded and still alive, and removes a job directory only when no live
//! process uses it.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::{info, warn};

use crate::cgroup::JobCgroups;

/// The record's file name, in the job's directory.
const FILE: &str = "process";

/// A job's process group: its id, and its leader's start time (to tell a reused id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub pgid: libc::pid_t,
    pub start_time: u64,
}

/// The record of one job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub boot_id: String,
    pub cgroups: Vec<PathBuf>,
    pub group: Option<Group>,
}

impl Record {
    pub fn render(&self) -> String {
        let mut out = format!("boot {}\n", self.boot_id);
        for c in &self.cgroups {
            out.push_str(&format!("cgroup {}\n", c.display()));
        }
        if let Some(g) = self.group {
            out.push_str(&format!("pgid {} {}\n", g.pgid, g.start_time));
        }
        out
    }

    pub fn parse(text: &str) -> Record {
        let mut r = Record::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            match key {
                "boot" => r.boot_id = value.to_owned(),
                "cgroup" => r.cgroups.push(PathBuf::from(value)),
                "pgid" => {
                    let mut it = value.split(' ');
                    let pgid = it.next().and_then(|p| p.parse().ok());
                    let start_time = it.next().and_then(|t| t.parse().ok());
                    if let (Some(pgid), Some(start_time)) = (pgid, start_time) {
                        if pgid > 1 {
                            r.group = Some(Group { pgid, start_time });
                        }
                    }
                }
                _ => {}
            }
        }
        r
    }

    /// Write the record into the job directory `dir` (replacing it).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(format!("{FILE}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(self.render().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(FILE))
    }

    pub fn read(dir: &Path) -> Option<Record> {
        std::fs::read_to_string(dir.join(FILE))
            .ok()
            .map(|t| Record::parse(&t))
    }
}

/// This boot's id: a record from an earlier boot names no live process.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A process's start time (clock ticks after boot, field 22 of `/proc/PID/stat`).
pub fn start_time(pid: libc::pid_t) -> Option<u64> {
    stat_fields(pid).and_then(|f| f.get(19).and_then(|t| t.parse().ok()))
}

/// The fields of `/proc/PID/stat` after the command name (field 3 on).
fn stat_fields(pid: libc::pid_t) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Every live process in the process group `pgid` (a zombie runs nothing: not counted).
fn group_members(pgid: libc::pid_t) -> Vec<libc::pid_t> {
    all_pids()
        .into_iter()
        .filter(|pid| {
            let Some(f) = stat_fields(*pid) else {
                return false;
            };
            // Field 3 (state) and field 5 (pgrp): the first and third after the name.
            let dead = matches!(f.first().map(String::as_str), Some("Z" | "X"));
            !dead && f.get(2).and_then(|g| g.parse::<libc::pid_t>().ok()) == Some(pgid)
        })
        .collect()
}

fn all_pids() -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect()
}

/// Kill what `record` names that is still alive: its cgroups' processes and its
/// process group (unless the group's id now belongs to someone else). True when
/// nothing of it is left.
pub fn kill_recorded(record: &Record) -> bool {
    if record.boot_id != boot_id() {
        return true;
    }
    let cgroups = JobCgroups::from_dirs(&record.cgroups);
    let mut clean = cgroups.kill_all(Duration::from_secs(10));
    if let Some(g) = record.group {
        clean &= kill_group(g);
    }
    if clean {
        if let Err(e) = cgroups.remove() {
            warn!("{e}");
        }
    }
    clean
}

/// SIGKILL the group `g` until it is empty. Its id can be in use by another group
/// only when no process of the old one is left (the kernel does not reuse the id of
/// a live group), and then its leader is a process started at another time.
fn kill_group(g: Group) -> bool {
    for _ in 0..500 {
        let leader_start = start_time(g.pgid);
        if leader_start.is_some_and(|t| t != g.start_time) {
            // The id was reused: the old group is gone.
            return true;
        }
        let members = group_members(g.pgid);
        if members.is_empty() {
            return true;
        }
        // SAFETY: killpg has no memory effects.
        unsafe {
            libc::killpg(g.pgid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    group_members(g.pgid).is_empty()
}

/// The live processes whose working directory, root, executable or an open file
/// lies in the tree `dir` (compared by device and inode, which holds across mount
/// namespaces, where the sandbox shows other paths).
pub fn users_of(dir: &Path) -> Vec<libc::pid_t> {
    let mut inodes = HashSet::new();
    collect_inodes(dir, &mut inodes);
    if inodes.is_empty() {
        return Vec::new();
    }
    let me = std::process::id() as libc::pid_t;
    let uses =
        |link: PathBuf| std::fs::metadata(link).is_ok_and(|m| inodes.contains(&(m.dev(), m.ino())));
    all_pids()
        .into_iter()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let base = PathBuf::from(format!("/proc/{pid}"));
            ["cwd", "root", "exe"].iter().any(|l| uses(base.join(l)))
                || std::fs::read_dir(base.join("fd"))
                    .map(|fds| fds.flatten().any(|fd| uses(fd.path())))
                    .unwrap_or(false)
        })
        .collect()
}

fn collect_inodes(path: &Path, out: &mut HashSet<(u64, u64)>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    out.insert((meta.dev(), meta.ino()));
    if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                collect_inodes(&e.path(), out);
            }
        }
    }
}

/// Finish off a job directory: kill what its record names, then remove it unless a
/// live process still uses it (then it is left, and named in the log). True when
/// removed.
pub fn finish(dir: &Path) -> bool {
    if let Some(record) = Record::read(dir) {
        if !kill_recorded(&record) {
            warn!(
                "processes of the job in {} survived SIGKILL; its directory is kept",
                dir.display()
            );
            return false;
        }
    }
    let users = users_of(dir);
    if !users.is_empty() {
        warn!(
            "{} is in use by live processes {users:?}: kept (removed on a later start)",
            dir.display()
        );
        return false;
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            warn!("cannot remove {}: {e}", dir.display());
            false
        }
    }
}

/// On start: finish every job an earlier, killed bot left behind (the workdir lock
/// makes them ours).
pub fn finish_all(jobs_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(jobs_dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            let recorded = Record::read(&path).is_some();
            if finish(&path) && recorded {
                info!(
                    "finished off the job an earlier bot left in {}",
                    path.display()
                );
            }
        } else if let Err(err) = std::fs::remove_file(&path) {
            warn!("cannot remove {}: {err}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn records_round_trip() {
        let r = Record {
            boot_id: "b".into(),
            cgroups: vec![PathBuf::from("/sys/fs/cgroup/pids/x")],
            group: Some(Group {
                pgid: 42,
                start_time: 7,
            }),
        };
        assert_eq!(Record::parse(&r.render()), r);
        assert_eq!(Record::parse("pgid 1 5\njunk\n").group, None);
    }

    #[test]
    fn a_recorded_group_is_killed_and_its_directory_kept_while_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job-x");
        std::fs::create_dir_all(job.join("src")).unwrap();
        // A group whose leader is gone and whose member runs in the directory.
        let mut leader = std::process::Command::new("sh")
            .args(["-c", "sleep 60 >/dev/null & echo $!"])
            .current_dir(job.join("src"))
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pgid = leader.id() as libc::pid_t;
        let start = start_time(pgid).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(leader.stdout.as_mut().unwrap(), &mut out).unwrap();
        leader.wait().unwrap();
        let sleeper: libc::pid_t = out.trim().parse().unwrap();
        assert!(std::path::Path::new(&format!("/proc/{sleeper}")).exists());
        assert_eq!(users_of(&job), vec![sleeper]);

        // Without a record, the directory is in use: kept.
        assert!(!finish(&job));
        assert!(job.exists());

        // With one, the group is killed, then the directory goes.
        Record {
            boot_id: boot_id(),
            cgroups: vec![],
            group: Some(Group {
                pgid,
                start_time: start,
            }),
        }
        .write(&job)
        .unwrap();
        assert!(finish(&job));
        assert!(!job.exists());
        // Reaped by init or a zombie of this process: not running either way.
        let state = std::fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
        assert!(state.is_empty() || state.contains(") Z"), "{state}");
    }

    #[test]
    fn a_reused_group_id_is_left_alone() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as libc::pid_t;
        let real = start_time(pgid).unwrap();
        assert!(kill_group(Group {
            pgid,
            start_time: real + 1
        }));
        assert!(child.try_wait().unwrap().is_none(), "not ours: not killed");
        assert!(kill_group(Group {
            pgid,
            start_time: real
        }));
        assert!(child.wait().unwrap().code().is_none());
    }
}

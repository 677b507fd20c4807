//! Issue 11: a server shared by a group, without root. Two users of one
//! group, at umask 022, push in turn to a repository with
//! `core.sharedRepository = group`; every file and directory the hook (or
//! git) writes stays writable by the group, so nobody's push fails, then or
//! later.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use gitapps_tests::{Server, User, Workdir};

/// A system user and group made for one test, removed on drop.
struct Account {
    name: String,
    uid: u32,
}

impl Account {
    fn add(name: &str, group: &str) -> Account {
        let status = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", "-g", group, name])
            .status()
            .expect("run useradd");
        assert!(status.success(), "useradd {name} failed");
        let id = Command::new("id").args(["-u", name]).output().expect("id");
        let uid = String::from_utf8_lossy(&id.stdout)
            .trim()
            .parse()
            .expect("a uid");
        Account {
            name: name.to_owned(),
            uid,
        }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

struct Group(String);

impl Group {
    fn add(name: &str) -> Group {
        let status = Command::new("groupadd")
            .arg(name)
            .status()
            .expect("run groupadd");
        assert!(status.success(), "groupadd {name} failed");
        Group(name.to_owned())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("groupdel").arg(&self.0).status();
    }
}

/// Gives `path` (recursively) to `uid`, and lets everyone through its
/// parent (a temporary directory of root's).
fn give(path: &Path, uid: u32) {
    let status = Command::new("chown")
        .arg("-R")
        .arg(uid.to_string())
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success());
    if let Some(parent) = path.parent() {
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// Every directory under `dir` is group-writable and every file group-readable
/// (and group-writable, outside objects/, which git keeps read-only).
fn not_shared(dir: &Path, gid: u32, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode();
        let in_objects = path.components().any(|c| c.as_os_str() == "objects");
        let need = if meta.is_dir() {
            0o070
        } else if in_objects {
            0o040
        } else {
            0o060
        };
        if mode & need != need || meta.gid() != gid {
            out.push(format!("{} {:o} gid {}", path.display(), mode, meta.gid()));
        }
        if meta.is_dir() {
            not_shared(&path, gid, out);
        }
    }
}

#[test]
fn two_users_of_a_group_push_to_a_shared_server_at_umask_022() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test creates two system users (useradd) and runs their pushes as them: run it as root (e.g. `sudo -E cargo test -p gitapps-tests --test hook shared`)"
    );
    let tag = std::process::id();
    let group = Group::add(&format!("gat{tag}"));
    let accounts = [
        Account::add(&format!("gat{tag}a"), &group.0),
        Account::add(&format!("gat{tag}b"), &group.0),
    ];
    let gid = std::fs::read_to_string("/etc/group")
        .expect("/etc/group")
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0] == group.0).then(|| f[2].parse::<u32>().expect("gid"))
        })
        .expect("the group");

    let owner = User::new("owner");
    let alice = User::new("alice");
    let bob = User::new("bob");
    let server = Server::install(&owner);
    let ow = Workdir::clone(&owner, &server);
    ow.switch_orphan("main");
    ow.write("README", "0\n");
    ow.commit_all("main");
    ow.push_signed(&["origin", "main"]).assert_ok();
    ow.register(&[&alice, &bob]);
    ow.grant(&[
        ("refs/people.conf", "anyone fast-forward ^heads/main$\n"),
        ("branches/people.conf", "anyone modify ^README$\n"),
    ]);
    let clones = [
        Workdir::clone(&alice, &server),
        Workdir::clone(&bob, &server),
    ];
    // The server becomes the group's: as `git init --shared=group` leaves
    // a repository, owned by the first user.
    server.set_config("core.sharedRepository", "group");
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{}:{gid}", accounts[0].uid))
        .arg(server.path())
        .status()
        .expect("chown");
    assert!(status.success());
    let status = Command::new("sh")
        .arg("-c")
        .arg("chmod -R g+rwX \"$1\" && find \"$1\" -type d -exec chmod g+s {} +")
        .arg("sh")
        .arg(server.path())
        .status()
        .expect("chmod");
    assert!(status.success());
    std::fs::set_permissions(
        server.path().parent().expect("parent"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");

    for (account, (wd, user)) in accounts.iter().zip(clones.iter().zip([&alice, &bob])) {
        wd.git_ok(&["config", "user.signingkey", user.fingerprint()]);
        // A shared server's admin trusts the repository for its users (git
        // refuses repositories of other users otherwise); the local
        // transport drops GIT_CONFIG_COUNT, so a global file.
        std::fs::write(
            wd.path().parent().expect("dir").join("gitconfig"),
            "[safe]\n\tdirectory = *\n",
        )
        .expect("write gitconfig");
        // Their gpg-agents were started by root: stop them, then hand
        // everything over.
        let _ = user.gpg(&["--batch", "--version"]);
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", user.gnupghome())
            .status();
        give(user.scratch_dir(), account.uid);
        give(
            wd.path().parent().expect("the clone's directory"),
            account.uid,
        );
    }
    let as_user = |i: usize, script: &str| {
        let wd = &clones[i];
        let mut cmd = wd.command("setpriv");
        cmd.arg(format!("--reuid={}", accounts[i].uid))
            .arg(format!("--regid={gid}"))
            .arg("--init-groups")
            .args(["sh", "-c"])
            .arg(format!("umask 022\n{script}"))
            .env(
                "GIT_CONFIG_GLOBAL",
                wd.path().parent().expect("dir").join("gitconfig"),
            );
        gitapps_tests::run(cmd, None)
    };
    // Turns, each one push: enough for new object fan-out directories
    // (made by whoever writes there first) to be written by the other.
    for round in 0..12 {
        let i = round % 2;
        let out = as_user(
            i,
            &format!(
                "set -e\ngit pull -q --ff-only origin main\necho r{round} > README\ngit commit -qam {round}\ngit push -q --signed origin HEAD:main"
            ),
        );
        assert!(
            out.success(),
            "{}'s push {round} failed:\n{out}",
            accounts[i].name
        );
    }
    assert_eq!(server.push_cert_count(), 3 + 12);
    let mut wrong = Vec::new();
    not_shared(server.path(), gid, &mut wrong);
    assert!(
        wrong.is_empty(),
        "not writable by the group:\n{}",
        wrong.join("\n")
    );
}

//! The `git` and `gpg` command lines: used only for transport (fetch, push), signing,
//! and the few things git does best (diff, range-diff, merge-tree, checkout).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::Fingerprint;
use crate::{Error, Result};

/// Runs `git` in one repository.
#[derive(Clone, Debug)]
pub struct Git {
    dir: PathBuf,
}

/// A finished `git push --porcelain` or `git fetch`: exit status and output.
#[derive(Debug)]
pub struct Finished {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Git {
    pub fn new(dir: impl Into<PathBuf>) -> Git {
        Git { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `git clone --quiet --no-checkout --shared SOURCE DEST`: a clone that
    /// borrows `source`'s objects (a scratch checkout of a revision).
    pub fn clone_shared(source: &Path, dest: &Path) -> Result<()> {
        let mut cmd = Command::new("git");
        cmd.args(["clone", "--quiet", "--no-checkout", "--shared"])
            .arg(source)
            .arg(dest);
        let git = Git::new(dest);
        let (cmd, out) = git.output_of(cmd);
        let out = out?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Command {
                command: describe(&cmd),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// A `git` command running in the repository.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir).args(args);
        cmd
    }

    /// Run `git args…`, capturing its output.
    pub fn output<I, S>(&self, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.output_of(self.command(args)).1
    }

    /// Run `cmd` with no stdin, capturing its output; the command is kept
    /// for messages.
    fn output_of(&self, mut cmd: Command) -> (Command, Result<Output>) {
        cmd.stdin(Stdio::null());
        let out = cmd_output(&mut cmd);
        let out = describe_spawn(&cmd, out);
        (cmd, out)
    }

    /// Run `git args…` and return its stdout, or fail with its stderr.
    pub fn run<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (cmd, out) = self.output_of(self.command(args));
        let out = out?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::Command {
                command: describe(&cmd),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// A `git` command for the transport: its messages in English whatever the
    /// user's locale (`LC_ALL=C`), for the few the tools must read.
    fn transport(&self, args: &[String]) -> Command {
        let mut cmd = self.command(args);
        cmd.env("LC_ALL", "C").env_remove("LANGUAGE");
        cmd
    }

    fn finish(&self, cmd: Command) -> Result<Finished> {
        let (_, out) = self.output_of(cmd);
        let out = out?;
        Ok(Finished {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    /// `git fetch --prune --no-tags` with explicit refspecs, whatever the outcome.
    pub fn fetch(&self, remote: &str, refspecs: &[String]) -> Result<Finished> {
        let mut args: Vec<String> = [
            "fetch",
            "--quiet",
            "--prune",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-auto-gc",
            "--no-recurse-submodules",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(remote.to_owned());
        args.extend(refspecs.iter().cloned());
        self.finish(self.transport(&args))
    }

    /// Which of `refs` (full names) the remote has: `git ls-remote`.
    pub fn remote_refs(&self, remote: &str, refs: &[String]) -> Result<Vec<String>> {
        let mut args = vec!["ls-remote".to_owned(), remote.to_owned()];
        args.extend(refs.iter().cloned());
        let done = self.finish(self.transport(&args))?;
        if !done.success {
            return Err(Error::Transport {
                remote: remote.to_owned(),
                detail: done.stderr,
            });
        }
        Ok(done
            .stdout
            .lines()
            .filter_map(|l| l.split_once('\t').map(|(_, name)| name.to_owned()))
            .collect())
    }

    /// `git push --signed --porcelain [--atomic] remote refspecs…`, whatever the outcome.
    pub fn push_signed(&self, remote: &str, refspecs: &[String]) -> Result<Finished> {
        let mut args: Vec<String> = ["push", "--signed", "--porcelain", "--no-progress"]
            .map(str::to_owned)
            .to_vec();
        if refspecs.len() > 1 {
            args.push("--atomic".to_owned());
        }
        args.push(remote.to_owned());
        args.extend(refspecs.iter().cloned());
        self.finish(self.transport(&args))
    }
}

fn cmd_output(cmd: &mut Command) -> std::io::Result<Output> {
    cmd.output()
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    let mut args = cmd.get_args().peekable();
    // Leave out `-C <dir>`.
    if args.peek().is_some_and(|a| *a == "-C") {
        args.next();
        args.next();
    }
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn describe_spawn(cmd: &Command, r: std::io::Result<Output>) -> Result<Output> {
    r.map_err(|e| Error::Command {
        command: describe(cmd),
        detail: e.to_string(),
    })
}

/// Sign a few bytes with `key` as git would sign a push certificate
/// (`gpg -bsau KEY`): the error says why gpg cannot, when it cannot.
pub fn gpg_can_sign(gpg: &str, key: &str) -> Result<()> {
    use std::io::Write;
    let mut cmd = Command::new(gpg);
    cmd.args(["--batch", "--no-tty", "--status-fd=2", "-bsau", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let failed = |detail: String| Error::Gpg {
        key: key.to_owned(),
        detail,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| failed(format!("cannot run {gpg}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"git mr: can this key sign?\n");
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("{gpg}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("[GNUPG:]"))
            .collect();
        Err(failed(detail.join("\n").trim().to_owned()))
    }
}

/// `gpg --batch ARGS… KEY`, its output captured (no stdin); a gpg that cannot
/// run is an error about `key`.
fn gpg_output(gpg: &str, key: &str, args: &[&str]) -> Result<Output> {
    let mut cmd = Command::new(gpg);
    cmd.arg("--batch").args(args).arg(key).stdin(Stdio::null());
    let out = cmd.output();
    describe_spawn(&cmd, out).map_err(|e| Error::Gpg {
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

/// `gpg --armor --export` of `key`, minimal (self-signatures only: what the
/// server's keyring needs, and small).
pub fn gpg_export(gpg: &str, key: &str) -> Result<Vec<u8>> {
    let out = gpg_output(
        gpg,
        key,
        &["--armor", "--export-options", "export-minimal", "--export"],
    )?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(Error::Gpg {
            key: key.to_owned(),
            detail: format!(
                "gpg exported nothing: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out.stdout)
}

/// The primary key fingerprint of `key` (a key id, fingerprint or user id), as gpg knows it.
pub fn gpg_fingerprint(gpg: &str, key: &str) -> Result<Fingerprint> {
    let out = gpg_output(gpg, key, &["--with-colons", "--fingerprint"])?;
    if !out.status.success() {
        return Err(Error::Gpg {
            key: key.to_owned(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    parse_colons_fingerprint(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| Error::Gpg {
        key: key.to_owned(),
        detail: "no primary key in gpg's answer".to_owned(),
    })
}

/// The `fpr` line that follows the first `pub` line of `gpg --with-colons`.
/// Several primary keys matching is an error (the key is ambiguous).
fn parse_colons_fingerprint(out: &str) -> Option<Fingerprint> {
    let mut found = Vec::new();
    let mut after_pub = false;
    for line in out.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.first().copied() {
            Some("pub") => after_pub = true,
            Some("fpr") if after_pub => {
                if let Some(f) = fields.get(9).and_then(|f| Fingerprint::parse(f).ok()) {
                    found.push(f);
                }
                after_pub = false;
            }
            Some("sub") | Some("ssb") | Some("sec") => after_pub = false,
            _ => {}
        }
    }
    found.dedup();
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colons() {
        let out = "tru::1:1:0:0:0:0\npub:u:255:22:AAAABBBBCCCCDDDD:1:::u:::scESC:::::ed25519:::0:\nfpr:::::::::0123456789ABCDEF0123456789ABCDEF01234567:\nuid:u::::1::X::Alice <a@x>::::::::::0:\nsub:u:255:18:1111:1::::::e:::::cv25519::\nfpr:::::::::FFFF56789ABCDEF0123456789ABCDEF01234567:\n";
        assert_eq!(
            parse_colons_fingerprint(out).unwrap().as_str(),
            "0123456789ABCDEF0123456789ABCDEF01234567"
        );
        let two = format!(
            "{out}{}",
            out.replace("0123456789ABCDEF", "1123456789ABCDEF")
        );
        assert!(parse_colons_fingerprint(&two).is_none());
    }
}

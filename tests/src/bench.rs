//! What the benchmarks (`tests/benches/`) share: timing commands, medians of
//! alternating runs, and fixtures written with `git fast-import`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sealed_command;

/// `key` from the environment as a number, else `default`.
pub fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run `cmd`, which must succeed; its output.
#[track_caller]
pub fn check(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Time one run of `cmd`, its output discarded; it must succeed.
#[track_caller]
pub fn time(cmd: &mut Command) -> Duration {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().expect("spawn");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// The median (the upper one of an even count).
pub fn median(samples: &[Duration]) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// In milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `measure(target, round)` for every target in every round, the
/// order rotated each round so that no target always runs first (or right
/// after the same neighbour); returns each target's samples.
pub fn alternate(
    targets: usize,
    rounds: usize,
    mut measure: impl FnMut(usize, usize) -> Duration,
) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::with_capacity(rounds); targets];
    for round in 0..rounds {
        for k in 0..targets {
            let t = (k + round) % targets;
            samples[t].push(measure(t, round));
        }
    }
    samples
}

/// Feed `stream` to `git fast-import` in the repository `git_dir`.
pub fn fast_import(git_dir: &Path, home: &Path, stream: &[u8]) {
    let mut child = sealed_command("git", home, None)
        .arg("--git-dir")
        .arg(git_dir)
        .args(["fast-import", "--quiet", "--force"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream)
        .expect("feed fast-import");
    assert!(child.wait().expect("wait").success(), "fast-import failed");
}

/// A fast-import stream, written with marks counted for the caller.
#[derive(Default)]
pub struct Stream {
    pub bytes: Vec<u8>,
    marks: usize,
}

impl Stream {
    /// A blob; its mark.
    pub fn blob(&mut self, content: &[u8]) -> usize {
        self.marks += 1;
        write!(
            self.bytes,
            "blob\nmark :{}\ndata {}\n",
            self.marks,
            content.len()
        )
        .expect("write");
        self.bytes.extend_from_slice(content);
        self.bytes.push(b'\n');
        self.marks
    }

    /// A commit on `refname` of `files` (mode, blob mark, path) on top of
    /// `from` (a ref, a mark `:N` or an id; `None` for a root commit, whose
    /// tree is only `files`); its mark.
    pub fn commit(
        &mut self,
        refname: &str,
        from: Option<&str>,
        files: &[(&str, usize, String)],
        message: &str,
    ) -> usize {
        self.marks += 1;
        write!(
            self.bytes,
            "commit {refname}\nmark :{}\ncommitter Bench <bench@example.org> {} +0000\ndata {}\n{message}\n",
            self.marks,
            1_700_000_000 + self.marks,
            message.len()
        )
        .expect("write");
        if let Some(from) = from {
            writeln!(self.bytes, "from {from}").expect("write");
        }
        for (mode, mark, path) in files {
            writeln!(self.bytes, "M {mode} :{mark} {path}").expect("write");
        }
        self.bytes.push(b'\n');
        self.marks
    }
}

/// A bare repository at `dir` whose main has `files` files spread over
/// `dirs` directories (`dNNN/fNNNNN.txt`), made with `git fast-import`.
pub fn seed_repo(dir: &Path, home: &Path, files: usize, dirs: usize) {
    check(
        sealed_command("git", home, None)
            .args(["init", "-q", "--bare"])
            .arg(dir),
    );
    fast_import(dir, home, &main_stream(files, dirs).bytes);
}

/// The fast-import stream of [`seed_repo`]'s main.
pub fn main_stream(files: usize, dirs: usize) -> Stream {
    let mut stream = Stream::default();
    let entries: Vec<(&str, usize, String)> = (0..files)
        .map(|i| {
            let mark = stream.blob(format!("file {i}\n").as_bytes());
            ("100644", mark, main_file(i, dirs))
        })
        .collect();
    stream.commit("refs/heads/main", None, &entries, "seed");
    stream
}

/// The path of file `i` of [`seed_repo`]'s main.
pub fn main_file(i: usize, dirs: usize) -> String {
    format!("d{:03}/f{:05}.txt", i % dirs.max(1), i)
}

/// The owner of `forge` runs `git mr init`, pushes a branch `feature` of one
/// commit and opens a merge request of it on `main` (after
/// [`crate::Forge::push_main`]); its name, `<FPR>/1`.
pub fn owner_merge_request(forge: &crate::Forge) -> String {
    let owner = forge.owner();
    owner.mr(&["init"]);
    owner.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::write(owner.clone.join("f.txt"), "f\n").expect("write");
    owner.git(&["add", "f.txt"]);
    owner.git(&["commit", "-q", "-m", "f"]);
    owner.mr(&[
        "create",
        "-t",
        "Busy",
        "-m",
        "Comment here.",
        "--target",
        "main",
    ]);
    format!("{}/1", owner.fpr)
}

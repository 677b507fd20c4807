//! `peak-rss PROGRAM ARGS…`: run a program and write its peak resident
//! memory, in bytes, to the file named by `PEAK_RSS_FILE`.
//!
//! The test harness measures the hook through this small process rather
//! than directly: a child forked from a large test binary starts with the
//! test's pages resident, and Linux counts them in the child's peak until
//! it exits, exec or not. A child of this process starts small.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(program), Some(out)) = (args.next(), std::env::var_os("PEAK_RSS_FILE")) else {
        eprintln!("usage: PEAK_RSS_FILE=FILE peak-rss PROGRAM ARGS…");
        return ExitCode::from(2);
    };
    let status = match Command::new(&program)
        .args(args)
        .env_remove("PEAK_RSS_FILE")
        .status()
    {
        Ok(status) => status,
        Err(e) => {
            eprintln!("peak-rss: cannot run {}: {e}", program.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    // SAFETY: an all-zero rusage is a valid value of that plain C struct,
    // and getrusage only writes to it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    // Linux reports KiB.
    let bytes = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    if let Err(e) = std::fs::write(&out, bytes.to_string()) {
        eprintln!("peak-rss: cannot write {}: {e}", out.to_string_lossy());
        return ExitCode::from(2);
    }
    match status.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::from(1),
    }
}

//! `git-mr`: the merge-requests app's command line (`git mr …` once on PATH).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

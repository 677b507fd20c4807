//! `git-issue`: what makes `git issue …` work. The work is in `git_issue`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

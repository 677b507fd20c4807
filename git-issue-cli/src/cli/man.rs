//! Shell completions and manual pages, generated from the clap definitions.

use std::io::Write;
use std::path::Path;

use clap::Command;

use super::CommandResult;

const BIN: &str = "git-issue";

pub fn completions(mut cmd: Command, shell: clap_complete::Shell) -> CommandResult {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut script);
    if shell == clap_complete::Shell::Bash {
        script.extend(git_bash_function(&cmd, "_git_issue").into_bytes());
    }
    // A closed pipe (`| head`) is the reader's choice, not an error.
    let _ = std::io::stdout().write_all(&script);
    Ok(())
}

/// The function git's own bash completion calls for `git issue <TAB>`.
fn git_bash_function(cmd: &Command, name: &str) -> String {
    let subcommands: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    let global = long_options(cmd);
    let mut out = format!(
        "\n{name} ()\n{{\n\tlocal subcommands=\"{}\"\n",
        subcommands.join(" ")
    );
    out.push_str("\tlocal subcommand=\"$(__git_find_on_cmdline \"$subcommands\")\"\n");
    out.push_str("\tif [ -z \"$subcommand\" ]; then\n\t\tcase \"$cur\" in\n");
    out.push_str(&format!("\t\t--*) __gitcomp \"{}\" ;;\n", global.join(" ")));
    out.push_str("\t\t*) __gitcomp \"$subcommands\" ;;\n\t\tesac\n\t\treturn\n\tfi\n\tcase \"$subcommand,$cur\" in\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut options = long_options(sub);
        options.extend(global.iter().cloned());
        out.push_str(&format!(
            "\t{},--*) __gitcomp \"{}\" ;;\n",
            sub.get_name(),
            options.join(" ")
        ));
    }
    out.push_str("\tesac\n}\n");
    out
}

fn long_options(cmd: &Command) -> Vec<String> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| {
            let long = a.get_long()?;
            Some(if a.get_action().takes_values() {
                format!("--{long}=")
            } else {
                format!("--{long}")
            })
        })
        .collect()
}

/// `git-issue.1` and one `git-issue-<verb>.1` per verb, into `dir`.
pub fn write_pages(cmd: Command, dir: &Path) -> CommandResult {
    std::fs::create_dir_all(dir)?;
    let cmd = cmd.name(BIN).bin_name(BIN);
    let mut written = Vec::new();
    let mut render = |page: Command, name: String| -> CommandResult {
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.to_uppercase())
            .render(&mut buf)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, buf)?;
        written.push(path);
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let page = sub
            .clone()
            .bin_name(format!("git issue {}", sub.get_name()));
        render(page, format!("{BIN}-{}", sub.get_name()))?;
    }
    render(cmd, BIN.to_owned())?;
    let mut stdout = std::io::stdout().lock();
    for p in written {
        writeln!(stdout, "{}", p.display())?;
    }
    Ok(())
}

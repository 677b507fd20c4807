//! Shell completions and manual pages, generated from the clap definitions so
//! they never drift from the real options.
//!
//! Bash: clap's script completes `git-mr …`; git's own completion (which
//! handles `git mr …`) calls a function `_git_mr` when there is one, so that is
//! written too, using git's helpers (`__gitcomp`, `__git_find_on_cmdline`,
//! `__git_complete_refs`).

use std::io::Write;
use std::path::Path;

use clap::Command;

use super::CommandResult;

/// The `_git_mr` function for git's bash completion.
pub fn git_bash_function(cmd: &Command) -> String {
    let subcommands: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    let global: Vec<String> = long_options(cmd);
    let mut out = String::from(
        "\n# `git mr <TAB>` under git's own bash completion (which calls _git_mr).\n_git_mr ()\n{\n",
    );
    out.push_str(&format!(
        "\tlocal subcommands=\"{}\"\n",
        subcommands.join(" ")
    ));
    out.push_str("\tlocal subcommand=\"$(__git_find_on_cmdline \"$subcommands\")\"\n");
    out.push_str("\tif [ -z \"$subcommand\" ]; then\n\t\tcase \"$cur\" in\n");
    out.push_str(&format!("\t\t--*) __gitcomp \"{}\" ;;\n", global.join(" ")));
    out.push_str("\t\t*) __gitcomp \"$subcommands\" ;;\n\t\tesac\n\t\treturn\n\tfi\n");
    out.push_str("\tcase \"$subcommand,$cur\" in\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut options = long_options(sub);
        options.extend(global.iter().cloned());
        out.push_str(&format!(
            "\t{},--*) __gitcomp \"{}\" ;;\n",
            sub.get_name(),
            options.join(" ")
        ));
        // Verbs that take a revision complete refs.
        let takes_rev = sub.get_positionals().any(|a| a.get_id().as_str() == "rev");
        if takes_rev {
            out.push_str(&format!("\t{},*) __git_complete_refs ;;\n", sub.get_name()));
        }
    }
    out.push_str("\tesac\n}\n");
    out
}

/// `--name` (or `--name=` when it takes a value) for each long option.
fn long_options(cmd: &Command) -> Vec<String> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| {
            let long = a.get_long()?;
            let takes_value = a.get_action().takes_values();
            Some(if takes_value {
                format!("--{long}=")
            } else {
                format!("--{long}")
            })
        })
        .collect()
}

/// Write `git-mr.1` and one `git-mr-<verb>.1` per verb into `dir` (what `man
/// git-mr`, hence `git mr --help`, shows).
pub fn write_man_pages(cmd: Command, dir: &Path) -> CommandResult {
    std::fs::create_dir_all(dir)?;
    let cmd = cmd.name("git-mr").bin_name("git-mr");
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
        let name = format!("git-mr-{}", sub.get_name());
        let page = sub.clone().bin_name(format!("git mr {}", sub.get_name()));
        render(page, name)?;
    }
    render(cmd, "git-mr".to_owned())?;
    let mut stdout = std::io::stdout().lock();
    for p in written {
        writeln!(stdout, "{}", p.display())?;
    }
    Ok(())
}

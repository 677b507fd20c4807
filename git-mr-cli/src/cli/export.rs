//! `git mr export --html DIR`: a static web view of the merge requests, for people
//! without git. The pages are rendered by [`super::html`]; this writes them.

use std::path::{Path, PathBuf};

use git_mr::store::Depth;

use super::{html, CommandError, CommandResult, Ctx};

/// Write the merge requests as a static web site (for people without git).
#[derive(clap::Args)]
#[command(
    long_about = "Write the merge requests as a small static web site, for people without git.\n\n\
Fetches first (unless GITAPPS_OFFLINE=1), then writes into DIR:\n  \
index.html            every merge request (open, merged, closed) with its state, CI status,\n                        \
labels, author, number of revisions and age\n  \
mr/<FPR>-<n>.html     one page per merge request: title, target, labels, revisions with\n                        \
their commit ids, and every comment in date order (CI results show\n                        \
their CI-Status)\n  \
style.css             the one stylesheet\n\n\
Links are relative and the pages need no JavaScript, so any web server (or a browser\n\
opening index.html from disk) can serve DIR as it is. Titles, comments, labels and names\n\
are written by any user: they are HTML-escaped, and each page's Content-Security-Policy\n\
allows nothing but the stylesheet.\n\n\
The site is a snapshot: run the export again after changes (e.g. from cron). Files of\n\
the site are replaced one by one (write, then rename), so a server never sends half a\n\
page; nothing else in DIR is touched.",
    after_help = "Examples:\n  \
git mr export --html public/\n  \
python3 -m http.server --directory public/      # have a look: http://localhost:8000/\n  \
rsync -a public/ www.example.org:/var/www/merge-requests/\n  \
*/10 * * * *  cd /srv/mirror/project && git mr export --html /var/www/mr   # crontab"
)]
pub struct Args {
    /// The directory to write the site into (created when missing).
    #[arg(long, value_name = "DIR")]
    html: PathBuf,
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    // The targets come in the same fetch: each revision is diffed against its
    // merge base with its target.
    let targets = match ctx.forge.snapshot(Depth::Summary) {
        Ok(s) => {
            let mut t: Vec<String> = s.mrs.iter().map(|m| m.target.clone()).collect();
            t.sort();
            t.dedup();
            t.retain(|t| !t.is_empty());
            t
        }
        Err(_) => Vec::new(),
    };
    ctx.refresh_with(&targets);
    let snapshot = ctx.snapshot(Depth::Full)?;
    let people = ctx.people()?;
    let now = git_mr::clock::now()?;
    let diffs = revision_diffs(ctx, &snapshot, &people);
    let files = html::site(&html::Context {
        snapshot: &snapshot,
        people: &people,
        now,
        diffs: &diffs,
    });
    let dir = &args.html;
    for f in &files {
        write_replacing(&dir.join(&f.path), f.contents.as_bytes())?;
    }
    let n = snapshot.mrs.len();
    ctx.ui.note(&format!(
        "exported {n} merge request{} to {}",
        if n == 1 { "" } else { "s" },
        dir.display()
    ));
    println!("{}", dir.join(html::INDEX).display());
    Ok(())
}

/// Every revision's diff against its base (one `git diff` each), or why not.
fn revision_diffs(
    ctx: &Ctx,
    snapshot: &git_mr::Snapshot,
    people: &git_mr::people::People,
) -> html::Diffs {
    let mut diffs = html::Diffs::new();
    for mr in &snapshot.mrs {
        for r in &mr.revisions {
            let diff = (|| -> git_mr::Result<Vec<git_mr::diff::FileDiff>> {
                let head = git_mr::diff::revision_commit(&ctx.forge, mr, r.number)?;
                let base = git_mr::diff::revision_base(&ctx.forge, mr, people, head)?;
                let text = git_mr::diff::unified(&ctx.forge, base, head, None)?;
                Ok(git_mr::diff::parse(&text))
            })();
            diffs.insert((mr.id.clone(), r.number), diff.map_err(|e| e.to_string()));
        }
    }
    diffs
}

/// Write `path` through a temporary file next to it and a rename, so that a web server
/// reading the directory meanwhile sees the old page or the new one, never half of one.
fn write_replacing(path: &Path, contents: &[u8]) -> CommandResult {
    let cannot = |what: &str, p: &Path, e: std::io::Error| {
        CommandError::user(format!("cannot {what} {}: {e}", p.display()))
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| cannot("create", parent, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, contents).map_err(|e| cannot("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        cannot("write", path, e)
    })
}

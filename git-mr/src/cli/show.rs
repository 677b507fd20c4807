//! `git mr show`.

use git_mr::people::People;
use git_mr::store::Depth;
use git_mr::{Comment, MergeRequest};
use serde_json::{json, Map, Value};

use super::{list, ui, CommandResult, Ctx, Found};

/// Show a merge request with its comments.
#[derive(clap::Args)]
pub struct Args {
    /// <who>/<n> or <n>.
    mr: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn comment_json(c: &Comment, people: &People) -> Value {
    let headers: Map<String, Value> = c
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "author": c.author.to_string(),
        "author_name": ui::name_json(people, &c.author),
        "index": c.index,
        "date": git_mr::clock::format(&c.date),
        "revision": c.revision(),
        "in_reply_to": c.header(git_mr::model::header::IN_REPLY_TO),
        // A CI result only from the `ci` group; anyone else's is in `headers` only.
        "ci_status": c.header(git_mr::model::header::CI_STATUS).filter(|_| people.is_ci(&c.author)),
        "headers": headers,
        "body": c.body,
    })
}

pub fn show_json(mr: &MergeRequest, people: &People) -> Value {
    let mut v = list::summary_json(mr, people);
    let obj = v.as_object_mut().expect("summary_json makes an object");
    obj.insert(
        "description".into(),
        Value::String(mr.description().map(|c| c.body.clone()).unwrap_or_default()),
    );
    obj.insert(
        "revision_commits".into(),
        Value::Array(
            mr.revisions
                .iter()
                .map(|r| json!({"number": r.number, "commit": r.commit}))
                .collect(),
        ),
    );
    obj.insert(
        "comments".into(),
        Value::Array(
            mr.comments
                .iter()
                .map(|c| comment_json(c, people))
                .collect(),
        ),
    );
    v
}

pub fn run(ctx: &Ctx, args: Args) -> CommandResult {
    let Found {
        snapshot,
        people,
        id,
    } = ctx.find(&args.mr, Depth::Full)?;
    let mr = snapshot.get(&id).expect("resolved ids exist");
    if args.json {
        return ctx.ui.json(&show_json(mr, &people));
    }
    let now = git_mr::clock::now()?;
    let mut out = String::new();
    out.push_str(&format!(
        "{} {}  [{}]\n",
        ctx.ui.bold(&ui::short_id(mr)),
        ctx.ui.bold(&mr.title),
        ctx.ui.state(mr.state())
    ));
    out.push_str(&format!("id:        {}\n", mr.id));
    out.push_str(&format!(
        "author:    {}\n",
        ui::clean(&people.display(&mr.id.author))
    ));
    out.push_str(&format!("target:    {}\n", ui::clean(&mr.target)));
    let revs: Vec<String> = mr
        .revisions
        .iter()
        .map(|r| format!("v{} {}", r.number, &r.commit[..r.commit.len().min(12)]))
        .collect();
    out.push_str(&format!("revisions: {}\n", revs.join(", ")));
    out.push_str(&format!(
        "labels:    {}\n",
        ui::clean(&mr.labels.join(", "))
    ));
    if let Some(ci) = mr.ci_status() {
        out.push_str(&format!("ci:        {}\n", ctx.ui.ci(Some(ci))));
    }
    if let Some(created) = mr.created() {
        out.push_str(&format!(
            "created:   {} ({})\n",
            git_mr::clock::format(&created),
            ui::age(created, now)
        ));
    }
    if let Some(d) = mr.description() {
        if !d.body.trim().is_empty() {
            out.push('\n');
            for line in ui::clean(&d.body).lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    for c in mr
        .comments
        .iter()
        .filter(|c| !(c.index == 0 && c.author == mr.id.author))
    {
        let mut meta = format!(
            "{} · comment {}/{} · {}",
            people.display(&c.author),
            c.author.short(),
            c.index,
            git_mr::clock::format(&c.date)
        );
        if let Some(r) = c.revision() {
            meta.push_str(&format!(" · v{r}"));
        }
        if let Some(r) = c.header(git_mr::model::header::IN_REPLY_TO) {
            meta.push_str(&format!(" · reply to {}", short_ref(r)));
        }
        // Only the `ci` group reports CI: anyone else's CI-* headers are shown
        // as what they are, headers of an ordinary comment, under it.
        let from_ci = people.is_ci(&c.author);
        let mut extra = Vec::new();
        for (k, v) in &c.headers {
            let known = [
                git_mr::model::header::DATE,
                git_mr::model::header::REVISION,
                git_mr::model::header::IN_REPLY_TO,
            ]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h));
            if from_ci && k.starts_with("CI-") {
                meta.push_str(&format!(" · CI result {k}: {v}"));
            } else if !known {
                extra.push(format!("{k}: {v}"));
            }
        }
        out.push_str(&format!("\n{}\n", ctx.ui.dim(&format!("--- {meta}"))));
        for h in extra {
            out.push_str(&format!("    [{}]\n", ui::clean_line(&h)));
        }
        for line in ui::clean(&c.body).lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    ui::print(&out)?;
    Ok(())
}

/// `<FPR>/<k>` shortened to the 8-digit prefix; anything else (the header
/// is written by anyone) as it is.
fn short_ref(r: &str) -> String {
    match r.split_once('/') {
        Some((a, k)) if a.len() > 8 && a.is_ascii() => format!("{}/{k}", &a[..8]),
        _ => r.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::short_ref;

    #[test]
    fn short_ref_never_cuts_inside_a_character() {
        let fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
        assert_eq!(short_ref(&format!("{fpr}/3")), "01234567/3");
        // The header is anyone's text: no panic on multi-byte characters.
        assert_eq!(short_ref("aéééééé/0"), "aéééééé/0");
        assert_eq!(short_ref("no slash"), "no slash");
    }
}

//! The comment a result becomes.

use std::time::Duration;

use git_mr::model::header;

use crate::job::Outcome;

/// How long a job took, in seconds with one decimal: `12.3s`.
pub const CI_DURATION: &str = "CI-Duration";
/// The commit that was tested.
pub const CI_COMMIT: &str = "CI-Commit";

/// The headers (after `Date`) and the body of a result comment.
pub fn comment(
    revision: u32,
    commit: &str,
    command: &str,
    outcome: &Outcome,
    log_tail_lines: usize,
) -> (Vec<(String, String)>, String) {
    let headers = vec![
        (header::REVISION.to_owned(), revision.to_string()),
        (
            header::CI_STATUS.to_owned(),
            outcome.status.as_str().to_owned(),
        ),
        (header::CI_COMMAND.to_owned(), one_line(command)),
        (CI_DURATION.to_owned(), seconds(outcome.duration)),
        (CI_COMMIT.to_owned(), commit.to_owned()),
    ];
    let short = &commit[..commit.len().min(12)];
    let mut body = format!(
        "CI {} on revision {revision} ({short}) in {}: {}.\n",
        outcome.status.as_str(),
        seconds(outcome.duration),
        outcome.detail
    );
    if command.contains('\n') {
        body.push_str(&format!("\nThe command:\n\n{}", fenced(command)));
    }
    if outcome.log_tail.is_empty() {
        body.push_str("\nThe command printed nothing.\n");
    } else {
        let shown = outcome.log_tail.lines().count();
        let what = if shown >= log_tail_lines {
            format!("The last {shown} lines of the log")
        } else {
            "The log".to_owned()
        };
        body.push_str(&format!("\n{what}:\n\n{}", fenced(&outcome.log_tail)));
    }
    (headers, body)
}

/// A header value on one line: line breaks written as `\n`.
pub fn one_line(s: &str) -> String {
    s.trim_end_matches('\n')
        .replace('\\', "\\\\")
        .replace('\r', "")
        .replace('\n', "\\n")
}

pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// `text` in a Markdown code fence longer than any run of backticks inside it.
fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let mut out = format!("{fence}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Status;

    #[test]
    fn a_result_comment() {
        let outcome = Outcome {
            status: Status::Fail,
            duration: Duration::from_millis(1234),
            detail: "exit code 1".into(),
            log_tail: "a ``` b\nend\n".into(),
        };
        let (headers, body) = comment(2, &"ab".repeat(20), "test -f ok", &outcome, 2);
        assert_eq!(
            headers,
            vec![
                ("Revision".to_owned(), "2".to_owned()),
                ("CI-Status".to_owned(), "fail".to_owned()),
                ("CI-Command".to_owned(), "test -f ok".to_owned()),
                ("CI-Duration".to_owned(), "1.2s".to_owned()),
                ("CI-Commit".to_owned(), "ab".repeat(20)),
            ]
        );
        assert_eq!(
            body,
            "CI fail on revision 2 (abababababab) in 1.2s: exit code 1.\n\n\
             The last 2 lines of the log:\n\n````\na ``` b\nend\n````\n"
        );
    }

    #[test]
    fn multi_line_commands() {
        assert_eq!(one_line("a\nb \\ c\n"), "a\\nb \\\\ c");
        let outcome = Outcome {
            status: Status::Pass,
            duration: Duration::ZERO,
            detail: "exit code 0".into(),
            log_tail: String::new(),
        };
        let (_, body) = comment(1, "abc", "a\nb", &outcome, 5);
        assert!(body.contains("The command:\n\n```\na\nb\n```\n"), "{body}");
        assert!(body.ends_with("The command printed nothing.\n"), "{body}");
    }
}

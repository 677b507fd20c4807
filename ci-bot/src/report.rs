//! The comment a result becomes.

use std::time::Duration;

use git_mr::model::header;

use crate::job::Outcome;

/// How long a job took, in seconds with one decimal: `12.3s`.
pub const CI_DURATION: &str = "CI-Duration";
/// The commit that was tested.
pub const CI_COMMIT: &str = "CI-Commit";

/// The longest `CI-Command` header, in bytes (the command is in the body in full,
/// when there is room).
const MAX_COMMAND_HEADER: usize = 1024;
/// Room kept for the `Date:` line, which `git_mr` writes when it posts.
const DATE_LINE: usize = "Date: 2026-11-26T11:00:00Z\n".len() + 16;

/// What a result comment says.
pub struct Report<'a> {
    pub revision: u32,
    pub commit: &'a str,
    pub command: &'a str,
    pub outcome: &'a Outcome,
    pub log_tail_lines: usize,
    /// After the standard headers (`CI-Claim`, `CI-Retry`).
    pub extra_headers: Vec<(String, String)>,
    /// The whole comment file stays within this many bytes (the data branch's size
    /// cap): the log's tail gives way first, then the command in the body.
    pub max_bytes: usize,
}

impl Report<'_> {
    /// The headers (after `Date`) and the body.
    pub fn comment(&self) -> (Vec<(String, String)>, String) {
        let outcome = self.outcome;
        let mut headers = vec![
            (header::REVISION.to_owned(), self.revision.to_string()),
            (
                header::CI_STATUS.to_owned(),
                outcome.status.as_str().to_owned(),
            ),
            (
                header::CI_COMMAND.to_owned(),
                cut_end(&one_line(self.command), MAX_COMMAND_HEADER),
            ),
            (CI_DURATION.to_owned(), seconds(outcome.duration)),
            (CI_COMMIT.to_owned(), self.commit.to_owned()),
        ];
        headers.extend(self.extra_headers.iter().cloned());
        let short = &self.commit[..self.commit.len().min(12)];
        let intro = format!(
            "CI {} on revision {} ({short}) in {}: {}.\n",
            outcome.status.as_str(),
            self.revision,
            seconds(outcome.duration),
            outcome.detail
        );
        let command_block = if self.command.contains('\n') {
            format!("\nThe command:\n\n{}", fenced(self.command))
        } else {
            String::new()
        };
        let header_bytes: usize = DATE_LINE
            + headers
                .iter()
                .map(|(k, v)| k.len() + 2 + v.len() + 1)
                .sum::<usize>()
            + 1;
        let budget = self.max_bytes.saturating_sub(header_bytes);
        let log = |tail: &str, cut: bool| -> String {
            if tail.is_empty() {
                return "\nThe command printed nothing.\n".to_owned();
            }
            let shown = tail.lines().count();
            let what = if cut {
                format!(
                    "The end of the log (cut to fit in {} bytes)",
                    self.max_bytes
                )
            } else if shown >= self.log_tail_lines {
                format!("The last {shown} lines of the log")
            } else {
                "The log".to_owned()
            };
            format!("\n{what}:\n\n{}", fenced(tail))
        };
        let tail = outcome.log_tail.as_str();
        let full = format!("{intro}{command_block}{}", log(tail, false));
        if full.len() <= budget {
            return (headers, full);
        }
        // Too big: keep as much of the log's end as fits, after the command if it
        // fits with some log, else without it.
        for head in [format!("{intro}{command_block}"), intro.clone()] {
            let fits = |keep: usize| {
                let t = tail_bytes(tail, keep);
                head.len() + log(t, true).len() <= budget
            };
            if !fits(0) && !fits(1) {
                continue;
            }
            // The longest kept end that fits (the body grows with it).
            let (mut lo, mut hi) = (0, tail.len());
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if fits(mid) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            if lo > 0 || head.len() == intro.len() {
                let body = format!("{head}{}", log(tail_bytes(tail, lo), true));
                return (headers, body);
            }
        }
        (headers, cut_end(&intro, budget))
    }
}

/// The end of `text`, at most `keep` bytes, starting at a line when it was cut
/// (unless that would throw away most of it: a log of one huge line).
pub fn tail_bytes(text: &str, keep: usize) -> &str {
    if keep >= text.len() {
        return text;
    }
    let mut start = text.len() - keep;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let rest = &text[start..];
    match rest.split_once('\n') {
        Some((_, after)) if after.len() >= rest.len() / 2 => after,
        _ => rest,
    }
}

/// `s` cut to at most `max` bytes, at a character boundary, marked with `…`.
fn cut_end(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
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

    fn report<'a>(
        commit: &'a str,
        command: &'a str,
        outcome: &'a Outcome,
        log_tail_lines: usize,
        max_bytes: usize,
    ) -> Report<'a> {
        Report {
            revision: if commit == "abc" { 1 } else { 2 },
            commit,
            command,
            outcome,
            log_tail_lines,
            extra_headers: Vec::new(),
            max_bytes,
        }
    }

    /// The comment file as git_mr writes it.
    fn file(headers: &[(String, String)], body: &str) -> String {
        let date = git_mr::clock::parse("2026-11-26T11:00:00Z").unwrap();
        git_mr::Comment::render(&date, headers, body)
    }

    #[test]
    fn a_huge_log_is_cut_to_the_byte_cap_keeping_its_end() {
        let mut log: String = (0..200_000).map(|i| format!("line {i}\n")).collect();
        log.push_str(&"é".repeat(5000));
        log.push_str("\nthe end\n");
        let outcome = Outcome {
            status: Status::Fail,
            duration: Duration::from_secs(3),
            detail: "exit code 1".into(),
            log_tail: log,
        };
        let command = format!("{}\nmake test", "x".repeat(3000));
        for max in [2048, 4096, 65536, 1 << 20] {
            let (headers, body) = report("abc", &command, &outcome, 200, max).comment();
            let text = file(&headers, &body);
            assert!(text.len() <= max, "{max}: {}", text.len());
            assert!(text.len() > max * 3 / 4, "{max}: only {}", text.len());
            assert!(
                body.ends_with("the end\n````\n") || body.ends_with("the end\n```\n"),
                "{body}"
            );
            assert!(body.contains("cut to fit"), "{body}");
            assert!(
                headers[2].1.len() <= MAX_COMMAND_HEADER,
                "{}",
                headers[2].1.len()
            );
        }
        // The command stays in the body when it leaves room for the log.
        let (_, body) = report("abc", &command, &outcome, 200, 65536).comment();
        assert!(body.contains("The command:"), "{body}");
        let (_, body) = report("abc", &command, &outcome, 200, 4096).comment();
        assert!(!body.contains("The command:"), "{body}");
    }

    #[test]
    fn a_result_comment() {
        let outcome = Outcome {
            status: Status::Fail,
            duration: Duration::from_millis(1234),
            detail: "exit code 1".into(),
            log_tail: "a ``` b\nend\n".into(),
        };
        let commit = "ab".repeat(20);
        let (headers, body) = report(&commit, "test -f ok", &outcome, 2, 4096).comment();
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
        let (_, body) = report("abc", "a\nb", &outcome, 5, 4096).comment();
        assert!(body.contains("The command:\n\n```\na\nb\n```\n"), "{body}");
        assert!(body.ends_with("The command printed nothing.\n"), "{body}");
    }
}

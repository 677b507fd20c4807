//! Turning a file's bytes into the lines that mean something.

use crate::diagnostics::Diagnostic;

/// A non-blank, non-comment line, trimmed, with its 1-based number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub(crate) number: usize,
    pub(crate) text: &'a str,
}

/// The meaningful lines of `content`. Lines that are not UTF-8 are reported
/// one by one (so the rest of the file is still checked) and skipped.
/// `\r\n` endings and a leading byte-order mark are tolerated because editors
/// on some systems write them and they never mean anything here.
pub(crate) fn meaningful_lines<'a>(
    path: &str,
    content: &'a [u8],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for (index, raw) in content.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            diagnostics.push(Diagnostic::new(path, number, "line is not valid UTF-8"));
            continue;
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        lines.push(Line { number, text });
    }
    lines
}

/// Splits off the first whitespace-separated token; the rest has its
/// leading whitespace removed (its trailing whitespace is the caller's).
pub(crate) fn split_token(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_errors() {
        let content = b"\xEF\xBB\xBFa b\r\n  # comment\n\n\t\nc\xFFd\n   e  f  \n#x\n";
        let mut diags = Vec::new();
        let lines = meaningful_lines("f", content, &mut diags);
        assert_eq!(
            lines,
            vec![
                Line {
                    number: 1,
                    text: "a b"
                },
                Line {
                    number: 6,
                    text: "e  f"
                },
            ]
        );
        assert_eq!(
            diags,
            vec![Diagnostic::new("f", 5, "line is not valid UTF-8")]
        );
    }

    #[test]
    fn tokens() {
        let cases = [
            ("", ("", "")),
            ("a", ("a", "")),
            ("a b", ("a", "b")),
            ("a \t b c ", ("a", "b c ")),
            ("é\u{2003}x", ("é", "x")),
        ];
        for (input, want) in cases {
            assert_eq!(split_token(input), want, "{input:?}");
        }
    }
}

//! Turning a file's bytes into the lines that mean something.

use crate::diagnostics::Diagnostic;

/// The longest line a policy file may have, in bytes. Rules are short; a
/// regex of a megabyte would cost the server a hundred megabytes to
/// compile on every push.
pub(crate) const MAX_LINE_LEN: usize = 4096;

/// A non-blank, non-comment line, trimmed, with its 1-based number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub(crate) number: usize,
    pub(crate) text: &'a str,
}

/// The meaningful lines of `content`. Lines that are not UTF-8, or that hold
/// a character that can hide text from a reader (see [`hidden_character`]),
/// are reported one by one (so the rest of the file is still checked) and
/// skipped; so are comments. `\r\n` endings and a leading byte-order mark
/// are tolerated because editors on some systems write them and they never
/// mean anything here: a carriage return anywhere else is refused.
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
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > MAX_LINE_LEN {
            diagnostics.push(Diagnostic::new(
                path,
                number,
                format!(
                    "the line is {} bytes long; a policy line is at most {MAX_LINE_LEN}",
                    raw.len()
                ),
            ));
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            diagnostics.push(Diagnostic::new(path, number, "line is not valid UTF-8"));
            continue;
        };
        if let Some(c) = text.chars().find(|&c| hidden_character(c).is_some()) {
            let what = hidden_character(c).unwrap_or("a hidden character");
            diagnostics.push(Diagnostic::new(
                path,
                number,
                format!(
                    "the line holds {what} (U+{:04X}), which can hide text from a reader: policy files are plain text, with tabs but no other control, invisible or direction-changing characters",
                    c as u32
                ),
            ));
            continue;
        }
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        lines.push(Line { number, text });
    }
    lines
}

/// What `c` is, when it is a character that makes a line read differently
/// from what it means: control characters other than tab (a carriage return
/// moves the cursor back over what came before, so `rule\r# comment`
/// looks like a comment), line and paragraph separators (U+0085, U+2028,
/// U+2029 break a line for a reader, not for the parser), bidirectional
/// overrides, isolates and marks (they reorder what a terminal shows, as in
/// the "Trojan Source" attacks), and invisible characters (zero-width
/// spaces and joiners, word joiners, a byte-order mark inside a file, the
/// soft hyphen).
pub(crate) fn hidden_character(c: char) -> Option<&'static str> {
    Some(match c {
        '\t' => return None,
        '\r' => "a carriage return",
        '\u{85}' => "a next-line character",
        c if c.is_control() => "a control character",
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        '\u{202A}'..='\u{202E}' => "a bidirectional override",
        '\u{2066}'..='\u{2069}' => "a bidirectional isolate",
        '\u{200E}' | '\u{200F}' | '\u{061C}' => "a bidirectional mark",
        '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{AD}' => {
            "an invisible character"
        }
        _ => return None,
    })
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
    fn characters_that_hide_text_are_refused_anywhere_in_a_line() {
        let hiding = [
            "anyone fast-forward,force,delete ^.*$\r# just a comment",
            "# a comment\ranyone force ^.*$",
            "anyone modify ^docs/.*$\u{2028}# docs only",
            "anyone modify ^x$\u{2029}",
            "anyone modify ^x$\u{85}",
            "owner modify ^\u{202E}txt.exe$",
            "owner modify ^a\u{2066}b\u{2069}$",
            "owner modify ^a\u{200F}b$",
            "owner modify ^a\u{200B}b$",
            "owner modify ^a\u{FEFF}b$",
            "owner\u{0}modify ^a$",
            "owner modify ^a$\u{1b}[2K",
            "owner modify ^a$\u{7f}",
            "owner modify ^a$\u{9b}",
            "  \u{0c}",
        ];
        for line in hiding {
            let content = format!("# first\n{line}\nowner modify ^b$\n");
            let mut diags = Vec::new();
            let lines = meaningful_lines("refs/x.conf", content.as_bytes(), &mut diags);
            assert_eq!(diags.len(), 1, "{line:?}: {diags:?}");
            assert_eq!(diags[0].location.line, 2, "{line:?}");
            assert!(
                diags[0].message.contains("can hide text"),
                "{}",
                diags[0].message
            );
            // The rest of the file is still read.
            assert_eq!(lines.len(), 1, "{line:?}");
        }
        // Lines of a megabyte are refused before anything reads them.
        let long = format!("owner modify ^{}$\n", "a".repeat(MAX_LINE_LEN));
        let mut diags = Vec::new();
        assert_eq!(meaningful_lines("f", long.as_bytes(), &mut diags), vec![]);
        assert_eq!(
            diags,
            vec![Diagnostic::new(
                "f",
                1,
                format!(
                    "the line is {} bytes long; a policy line is at most {MAX_LINE_LEN}",
                    long.len() - 1
                )
            )]
        );
        // Tabs, CRLF endings, a leading byte-order mark and ordinary
        // non-ASCII text are fine.
        let fine = "\u{FEFF}owner\tmodify ^caf\u{e9}/.*$\r\n# \u{65e5}\u{672c}\r\n";
        let mut diags = Vec::new();
        let lines = meaningful_lines("refs/x.conf", fine.as_bytes(), &mut diags);
        assert_eq!(diags, vec![]);
        assert_eq!(lines.len(), 1);
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

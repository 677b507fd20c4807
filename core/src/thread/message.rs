//! The one text format of thread files (SPEC section 4): header lines
//! (`Name: value`), a blank line, the body. Comments, edits and votes are all
//! written this way.

/// Headers in file order, and the body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Message {
    /// Parse a file: a header line without a colon is an error (it says which).
    /// Bytes that are not UTF-8 are replaced, as everywhere on the data branch.
    pub fn parse(data: &[u8]) -> Result<Message, String> {
        let text = String::from_utf8_lossy(data);
        let (head, body) = match text.find("\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None if text.starts_with('\n') => ("", &text[1..]),
            None => (text.as_ref(), ""),
        };
        let mut headers = Vec::new();
        for line in head.lines() {
            let Some((k, v)) = line.split_once(':') else {
                return Err(format!("header line without a colon: {line:?}"));
            };
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        Ok(Message {
            headers,
            body: body.to_owned(),
        })
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Render headers and body; a body that does not end in a newline gets one.
    /// A line break inside a name or value would start a header of its own, so
    /// it becomes a space (callers refuse such values before they get here).
    pub fn render(headers: &[(String, String)], body: &str) -> String {
        let one_line = |s: &str| s.replace(['\r', '\n'], " ");
        let mut out = String::new();
        for (k, v) in headers {
            out.push_str(&one_line(k));
            out.push_str(": ");
            out.push_str(&one_line(v));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(body);
        if !body.is_empty() && !body.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// The value of the first header called `name` (case-insensitive) in `headers`.
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shapes() {
        let text = Message::render(
            &[("A".into(), "1".into()), ("B".into(), "x\ny".into())],
            "body",
        );
        assert_eq!(text, "A: 1\nB: x y\n\nbody\n");
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(m.header("b"), Some("x y"));
        assert_eq!(m.body, "body\n");
        assert!(Message::parse(b"no colon\n\nbody").is_err());
        assert_eq!(Message::parse(b"\nonly body").unwrap().body, "only body");
        assert_eq!(Message::parse(b"A: 1\n").unwrap().body, "");
    }
}

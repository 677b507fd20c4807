//! "Did you mean" hints: the closest known word by edit distance.

/// Levenshtein distance over chars, ignoring ASCII case (so `Modify` is
/// recognised as a typo of `modify`).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // One row of the classic table; `prev` is the row above.
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            row[j + 1] = substitution.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

/// The candidate `word` most likely was meant to be, if any is close enough:
/// within a third of its length (at least 2 edits), or of which `word` is a
/// prefix of 3+ chars (`delete-dir` → `delete-directory`).
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .filter_map(|&c| {
            let d = edit_distance(word, c);
            let close = d <= (c.chars().count() / 3).max(2);
            let prefix = word.chars().count() >= 3 && c.starts_with(word);
            // An abbreviation says more than a small edit distance does.
            (close || prefix).then_some((!prefix, d, c))
        })
        // min_by_key keeps the first of equals: candidates are in a sensible order.
        .min_by_key(|&(not_prefix, d, _)| (not_prefix, d))
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let cases = [
            ("", "", 0),
            ("abc", "", 3),
            ("", "abc", 3),
            ("modify", "modify", 0),
            ("Modify", "modify", 0),
            ("modfy", "modify", 1),
            ("craete", "create", 2),
            ("kitten", "sitting", 3),
        ];
        for (a, b, want) in cases {
            assert_eq!(edit_distance(a, b), want, "{a} {b}");
        }
    }

    #[test]
    fn closest_table() {
        let ops = [
            "create-file",
            "create-directory",
            "modify",
            "delete-file",
            "delete-directory",
            "delete",
        ];
        let cases = [
            ("modfy", Some("modify")),
            ("create_file", Some("create-file")),
            ("createfile", Some("create-file")),
            ("delete-dir", Some("delete-directory")),
            ("delet", Some("delete")),
            ("del", Some("delete")),
            ("delete-f", Some("delete-file")),
            ("frobnicate", None),
            ("x", None),
            ("", None),
        ];
        for (word, want) in cases {
            assert_eq!(closest(word, &ops), want, "{word}");
        }
    }
}

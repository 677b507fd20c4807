//! Full-text search over titles and comments, with a line index kept next to the
//! repository and keyed to the data branch's commit id (so it is never stale).
//!
//! Index format: a first line `git-mr-search <commit>`, then one line per indexed line
//! of text: `<id>\t<where>\t<text>` where `<where>` is `title` or `comments/<FPR>/<k>`.

use std::collections::BTreeMap;

use crate::forge::Forge;
use crate::model::MrId;
use crate::store::{Depth, Snapshot};
use crate::{layout, Result};

/// One line that contains the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// `title` or `comments/<FPR>/<k>`.
    pub location: String,
    pub line: String,
}

/// A merge request with matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub id: MrId,
    pub title: String,
    pub matches: Vec<Match>,
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\r'], " ")
}

/// Build the index text of a snapshot.
pub fn build_index(snapshot: &Snapshot) -> String {
    let mut out = format!(
        "git-mr-search {}\n",
        snapshot
            .commit
            .map(|c| c.to_string())
            .unwrap_or_else(|| "none".to_owned())
    );
    for mr in &snapshot.mrs {
        out.push_str(&format!("{}\ttitle\t{}\n", mr.id, clean(&mr.title)));
        for c in &mr.comments {
            for line in c.body.lines().filter(|l| !l.trim().is_empty()) {
                out.push_str(&format!(
                    "{}\tcomments/{}/{}\t{}\n",
                    mr.id,
                    c.author,
                    c.index,
                    clean(line)
                ));
            }
        }
    }
    out
}

/// Search an index text for `text` (case-insensitive, literal).
pub fn search_index(index: &[u8], text: &str) -> Vec<Hit> {
    let re = regex::bytes::RegexBuilder::new(&regex::escape(text))
        .case_insensitive(true)
        .build()
        .expect("an escaped literal is a valid regex");
    let body_start = index
        .iter()
        .position(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(index.len());
    let body = &index[body_start..];
    let mut hits: BTreeMap<MrId, Hit> = BTreeMap::new();
    let mut last_line_start = usize::MAX;
    for m in re.find_iter(body) {
        let start = body[..m.start()]
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|p| p + 1)
            .unwrap_or(0);
        if start == last_line_start {
            continue;
        }
        last_line_start = start;
        let end = body[m.end()..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|p| m.end() + p)
            .unwrap_or(body.len());
        let line = String::from_utf8_lossy(&body[start..end]);
        let mut parts = line.splitn(3, '\t');
        let (Some(id), Some(location), Some(text_line)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        // The match must be in the text, not in the id or location.
        if m.start() - start < id.len() + location.len() + 2 && !re.is_match(text_line.as_bytes()) {
            continue;
        }
        let Some((author, n)) = id.rsplit_once('/') else {
            continue;
        };
        let (Some(author), Some(number)) = (
            crate::model::Fingerprint::parse(author).ok(),
            layout::parse_number(n),
        ) else {
            continue;
        };
        let mr = MrId { author, number };
        let hit = hits.entry(mr.clone()).or_insert_with(|| Hit {
            id: mr,
            title: String::new(),
            matches: Vec::new(),
        });
        hit.matches.push(Match {
            location: location.to_owned(),
            line: text_line.to_owned(),
        });
    }
    hits.into_values().collect()
}

/// Search titles and comments on the data branch as last fetched.
pub fn search(forge: &Forge, text: &str) -> Result<Vec<Hit>> {
    let tip = forge.data_tip()?;
    let path = forge.cache_dir().join(format!(
        "{}.{}-r{}.search",
        layout::remote_slug(forge.remote()),
        env!("CARGO_PKG_VERSION"),
        crate::store::READER_VERSION
    ));
    let header = format!(
        "git-mr-search {}\n",
        tip.map(|t| t.to_string())
            .unwrap_or_else(|| "none".to_owned())
    );
    let index = match std::fs::read(&path) {
        Ok(data) if data.starts_with(header.as_bytes()) => data,
        _ => {
            let snapshot = forge.snapshot_at(tip, Depth::Full)?;
            let index = build_index(&snapshot).into_bytes();
            if std::fs::create_dir_all(forge.cache_dir()).is_ok() {
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                if std::fs::write(&tmp, &index).is_ok() {
                    let _ = std::fs::rename(&tmp, &path);
                }
            }
            index
        }
    };
    let mut hits = search_index(&index, text);
    // Titles: from the index's title lines.
    let titles = titles_of(&index);
    for h in &mut hits {
        if let Some(t) = titles.get(&h.id.to_string()) {
            h.title = t.clone();
        }
    }
    Ok(hits)
}

fn titles_of(index: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(index);
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut p = l.splitn(3, '\t');
            let (id, loc, t) = (p.next()?, p.next()?, p.next()?);
            (loc == "title").then(|| (id.to_owned(), t.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_case_insensitively() {
        let a = "A".repeat(40);
        let index = format!(
            "git-mr-search x\n{a}/1\ttitle\tFix the Parser\n{a}/1\tcomments/{a}/0\tthe parser crashes\n{a}/2\ttitle\tother\n"
        );
        let hits = search_index(index.as_bytes(), "parser");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].matches.len(), 2);
        assert_eq!(hits[0].matches[0].location, "title");
        assert!(search_index(index.as_bytes(), "title").is_empty());
        assert!(search_index(index.as_bytes(), "AAAA").is_empty());
    }
}

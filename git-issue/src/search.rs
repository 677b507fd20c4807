//! Full-text search over titles and comments (their newest text),
//! case-insensitive and literal.

use gitapps_core::ItemId;

use crate::store::Snapshot;

/// One line that holds the text: where (`title`, `comments/<FPR>/<k>`) and the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub location: String,
    pub line: String,
}

/// An issue with matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub id: ItemId,
    pub title: String,
    pub matches: Vec<Match>,
}

/// The issues of a full snapshot whose title or comments hold `text`.
pub fn search(snapshot: &Snapshot, text: &str) -> Vec<Hit> {
    let needle = text.to_lowercase();
    let holds = |line: &str| line.to_lowercase().contains(&needle);
    let mut hits = Vec::new();
    for issue in &snapshot.issues {
        let mut matches = Vec::new();
        if holds(&issue.title) {
            matches.push(Match {
                location: "title".to_owned(),
                line: issue.title.clone(),
            });
        }
        for c in &issue.comments {
            for line in c.body.lines().filter(|l| holds(l)) {
                matches.push(Match {
                    location: format!("comments/{}/{}", c.author, c.index),
                    line: line.trim().to_owned(),
                });
            }
        }
        if !matches.is_empty() {
            hits.push(Hit {
                id: issue.id.clone(),
                title: issue.title.clone(),
                matches,
            });
        }
    }
    hits
}

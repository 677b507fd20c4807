//! Target: tree classification on raw tree bytes, as the hook diffs the
//! trees a push brings: modes read as git reads them, modes git never
//! writes refused where a push introduces them, malformed trees refused,
//! depth bounded.
//!
//! An input is a set of trees separated by `\xff\xfe\xfd\xfc`: the old
//! root, the new root, then any subtrees. Every tree is stored under its
//! real git id (SHA-1 of `tree <len>\0<bytes>`), so entries can name each
//! other as in a repository, and no tree can contain itself.

use std::collections::HashMap;

use gitapps_hooks::classify::{diff_trees, with_diff_stack, Trees, MAX_TREE_DEPTH};
use gitapps_hooks::error::HookError;
use gitapps_hooks::tree;
use gitapps_tests::fuzz::{self, Bounds};
use gix::ObjectId;

const BOUNDS: Bounds = Bounds {
    peak_bytes: 64 << 20,
    time: fuzz::TRIPWIRE,
};

const SEPARATOR: &[u8] = b"\xff\xfe\xfd\xfc";
const SHA1: gix::hash::Kind = gix::hash::Kind::Sha1;

fn id_of(data: &[u8]) -> ObjectId {
    gix::objs::compute_hash(SHA1, gix::object::Kind::Tree, data).expect("sha1")
}

struct Map(HashMap<ObjectId, Vec<u8>>);

impl Trees for Map {
    fn hash_kind(&self) -> gix::hash::Kind {
        SHA1
    }

    fn tree_data(&self, id: ObjectId) -> Result<Vec<u8>, HookError> {
        self.0
            .get(&id)
            .cloned()
            .ok_or_else(|| HookError::Protocol(format!("no tree {id}")))
    }
}

/// A tree's bytes from `(mode, name, id)` entries, in the order given.
fn raw(entries: &[(&str, &str, ObjectId)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (mode, name, id) in entries {
        out.extend_from_slice(mode.as_bytes());
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(id.as_bytes());
    }
    out
}

fn encode(trees: &[Vec<u8>]) -> Vec<u8> {
    trees.join(SEPARATOR)
}

fn split(input: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    while let Some(at) = rest.windows(4).position(|w| w == SEPARATOR) {
        out.push(&rest[..at]);
        rest = &rest[at + 4..];
    }
    out.push(rest);
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let blob = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
    let files = raw(&[
        ("100644", "notes.txt", blob(1)),
        ("100755", "run.sh", blob(2)),
        ("120000", "link", blob(3)),
    ]);
    let sub = id_of(&files);
    let old = raw(&[
        ("100644", "README", blob(4)),
        ("40000", "shared", sub),
        ("160000", "vendor", blob(5)),
    ]);
    let with_mode = |mode: &str| {
        raw(&[
            ("100644", "README", blob(4)),
            (mode, "shared", sub),
            ("160000", "vendor", blob(5)),
        ])
    };
    let mut corpus = vec![
        // The same tree; a file changed; every mode family on `shared`.
        encode(&[old.clone(), old.clone(), files.clone()]),
        encode(&[
            old.clone(),
            raw(&[("100644", "README", blob(9)), ("40000", "shared", sub)]),
            files.clone(),
        ]),
        encode(&[Vec::new(), old.clone(), files.clone()]),
    ];
    for mode in [
        "140000", "040000", "0040000", "4040000", "160000", "100644", "100664", "1100644", "0",
        "120000", "",
    ] {
        corpus.push(encode(&[old.clone(), with_mode(mode), files.clone()]));
        corpus.push(encode(&[with_mode(mode), old.clone(), files.clone()]));
    }
    // Malformed: out of order, twice, bad names, truncated.
    corpus.push(encode(&[
        old.clone(),
        raw(&[("100644", "b", blob(1)), ("100644", "a", blob(1))]),
    ]));
    corpus.push(encode(&[
        old.clone(),
        raw(&[("100644", "a", blob(1)), ("40000", "a", sub)]),
        files.clone(),
    ]));
    corpus.push(encode(&[old.clone(), raw(&[("100644", "..", blob(1))])]));
    corpus.push(encode(&[old.clone(), old[..old.len() - 3].to_vec()]));
    // As deep as git reads, and deeper.
    for depth in [MAX_TREE_DEPTH, MAX_TREE_DEPTH + 1] {
        let mut trees = vec![raw(&[("100644", "f", blob(1))])];
        for _ in 1..depth {
            let below = id_of(trees.last().expect("a tree"));
            trees.push(raw(&[("40000", "d", below)]));
        }
        trees.reverse();
        let mut input = vec![Vec::new()];
        input.extend(trees);
        corpus.push(encode(&input));
    }
    // A wide one.
    let wide: Vec<(String, ObjectId)> = (0..5000).map(|i| (format!("f{i:05}"), blob(1))).collect();
    let wide: Vec<(&str, &str, ObjectId)> = wide
        .iter()
        .map(|(n, id)| ("100644", n.as_str(), *id))
        .collect();
    corpus.push(encode(&[Vec::new(), raw(&wide)]));
    corpus
}

fn check(input: &[u8]) {
    let chunks = split(input);
    let mut trees = HashMap::new();
    let mut entries_total = 0;
    for chunk in &chunks {
        // What parses is what was written: entries re-encode to the bytes.
        if let Ok(entries) = tree::entries(chunk, SHA1) {
            let mut again = Vec::new();
            for e in &entries {
                again.extend_from_slice(e.raw_mode);
                again.push(b' ');
                again.extend_from_slice(e.name);
                again.push(0);
                again.extend_from_slice(e.id.as_bytes());
            }
            assert_eq!(&again, chunk, "entries do not re-encode to their tree");
            entries_total += entries.len();
        }
        trees.insert(id_of(chunk), chunk.to_vec());
    }
    let root = |i: usize| chunks.get(i).filter(|c| !c.is_empty()).map(|c| id_of(c));
    let (old, new) = (root(0), root(1));
    let map = Map(trees);
    let mut changes = 0usize;
    let result = diff_trees(&map, old, new, &mut |change| {
        changes += 1;
        let path = change.path;
        assert!(!path.is_empty() && !path.starts_with(b"/") && !path.ends_with(b"/"));
        assert!(!path.windows(2).any(|w| w == b"//"), "{path:?}");
        Ok(())
    });
    if result.is_ok() {
        // Each entry is at most one delete and one create.
        assert!(changes <= 2 * entries_total.max(1), "{changes} changes");
    }
}

#[test]
fn trees() {
    let corpus = corpus();
    // Deep trees need the hook's deep stack, here as there.
    with_diff_stack(|| {
        fuzz::run(
            "tree",
            &corpus,
            &[
                b"40000 ", b"100644 ", b"140000 ", b"160000 ", b"120000 ", b"040000 ", b"\0", b"/",
                b"..",
            ],
            fuzz::iterations(800),
            BOUNDS,
            check,
        )
    });
}

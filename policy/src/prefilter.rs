//! Which rules can match a name, without trying them all.
//!
//! Most rules start with text: `heads/team7/.*`, `src/module7/.*\.rs`. A
//! name can only match a rule whose literal prefix (see
//! [`crate::pattern::prefixes`]) is a prefix of the name, so a policy of
//! 10,000 such rules asks a push to compile and try the few whose prefix
//! fits, not all of them; the rules without a useful prefix (`.*\.md`) are
//! tried on every name. The literals are kept sorted, and a name's prefixes
//! among them are found by binary search, one search per distinct length
//! that can still match (see [`Selection::candidates`]).

use crate::pattern::Prefixes;

/// Every literal of every rule of one kind (ref rules, tree rules, limits,
/// scopes), sorted, with the rule (its index) it belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LiteralIndex {
    /// `(literal, rule)`, sorted by literal, then rule.
    pub(crate) entries: Vec<(Box<[u8]>, u32)>,
    /// The rules without literals to go by, in order.
    pub(crate) any: Vec<u32>,
}

impl LiteralIndex {
    /// The index of rules `0..` whose prefixes are `prefixes`, in order.
    pub(crate) fn new(prefixes: impl IntoIterator<Item = Prefixes>) -> Self {
        let mut index = LiteralIndex::default();
        for (rule, p) in prefixes.into_iter().enumerate() {
            let rule = u32::try_from(rule).unwrap_or(u32::MAX);
            match p {
                Prefixes::Any => index.any.push(rule),
                Prefixes::Literals(literals) => {
                    index
                        .entries
                        .extend(literals.into_iter().map(|l| (l, rule)));
                }
            }
        }
        index.entries.sort();
        index
    }

    /// Whether the index is well formed for `rules` rules: sorted, every
    /// rule in range. (For an index read back from a cache.)
    pub(crate) fn is_valid(&self, rules: usize) -> bool {
        let in_range = |r: u32| (r as usize) < rules;
        self.entries.windows(2).all(|w| w[0] <= w[1])
            && self
                .entries
                .iter()
                .all(|(l, r)| !l.is_empty() && in_range(*r))
            && self.any.windows(2).all(|w| w[0] < w[1])
            && self.any.iter().all(|&r| in_range(r))
    }

    /// The rules for which `keep` holds, still sorted.
    pub(crate) fn select(&self, keep: impl Fn(u32) -> bool) -> Selection {
        Selection {
            entries: (0..self.entries.len())
                .filter(|&i| keep(self.entries[i].1))
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect(),
            any: self.any.iter().copied().filter(|&r| keep(r)).collect(),
        }
    }
}

/// Some of an index's rules: those one question is about (one operation's
/// rules for one user on one ref, say).
#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    /// Positions in the index's entries, ascending (so sorted by literal).
    entries: Vec<u32>,
    /// Rules without literals, ascending.
    pub(crate) any: Vec<u32>,
}

impl Selection {
    /// Whether no rule is selected at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.any.is_empty()
    }

    /// Appends to `out` every selected rule with a literal that is a prefix
    /// of `name` (a rule with several such literals comes once per literal).
    /// The rules without literals are not among them: see `any`.
    ///
    /// The search: the last literal not above `name`'s first `limit` bytes
    /// is either a prefix of `name` (then so may be shorter ones: go on with
    /// `limit` one shorter than it), or shares only `common` bytes with it;
    /// then no literal longer than `common` is a prefix of `name` (it would
    /// sort after that one, yet not above `name`), so go on with `limit =
    /// common`. `limit` shrinks every time: a few binary searches a name.
    pub(crate) fn candidates(&self, index: &LiteralIndex, name: &[u8], out: &mut Vec<u32>) {
        let literal = |k: usize| -> &[u8] { &index.entries[self.entries[k] as usize].0 };
        let rule = |k: usize| index.entries[self.entries[k] as usize].1;
        let mut end = self.entries.len();
        let mut limit = name.len();
        loop {
            let target = &name[..limit];
            end = self.entries[..end].partition_point(|&e| &*index.entries[e as usize].0 <= target);
            if end == 0 {
                return;
            }
            let found = literal(end - 1);
            let common = found.iter().zip(target).take_while(|(a, b)| a == b).count();
            if common < found.len() {
                limit = common;
                continue;
            }
            while end > 0 && literal(end - 1) == found {
                out.push(rule(end - 1));
                end -= 1;
            }
            match found.len().checked_sub(1) {
                Some(shorter) => limit = shorter,
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(rules: &[&[&str]]) -> LiteralIndex {
        LiteralIndex::new(rules.iter().map(|lits| {
            if lits.is_empty() {
                Prefixes::Any
            } else {
                Prefixes::Literals(lits.iter().map(|l| l.as_bytes().into()).collect())
            }
        }))
    }

    fn found(index: &LiteralIndex, selection: &Selection, name: &str) -> Vec<u32> {
        let mut out = Vec::new();
        selection.candidates(index, name.as_bytes(), &mut out);
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_literal_that_is_a_prefix_and_no_other() {
        let idx = index(&[
            &["a"],
            &["ab"],
            &["abc"],
            &["aba"],
            &["abd", "x"],
            &[],
            &["b"],
            &["abc"],
            &["heads/team1/"],
            &["heads/team10/"],
            &["heads/team2/"],
        ]);
        let all = idx.select(|_| true);
        assert_eq!(all.any, [5]);
        assert_eq!(found(&idx, &all, "abc"), [0, 1, 2, 7]);
        assert_eq!(found(&idx, &all, "abcz"), [0, 1, 2, 7]);
        assert_eq!(found(&idx, &all, "abd"), [0, 1, 4]);
        assert_eq!(found(&idx, &all, "ab"), [0, 1]);
        assert_eq!(found(&idx, &all, "x"), [4]);
        assert_eq!(found(&idx, &all, ""), Vec::<u32>::new());
        assert_eq!(found(&idx, &all, "c"), Vec::<u32>::new());
        assert_eq!(found(&idx, &all, "heads/team10/x"), [9]);
        assert_eq!(found(&idx, &all, "heads/team1/x"), [8]);
        assert_eq!(found(&idx, &all, "heads/team3/x"), Vec::<u32>::new());
        let some = idx.select(|r| r % 2 == 0);
        assert_eq!(found(&idx, &some, "abcd"), [0, 2]);
        assert!(some.any.is_empty());
        assert!(idx.is_valid(11) && !idx.is_valid(10));
    }

    /// Against the definition, on every prefix of every literal and more.
    #[test]
    fn agrees_with_trying_every_literal() {
        let words = [
            "", "a", "b", "ab", "ba", "aa", "abc", "abb", "b/c", "a/", "a/b",
        ];
        let rules: Vec<Vec<&str>> = (0..40)
            .map(|i| {
                (0..(i % 3) + 1)
                    .map(|j| words[(i * 7 + j * 3) % words.len()])
                    .filter(|w| !w.is_empty())
                    .collect()
            })
            .collect();
        let refs: Vec<&[&str]> = rules.iter().map(Vec::as_slice).collect();
        let idx = index(&refs);
        let selection = idx.select(|r| r % 5 != 1);
        for a in words {
            for b in words {
                let name = format!("{a}{b}");
                let want: Vec<u32> = (0..rules.len() as u32)
                    .filter(|r| r % 5 != 1)
                    .filter(|&r| {
                        rules[r as usize]
                            .iter()
                            .any(|l| name.as_bytes().starts_with(l.as_bytes()))
                    })
                    .collect();
                assert_eq!(found(&idx, &selection, &name), want, "{name:?}");
            }
        }
    }
}

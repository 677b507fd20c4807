//! Groups: files `groups/<name>` listing members, resolved transitively.
//!
//! A member is a fingerprint or `@othergroup` (`@owner` and `@anyone` name the
//! automatic groups). Cycles are errors rather than being quietly tolerated,
//! because a cycle is almost always a mistake and the policy must be obvious.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostics::{Diagnostic, Location};
use crate::fingerprint::Fingerprint;
use crate::lines::{meaningful_lines, split_token};
use crate::suggest::closest;

/// The automatic group holding just the configured owner.
pub(crate) const OWNER: &str = "owner";
/// The automatic group holding every signed user.
pub(crate) const ANYONE: &str = "anyone";
/// Words that cannot name a group file: the automatic groups, and `branch`
/// and `limit`, which start scope and limit lines in place of `WHO`.
const RESERVED: [&str; 4] = [OWNER, ANYONE, crate::parse::BRANCH, crate::parse::LIMIT];

/// A group file handed to [`resolve`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupFile<'a> {
    pub(crate) name: &'a str,
    pub(crate) path: &'a str,
    pub(crate) content: &'a [u8],
}

/// Why `name` cannot be the name of a group file, if it cannot.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if !has_name_syntax(name) {
        return Some(format!(
            "invalid group name `{name}`: use only letters, digits, `.`, `_` and `-`"
        ));
    }
    if RESERVED.contains(&name) {
        return Some(format!("`{name}` is reserved and cannot be a group name"));
    }
    // In a rule, a token of this shape is read as a user id, so such a group
    // could never be named.
    if Fingerprint::parse(name).is_ok() {
        return Some(format!(
            "group name `{name}` looks like a user id and could not be told apart from one"
        ));
    }
    None
}

/// Whether `name` is made of `[A-Za-z0-9._-]+`.
pub(crate) fn has_name_syntax(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The group names that rules and members may use, for lookups and messages.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownGroups(BTreeSet<String>);

impl KnownGroups {
    pub(crate) fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self(names.into_iter().collect())
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// "unknown group `x`…", with a hint and the list of groups there are.
    pub(crate) fn unknown_message(&self, name: &str) -> String {
        let mut all: Vec<&str> = vec![OWNER, ANYONE];
        all.extend(self.0.iter().map(String::as_str));
        // A long list helps nobody; the hint covers typos.
        const SHOWN: usize = 20;
        let mut list = all
            .iter()
            .take(SHOWN)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if all.len() > SHOWN {
            list.push_str(", …");
        }
        match closest(name, &all) {
            Some(hint) => {
                format!("unknown group `{name}`: did you mean `{hint}`? (known groups: {list})")
            }
            None => format!("unknown group `{name}` (known groups: {list})"),
        }
    }
}

/// The members a group file lists itself (not through `@group`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) users: BTreeSet<Fingerprint>,
    pub(crate) owner: bool,
    pub(crate) anyone: bool,
}

/// Every group file's members, with the `@group` links reversed: asking
/// "which groups is this user in?" then takes one walk over the groups and
/// links, where expanding every group's members up front could grow as the
/// square of a long chain of groups.
#[derive(Clone, Debug, Default)]
pub(crate) struct Groups {
    pub(crate) direct: BTreeMap<String, Membership>,
    /// group → the groups that list it as `@group`.
    pub(crate) included_by: BTreeMap<String, Vec<String>>,
}

/// Who is in a group, `@group` members expanded (see [`crate::Policy::members`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    /// The users the group lists, directly or through other groups (the
    /// owner included when a group lists `@owner` and the owner is known).
    pub users: BTreeSet<Fingerprint>,
    /// Whether the group takes in every signed user (`@anyone`).
    pub anyone: bool,
    /// Whether the group lists `@owner` somewhere (whether or not the owner
    /// was known to put in `users`).
    pub owner: bool,
}

impl Members {
    /// Whether `user` is a member.
    pub fn contains(&self, user: &Fingerprint) -> bool {
        self.anyone || self.users.contains(user)
    }
}

impl Groups {
    /// Whether a group file `name` exists.
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.direct.contains_key(name)
    }

    /// The members of the group `name`, `@group` members expanded; `@owner`
    /// becomes `owner` when it is known. Cycles (refused by parsing) would
    /// be harmless here.
    pub(crate) fn members(&self, name: &str, owner: Option<&Fingerprint>) -> Members {
        // Forward edges: group -> the groups it lists as `@group`.
        let mut includes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (child, parents) in &self.included_by {
            for parent in parents {
                includes.entry(parent).or_default().push(child);
            }
        }
        let mut members = Members::default();
        let mut seen = BTreeSet::new();
        let mut todo = vec![name];
        while let Some(group) = todo.pop() {
            if !seen.insert(group) {
                continue;
            }
            if let Some(m) = self.direct.get(group) {
                members.users.extend(m.users.iter().cloned());
                members.anyone |= m.anyone;
                members.owner |= m.owner;
            }
            todo.extend(includes.get(group).into_iter().flatten());
        }
        if members.owner {
            members.users.extend(owner.cloned());
        }
        members
    }

    /// The groups `user` is in, directly or through `@group` members;
    /// `owner` is the configured owner, for groups that list `@owner`.
    pub(crate) fn groups_of(&self, user: &Fingerprint, owner: &Fingerprint) -> BTreeSet<&str> {
        let mut todo: Vec<&str> = self
            .direct
            .iter()
            .filter(|(_, m)| m.anyone || (m.owner && user == owner) || m.users.contains(user))
            .map(|(name, _)| name.as_str())
            .collect();
        let mut found = BTreeSet::new();
        while let Some(group) = todo.pop() {
            // The visited set also makes cycles harmless here.
            if found.insert(group) {
                if let Some(parents) = self.included_by.get(group) {
                    todo.extend(parents.iter().map(String::as_str));
                }
            }
        }
        found
    }
}

/// A group file's own lines: direct members and `@group` edges.
#[derive(Default)]
struct Direct {
    membership: Membership,
    /// `@name` members that are group files, with where they are written.
    edges: Vec<(String, Location)>,
}

/// Parses every group file, reports bad members, unknown groups and cycles,
/// and resolves membership transitively. Files whose names are invalid must
/// already be left out of `files` (and reported).
pub(crate) fn resolve(
    files: &[GroupFile<'_>],
    known: &KnownGroups,
    diagnostics: &mut Vec<Diagnostic>,
) -> Groups {
    let mut direct: BTreeMap<&str, Direct> = BTreeMap::new();
    for file in files {
        direct.insert(file.name, parse_file(file, known, diagnostics));
    }
    report_cycles(&direct, diagnostics);
    let mut groups = Groups::default();
    for (name, d) in direct {
        for (member, _) in d.edges {
            groups
                .included_by
                .entry(member)
                .or_default()
                .push(name.to_owned());
        }
        groups.direct.insert(name.to_owned(), d.membership);
    }
    groups
}

fn parse_file(
    file: &GroupFile<'_>,
    known: &KnownGroups,
    diagnostics: &mut Vec<Diagnostic>,
) -> Direct {
    let mut direct = Direct::default();
    for line in meaningful_lines(file.path, file.content, diagnostics) {
        // Members never contain `#` or spaces, so a trailing `# Alice` is
        // safely a comment: handy for saying whose key a fingerprint is.
        let (member, rest) = split_token(line.text);
        let member = if rest.is_empty() || rest.starts_with('#') {
            member
        } else {
            line.text
        };
        let location = Location::new(file.path, line.number);
        match member.strip_prefix('@') {
            Some(OWNER) => direct.membership.owner = true,
            Some(ANYONE) => direct.membership.anyone = true,
            Some(name) if known.contains(name) => direct.edges.push((name.to_owned(), location)),
            Some(name) if name_problem(name).is_none() => {
                diagnostics.push(Diagnostic::at(&location, known.unknown_message(name)));
            }
            _ => match Fingerprint::parse(member) {
                Ok(user) => {
                    direct.membership.users.insert(user);
                }
                Err(_) => diagnostics.push(Diagnostic::at(
                    &location,
                    format!(
                        "invalid member `{member}`: expected a user id (fingerprint) or @group"
                    ),
                )),
            },
        }
    }
    direct
}

/// Depth-first search over `@group` edges; every back edge closes one cycle,
/// reported at the line where its first group names the next. Iterative, so
/// a long chain of groups cannot overflow the stack.
fn report_cycles(direct: &BTreeMap<&str, Direct>, diagnostics: &mut Vec<Diagnostic>) {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        OnPath,
        Done,
    }
    let mut state: BTreeMap<&str, State> = BTreeMap::new();
    for &start in direct.keys() {
        if state.contains_key(start) {
            continue;
        }
        // (group, next edge to follow, location of the edge that led here)
        let mut path: Vec<(&str, usize, Option<&Location>)> = vec![(start, 0, None)];
        state.insert(start, State::OnPath);
        while let Some(top) = path.last_mut() {
            let (node, next) = (top.0, top.1);
            let edge = direct.get(node).and_then(|d| d.edges.get(next));
            let Some((target, location)) = edge else {
                state.insert(node, State::Done);
                path.pop();
                continue;
            };
            top.1 += 1;
            let Some((&target, _)) = direct.get_key_value(target.as_str()) else {
                continue;
            };
            match state.get(target) {
                None => {
                    state.insert(target, State::OnPath);
                    path.push((target, 0, Some(location)));
                }
                Some(State::OnPath) => {
                    let Some(begin) = path.iter().position(|p| p.0 == target) else {
                        continue;
                    };
                    let mut names: Vec<&str> = path[begin..].iter().map(|p| p.0).collect();
                    names.push(target);
                    // The edge out of the cycle's first group: the one that
                    // pushed the next group, or this one for a self-reference.
                    let at = path.get(begin + 1).and_then(|p| p.2).unwrap_or(location);
                    diagnostics.push(Diagnostic::at(
                        at,
                        format!("group cycle: {}", names.join(" -> ")),
                    ));
                }
                Some(State::Done) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).expect("valid")
    }

    fn run(files: &[(&str, &str)]) -> (Groups, Vec<String>) {
        let names: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
        let known = KnownGroups::new(names);
        let paths: Vec<String> = files.iter().map(|(n, _)| format!("groups/{n}")).collect();
        let group_files: Vec<GroupFile<'_>> = files
            .iter()
            .zip(&paths)
            .map(|((name, content), path)| GroupFile {
                name,
                path,
                content: content.as_bytes(),
            })
            .collect();
        let mut diags = Vec::new();
        let groups = resolve(&group_files, &known, &mut diags);
        (groups, diags.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn transitive_membership() {
        let a = fpr('A');
        let b = fpr('B');
        let c = fpr('C');
        let (groups, diags) = run(&[
            ("top", "@mid\n# comment\n\n"),
            (
                "mid",
                &format!("{}  # Alice\n@leaf\n", a.as_str().to_lowercase()),
            ),
            ("leaf", &format!("{b}\n")),
            ("own", "@owner\n"),
            ("all", "@anyone\n"),
            ("empty", ""),
        ]);
        assert_eq!(diags, Vec::<String>::new());
        let owner = c.clone();
        let table = [
            ("top", &a, true),
            ("top", &b, true),
            ("top", &c, false),
            ("mid", &b, true),
            ("leaf", &a, false),
            ("own", &c, true),
            ("own", &a, false),
            ("all", &a, true),
            ("empty", &a, false),
            ("nope", &a, false),
        ];
        for (group, user, want) in table {
            let got = groups.groups_of(user, &owner).contains(group);
            assert_eq!(got, want, "{group} {user}");
        }
    }

    #[test]
    fn cycles() {
        let (_, diags) = run(&[("a", "@b\n"), ("b", "@a\n")]);
        assert_eq!(diags, vec!["groups/a:1: group cycle: a -> b -> a"]);

        let (_, diags) = run(&[("self", "# me\n@self\n")]);
        assert_eq!(diags, vec!["groups/self:2: group cycle: self -> self"]);

        let (groups, diags) = run(&[
            ("x", &format!("{}\n@y\n", fpr('A'))),
            ("y", "@z\n"),
            ("z", "@y\n@x\n"),
        ]);
        assert_eq!(
            diags,
            vec![
                "groups/y:1: group cycle: y -> z -> y",
                "groups/x:2: group cycle: x -> y -> z -> x",
            ]
        );
        // Still resolvable without looping.
        let of_a = groups.groups_of(&fpr('A'), &fpr('B'));
        assert_eq!(of_a.into_iter().collect::<Vec<_>>(), ["x", "y", "z"]);
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let n = 20_000;
        let contents: Vec<(String, String)> = (0..n)
            .map(|i| (format!("g{i}"), format!("@g{}\n", (i + 1) % n)))
            .collect();
        let files: Vec<(&str, &str)> = contents
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_, diags) = run(&files);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].starts_with("groups/g0:1: group cycle: g0 -> g1 -> "));
    }

    #[test]
    fn member_errors() {
        let (_, diags) = run(&[("g", "alice\n@nope\n@\n0123\nAAAA BBBB\n@bad name\n\u{0}\n")]);
        assert_eq!(
            diags,
            vec![
                "groups/g:7: the line holds a control character (U+0000), which can hide text from a reader: policy files are plain text, with tabs but no other control, invisible or direction-changing characters",
                "groups/g:1: invalid member `alice`: expected a user id (fingerprint) or @group",
                "groups/g:2: unknown group `nope` (known groups: owner, anyone, g)",
                "groups/g:3: invalid member `@`: expected a user id (fingerprint) or @group",
                "groups/g:4: invalid member `0123`: expected a user id (fingerprint) or @group",
                "groups/g:5: invalid member `AAAA BBBB`: expected a user id (fingerprint) or @group",
                "groups/g:6: invalid member `@bad name`: expected a user id (fingerprint) or @group",
            ]
        );
    }

    #[test]
    fn names() {
        let cases = [
            ("maintainers", None),
            ("ci.bots_2-x", None),
            (
                "owner",
                Some("`owner` is reserved and cannot be a group name"),
            ),
            (
                "anyone",
                Some("`anyone` is reserved and cannot be a group name"),
            ),
            (
                "branch",
                Some("`branch` is reserved and cannot be a group name"),
            ),
            (
                "",
                Some("invalid group name ``: use only letters, digits, `.`, `_` and `-`"),
            ),
            (
                "a b",
                Some("invalid group name `a b`: use only letters, digits, `.`, `_` and `-`"),
            ),
            (
                "é",
                Some("invalid group name `é`: use only letters, digits, `.`, `_` and `-`"),
            ),
        ];
        for (name, want) in cases {
            assert_eq!(name_problem(name).as_deref(), want, "{name}");
        }
        assert!(name_problem(&"a".repeat(40)).is_some_and(|m| m.contains("looks like a user id")));
    }

    #[test]
    fn unknown_messages() {
        let known = KnownGroups::new(["ci".to_owned(), "maintainers".to_owned()]);
        assert_eq!(
            known.unknown_message("maintainer"),
            "unknown group `maintainer`: did you mean `maintainers`? (known groups: owner, anyone, ci, maintainers)"
        );
        assert_eq!(
            known.unknown_message("devs"),
            "unknown group `devs` (known groups: owner, anyone, ci, maintainers)"
        );
        let many = KnownGroups::new((0..30).map(|i| format!("group{i:02}")));
        assert!(many.unknown_message("zzz").ends_with(", …)"));
    }
}

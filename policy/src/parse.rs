//! Reading `refs/*.conf` and `branches/*.conf` into rules.

use crate::diagnostics::{Diagnostic, Location};
use crate::groups::KnownGroups;
use crate::lines::{meaningful_lines, split_token, Line};
use crate::ops::{parse_ref_ops, parse_tree_ops};
use crate::pattern::{check, Subject};
use crate::rules::{RefRule, Scope, SizeLimit, TreeRule, Who};
use crate::size::parse_size;

/// The keyword that starts a scope line in tree files.
pub(crate) const BRANCH: &str = "branch";
/// The keyword that starts a limit line in tree files.
pub(crate) const LIMIT: &str = "limit";
/// The one kind of limit there is: `limit size SIZE REGEX`.
const SIZE: &str = "size";

/// The three fields of a rule line, not yet checked.
struct Fields<'a> {
    who: &'a str,
    ops: &'a str,
    regex: &'a str,
}

/// Splits `WHO OPS REGEX`; the regex is the rest of the line, so it may hold
/// spaces (and `#`: there are no trailing comments in rule files).
fn fields<'a>(
    line: &Line<'a>,
    location: &Location,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Fields<'a>> {
    let (who, rest) = split_token(line.text);
    let (ops, rest) = split_token(rest);
    let regex = rest.trim();
    if ops.is_empty() || regex.is_empty() {
        diagnostics.push(Diagnostic::at(
            location,
            format!(
                "incomplete rule: expected `WHO OPS REGEX`, found `{}`",
                line.text
            ),
        ));
        return None;
    }
    Some(Fields { who, ops, regex })
}

/// Checks `WHO` and `REGEX`, pushing a diagnostic for each problem.
fn check_who_and_regex(
    fields: &Fields<'_>,
    subject: Subject,
    known: &KnownGroups,
    location: &Location,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Who> {
    let who = Who::parse(fields.who, known)
        .map_err(|m| diagnostics.push(Diagnostic::at(location, m)))
        .ok();
    let regex_ok = check(fields.regex, subject)
        .map_err(|m| diagnostics.push(Diagnostic::at(location, m)))
        .is_ok();
    who.filter(|_| regex_ok)
}

/// Parses a `refs/*.conf` file. Only rules without any problem are returned;
/// the problems go to `diagnostics`.
pub(crate) fn ref_file(
    path: &str,
    content: &[u8],
    known: &KnownGroups,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<RefRule> {
    let mut rules = Vec::new();
    for line in meaningful_lines(path, content, diagnostics) {
        let location = Location::new(path, line.number);
        let first = split_token(line.text).0;
        if first == BRANCH || first == LIMIT {
            diagnostics.push(Diagnostic::at(
                &location,
                format!(
                    "`{first}` lines apply to files on branches: they belong in branches/*.conf"
                ),
            ));
            continue;
        }
        let Some(f) = fields(&line, &location, diagnostics) else {
            continue;
        };
        let ops = parse_ref_ops(f.ops)
            .map_err(|ms| report_all(ms, &location, diagnostics))
            .ok();
        let who = check_who_and_regex(&f, Subject::RefName, known, &location, diagnostics);
        if let (Some(who), Some(ops)) = (who, ops) {
            rules.push(RefRule {
                who,
                ops,
                regex: f.regex.to_owned(),
                location,
            });
        }
    }
    rules
}

/// What a `branches/*.conf` file holds besides its `branch` lines.
#[derive(Default)]
pub(crate) struct TreeFile {
    pub(crate) rules: Vec<TreeRule>,
    pub(crate) limits: Vec<SizeLimit>,
}

/// Parses a `branches/*.conf` file, appending its `branch` lines to `scopes`
/// (shared by all tree files so that rules can point into one list).
pub(crate) fn tree_file(
    path: &str,
    content: &[u8],
    known: &KnownGroups,
    scopes: &mut Vec<Scope>,
    diagnostics: &mut Vec<Diagnostic>,
) -> TreeFile {
    let mut out = TreeFile::default();
    // Scopes end at the next `branch` line or at the end of the file.
    let mut scope = None;
    for line in meaningful_lines(path, content, diagnostics) {
        let location = Location::new(path, line.number);
        let (first, rest) = split_token(line.text);
        if first == BRANCH {
            let regex = rest.trim();
            if regex.is_empty() {
                diagnostics.push(Diagnostic::at(
                    &location,
                    "incomplete scope: expected `branch REGEX`",
                ));
            } else if let Err(m) = check(regex, Subject::RefName) {
                diagnostics.push(Diagnostic::at(&location, m));
            }
            // Recorded even when broken, so the rules below it are still
            // checked as scoped ones; the policy is invalid anyway.
            scope = Some(scopes.len());
            scopes.push(Scope {
                regex: regex.to_owned(),
                location,
            });
            continue;
        }
        if first == LIMIT {
            if let Some(limit) = limit_line(rest, scope, location, diagnostics) {
                out.limits.push(limit);
            }
            continue;
        }
        let Some(f) = fields(&line, &location, diagnostics) else {
            continue;
        };
        let ops = parse_tree_ops(f.ops)
            .map_err(|ms| report_all(ms, &location, diagnostics))
            .ok();
        let who = check_who_and_regex(&f, Subject::Path, known, &location, diagnostics);
        if let (Some(who), Some(ops)) = (who, ops) {
            out.rules.push(TreeRule {
                who,
                ops,
                regex: f.regex.to_owned(),
                location,
                scope,
            });
        }
    }
    out
}

/// `limit size SIZE REGEX`, given what follows `limit`.
fn limit_line(
    rest: &str,
    scope: Option<usize>,
    location: Location,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SizeLimit> {
    let (kind, rest) = split_token(rest);
    let (size, rest) = split_token(rest);
    let regex = rest.trim();
    if kind.is_empty() || size.is_empty() || regex.is_empty() {
        diagnostics.push(Diagnostic::at(
            &location,
            "incomplete limit: expected `limit size SIZE REGEX`, e.g. `limit size 1m ^.*$`",
        ));
        return None;
    }
    if kind != SIZE {
        diagnostics.push(Diagnostic::at(
            &location,
            format!("unknown limit `{kind}`: the one limit is `limit size SIZE REGEX`"),
        ));
        return None;
    }
    let max_bytes = parse_size(size);
    if max_bytes.is_none() {
        diagnostics.push(Diagnostic::at(
            &location,
            format!("bad size `{size}`: a number of bytes, with an optional k, m or g suffix (1024-based), e.g. `512k`"),
        ));
    }
    let regex_ok = check(regex, Subject::Path)
        .map_err(|m| diagnostics.push(Diagnostic::at(&location, m)))
        .is_ok();
    Some(SizeLimit {
        max_bytes: max_bytes?,
        regex: regex.to_owned(),
        location,
        scope,
    })
    .filter(|_| regex_ok)
}

fn report_all(messages: Vec<String>, location: &Location, diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.extend(messages.into_iter().map(|m| Diagnostic::at(location, m)));
}

//! What became of a signed push, read from what does not depend on the user's
//! language: `git push --porcelain` status lines (with `LC_ALL=C`), and the line
//! `gitapps: code=<code>` that `gitapps-hook` ends every rejection with (git shows
//! it as `remote: gitapps: code=replay`).
//!
//! The tools retry a push that lost a race for the data branch (fetch, re-apply the
//! change on the new tip, push again) and one the hook refused as a replay or for a
//! stale nonce (push again with a fresh certificate); every other refusal is final.

use std::time::{Duration, Instant};

/// Why the hook refused a push: the `code=` of its last line, as the policy
/// language defines it (one definition for the hook and the apps). A code this
/// version does not know reads as none.
pub use gitapps_policy::RejectCode;

/// What the hook uses to start a line that warns without refusing the push
/// (e.g. that the server repaired its audit log).
pub const WARNING_PREFIX: &str = "gitapps: warning:";

/// The hook's warning lines in a push's stderr (`remote: gitapps: warning: …`
/// as git shows them), without git's `remote:` prefix. git prints them on
/// success too, where a tool that keeps the push's stderr to itself would
/// otherwise hide them.
pub fn server_warnings(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("remote:").unwrap_or(line).trim();
            line.starts_with(WARNING_PREFIX).then(|| line.to_owned())
        })
        .collect()
}

/// The outcome of one push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Every ref was updated.
    Accepted,
    /// Another push moved a ref first (git refused, or the server could not
    /// update the ref to our commit): fetch, re-apply, push again.
    LostRace { stderr: String },
    /// The hook refused the certificate as a replay or for a stale nonce: the
    /// same change pushed again (after a second, for a fresh nonce) is fine.
    Replay { stderr: String },
    /// Refused for good: the hook (with its code, if it gave one) or the server.
    Denied {
        code: Option<RejectCode>,
        stderr: String,
    },
}

/// One ref's line of `git push --porcelain`: `<flag>\t<from>:<to>\t<summary>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefStatus {
    pub flag: char,
    pub to: String,
    pub summary: String,
}

impl RefStatus {
    fn rejected(&self) -> bool {
        self.flag == '!'
    }

    /// The reason in parentheses, if any: `[rejected] (fetch first)`.
    fn reason(&self) -> &str {
        self.summary
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(r, _)| r)
            .unwrap_or("")
    }
}

/// The status lines of `git push --porcelain`'s stdout.
pub fn parse_porcelain(stdout: &str) -> Vec<RefStatus> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let flag = parts.next()?;
            let refs = parts.next()?;
            let summary = parts.next().unwrap_or("");
            let mut chars = flag.chars();
            let flag = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            let to = refs.rsplit_once(':').map(|(_, to)| to).unwrap_or(refs);
            Some(RefStatus {
                flag,
                to: to.to_owned(),
                summary: summary.to_owned(),
            })
        })
        .collect()
}

/// Refusals git gives when a ref is no longer where the push expected it
/// (client side: the advertised value moved; server side: the ref changed
/// between the hook and the update). git prints these untranslated in
/// porcelain mode; they are the protocol's words.
const RACE_REASONS: &[&str] = &[
    "fetch first",
    "non-fast-forward",
    "stale info",
    "already exists",
    "failed to update ref",
    "failed to lock",
    "cannot lock ref",
    "incorrect old value provided",
];

/// What the other refs of a failed `--atomic` push say: not a reason of their own.
const COLLATERAL_REASONS: &[&str] = &["atomic push failed", "atomic transaction failed"];

/// The hook said no.
const HOOK_DECLINED: &str = "pre-receive hook declined";

/// Classify a finished push from its porcelain stdout and stderr; `None` when
/// there is no ref status at all (the push never got as far as the server's
/// answer: a transport or local signing failure, for the caller to tell apart).
pub fn classify(success: bool, stdout: &str, stderr: &str) -> Option<PushOutcome> {
    let statuses = parse_porcelain(stdout);
    if statuses.is_empty() {
        return None;
    }
    let rejected: Vec<&RefStatus> = statuses.iter().filter(|s| s.rejected()).collect();
    if success && rejected.is_empty() {
        return Some(PushOutcome::Accepted);
    }
    let own: Vec<&RefStatus> = rejected
        .iter()
        .copied()
        .filter(|s| !COLLATERAL_REASONS.contains(&s.reason()))
        .collect();
    let stderr = stderr.to_owned();
    if own.iter().any(|s| s.reason() == HOOK_DECLINED) || own.is_empty() && !success {
        let code = RejectCode::from_output(&stderr);
        return Some(match code {
            Some(RejectCode::Replay | RejectCode::Nonce) => PushOutcome::Replay { stderr },
            code => PushOutcome::Denied { code, stderr },
        });
    }
    if !own.is_empty() && own.iter().all(|s| RACE_REASONS.contains(&s.reason())) {
        return Some(PushOutcome::LostRace { stderr });
    }
    Some(PushOutcome::Denied { code: None, stderr })
}

/// Exponential backoff with full jitter, bounded by a deadline rather than a
/// count: under load the number of attempts says nothing, the time waited does.
#[derive(Debug)]
pub struct Backoff {
    deadline: Instant,
    base: Duration,
    cap: Duration,
    step: u32,
    seed: u64,
}

impl Backoff {
    /// Waits from `base`, doubling up to `cap`, until `budget` has passed.
    pub fn new(budget: Duration, base: Duration, cap: Duration) -> Backoff {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Backoff {
            deadline: Instant::now() + budget,
            base,
            cap,
            step: 0,
            seed: nanos ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// The next wait, or `None` when the deadline would pass during it.
    pub fn next_wait(&mut self) -> Option<Duration> {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.step.min(16))
            .min(self.cap);
        self.step += 1;
        let wait = ceiling.mul_f64(self.random());
        (Instant::now() + wait < self.deadline).then_some(wait)
    }

    /// Wait past the current second (a fresh nonce), plus up to a second of
    /// jitter; `None` past the deadline.
    pub fn next_second(&mut self) -> Option<Duration> {
        let wait = Duration::from_millis(1000) + Duration::from_secs(1).mul_f64(self.random());
        (Instant::now() + wait < self.deadline).then_some(wait)
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// A number in [0, 1) (xorshift: jitter needs no cryptography).
    fn random(&mut self) -> f64 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "To /srv/git/p.git\n";

    #[test]
    fn codes() {
        let stderr = "remote: gitapps: rejected: this push certificate was used before\nremote: gitapps: code=replay        \nTo x\n ! [remote rejected] x (pre-receive hook declined)\n";
        assert_eq!(RejectCode::from_output(stderr), Some(RejectCode::Replay));
        assert_eq!(
            RejectCode::from_output("remote: gitapps: code=unknown-key\r\n"),
            Some(RejectCode::UnknownKey)
        );
        // A code this version does not know: none.
        assert_eq!(RejectCode::from_output("gitapps: code=new-thing"), None);
        // Anyone can put text in a comment, not on the hook's line: a code
        // must be a line of its own.
        assert_eq!(
            RejectCode::from_output("remote: say gitapps: code=replay"),
            None
        );
        assert_eq!(
            RejectCode::from_output("remote: gitapps: code=re play"),
            None
        );
    }

    #[test]
    fn accepted() {
        let out = format!(
            "{TO}*\tabc:refs/tags/t\t[new tag]\n \taaa..bbb:refs/heads/d\t  aaa..bbb\nDone\n"
        );
        assert_eq!(classify(true, &out, ""), Some(PushOutcome::Accepted));
    }

    #[test]
    fn lost_races() {
        for reason in ["fetch first", "non-fast-forward", "stale info"] {
            let out = format!("{TO}!\tbbb:refs/heads/apps/merge-reqs/data\t[rejected] ({reason})\n!\tccc:refs/tags/x\t[rejected] (atomic push failed)\nDone\n");
            assert!(
                matches!(
                    classify(false, &out, "error: failed to push"),
                    Some(PushOutcome::LostRace { .. })
                ),
                "{reason}"
            );
        }
        let out = format!("{TO}!\tbbb:refs/heads/d\t[remote rejected] (failed to update ref)\n!\tccc:refs/tags/x\t[remote rejected] (atomic transaction failed)\nDone\n");
        assert!(matches!(
            classify(false, &out, ""),
            Some(PushOutcome::LostRace { .. })
        ));
    }

    #[test]
    fn hook_refusals() {
        let out = format!(
            "{TO}!\tbbb:refs/heads/d\t[remote rejected] (pre-receive hook declined)\nDone\n"
        );
        let replay = "remote: gitapps: rejected: a replay\nremote: gitapps: code=replay\n";
        assert!(matches!(
            classify(false, &out, replay),
            Some(PushOutcome::Replay { .. })
        ));
        let nonce = "remote: gitapps: code=nonce\n";
        assert!(matches!(
            classify(false, &out, nonce),
            Some(PushOutcome::Replay { .. })
        ));
        let denied = "remote: gitapps: denied: modify x\nremote: gitapps: code=denied\n";
        assert_eq!(
            classify(false, &out, denied),
            Some(PushOutcome::Denied {
                code: Some(RejectCode::Denied),
                stderr: denied.into()
            })
        );
        let limit = "remote: gitapps: code=limit\n";
        assert!(matches!(
            classify(false, &out, limit),
            Some(PushOutcome::Denied {
                code: Some(RejectCode::Limit),
                ..
            })
        ));
        // A hook of another kind, without a code: denied, no code.
        assert!(matches!(
            classify(false, &out, "remote: no\n"),
            Some(PushOutcome::Denied { code: None, .. })
        ));
        // Anything else the server refuses is no race.
        let out = format!("{TO}!\tbbb:refs/heads/d\t[remote rejected] (unpacker error)\nDone\n");
        assert!(matches!(
            classify(false, &out, ""),
            Some(PushOutcome::Denied { code: None, .. })
        ));
    }

    #[test]
    fn no_status_is_for_the_caller() {
        assert_eq!(classify(false, "", "fatal: unable to access"), None);
        assert_eq!(
            classify(false, TO, "error: gpg failed to sign the data"),
            None
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_deadline() {
        let mut b = Backoff::new(
            Duration::from_secs(3600),
            Duration::from_millis(10),
            Duration::from_millis(500),
        );
        let waits: Vec<Duration> = (0..12).map(|_| b.next_wait().expect("in time")).collect();
        assert!(waits[0] <= Duration::from_millis(10));
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(500)));
        assert!(waits.windows(2).any(|w| w[0] != w[1]), "jitter: {waits:?}");
        let mut done = Backoff::new(
            Duration::ZERO,
            Duration::from_millis(10),
            Duration::from_secs(1),
        );
        assert!(done.expired());
        assert_eq!(done.next_second(), None);
    }

    #[test]
    fn the_hooks_warnings_are_found_on_success_too() {
        let stderr = "remote: gitapps: warning: removed a stale lock        \nremote: other\ngitapps: warning: x\nwarning: not ours\n";
        assert_eq!(
            server_warnings(stderr),
            [
                "gitapps: warning: removed a stale lock",
                "gitapps: warning: x"
            ]
        );
        assert!(server_warnings("To x\n   abc..def  main -> main\n").is_empty());
    }
}

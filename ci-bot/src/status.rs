//! What the bot is doing, for operators: the running bot keeps `workdir/status.json`
//! up to date, and `ci-bot status` reads it back, with the bot's claims as its clone
//! last saw them.

use std::path::Path;
use std::process::ExitCode;

use git_mr::people::Roles;
use git_mr::store::Depth;
use git_mr::{Fingerprint, Forge, State};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::state;

/// How many errors the status keeps (the newest).
const KEPT_ERRORS: usize = 20;

/// The status file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    pub pid: u32,
    pub instance: String,
    /// The bot's fingerprint.
    pub bot: String,
    pub remote: String,
    pub started: String,
    pub updated: String,
    /// `starting`, `fetching`, `running`, `idle`, `stopped`.
    pub state: String,
    /// How jobs are isolated and limited.
    pub sandbox: String,
    pub limits: String,
    pub job: Option<JobStatus>,
    pub last_pass: Option<PassStatus>,
    /// The newest errors, oldest first.
    pub errors: Vec<ErrorStatus>,
    /// Results that could not be posted yet: `<mr> v<k>`.
    pub pending: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobStatus {
    pub mr: String,
    pub revision: u32,
    pub commit: String,
    pub attempt: u32,
    pub started: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PassStatus {
    pub ended: String,
    pub ok: bool,
    pub ran: usize,
    pub posted: usize,
    pub busy: usize,
    pub errors: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorStatus {
    pub at: String,
    pub message: String,
}

/// Now, as the status writes times.
pub fn now() -> String {
    git_mr::clock::format(&chrono::Utc::now())
}

impl Status {
    pub fn error(&mut self, message: &str) {
        self.errors.push(ErrorStatus {
            at: now(),
            message: message.to_owned(),
        });
        let excess = self.errors.len().saturating_sub(KEPT_ERRORS);
        self.errors.drain(..excess);
    }

    /// Write `path` whole (a temporary file renamed over it): a reader never sees half.
    pub fn write(&mut self, path: &Path) -> std::io::Result<()> {
        self.updated = now();
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }

    pub fn read(path: &Path) -> std::io::Result<Status> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }
}

/// One of the bot's claims without a result, as its clone last saw the data branch.
#[derive(Clone, Debug, Serialize)]
pub struct HeldClaim {
    pub mr: String,
    pub revision: u32,
    pub attempt: u32,
    pub instance: Option<String>,
    pub date: Option<String>,
    pub expires: Option<String>,
}

/// What `ci-bot status --json` prints.
#[derive(Debug, Serialize)]
struct Report {
    /// Whether a bot holds the workdir's lock now.
    running: bool,
    workdir: String,
    #[serde(flatten)]
    status: Option<Status>,
    claims: Vec<HeldClaim>,
    /// Why the claims could not be read, if they could not.
    claims_error: Option<String>,
}

/// `ci-bot status`: exit 0 when a bot runs in the workdir, 1 when none does.
pub fn show(config: &Config, json: bool) -> ExitCode {
    let running = crate::bot::workdir_locked(config);
    let status = Status::read(&config.status_path()).ok();
    let bot = status
        .as_ref()
        .and_then(|s| Fingerprint::parse(&s.bot).ok())
        .or_else(|| {
            config
                .signing_key
                .as_deref()
                .and_then(|k| Fingerprint::parse(k).ok())
        });
    let (claims, claims_error) = match bot {
        Some(bot) => match held_claims(config, &bot) {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e)),
        },
        None => (Vec::new(), None),
    };
    let report = Report {
        running,
        workdir: config.workdir.display().to_string(),
        status,
        claims,
        claims_error,
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("ci-bot: error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", human(&report));
    }
    if running {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn human(r: &Report) -> String {
    let mut out = String::new();
    let Some(s) = &r.status else {
        out.push_str(&format!(
            "no bot has run in {} yet{}\n",
            r.workdir,
            if r.running {
                " (but one holds its lock)"
            } else {
                ""
            }
        ));
        return out;
    };
    let state = if r.running {
        s.state.clone()
    } else {
        format!("not running (last seen {}: {})", s.updated, s.state)
    };
    out.push_str(&format!("ci-bot {} for {}\n", s.bot, s.remote));
    out.push_str(&format!("  state:    {state}\n"));
    if r.running {
        out.push_str(&format!("  pid:      {} (started {})\n", s.pid, s.started));
    }
    out.push_str(&format!("  sandbox:  {}\n", s.sandbox));
    out.push_str(&format!("  limits:   {}\n", s.limits));
    if let Some(j) = &s.job {
        out.push_str(&format!(
            "  job:      {} v{} ({}), attempt {}, since {}\n",
            j.mr,
            j.revision,
            &j.commit[..j.commit.len().min(12)],
            j.attempt,
            j.started
        ));
    }
    match &s.last_pass {
        Some(p) => out.push_str(&format!(
            "  last pass: {} ({}): ran {}, posted {}, left to others {}, errors {}\n",
            p.ended,
            if p.ok { "ok" } else { "failed" },
            p.ran,
            p.posted,
            p.busy,
            p.errors
        )),
        None => out.push_str("  last pass: none yet\n"),
    }
    if !s.pending.is_empty() {
        out.push_str(&format!(
            "  results waiting to be posted: {}\n",
            s.pending.join(", ")
        ));
    }
    if r.claims.is_empty() {
        out.push_str("  claims:   none open\n");
    } else {
        out.push_str("  claims:\n");
        for c in &r.claims {
            out.push_str(&format!(
                "    {} v{} claim-{} {} (until {})\n",
                c.mr,
                c.revision,
                c.attempt,
                c.date.as_deref().unwrap_or("?"),
                c.expires.as_deref().unwrap_or("?")
            ));
        }
    }
    if let Some(e) = &r.claims_error {
        out.push_str(&format!("  claims:   cannot read them: {e}\n"));
    }
    if s.errors.is_empty() {
        out.push_str("  errors:   none\n");
    } else {
        out.push_str(&format!("  errors (newest last, {}):\n", s.errors.len()));
        for e in &s.errors {
            out.push_str(&format!(
                "    {} {}\n",
                e.at,
                e.message.replace('\n', "\n      ")
            ));
        }
    }
    out
}

/// The bot's newest, open claims on revisions without a result, from its clone.
fn held_claims(config: &Config, bot: &Fingerprint) -> Result<Vec<HeldClaim>, String> {
    let repo_dir = config.repo_dir();
    if !repo_dir.join("HEAD").exists() {
        return Ok(Vec::new());
    }
    let repo = gix::open(&repo_dir).map_err(|e| e.to_string())?;
    let forge = Forge::from_repo(repo, &config.remote);
    let snapshot = forge.snapshot(Depth::Full).map_err(|e| e.to_string())?;
    let ci: Vec<Fingerprint> = forge
        .people()
        .map(|p| p.ci().users.into_iter().collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for mr in snapshot.mrs.iter().filter(|m| m.state() == State::Open) {
        for rev in &mr.revisions {
            let mut claims = state::read_claims(forge.repo(), snapshot.commit, &mr.id, rev.number)
                .map_err(|e| e.to_string())?;
            let results = state::results(mr, rev.number, bot, &ci, &claims);
            state::close_claims(&mut claims, &results);
            let Some(newest) = claims.iter().max_by_key(|c| c.attempt) else {
                continue;
            };
            if newest.closed || newest.bot.as_ref() != Some(bot) {
                continue;
            }
            out.push(HeldClaim {
                mr: mr.id.to_string(),
                revision: rev.number,
                attempt: newest.attempt,
                instance: newest.instance.clone(),
                date: newest.date.as_ref().map(git_mr::clock::format),
                expires: newest.expires.as_ref().map(git_mr::clock::format),
            });
        }
    }
    Ok(out)
}

//! The clock, injectable for tests through `GITAPPS_NOW` (RFC 3339).

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{Error, Result};

/// The environment variable that fixes "now" (tests only).
pub const NOW_ENV: &str = "GITAPPS_NOW";

/// The current time, or the one `GITAPPS_NOW` gives.
pub fn now() -> Result<DateTime<Utc>> {
    match std::env::var(NOW_ENV) {
        Ok(s) if !s.trim().is_empty() => parse(s.trim()).ok_or(Error::BadClock(s)),
        _ => Ok(Utc::now()),
    }
}

/// Parse an RFC 3339 date into UTC.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Format as it is written in comment headers: `2026-11-26T11:00:00Z`.
pub fn format(date: &DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::Secs, true)
}

//! Pauses for the fault tests: `GITAPPS_TEST_PAUSE=<point>=<ms>[,…]` makes
//! the hook sleep at the named points, so that a test can kill it (or the
//! client, or git) at a known moment. Unset, as on every real server, it
//! costs one environment lookup per point. The environment reaches the
//! hook only from the process that runs git on the server, never from a
//! client across a network.

/// Sleep at `point` if the environment asks for it (at most a minute).
pub fn pause(point: &str) {
    let Some(spec) = std::env::var_os("GITAPPS_TEST_PAUSE") else {
        return;
    };
    let spec = spec.to_string_lossy();
    for item in spec.split(',') {
        if let Some(ms) = item
            .split_once('=')
            .filter(|(name, _)| *name == point)
            .and_then(|(_, ms)| ms.parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
        }
    }
}

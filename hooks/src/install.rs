//! `gitapps-hook install`: turn a (new or existing) bare repository into a
//! git apps server. Idempotent: running it again updates the hooks and the
//! config and leaves the access-control branch alone.

use std::io::Read;
use std::path::{Path, PathBuf};

use gitapps_policy::{
    Fingerprint, ACCESS_CONTROL_REF, DEFAULT_REF_RULES, DEFAULT_TREE_RULES,
    OPEN_REGISTRATION_REF_RULES, OPEN_REGISTRATION_TREE_RULES,
};

use crate::audit::{self, Started};
use crate::config::{Limits, ServerConfig, OWNER_KEY};
use crate::error::{GitContext, HookError, IoContext};
use crate::judge::AUDIT_REF;
use crate::keyfile::public_key_file;
use crate::prereceive::TRANSACTION_HOOK;
use crate::repo::ref_target;
use crate::write::Writer;

/// The line that marks a hook script as ours (older installs wrote
/// scripts), so that `install` may replace it without `--force`.
const MARKER: &str = "# installed by gitapps-hook install";

/// The file name of our binary: a hook that is a symlink to it is ours.
const BINARY_NAME: &str = "gitapps-hook";

pub struct InstallOptions {
    pub repo: PathBuf,
    pub owner_key: PathBuf,
    pub open_registration: bool,
    pub nonce_slop: u32,
    /// `receive.maxInputSize`: the largest pack a push may send, in bytes.
    pub max_input_size: u64,
    pub force: bool,
    /// The binary the hook scripts run; defaults to this executable.
    pub hook_binary: Option<PathBuf>,
}

/// Returns what was done, one line each, for the admin.
pub fn install(opts: &InstallOptions) -> Result<Vec<String>, HookError> {
    let mut report = Vec::new();
    let key_bytes = std::fs::read(&opts.owner_key).io(format!(
        "reading the owner's key {}",
        opts.owner_key.display()
    ))?;
    let repo = if opts.repo.exists() {
        gix::open_opts(&opts.repo, gix::open::Options::isolated())
            .git(format!("opening {}", opts.repo.display()))?
    } else {
        report.push(format!("created bare repository {}", opts.repo.display()));
        gix::init_bare(&opts.repo).git(format!("creating {}", opts.repo.display()))?
    };
    let git_dir = repo.git_dir().to_path_buf();
    // The key must make a key file the hook takes, with the limits the
    // repository sets, if any.
    let limits = Limits::read(&repo.config_snapshot())?;
    let (owner, public_key) = public_key_file(&key_bytes, &limits)
        .map_err(|e| HookError::Usage(format!("{}: {e}", opts.owner_key.display())))?;

    let binary = match &opts.hook_binary {
        Some(p) => p.clone(),
        None => std::env::current_exe().io("finding this executable")?,
    };
    let binary = binary
        .canonicalize()
        .io(format!("resolving {}", binary.display()))?;
    // Check both hooks before writing either, so a refusal changes nothing.
    let hooks = ["pre-receive", TRANSACTION_HOOK];
    for file in hooks {
        check_hook_is_ours(&git_dir.join("hooks").join(file), opts.force)?;
    }

    write_config(&git_dir, &owner, opts, &mut report)?;

    for file in hooks {
        let path = git_dir.join("hooks").join(file);
        write_hook(&path, &binary)?;
        report.push(format!("installed {}", path.display()));
    }
    // Before the log was written by the transaction hook, post-receive
    // wrote it: ours is no longer needed (another one is left alone).
    let post_receive = git_dir.join("hooks").join("post-receive");
    if post_receive.symlink_metadata().is_ok() && check_hook_is_ours(&post_receive, false).is_ok() {
        std::fs::remove_file(&post_receive).io(format!("removing {}", post_receive.display()))?;
        report.push(format!(
            "removed {} (the audit log is written by {TRANSACTION_HOOK} now)",
            post_receive.display()
        ));
    }
    // The config just written, as the hook will read it.
    let repo = gix::open_opts(&git_dir, gix::open::Options::isolated())
        .git(format!("opening {}", git_dir.display()))?;
    let config = ServerConfig::read(&repo)?;
    let writer = Writer::new(&repo);

    let policy_tip = if let Some(tip) = ref_target(&repo, ACCESS_CONTROL_REF)? {
        report.push(format!(
            "{ACCESS_CONTROL_REF} exists ({tip}); left as it is"
        ));
        tip
    } else {
        let mut files = vec![
            (
                "refs/owner.conf".to_owned(),
                DEFAULT_REF_RULES.as_bytes().to_vec(),
            ),
            (
                "branches/owner.conf".to_owned(),
                DEFAULT_TREE_RULES.as_bytes().to_vec(),
            ),
            (format!("keys/{owner}.asc"), public_key),
        ];
        if opts.open_registration {
            files.push((
                "refs/registration.conf".to_owned(),
                OPEN_REGISTRATION_REF_RULES.as_bytes().to_vec(),
            ));
            files.push((
                "branches/registration.conf".to_owned(),
                OPEN_REGISTRATION_TREE_RULES.as_bytes().to_vec(),
            ));
        }
        let tree = writer.write_tree(&files)?;
        let message = "Set up access control\n\nWritten by gitapps-hook install.\n";
        let id = writer.commit(tree, Vec::new(), message)?;
        writer.move_ref(ACCESS_CONTROL_REF, None, id, message)?;
        report.push(format!("created {ACCESS_CONTROL_REF} at {id}"));
        id
    };
    match audit::start(&repo, &owner, policy_tip, &config)? {
        Started::Genesis(genesis) => report.push(format!(
            "started the audit log {AUDIT_REF} with its genesis record {genesis}"
        )),
        Started::Upgraded(record) => report.push(format!(
            "upgraded the audit log {AUDIT_REF}: record {record} names the refs as they are now; pushes are recorded before git applies them from here on"
        )),
        Started::Current => report.push(format!("{AUDIT_REF} exists; left as it is")),
    }
    report.push(format!("owner: {owner}"));
    Ok(report)
}

fn check_hook_is_ours(path: &Path, force: bool) -> Result<(), HookError> {
    if let Ok(target) = std::fs::read_link(path) {
        let ours = target
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(BINARY_NAME));
        if ours || force {
            return Ok(());
        }
        return Err(HookError::Usage(format!(
            "{} is a link to {}, not to gitapps-hook; move it away or pass --force to replace it",
            path.display(),
            target.display()
        )));
    }
    match std::fs::read_to_string(path) {
        Ok(text) if !text.contains(MARKER) && !force => Err(HookError::Usage(format!(
            "{} exists and was not installed by gitapps-hook; move it away or pass --force to replace it",
            path.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(HookError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        }),
    }
}

/// The hook is a symlink to the binary, which knows from its name which
/// step to run: git then starts one process per hook, not a shell and then
/// the binary (a push pays for both hooks).
fn write_hook(path: &Path, binary: &Path) -> Result<(), HookError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).io(format!("creating {}", dir.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(HookError::Io {
                context: format!("replacing {}", path.display()),
                source: e,
            });
        }
    }
    std::os::unix::fs::symlink(binary, path).io(format!(
        "linking {} to {}",
        path.display(),
        binary.display()
    ))
}

/// How old an unreachable object must be for git's gc to prune it.
pub const PRUNE_EXPIRE: &str = "1.hour.ago";

fn write_config(
    git_dir: &Path,
    owner: &Fingerprint,
    opts: &InstallOptions,
    report: &mut Vec<String>,
) -> Result<(), HookError> {
    let nonce_slop = opts.nonce_slop;
    let path = git_dir.join("config");
    let mut config =
        gix::config::File::from_path_no_includes(path.clone(), gix::config::Source::Local)
            .git(format!("reading {}", path.display()))?;
    let set = |config: &mut gix::config::File, key: &str, value: &str| {
        config
            .set_raw_value(key, value)
            .map(|_| ())
            .git(format!("setting {key}"))
    };
    set(&mut config, OWNER_KEY, owner.as_str())?;
    // Keep an existing seed: replacing it would invalidate nonces handed
    // out to pushes in flight.
    if config.string("receive.certNonceSeed").is_none() {
        set(&mut config, "receive.certNonceSeed", &random_hex(32)?)?;
        report.push("set receive.certNonceSeed (random)".to_owned());
    }
    set(
        &mut config,
        "receive.certNonceSlop",
        &nonce_slop.to_string(),
    )?;
    // Before it runs a hook on a signed push, git verifies the certificate
    // with gpg.program against the server's own keyring, only to fill
    // GIT_PUSH_CERT_STATUS, which the hook does not trust: it verifies the
    // signature itself. A gpg that does nothing spares every push a gpg
    // process. Unset it if another hook needs git's verdict.
    set(&mut config, "gpg.program", "true")?;
    // git indexes a whole pack before any hook runs: bound it.
    set(
        &mut config,
        "receive.maxInputSize",
        &opts.max_input_size.to_string(),
    )?;
    // A push that loses a race for its refs (git mr retries those) leaves
    // its objects behind, unreachable, and git's auto-gc keeps unreachable
    // objects for two weeks: under contention thousands pile up loose, and
    // then auto-gc gives up and warns on every push. An hour is far longer
    // than any push takes between writing its objects and its refs (its
    // objects stay in git's quarantine until its hooks accepted it), so
    // receive-pack's auto-gc can prune them. An admin's own value is kept.
    if config.string("gc.pruneExpire").is_none() {
        set(&mut config, "gc.pruneExpire", PRUNE_EXPIRE)?;
        report.push(format!(
            "set gc.pruneExpire = {PRUNE_EXPIRE} (unreachable objects of pushes that lost a race go at the next auto-gc)"
        ));
    }
    report.push(format!(
        "set {OWNER_KEY}, receive.certNonceSlop = {nonce_slop}, receive.maxInputSize = {} and gpg.program = true (the hook verifies signatures itself)",
        opts.max_input_size
    ));
    let mut out = Vec::new();
    config
        .write_to(&mut out)
        .io(format!("serialising {}", path.display()))?;
    let tmp = git_dir.join("config.gitapps.tmp");
    std::fs::write(&tmp, out).io(format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).io(format!("replacing {}", path.display()))
}

fn random_hex(bytes: usize) -> Result<String, HookError> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .io("reading /dev/urandom for the nonce seed")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

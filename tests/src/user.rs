//! A person with their own `GNUPGHOME` and OpenPGP key, made with real gpg.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run, sealed_command, short_tempdir, Output};

/// A user: a temporary `HOME`, a `GNUPGHOME` with one secret key, and the
/// public certificate others see.
///
/// Everything lives under one short temporary directory in `/tmp`; the
/// gpg-agents started for it are killed on drop.
pub struct User {
    name: String,
    email: String,
    fpr: String,
    signing_fpr: String,
    public: String,
    home: PathBuf,
    gnupghome: PathBuf,
    /// Every GNUPGHOME made for this user (the signing one first).
    gnupghomes: Vec<PathBuf>,
    dir: tempfile::TempDir,
}

/// How the key is made.
struct KeySpec<'a> {
    algo: &'a str,
    usage: &'a str,
    expire: &'a str,
    /// `--faked-system-time` value for the key generation.
    created_at: Option<&'a str>,
    signing_subkey: bool,
}

impl User {
    /// A user with an ed25519 primary key that signs (the usual case).
    pub fn new(name: &str) -> User {
        Self::ed25519(name, None)
    }

    /// An ed25519 signing key, made at `created_at` (gpg's time) or now.
    fn ed25519(name: &str, created_at: Option<&str>) -> User {
        Self::generate(
            name,
            KeySpec {
                algo: "ed25519",
                usage: "sign",
                expire: "never",
                created_at,
                signing_subkey: false,
            },
        )
    }

    /// A user whose ed25519 primary key only certifies, with a separate ed25519
    /// signing subkey (so signatures are made by the subkey).
    pub fn with_signing_subkey(name: &str) -> User {
        Self::generate(
            name,
            KeySpec {
                algo: "ed25519",
                usage: "cert",
                expire: "never",
                created_at: None,
                signing_subkey: true,
            },
        )
    }

    /// A user with an RSA-2048 primary key that signs.
    pub fn rsa(name: &str) -> User {
        Self::generate(
            name,
            KeySpec {
                algo: "rsa2048",
                usage: "sign",
                expire: "never",
                created_at: None,
                signing_subkey: false,
            },
        )
    }

    /// A user whose published certificate expired long ago: the key was created
    /// (with `--faked-system-time`) ten days in the past, and an hour later its
    /// expiry was set to one day after creation.
    ///
    /// gpg refuses to sign with a key it knows to be expired, so the user keeps
    /// signing with a copy of the key as it was before the expiry was set; the
    /// certificate in [`User::public_key_armored`] is the expired one. Signatures
    /// are made now, long after the expiry.
    pub fn expired(name: &str) -> User {
        let created = now_secs() - 10 * 86400;
        let mut user = Self::created_ago(name, 10 * 86400);
        user.publish_expiry(created + 3600, "1d");
        user
    }

    /// A user whose published certificate expired `secs_ago` seconds ago:
    /// the key was made an hour ago (with `--faked-system-time`) and its
    /// expiry then set to that moment. As with [`User::expired`], the user
    /// signs with a copy that knows of no expiry, so a signature dated
    /// before the expiry ([`User::sign_detached_at`]) is one the key could
    /// have made.
    pub fn expiring(name: &str, secs_ago: u64) -> User {
        let now = now_secs();
        let mut user = Self::created_ago(name, 3600);
        let set_at = now - 3600 + 60;
        user.publish_expiry(set_at, &format!("seconds={}", now - secs_ago - set_at));
        user
    }

    /// A user whose published certificate carries a revocation (gpg's own
    /// "no reason specified" revocation certificate, from `openpgp-revocs.d`).
    ///
    /// As with [`User::expired`], the user signs with a copy of the key that
    /// knows nothing of the revocation.
    pub fn revoked(name: &str) -> User {
        let mut user = User::new(name);
        let rev_file = user
            .gnupghome
            .join("openpgp-revocs.d")
            .join(format!("{}.rev", user.fpr));
        let rev = std::fs::read_to_string(&rev_file)
            .unwrap_or_else(|e| panic!("read {}: {e}", rev_file.display()))
            .replace(
                ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
                "-----BEGIN PGP PUBLIC KEY BLOCK-----",
            );
        user.publish_revocation(&rev);
        user
    }

    /// A user whose published certificate carries a *soft* revocation made
    /// `secs_ago` seconds ago, with the reason "key is no longer used"
    /// (retired): unlike a compromised key's, it leaves the signatures made
    /// before it valid. The user signs with a copy that knows nothing of it.
    pub fn retired(name: &str, secs_ago: u64) -> User {
        let mut user = Self::created_ago(name, 3600);
        // gpg makes revocation certificates only in a dialogue; answer it.
        let mut cmd = sealed_command("gpg", &user.home, Some(&user.gnupghome));
        cmd.args([
            "--no-tty",
            "--yes",
            "--command-fd",
            "0",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--faked-system-time",
            &gpg_time(now_secs() - secs_ago),
            "--gen-revoke",
            &user.fpr.clone(),
        ]);
        let out = run(cmd, Some(b"y\n3\nretired\n\ny\n"));
        out.assert_ok();
        assert!(out.stdout.contains("BEGIN PGP PUBLIC KEY BLOCK"), "{out}");
        user.publish_revocation(&out.stdout);
        user
    }

    /// A user with an ed25519 key made `secs_ago` seconds ago (with
    /// `--faked-system-time`), so that it can sign with dates since then.
    pub fn created_ago(name: &str, secs_ago: u64) -> User {
        Self::ed25519(name, Some(&gpg_time(now_secs() - secs_ago)))
    }

    /// Publish the certificate with its expiry set (gpg's clock at
    /// `set_at`, `--quick-set-expire … lifetime`), keeping the signing copy
    /// as it is.
    fn publish_expiry(&mut self, set_at: u64, lifetime: &str) {
        let public_home = self.copy_gnupghome("p");
        let fpr = self.fpr.clone();
        self.gpg_in(
            &public_home,
            &[
                "--faked-system-time",
                &gpg_time(set_at),
                "--quick-set-expire",
                &fpr,
                lifetime,
            ],
        )
        .assert_ok();
        self.publish_from(&public_home, "pub:e:", "the key did not expire");
    }

    /// Publish the certificate with the revocation `rev` (armored) imported,
    /// keeping the signing copy as it is.
    fn publish_revocation(&mut self, rev: &str) {
        let public_home = self.copy_gnupghome("p");
        let mut cmd = self.gpg_command(&public_home);
        cmd.arg("--import");
        run(cmd, Some(rev.as_bytes())).assert_ok();
        self.publish_from(&public_home, "pub:r:", "the key is not revoked");
    }

    /// The certificate others see becomes the one in `gnupghome`, whose
    /// listing must have a line starting with `listed`.
    fn publish_from(&mut self, gnupghome: &Path, listed: &str, otherwise: &str) {
        self.public = self.export_from(gnupghome);
        let listing = self.list_keys(gnupghome);
        assert!(
            listing.lines().any(|l| l.starts_with(listed)),
            "{otherwise}:\n{listing}"
        );
    }

    fn generate(name: &str, spec: KeySpec<'_>) -> User {
        let dir = short_tempdir("u");
        let home = dir.path().join("h");
        let gnupghome = dir.path().join("g");
        make_private_dir(&home);
        make_private_dir(&gnupghome);
        let email = format!(
            "{}@example.com",
            name.to_ascii_lowercase().replace(' ', ".")
        );
        let mut user = User {
            name: name.to_string(),
            email,
            fpr: String::new(),
            signing_fpr: String::new(),
            public: String::new(),
            home,
            gnupghome: gnupghome.clone(),
            gnupghomes: vec![gnupghome.clone()],
            dir,
        };
        let uid = user.ident();
        let mut args = vec![];
        if let Some(t) = spec.created_at {
            args.extend(["--faked-system-time", t]);
        }
        args.extend(["--quick-gen-key", &uid, spec.algo, spec.usage, spec.expire]);
        user.gpg_in(&gnupghome, &args).assert_ok();
        user.fpr = user.primary_fingerprint_in(&gnupghome);
        if spec.signing_subkey {
            let fpr = user.fpr.clone();
            user.gpg_in(
                &gnupghome,
                &["--quick-add-key", &fpr, "ed25519", "sign", "never"],
            )
            .assert_ok();
        }
        user.signing_fpr = user.signing_fingerprint_in(&gnupghome);
        user.public = user.export_from(&gnupghome);
        user
    }

    /// The user's name, as in the key's user id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user's e-mail, as in the key's user id.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// `Name <email>`.
    pub fn ident(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }

    /// The user id: 40 upper-case hex digits of the primary key's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fpr
    }

    /// Fingerprint of the key that makes signatures: the signing subkey if
    /// there is one, else the primary key.
    pub fn signing_fingerprint(&self) -> &str {
        &self.signing_fpr
    }

    /// The 64-bit key id of the signing key (upper-case hex), as git reports it
    /// in `GIT_PUSH_CERT_KEY`.
    pub fn signing_key_id(&self) -> &str {
        &self.signing_fpr[24..]
    }

    /// The public certificate others see (ASCII-armored): for
    /// [`User::expired`] and [`User::revoked`], the expired or revoked one.
    pub fn public_key_armored(&self) -> &str {
        &self.public
    }

    /// The certificate as the signing `GNUPGHOME` has it now (after, say,
    /// `gpg --quick-add-uid`), exported afresh.
    pub fn export_public_key(&self) -> String {
        self.export_from(&self.gnupghome)
    }

    /// `keys/<FPR>.asc`, where this user's key lives on `apps/access-control`.
    pub fn key_path(&self) -> String {
        format!("keys/{}.asc", self.fpr)
    }

    /// The user's `GNUPGHOME` (the one it signs with).
    pub fn gnupghome(&self) -> &Path {
        &self.gnupghome
    }

    /// The user's `HOME`.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// A temporary directory of this user's, for scratch files.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A sealed command (see [`crate::sealed_command`]) with this user's
    /// `HOME` and `GNUPGHOME`.
    pub fn command(&self, program: &str) -> Command {
        sealed_command(program, &self.home, Some(&self.gnupghome))
    }

    /// Runs gpg with this user's `GNUPGHOME`, in batch mode, no passphrase.
    pub fn gpg(&self, args: &[&str]) -> Output {
        self.gpg_in(&self.gnupghome, args)
    }

    /// An ASCII-armored detached signature over `data`, made by gpg with this
    /// user's key (`gpg --detach-sign --armor -u FPR`).
    pub fn sign_detached(&self, data: &[u8]) -> String {
        let mut cmd = self.gpg_command(&self.gnupghome);
        cmd.args(["--detach-sign", "--armor", "-u", &self.fpr]);
        let out = run(cmd, Some(data));
        out.assert_ok();
        out.stdout
    }

    /// [`User::sign_detached`] with gpg's clock set to `unix_secs`
    /// (`--faked-system-time`): a signature dated then.
    pub fn sign_detached_at(&self, data: &[u8], unix_secs: u64) -> String {
        let mut cmd = self.gpg_command(&self.gnupghome);
        cmd.args(["--faked-system-time", &gpg_time(unix_secs)]);
        cmd.args(["--detach-sign", "--armor", "-u", &self.fpr]);
        let out = run(cmd, Some(data));
        out.assert_ok();
        out.stdout
    }

    /// Writes the public key to `<scratch>/<FPR>.asc` and returns its path.
    pub fn public_key_file(&self) -> PathBuf {
        let path = self.dir.path().join(format!("{}.asc", self.fpr));
        std::fs::write(&path, &self.public).expect("write public key file");
        path
    }

    fn gpg_command(&self, gnupghome: &Path) -> Command {
        let mut cmd = sealed_command("gpg", &self.home, Some(gnupghome));
        cmd.args([
            "--batch",
            "--yes",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            // User ids are UTF-8 whatever the sealed locale (LC_ALL=C) says.
            "--display-charset",
            "utf-8",
        ]);
        cmd
    }

    fn gpg_in(&self, gnupghome: &Path, args: &[&str]) -> Output {
        let mut cmd = self.gpg_command(gnupghome);
        cmd.args(args);
        run(cmd, None)
    }

    fn export_from(&self, gnupghome: &Path) -> String {
        let out = self.gpg_in(gnupghome, &["--armor", "--export", &self.fpr]);
        out.assert_ok();
        assert!(
            out.stdout.contains("BEGIN PGP PUBLIC KEY BLOCK"),
            "gpg exported nothing:\n{out}"
        );
        out.stdout
    }

    fn list_keys(&self, gnupghome: &Path) -> String {
        let out = self.gpg_in(
            gnupghome,
            &["--with-colons", "--fixed-list-mode", "--list-keys"],
        );
        out.assert_ok();
        out.stdout
    }

    fn primary_fingerprint_in(&self, gnupghome: &Path) -> String {
        let listing = self.list_keys(gnupghome);
        let mut lines = listing.lines().skip_while(|l| !l.starts_with("pub:"));
        lines
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no primary fingerprint in:\n{listing}"))
    }

    /// The fingerprint of the last key or subkey with `s` in its capabilities.
    fn signing_fingerprint_in(&self, gnupghome: &Path) -> String {
        let listing = self.list_keys(gnupghome);
        let mut signing = None;
        let mut current_signs = false;
        for line in listing.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            match fields[0] {
                "pub" | "sub" => {
                    current_signs = fields.get(11).is_some_and(|caps| caps.contains('s'))
                }
                "fpr" if current_signs => {
                    signing = Some(fields[9].to_string());
                    current_signs = false;
                }
                _ => {}
            }
        }
        signing.unwrap_or_else(|| panic!("no signing key in:\n{listing}"))
    }

    /// A copy of the signing GNUPGHOME (keys and trust db), to change the
    /// published certificate without the signing copy knowing.
    fn copy_gnupghome(&mut self, name: &str) -> PathBuf {
        let copy = self.dir.path().join(name);
        make_private_dir(&copy);
        for entry in ["pubring.kbx", "trustdb.gpg", "private-keys-v1.d"] {
            let from = self.gnupghome.join(entry);
            if from.exists() {
                let status = Command::new("cp")
                    .arg("-a")
                    .arg(&from)
                    .arg(copy.join(entry))
                    .status()
                    .expect("cp");
                assert!(status.success(), "cp -a {}", from.display());
            }
        }
        self.gnupghomes.push(copy.clone());
        copy
    }
}

impl Drop for User {
    fn drop(&mut self) {
        for gnupghome in &self.gnupghomes {
            let mut cmd = sealed_command("gpgconf", &self.home, Some(gnupghome));
            cmd.args(["--kill", "gpg-agent"]);
            let _ = cmd
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "User({} {})", self.ident(), self.fpr)
    }
}

fn make_private_dir(path: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time after 1970")
        .as_secs()
}

/// A time in the form `--faked-system-time` wants: seconds since the epoch
/// followed by `!` (a fixed, not running, clock).
fn gpg_time(secs: u64) -> String {
    format!("{secs}!")
}

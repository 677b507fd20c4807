//! The fuzz targets' one key, fixed so that every run signs the same
//! certificates: an ed25519 primary key that only certifies, with an
//! ed25519 signing subkey (made with gpg, dated 2020, no passphrase; a
//! test key, of no use anywhere else).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sequoia_openpgp as openpgp;

use openpgp::crypto::KeyPair;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::Cert;

/// The key's fingerprint: its user id.
pub const FINGERPRINT: &str = "162241C103F2B4D3F2D12414631D5ACD6E32FAF5";

const SECRET_KEY: &str = "-----BEGIN PGP PRIVATE KEY BLOCK-----

lFgEXgvhABYJKwYBBAHaRw8BAQdA3lgAS7une4DYmEMWuRUlKiz1AxMlZG1p3dLr
LCBK3XQAAP9KLetL/PLUbLX8AurbldWuMvY8WPlXteRG6r+A8VkfOhQhtBtGdXp6
IEtleSA8ZnV6ekBleGFtcGxlLmNvbT6IkAQTFggAOBYhBBYiQcED8rTT8tEkFGMd
Ws1uMvr1BQJeC+EAAhsBBQsJCAcCBhUKCQgLAgQWAgMBAh4BAheAAAoJEGMdWs1u
Mvr1qqkBAI1ciLeDLJjN7gEkpsZ8l5Tyrk8MPOc3BpBwgv0aQrkKAP0Sv/94UwHd
qm2YBUYtPTuI9T+Bp67YuIMAi5J37KZuDpxYBF4L4WQWCSsGAQQB2kcPAQEHQAP6
4Bxwzr5ujCldsTQ945FQpolNRJy8JY3C+mLqVNj2AAEA1unl+tqMHs+UHVeaXCOB
1K6uEOD9tG9L7e2lusbDzSUT04jvBBgWCAAgFiEEFiJBwQPytNPy0SQUYx1azW4y
+vUFAl4L4WQCGwIAgQkQYx1azW4y+vV2IAQZFggAHRYhBH1A6K+SJdGrPChIe0rl
F+bS6qD3BQJeC+FkAAoJEErlF+bS6qD3HO8BANtmN8vwTkiBPr6SEL8MVOxxXVj3
+nmuMG7yAw04pS5bAP0c3edPCrI96pdRKKdzF/OcCDUW7AoEFt8d/l0u8xrrAku9
AQDMp7UQZE8fIO8dCL7LcURGJMPAjvPFmt8cGZNmE6nw+QEA/iCHV3v4FFfTRf1G
bOapNqVBdj/RVu6y1RoPKDUgeg0=
=fupd
-----END PGP PRIVATE KEY BLOCK-----
";

/// "Now", for every target: the signatures in the corpus are made just
/// before it.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The secret key.
pub fn secret() -> &'static Cert {
    static CERT: OnceLock<Cert> = OnceLock::new();
    CERT.get_or_init(|| Cert::from_bytes(SECRET_KEY.as_bytes()).expect("the test key parses"))
}

/// The public key, as a key file holds it.
pub fn public() -> Cert {
    secret().clone().strip_secret_key_material()
}

/// The public key, armored.
pub fn public_armored() -> Vec<u8> {
    use openpgp::serialize::SerializeInto;
    public().armored().to_vec().expect("armor")
}

/// The signing subkey, ready to sign.
pub fn signer() -> KeyPair {
    let policy = StandardPolicy::new();
    secret()
        .keys()
        .with_policy(&policy, now())
        .secret()
        .for_signing()
        .next()
        .expect("a signing subkey")
        .key()
        .clone()
        .into_keypair()
        .expect("an unencrypted key")
}

/// The primary key, to make binding signatures with.
pub fn certifier() -> KeyPair {
    secret()
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .expect("secret")
        .into_keypair()
        .expect("an unencrypted key")
}

/// An armored detached signature over `payload`, made at `at`, as gpg
/// makes for git.
pub fn sign(payload: &[u8], at: SystemTime) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let message = Message::new(&mut out);
    let message = Armorer::new(message)
        .kind(openpgp::armor::Kind::Signature)
        .build()
        .expect("armorer");
    let mut signer = Signer::new(message, signer())
        .expect("signer")
        .detached()
        .creation_time(at)
        .build()
        .expect("signer");
    signer.write_all(payload).expect("sign");
    signer.finalize().expect("finalize");
    out
}

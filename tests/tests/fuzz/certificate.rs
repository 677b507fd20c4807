//! Target: a push certificate as the hook reads it, up to the signature's
//! verification: its size, its text, its signature block (size, packets,
//! one signature), the signature's date, the verification against the key.
//! Two forms: the certificate's text, and the signature's packets alone
//! (armored by the target, so mutations reach the binary parser).

use std::collections::HashSet;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use gitapps_hooks::cert::PushCertificate;
use gitapps_hooks::config::Limits;
use gitapps_hooks::keyring::{self, parse_signature, Window};
use gitapps_hooks::ledger;
use gitapps_tests::fuzz::{self, Bounds};
use sequoia_openpgp as openpgp;

use openpgp::serialize::stream::{Armorer, Compressor, LiteralWriter, Message};
use openpgp::types::CompressionAlgorithm;

use crate::key;

/// Issue 9's goal for the certificate checks, whatever the certificate.
const BOUNDS: Bounds = Bounds {
    peak_bytes: 64 << 20,
    time: fuzz::TRIPWIRE,
};

const ZEROS: &str = "0000000000000000000000000000000000000000";

/// A certificate's payload as git writes it, with `extra` header lines.
fn payload(nonce_secs: u64, extra: &str) -> String {
    format!(
        "certificate version 0.1\npusher {fpr} {nonce_secs} +0000\npushee /srv/x.git\nnonce {nonce_secs}-0123456789abcdef\n{extra}\n{ZEROS} 1111111111111111111111111111111111111111 refs/heads/main\n",
        fpr = key::FINGERPRINT
    )
}

fn now_secs() -> u64 {
    key::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The payloads the corpus signs with the key: a verified signature must be
/// over one of them.
fn signed_payloads() -> &'static HashSet<Vec<u8>> {
    &corpus().1
}

/// Armor `packets` as a signature block.
fn armor(packets: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w =
        openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).expect("armor");
    w.write_all(packets).expect("write");
    w.finalize().expect("finalize");
    out
}

/// `mib` MiB of zeros in a literal packet, compressed with `algo`
/// (`layers` times), armored as a signature: the attack of issue 9.
fn bomb(algo: CompressionAlgorithm, mib: usize, layers: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let message = Message::new(&mut out);
        let mut message = Armorer::new(message)
            .kind(openpgp::armor::Kind::Signature)
            .build()
            .expect("armorer");
        for _ in 0..layers {
            message = Compressor::new(message)
                .algo(algo)
                .level(openpgp::types::CompressionLevel::best())
                .build()
                .expect("compressor");
        }
        let mut literal = LiteralWriter::new(message).build().expect("literal");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..mib {
            literal.write_all(&zeros).expect("write");
        }
        literal.finalize().expect("finalize");
    }
    out
}

/// Certificate texts, and the payloads among them that the key signed.
type Corpus = (Vec<Vec<u8>>, HashSet<Vec<u8>>);

/// The seed corpus, made once.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(make_corpus)
}

fn make_corpus() -> Corpus {
    let now = key::now();
    let nonce = now_secs() - 5;
    let mut signed = HashSet::new();
    let mut certs = Vec::new();
    let mut cert = |payload: String, signature: Vec<u8>| {
        certs.push([payload.as_bytes(), &signature].concat());
    };
    let good = payload(nonce, "");
    let good_sig = key::sign(good.as_bytes(), now - Duration::from_secs(2));
    signed.insert(good.clone().into_bytes());
    cert(good.clone(), good_sig.clone());
    // The same, armored otherwise.
    let text = String::from_utf8(good_sig.clone()).expect("armor is text");
    cert(
        good.clone(),
        text.replacen("\n\n", "\nComment: hello\n\n", 1)
            .into_bytes(),
    );
    // Push options, many of them (a 1 MiB certificate); then one just under
    // the 16 MiB limit.
    for (n, len) in [(1000, 1000), (16_300, 1000)] {
        let options = format!("push-option {}\n", "o".repeat(len)).repeat(n);
        let p = payload(nonce, &options);
        let s = key::sign(p.as_bytes(), now);
        signed.insert(p.clone().into_bytes());
        cert(p, s);
    }
    // Dated outside the window: an hour ago, an hour ahead.
    let hour = Duration::from_secs(3600);
    for at in [now - hour, now + hour] {
        cert(good.clone(), key::sign(good.as_bytes(), at));
    }
    // Compression bombs: bzip2 (issue 9's), zlib, zlib in zlib, three in a row.
    cert(good.clone(), bomb(CompressionAlgorithm::BZip2, 64, 1));
    cert(good.clone(), bomb(CompressionAlgorithm::Zlib, 16, 1));
    cert(good.clone(), bomb(CompressionAlgorithm::Zip, 64, 2));
    let bz = packets_of(&bomb(CompressionAlgorithm::BZip2, 64, 1));
    cert(good.clone(), armor(&bz.repeat(3)));
    // Five signatures; a marker packet; a partial body length; a stray
    // literal packet; an empty block.
    let sig_packets = packets_of(&good_sig);
    cert(good.clone(), armor(&sig_packets.repeat(5)));
    cert(
        good.clone(),
        armor(&[&[0xCA, 3, b'P', b'G', b'P'], sig_packets.as_slice()].concat()),
    );
    let mut partial = sig_packets.clone();
    partial[0] = 0xC2;
    partial.insert(1, 0xE1);
    cert(good.clone(), armor(&partial));
    cert(good.clone(), armor(&[0xCB, 3, b'b', 0, 0]));
    cert(
        good.clone(),
        b"-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n".to_vec(),
    );
    // A block over 16 KiB; other kinds of signature; no signature.
    cert(
        good.clone(),
        armor(&[sig_packets.as_slice(), &vec![0u8; 20 << 10]].concat()),
    );
    cert(
        good.clone(),
        b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n".to_vec(),
    );
    cert(
        good.clone(),
        b"-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n".to_vec(),
    );
    cert(good.clone(), Vec::new());
    // Text that is not what git writes.
    cert(good.replace("nonce", "nonce\u{ff}\u{0}"), good_sig.clone());
    cert(
        good.replacen("certificate version 0.1", "certificate version 9", 1),
        good_sig.clone(),
    );
    certs.push([b"\xff\xfe\n\n".as_slice(), &good_sig].concat());
    (certs, signed)
}

/// The binary packets of an armored block.
fn packets_of(armored: &[u8]) -> Vec<u8> {
    gitapps_hooks::packets::dearmor(armored).expect("armored")
}

/// What the hook does with a certificate blob, in its order.
fn check(input: &[u8]) {
    let limits = Limits::default();
    if input.len() as u64 > limits.cert_size {
        return;
    }
    let Ok(cert) = PushCertificate::parse(input) else {
        return;
    };
    let nonce_time = cert.nonce_time();
    let _ = ledger::signed_digest(cert.payload);
    check_signature(cert.payload, cert.signature, nonce_time, &limits);
}

fn check_signature(payload: &[u8], block: &[u8], nonce_time: Option<u64>, limits: &Limits) {
    let Ok(sig) = parse_signature(block, limits) else {
        return;
    };
    let window = Window {
        nonce_time: nonce_time.unwrap_or(0),
        now: key::now(),
        slop: 30,
    };
    if window.check(sig.signed_at).is_err() {
        return;
    }
    if let Ok(fpr) = keyring::verify(&[key::public()], &sig, payload, key::now()) {
        assert_eq!(fpr.as_str(), key::FINGERPRINT);
        assert!(
            signed_payloads().contains(payload),
            "a signature verified over a payload the key never signed"
        );
    }
}

const DICTIONARY: &[&[u8]] = &[
    b"-----BEGIN PGP SIGNATURE-----\n",
    b"-----END PGP SIGNATURE-----\n",
    b"-----BEGIN PGP MESSAGE-----\n",
    b"-----BEGIN SSH SIGNATURE-----\n",
    b"\n\n",
    b"nonce 1799999995-abc\n",
    b"push-option x\n",
    b"certificate version 0.1\n",
    b"pusher X 0 +0000\n",
    b"0000000000000000000000000000000000000000 ",
    b" refs/heads/main\n",
    b"Comment: x\n",
    b"=AAAA\n",
    b"iQ",
    b"owN",
    b"\r\n",
];

#[test]
fn certificate_texts() {
    let (corpus, _) = corpus();
    let report = fuzz::run(
        "certificate",
        corpus,
        DICTIONARY,
        fuzz::iterations(300),
        BOUNDS,
        check,
    );
    assert_eq!(report.inputs, corpus.len() + fuzz::iterations(300));
}

#[test]
fn signature_packets() {
    let (corpus, _) = corpus();
    // The binary packets of every armored block of the corpus.
    let packets: Vec<Vec<u8>> = corpus
        .iter()
        .filter_map(|c| PushCertificate::parse(c).ok())
        .filter_map(|c| gitapps_hooks::packets::dearmor(c.signature).ok())
        .filter(|p| p.len() < 64 << 10)
        .collect();
    assert!(packets.len() > 5, "{}", packets.len());
    let good = payload(now_secs() - 5, "");
    let dictionary: &[&[u8]] = &[
        &[0x88],
        &[0x89, 0x00],
        &[0xC2],
        &[0xC2, 0xFF, 0, 0, 0],
        &[0xA3, 0x01],
        &[0xC8],
        &[0x04, 0x00, 0x16, 0x08],
        &[0x00, 0x00],
        &[0xFF, 0xFF],
    ];
    fuzz::run(
        "signature packets",
        &packets,
        dictionary,
        fuzz::iterations(400),
        BOUNDS,
        |packets| {
            let limits = Limits::default();
            check_signature(
                good.as_bytes(),
                &armor(packets),
                Some(now_secs() - 5),
                &limits,
            );
        },
    );
}

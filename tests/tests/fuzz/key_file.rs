//! Target: a `keys/<FPR>.asc` file as the hook checks it when a push adds
//! one (anyone may, with open registration): its size, its packets, its
//! user ids, one public key named after itself; and whether it can sign.

use std::io::Write;
use std::time::Duration;

use gitapps_hooks::config::Limits;
use gitapps_hooks::keyfile::{check_key_file, parse_certs, usable_at};
use gitapps_tests::fuzz::{self, Bounds};
use sequoia_openpgp as openpgp;

use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::UserID;
use openpgp::serialize::stream::{Armorer, Compressor, Message};
use openpgp::serialize::SerializeInto;
use openpgp::types::{CompressionAlgorithm, SignatureType};

use crate::key;

const BOUNDS: Bounds = Bounds {
    peak_bytes: 64 << 20,
    time: fuzz::TRIPWIRE,
};

fn armor(kind: openpgp::armor::Kind, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, kind).expect("armor");
    w.write_all(bytes).expect("write");
    w.finalize().expect("finalize");
    out
}

/// The test key with `n` more user ids, each bound by the key.
fn with_user_ids(n: usize) -> Vec<u8> {
    let cert = key::secret().clone();
    let mut certifier = key::certifier();
    let mut packets: Vec<openpgp::Packet> = Vec::new();
    for i in 0..n {
        let uid = UserID::from(format!("Fuzz {i} <fuzz{i}@example.com>"));
        let sig = uid
            .bind(
                &mut certifier,
                &cert,
                SignatureBuilder::new(SignatureType::PositiveCertification)
                    .set_signature_creation_time(key::now() - Duration::from_secs(60))
                    .expect("time"),
            )
            .expect("bind");
        packets.push(uid.into());
        packets.push(sig.into());
    }
    let (cert, _) = cert.insert_packets(packets).expect("insert");
    cert.strip_secret_key_material()
        .armored()
        .to_vec()
        .expect("armor")
}

fn corpus() -> Vec<Vec<u8>> {
    let public = key::public();
    let armored = key::public_armored();
    let binary = public.to_vec().expect("serialize");
    let secret = key::secret().as_tsk().armored().to_vec().expect("armor");
    // The key inside a compressed packet.
    let mut compressed = Vec::new();
    {
        let message = Message::new(&mut compressed);
        let message = Armorer::new(message)
            .kind(openpgp::armor::Kind::PublicKey)
            .build()
            .expect("armorer");
        let mut c = Compressor::new(message)
            .algo(CompressionAlgorithm::Zlib)
            .build()
            .expect("compressor");
        c.write_all(&binary).expect("write");
        c.finalize().expect("finalize");
    }
    // A user attribute of 70 KiB (raw packet, new format, 5-octet length).
    let mut attribute = binary.clone();
    attribute.extend([0xD1, 0xFF, 0, 1, 0x18, 0]);
    attribute.extend(vec![0u8; 70 << 10]);
    vec![
        armored.clone(),
        binary.clone(),
        secret,
        [armored.clone(), armored.clone()].concat(),
        with_user_ids(31),
        with_user_ids(40),
        compressed,
        armor(openpgp::armor::Kind::PublicKey, &attribute),
        [armored.as_slice(), b"trailing junk\n"].concat(),
        b"not a key\n".to_vec(),
        Vec::new(),
    ]
}

const DICTIONARY: &[&[u8]] = &[
    b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
    b"-----END PGP PUBLIC KEY BLOCK-----\n",
    b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n",
    b"\n\n",
    b"Comment: x\n",
    &[0x99, 0x00, 0x33],
    &[0xB4, 0x05],
    &[0xC8, 0x02, 0x01],
    &[0xA3, 0x01],
    &[0xD1, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF],
];

#[test]
fn key_files() {
    let path = format!("keys/{}.asc", key::FINGERPRINT);
    let corpus = corpus();
    // The corpus means what it is meant to.
    let limits = Limits::default();
    assert!(check_key_file(&path, &corpus[0], &limits).is_ok());
    assert!(check_key_file(&path, &corpus[1], &limits).is_ok());
    assert!(check_key_file(&path, &corpus[4], &limits).is_ok());
    for (i, why) in [
        (2, "SECRET"),
        (3, "more than one"),
        (5, "user ids"),
        (6, "compressed"),
        (7, "gitapps.maxKeyFileSize"),
    ] {
        let err = check_key_file(&path, &corpus[i], &limits).expect_err("refused");
        assert!(err.contains(why), "entry {i}: {err}");
    }
    fuzz::run(
        "key file",
        &corpus,
        DICTIONARY,
        fuzz::iterations(400),
        BOUNDS,
        |input| {
            let limits = Limits::default();
            if let Ok(cert) = check_key_file(&path, input, &limits) {
                assert_eq!(cert.fingerprint().to_hex(), key::FINGERPRINT);
                assert!(!cert.is_tsk());
                assert!(cert.userids().count() <= limits.key_user_ids);
                let _ = usable_at(&cert, key::now());
            }
            let _ = parse_certs(input, &limits);
        },
    );
}

//! The push certificate that `git push --signed` sends, parsed without
//! trusting any of it: the payload is what the signature covers, the
//! commands are what the signer asked for.
//!
//! Format (git's `Documentation/technical/pack-protocol.txt`):
//! ```text
//! certificate version 0.1
//! pusher <key id> <ident> <timestamp> <tz>
//! pushee <url>
//! nonce <nonce>
//! push-option <option>            (zero or more)
//!
//! <old> <new> <refname>           (one per updated ref)
//! -----BEGIN PGP SIGNATURE-----
//! …
//! ```

use crate::updates::RefUpdate;

/// The signature block markers git recognises. Only OpenPGP is verifiable
/// against our keyring; the others are named so the user is told why.
const SIGNATURE_MARKERS: [(&str, SignatureKind); 4] = [
    ("-----BEGIN PGP SIGNATURE-----", SignatureKind::OpenPgp),
    ("-----BEGIN PGP MESSAGE-----", SignatureKind::OpenPgp),
    ("-----BEGIN SSH SIGNATURE-----", SignatureKind::Ssh),
    ("-----BEGIN SIGNED MESSAGE-----", SignatureKind::X509),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    OpenPgp,
    Ssh,
    X509,
}

#[derive(Debug)]
pub struct PushCertificate<'a> {
    /// The signed bytes: everything before the signature block.
    pub payload: &'a [u8],
    /// The signature block, armored.
    pub signature: &'a [u8],
    pub signature_kind: SignatureKind,
    pub nonce: String,
    pub pushee: Option<String>,
    pub commands: Vec<RefUpdate>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    #[error("the push certificate has no signature block")]
    NoSignature,
    #[error("the push certificate is not UTF-8 text")]
    NotText,
    #[error("the push certificate has no header `{0}`")]
    MissingHeader(&'static str),
    #[error("the push certificate has version `{0}`; only 0.1 is understood")]
    Version(String),
    #[error("the push certificate has a malformed line: {0:?}")]
    BadLine(String),
    #[error("the push certificate lists no ref updates")]
    NoCommands,
}

impl<'a> PushCertificate<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CertError> {
        let (payload, signature, signature_kind) = split_signature(bytes)?;
        let text = std::str::from_utf8(payload).map_err(|_| CertError::NotText)?;
        let (header, body) = text.split_once("\n\n").ok_or(CertError::NoCommands)?;

        let mut version = None;
        let mut nonce = None;
        let mut pushee = None;
        for line in header.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "certificate" => {
                    let v = value
                        .strip_prefix("version ")
                        .ok_or_else(|| CertError::BadLine(line.to_owned()))?;
                    version = Some(v.to_owned());
                }
                "nonce" => nonce = Some(value.to_owned()),
                "pushee" => pushee = Some(value.to_owned()),
                // `pusher` names a key id and ident chosen by the client: we
                // learn who signed from the signature, never from this line.
                "pusher" | "push-option" => {}
                _ => return Err(CertError::BadLine(line.to_owned())),
            }
        }
        match version.as_deref() {
            Some("0.1") => {}
            Some(other) => return Err(CertError::Version(other.to_owned())),
            None => return Err(CertError::MissingHeader("certificate version")),
        }
        let nonce = nonce.ok_or(CertError::MissingHeader("nonce"))?;

        let commands = body
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| RefUpdate::parse_line(l).map_err(|_| CertError::BadLine(l.to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        if commands.is_empty() {
            return Err(CertError::NoCommands);
        }
        Ok(PushCertificate {
            payload,
            signature,
            signature_kind,
            nonce,
            pushee,
            commands,
        })
    }
}

impl PushCertificate<'_> {
    /// The time in the nonce: git's nonces are `<unix seconds>-<HMAC>`, the
    /// seconds being the server's clock when it issued the nonce. `None`
    /// for a nonce of another shape.
    pub fn nonce_time(&self) -> Option<u64> {
        let (secs, mac) = self.nonce.split_once('-')?;
        if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) || mac.is_empty() {
            return None;
        }
        secs.parse().ok()
    }
}

/// Split at the last line that starts a signature block, as git does.
fn split_signature(bytes: &[u8]) -> Result<(&[u8], &[u8], SignatureKind), CertError> {
    let mut found = None;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let rest = &bytes[line_start..];
        for (marker, kind) in SIGNATURE_MARKERS {
            if rest.starts_with(marker.as_bytes()) {
                found = Some((line_start, kind));
            }
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => line_start += nl + 1,
            None => break,
        }
    }
    let (at, kind) = found.ok_or(CertError::NoSignature)?;
    Ok((&bytes[..at], &bytes[at..], kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0000000000000000000000000000000000000000";
    const NEW: &str = "1111111111111111111111111111111111111111";

    fn cert(sig: &str) -> String {
        format!(
            "certificate version 0.1\npusher ABCD 1700000000 +0000\npushee /srv/x.git\nnonce 1700000000-abc\n\n{OLD} {NEW} refs/heads/main\n{sig}"
        )
    }

    #[test]
    fn parses_a_pgp_certificate() {
        let text = cert("-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n");
        let c = PushCertificate::parse(text.as_bytes()).expect("parses");
        assert_eq!(c.signature_kind, SignatureKind::OpenPgp);
        assert_eq!(c.nonce, "1700000000-abc");
        assert_eq!(c.commands.len(), 1);
        assert_eq!(c.commands[0].name, "refs/heads/main");
        assert!(c.payload.ends_with(b"refs/heads/main\n"));
        assert!(c.signature.starts_with(b"-----BEGIN PGP SIGNATURE-----"));
        assert_eq!(c.nonce_time(), Some(1_700_000_000));
    }

    #[test]
    fn nonce_times() {
        let sig = "-----BEGIN PGP SIGNATURE-----\n";
        for (nonce, want) in [
            ("1700000000-abc", Some(1_700_000_000)),
            ("0-x", Some(0)),
            ("1700000000", None),
            ("-abc", None),
            ("17x-abc", None),
            ("1700000000-", None),
            ("99999999999999999999999-a", None),
        ] {
            let text = cert(sig).replace("1700000000-abc", nonce);
            let c = PushCertificate::parse(text.as_bytes()).expect("parses");
            assert_eq!(c.nonce_time(), want, "{nonce}");
        }
    }

    #[test]
    fn names_ssh_signatures() {
        let text = cert("-----BEGIN SSH SIGNATURE-----\nxyz\n-----END SSH SIGNATURE-----\n");
        let c = PushCertificate::parse(text.as_bytes()).expect("parses");
        assert_eq!(c.signature_kind, SignatureKind::Ssh);
    }

    #[test]
    fn rejects_malformed_certificates() {
        let cases: &[(&[u8], CertError)] = &[
            (b"", CertError::NoSignature),
            (b"certificate version 0.1\nnonce x\n\n", CertError::NoSignature),
            (
                b"certificate version 0.2\nnonce x\n\na b c\n-----BEGIN PGP SIGNATURE-----\n",
                CertError::Version("0.2".into()),
            ),
            (
                b"certificate version 0.1\n\nx y refs/heads/a\n-----BEGIN PGP SIGNATURE-----\n",
                CertError::MissingHeader("nonce"),
            ),
            (
                b"certificate version 0.1\nnonce n\n\n-----BEGIN PGP SIGNATURE-----\n",
                CertError::NoCommands,
            ),
            (
                b"certificate version 0.1\nnonce n\nevil header\n\nx\n-----BEGIN PGP SIGNATURE-----\n",
                CertError::BadLine("evil header".into()),
            ),
            (
                b"certificate version 0.1\nnonce n\n\nnot a command\n-----BEGIN PGP SIGNATURE-----\n",
                CertError::BadLine("not a command".into()),
            ),
            (
                b"\xff\xfe\n\n-----BEGIN PGP SIGNATURE-----\n",
                CertError::NotText,
            ),
        ];
        for (input, want) in cases {
            let got = PushCertificate::parse(input).expect_err("must not parse");
            assert_eq!(&got, want, "input {:?}", String::from_utf8_lossy(input));
        }
    }
}

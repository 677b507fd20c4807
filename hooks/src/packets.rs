//! OpenPGP data from clients, looked at before sequoia parses it: armor
//! removed within a size bound, and the packet headers walked without
//! reading any packet's body. A container packet (compressed data above
//! all: a kilobyte of bzip2 inflates to gigabytes) is refused by its tag,
//! so nothing from a client is ever decompressed, and sequoia only ever
//! sees flat sequences of the packets a caller allows.

use std::io::Read;

use sequoia_openpgp as openpgp;

use openpgp::armor::{Reader, ReaderMode};
use openpgp::packet::Tag;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PacketError {
    #[error("the ASCII armor is broken: {0}")]
    Armor(String),
    #[error("it holds no OpenPGP data")]
    Empty,
    #[error("a packet header is malformed at byte {0}")]
    Header(usize),
    #[error("a packet at byte {at} claims {len} bytes, more than the {left} that follow")]
    Truncated { at: usize, len: u64, left: usize },
    #[error(
        "a packet at byte {0} has a length only data packets may have (partial or indeterminate)"
    )]
    StreamedLength(usize),
    #[error("it holds a {0}, which is not allowed here{hint}", hint = if *.0 == Tag::CompressedData { " (compressed data is never expanded)" } else { "" })]
    Forbidden(Tag),
    #[error("it holds more than {0} packets")]
    TooMany(usize),
}

/// The binary OpenPGP data in `bytes`: dearmored when it is ASCII armor
/// (whatever its headers and line width; every armored block, one after
/// the other, as sequoia's own parsers would read them), as it is when it
/// is binary. `bytes` is bounded by the caller; the output is never longer.
pub fn dearmor(bytes: &[u8]) -> Result<Vec<u8>, PacketError> {
    let binary = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if binary {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len());
    for block in armor_blocks(bytes) {
        Reader::from_bytes(block, ReaderMode::Tolerant(None))
            .take(block.len() as u64)
            .read_to_end(&mut out)
            .map_err(|e| PacketError::Armor(e.to_string().replace('\n', " ")))?;
    }
    if out.is_empty() {
        return Err(PacketError::Empty);
    }
    Ok(out)
}

/// The armored blocks of `text`: from each line that begins one
/// (`-----BEGIN PGP …`) to the next, or to the end. The text before the
/// first is ignored, as the armor reader would.
fn armor_blocks(text: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    let mut starts = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let line = &text[at..];
        let indent = line
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if line[indent..].starts_with(BEGIN) {
            starts.push(at);
        }
        match line.iter().position(|&b| b == b'\n') {
            Some(nl) => at += nl + 1,
            None => break,
        }
    }
    if starts.is_empty() {
        // No header line: let the reader say what is wrong.
        return vec![text];
    }
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| &text[start..end])
        .collect()
}

/// One packet, as its header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    pub tag: Tag,
    /// Where the packet (header included) starts and ends in the data.
    pub start: usize,
    pub end: usize,
    /// Where its body starts.
    pub body: usize,
}

/// The packets of `data`, read from their headers alone (RFC 9580 section
/// 4.2, both header formats): each must have a definite length within the
/// data, a tag `allowed` accepts, and there may be at most `max` of them.
pub fn scan(
    data: &[u8],
    allowed: impl Fn(Tag) -> bool,
    max: usize,
) -> Result<Vec<PacketHeader>, PacketError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        if out.len() == max {
            return Err(PacketError::TooMany(max));
        }
        // The tag first: a forbidden packet is named as such, whatever
        // its length (gpg writes compressed data with no length at all).
        let tag = Tag::from(tag_of(data[at]).ok_or(PacketError::Header(at))?);
        if !allowed(tag) {
            return Err(PacketError::Forbidden(tag));
        }
        let (header_len, body_len) = header(&data[at..], at)?;
        let left = data.len() - at - header_len;
        let end = usize::try_from(body_len)
            .ok()
            .filter(|&len| len <= left)
            .map(|len| at + header_len + len)
            .ok_or(PacketError::Truncated {
                at,
                len: body_len,
                left,
            })?;
        out.push(PacketHeader {
            tag,
            start: at,
            end,
            body: at + header_len,
        });
        at = end;
    }
    if out.is_empty() {
        return Err(PacketError::Empty);
    }
    Ok(out)
}

/// The tag in a packet's first octet: six bits in the new format, four in
/// the old; `None` when the octet does not start a packet.
fn tag_of(ctb: u8) -> Option<u8> {
    match ctb {
        c if c & 0x80 == 0 => None,
        c if c & 0x40 != 0 => Some(c & 0x3f),
        c => Some((c >> 2) & 0x0f),
    }
}

/// `(header length, body length)` of the packet at the start of `data`.
fn header(data: &[u8], at: usize) -> Result<(usize, u64), PacketError> {
    let bad = || PacketError::Header(at);
    let ctb = *data.first().ok_or_else(bad)?;
    let byte = |i: usize| data.get(i).copied().map(u64::from).ok_or_else(bad);
    if ctb & 0x40 != 0 {
        // New format: one, two or five length octets.
        let first = byte(1)?;
        match first {
            0..=191 => Ok((2, first)),
            192..=223 => Ok((3, ((first - 192) << 8) + byte(2)? + 192)),
            255 => Ok((
                6,
                (byte(2)? << 24) | (byte(3)? << 16) | (byte(4)? << 8) | byte(5)?,
            )),
            _ => Err(PacketError::StreamedLength(at)),
        }
    } else {
        // Old format: the length's size in the low two bits.
        match ctb & 0x03 {
            0 => Ok((2, byte(1)?)),
            1 => Ok((3, (byte(1)? << 8) | byte(2)?)),
            2 => Ok((
                5,
                (byte(1)? << 24) | (byte(2)? << 16) | (byte(3)? << 8) | byte(4)?,
            )),
            _ => Err(PacketError::StreamedLength(at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_signatures(tag: Tag) -> bool {
        tag == Tag::Signature
    }

    #[test]
    fn headers_in_both_formats() {
        // Old format, one-octet length; new format, one-, two- and five-octet.
        let mut data = vec![0x88, 2, 0xAA, 0xBB];
        data.extend([0xC2, 1, 0xCC]);
        data.extend([0xC2, 192, 8]);
        data.extend(vec![0u8; 200]);
        data.extend([0xC2, 255, 0, 0, 0, 3, 1, 2, 3]);
        data.extend([0x89, 0, 1, 9]);
        let packets = scan(&data, only_signatures, 10).expect("valid");
        let spans: Vec<(usize, usize)> = packets.iter().map(|p| (p.start, p.end)).collect();
        assert_eq!(spans, [(0, 4), (4, 7), (7, 210), (210, 219), (219, 223)]);
    }

    #[test]
    fn what_is_refused() {
        let cases: &[(&[u8], PacketError)] = &[
            (b"", PacketError::Empty),
            (&[0x00, 1, 2], PacketError::Header(0)),
            (&[0x88], PacketError::Header(0)),
            (
                &[0x88, 5, 1],
                PacketError::Truncated {
                    at: 0,
                    len: 5,
                    left: 1,
                },
            ),
            // Compressed data (tag 8), old and new format.
            (
                &[0xA3, 0x01, 0x78],
                PacketError::Forbidden(Tag::CompressedData),
            ),
            (&[0xC8, 1, 1], PacketError::Forbidden(Tag::CompressedData)),
            // A literal packet; signatures with a partial, then an
            // indeterminate length.
            (&[0xAF, 1], PacketError::Forbidden(Tag::Literal)),
            (&[0xC2, 0xE1, 0], PacketError::StreamedLength(0)),
            (&[0x8B, 0], PacketError::StreamedLength(0)),
            (&[0x88, 0, 0x88, 0, 0x88, 0], PacketError::TooMany(2)),
        ];
        for (data, want) in cases {
            assert_eq!(
                scan(data, only_signatures, 2).as_ref().err(),
                Some(want),
                "{data:?}"
            );
        }
        assert!(PacketError::Forbidden(Tag::CompressedData)
            .to_string()
            .contains("never expanded"));
    }

    #[test]
    fn dearmor_takes_any_armor_and_binary() {
        use std::io::Write;
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let mut writer = openpgp::armor::Writer::new(Vec::new(), openpgp::armor::Kind::Signature)
            .expect("armor");
        writer.write_all(&data).expect("write");
        let armored = String::from_utf8(writer.finalize().expect("finalize")).expect("text");
        assert_eq!(dearmor(armored.as_bytes()).expect("armored"), data);
        let with_comment = armored.replacen("\n\n", "\nComment: hello\n\n", 1);
        assert_eq!(dearmor(with_comment.as_bytes()).expect("comment"), data);
        let rewrapped: String = {
            let lines: Vec<&str> = armored.lines().collect();
            let blank = lines.iter().position(|l| l.is_empty()).expect("blank");
            let crc = lines.iter().position(|l| l.starts_with('=')).expect("crc");
            let body = lines[blank + 1..crc].concat();
            let wrapped: Vec<String> = body
                .as_bytes()
                .chunks(20)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            [
                &lines[..=blank],
                &wrapped.iter().map(String::as_str).collect::<Vec<_>>()[..],
                &lines[crc..],
            ]
            .concat()
            .join("\n")
        };
        assert_ne!(rewrapped, armored);
        assert_eq!(dearmor(rewrapped.as_bytes()).expect("rewrapped"), data);
        // Two blocks, one after the other: both.
        let two = format!("{armored}\n{with_comment}");
        assert_eq!(
            dearmor(two.as_bytes()).expect("two"),
            [data.clone(), data].concat()
        );
        assert_eq!(dearmor(&[0x88, 0]).expect("binary"), vec![0x88, 0]);
        assert!(dearmor(b"no armor here\n").is_err());
    }
}

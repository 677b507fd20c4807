//! Sizes as git's config writes them: a number of bytes with an optional
//! `k`, `m` or `g` suffix (any case), counting in 1024s.

/// The number of bytes `text` means, or `None` when it is not a size.
/// `0` is a size; negative numbers, fractions, other suffixes and overflow
/// are not.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, factor) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&text[..text.len() - 1], 1 << 20),
        b'g' | b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases = [
            ("0", Some(0)),
            ("10", Some(10)),
            ("2k", Some(2048)),
            ("1M", Some(1 << 20)),
            ("3g", Some(3 << 30)),
            (" 7 ", Some(7)),
            ("", None),
            ("k", None),
            ("x", None),
            ("-1", None),
            ("+1", None),
            ("1.5m", None),
            ("1kb", None),
            ("99999999999999999999", None),
            ("99999999999g", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
    }
}

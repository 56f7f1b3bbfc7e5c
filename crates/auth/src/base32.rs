//! Unpadded base32 encoding with a caller-chosen alphabet: RFC 4648 for TOTP secrets, a
//! Crockford-like one for recovery codes. Small enough not to warrant a dependency.

/// RFC 4648 section 6 alphabet, as authenticator apps expect.
pub(crate) const RFC4648: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes without padding; output length is ceil(8 * len / 5).
pub(crate) fn encode(alphabet: &[u8; 32], bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(alphabet[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(alphabet[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32, case-insensitively, ignoring spaces and trailing `=` padding
/// (apps and users add both). `None` for foreign characters, impossible lengths, or
/// non-zero leftover bits (which would give one secret two spellings).
pub(crate) fn decode_rfc4648(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    let mut symbols = 0usize;
    for c in text.trim_end_matches(['=', ' ']).chars() {
        if c == ' ' {
            continue;
        }
        let upper = c.to_ascii_uppercase();
        let value = RFC4648.iter().position(|&a| char::from(a) == upper)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        symbols += 1;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    // 1, 3 or 6 symbols in the last group cannot come from whole bytes.
    if matches!(symbols % 8, 1 | 3 | 6) || buffer & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    #[test]
    fn rfc4648_test_vectors() {
        for (plain, encoded) in VECTORS {
            assert_eq!(encode(RFC4648, plain.as_bytes()), encoded, "{plain}");
            assert_eq!(
                decode_rfc4648(encoded).unwrap(),
                plain.as_bytes(),
                "{encoded}"
            );
        }
    }

    #[test]
    fn decoding_tolerates_case_spaces_and_padding() {
        assert_eq!(decode_rfc4648("mzxw 6ytb oi======").unwrap(), b"foobar");
    }

    #[test]
    fn decoding_rejects_garbage() {
        for bad in ["MZXW1", "M", "MZX", "MZXW6Y", "MZ", "MZXW6YTBOJ"] {
            assert_eq!(decode_rfc4648(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_arbitrary_bytes() {
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..40 {
            let slice = &bytes[len * 5..len * 5 + len];
            assert_eq!(decode_rfc4648(&encode(RFC4648, slice)).unwrap(), slice);
        }
    }
}

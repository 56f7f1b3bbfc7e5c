//! One-time recovery codes for users who lost their second factor: generation and the
//! normalization that makes a hand-typed code hash like the stored one.

use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::base32;

/// Crockford's base32 in lower case: no i, l, o or u, so nothing reads as 1, 0 or v.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 80 bits: 16 symbols, four groups of four.
const CODE_BYTES: usize = 10;
const CODE_SYMBOLS: usize = 16;
const GROUP: usize = 4;

/// `n` distinct recovery codes, each 80 random bits shown as "xxxx-xxxx-xxxx-xxxx".
/// The server should store only `token::sha256_hex(&code)` of each: 80 bits are far
/// beyond guessing, so no slow hash is needed.
pub fn generate(n: usize) -> Vec<String> {
    let mut rng = rand::rng();
    let mut codes: Vec<String> = Vec::with_capacity(n);
    while codes.len() < n {
        let mut bytes = Zeroizing::new([0u8; CODE_BYTES]);
        rng.fill_bytes(bytes.as_mut());
        let code = group(&base32::encode(ALPHABET, bytes.as_ref()));
        // A repeat is astronomically unlikely, but a user must never get two equal codes.
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// Canonical form of what the user typed: lower case, separators and spaces dropped,
/// Crockford's look-alikes mapped (i, l → 1; o → 0), then regrouped with dashes when it is
/// code-length. A generated code normalizes to itself, so hash `normalize(input)` on login
/// and the generated code on creation.
pub fn normalize(input: &str) -> String {
    let symbols: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '.'))
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect();
    if symbols.len() == CODE_SYMBOLS && symbols.is_ascii() {
        group(&symbols)
    } else {
        symbols
    }
}

fn group(symbols: &str) -> String {
    let mut out = String::with_capacity(symbols.len() + symbols.len() / GROUP);
    for (i, c) in symbols.chars().enumerate() {
        if i > 0 && i.is_multiple_of(GROUP) {
            out.push('-');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_have_the_documented_shape() {
        let codes = generate(10);
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            for g in groups {
                assert_eq!(g.len(), 4);
                assert!(g.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            }
            assert_eq!(&normalize(code), code);
        }
    }

    #[test]
    fn codes_are_unique() {
        let codes = generate(2000);
        let distinct: HashSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), 2000);
        // Across calls too: each code carries fresh randomness.
        assert_ne!(generate(1), generate(1));
    }

    #[test]
    fn normalize_accepts_what_people_type() {
        let stored = "abcd-efgh-jk01-mnpq";
        for typed in [
            "ABCD EFGH-JK01-MNPQ",
            "abcdefghjk01mnpq",
            " abcd - efgh - jkO1 - mnpq ",
            "ABCD-EFGH-JKOI-MNPQ",
            "abcd_efgh_jk0l_mnpq",
        ] {
            assert_eq!(normalize(typed), stored, "{typed:?}");
        }
        assert_ne!(normalize("abcd-efgh-jk01-mnpr"), stored);
        assert_eq!(normalize("abc"), "abc");
    }

    #[test]
    fn codes_use_all_eighty_bits() {
        // 16 symbols x 5 bits = 80: every position should vary across many codes.
        let codes = generate(200);
        for position in [0, 5, 10, 15, 18] {
            let seen: HashSet<u8> = codes.iter().map(|c| c.as_bytes()[position]).collect();
            assert!(seen.len() > 8, "position {position} only took {seen:?}");
        }
    }
}

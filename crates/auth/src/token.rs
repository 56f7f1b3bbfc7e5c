//! Secret token formats: prefixed, checksummed API/support/invitation tokens, opaque session
//! tokens, and the SHA-256 digest under which the server stores them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng as _, RngCore as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 32 base62 characters carry 190 bits; the 8 shown in the lookup id leave 143 secret bits.
const RANDOM_CHARS: usize = 32;
/// 62^6 > 2^32, so six characters hold any CRC32.
const CHECKSUM_CHARS: usize = 6;
/// How many random characters the public lookup id reveals (about 47.6 bits): enough to
/// find the row without collisions in practice, while the stored hash still decides.
const LOOKUP_CHARS: usize = 8;
const SESSION_BYTES: usize = 32;
const SESSION_CHARS: usize = 43;

/// The kind of a prefixed token. Distinct prefixes let secret scanners and support staff
/// tell what a leaked string is, and stop a token of one kind being accepted as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenPrefix(&'static str);

impl TokenPrefix {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// API keys.
pub const API_KEY: TokenPrefix = TokenPrefix("mvk");
/// Support-access keys.
pub const SUPPORT_KEY: TokenPrefix = TokenPrefix("mvs");
/// Invitation links.
pub const INVITATION: TokenPrefix = TokenPrefix("mvi");
/// A meeting bot's own token (the internal bot protocol), valid for one bot until it ends.
pub const BOT_TOKEN: TokenPrefix = TokenPrefix("mvb");
/// A voice-intake widget's signing secret: the HS256 key its site signs visitor tokens with.
pub const WIDGET_SECRET: TokenPrefix = TokenPrefix("mvw");
/// A widget visitor's session (held by their browser while they record).
pub const WIDGET_SESSION: TokenPrefix = TokenPrefix("mvv");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is not of the expected kind")]
    WrongPrefix,
    #[error("token is malformed")]
    Malformed,
    #[error("token checksum does not match; check it was copied completely")]
    BadChecksum,
}

/// `<prefix>_` + 32 random base62 characters + 6 base62 characters of CRC32 over everything
/// before them (the format GitHub uses). The checksum lets `parse` reject typos and
/// truncated copies before any database lookup. Zeroized on drop; `Debug` shows only the
/// lookup id.
pub struct Token {
    text: Zeroizing<String>,
    prefix: TokenPrefix,
}

impl Token {
    pub fn generate(prefix: TokenPrefix) -> Self {
        let mut rng = rand::rng();
        let mut text = Zeroizing::new(String::with_capacity(token_len(prefix)));
        text.push_str(prefix.0);
        text.push('_');
        for _ in 0..RANDOM_CHARS {
            text.push(char::from(BASE62[rng.random_range(0..BASE62.len())]));
        }
        let checksum = base62_fixed(crc32fast::hash(text.as_bytes()));
        text.push_str(&checksum);
        Self { text, prefix }
    }

    /// Checks prefix, length, charset and checksum without any lookup; a typo fails here.
    pub fn parse(prefix: TokenPrefix, raw: &str) -> Result<Self, TokenError> {
        let Some((found, rest)) = raw.split_once('_') else {
            return Err(TokenError::Malformed);
        };
        if found != prefix.0 {
            return Err(TokenError::WrongPrefix);
        }
        if rest.len() != RANDOM_CHARS + CHECKSUM_CHARS || !rest.bytes().all(is_base62) {
            return Err(TokenError::Malformed);
        }
        let (body, checksum) = raw.split_at(raw.len() - CHECKSUM_CHARS);
        if base62_fixed(crc32fast::hash(body.as_bytes())) != checksum {
            return Err(TokenError::BadChecksum);
        }
        Ok(Self {
            text: Zeroizing::new(raw.to_owned()),
            prefix,
        })
    }

    pub fn expose(&self) -> &str {
        &self.text
    }

    pub fn prefix(&self) -> TokenPrefix {
        self.prefix
    }

    /// The public lookup id: prefix, underscore and the first 8 random characters
    /// (e.g. "mvk_3fA9xQ2b"); stored in clear to find the row, never enough to authenticate.
    pub fn lookup(&self) -> &str {
        // Always in bounds and on a char boundary: construction guarantees ASCII and length.
        self.text
            .get(..self.prefix.0.len() + 1 + LOOKUP_CHARS)
            .unwrap_or_default()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}…)", self.lookup())
    }
}

fn token_len(prefix: TokenPrefix) -> usize {
    prefix.0.len() + 1 + RANDOM_CHARS + CHECKSUM_CHARS
}

fn is_base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Big-endian base62, left-padded with '0' to `CHECKSUM_CHARS`.
fn base62_fixed(mut n: u32) -> String {
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// An opaque 256-bit session token: base64url without padding (43 characters). Zeroized on
/// drop; `Debug` shows nothing of it.
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; SESSION_BYTES]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// Accepts exactly the canonical encoding of 32 bytes, so one session has one spelling.
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        if raw.len() != SESSION_CHARS {
            return Err(TokenError::Malformed);
        }
        let mut bytes = Zeroizing::new([0u8; SESSION_BYTES + 3]);
        match URL_SAFE_NO_PAD.decode_slice(raw, bytes.as_mut()) {
            Ok(SESSION_BYTES) => Ok(Self(Zeroizing::new(raw.to_owned()))),
            _ => Err(TokenError::Malformed),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

/// SHA-256 of a high-entropy token as lowercase hex. The server stores only this: a leaked
/// table cannot be replayed, and no slow hash is needed because the input is random.
pub fn sha256_hex(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_round_trip() {
        for prefix in [
            API_KEY,
            SUPPORT_KEY,
            INVITATION,
            BOT_TOKEN,
            WIDGET_SECRET,
            WIDGET_SESSION,
        ] {
            let token = Token::generate(prefix);
            let text = token.expose();
            assert_eq!(text.len(), prefix.as_str().len() + 1 + 38);
            assert!(text.starts_with(&format!("{}_", prefix.as_str())));
            let parsed = Token::parse(prefix, text).unwrap();
            assert_eq!(parsed.expose(), text);
            assert_eq!(parsed.lookup(), token.lookup());
            assert_eq!(parsed.prefix(), prefix);
        }
        assert_ne!(
            Token::generate(API_KEY).expose(),
            Token::generate(API_KEY).expose()
        );
    }

    #[test]
    fn lookup_is_the_prefix_and_first_eight_random_chars() {
        let token = Token::generate(API_KEY);
        let lookup = token.lookup();
        assert_eq!(lookup.len(), "mvk_".len() + 8);
        assert!(lookup.starts_with("mvk_"));
        assert!(token.expose().starts_with(lookup));
    }

    #[test]
    fn any_single_changed_character_fails_the_checksum() {
        let token = Token::generate(API_KEY);
        let text = token.expose();
        for i in 4..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap();
            assert_eq!(
                Token::parse(API_KEY, &changed).unwrap_err(),
                TokenError::BadChecksum,
                "position {i}"
            );
        }
    }

    #[test]
    fn checksum_matches_a_known_value() {
        // CRC32("mvk_" + 32 zeros) computed independently, so the encoding cannot drift.
        let body = format!("mvk_{}", "0".repeat(32));
        let crc = crc32fast::hash(body.as_bytes());
        let mut expected = String::new();
        let mut n = u64::from(crc);
        for _ in 0..6 {
            expected.insert(0, char::from(BASE62[(n % 62) as usize]));
            n /= 62;
        }
        assert_eq!(base62_fixed(crc), expected);
        assert_eq!(base62_fixed(0), "000000");
        assert_eq!(base62_fixed(61), "00000z");
        assert_eq!(base62_fixed(62), "000010");
        assert_eq!(base62_fixed(u32::MAX), "4gfFC3");
        let token = format!("{body}{expected}");
        assert!(Token::parse(API_KEY, &token).is_ok());
    }

    #[test]
    fn wrong_prefix_is_rejected() {
        let token = Token::generate(SUPPORT_KEY);
        assert_eq!(
            Token::parse(API_KEY, token.expose()).unwrap_err(),
            TokenError::WrongPrefix
        );
        assert_eq!(
            Token::parse(INVITATION, token.expose()).unwrap_err(),
            TokenError::WrongPrefix
        );
    }

    #[test]
    fn wrong_length_or_charset_is_malformed() {
        let token = Token::generate(API_KEY);
        let text = token.expose();
        let short = &text[..text.len() - 1];
        let long = format!("{text}0");
        let dash = format!("{}-{}", &text[..10], &text[11..]);
        let non_ascii = format!("{}é{}", &text[..10], &text[12..]);
        for bad in [
            short,
            long.as_str(),
            dash.as_str(),
            non_ascii.as_str(),
            "",
            "mvk",
        ] {
            assert_eq!(
                Token::parse(API_KEY, bad).unwrap_err(),
                TokenError::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_only_the_lookup_id() {
        let token = Token::generate(API_KEY);
        let shown = format!("{token:?}");
        assert!(shown.contains(token.lookup()));
        assert!(!shown.contains(token.expose()));
        assert!(!shown.contains(&token.expose()[12..]));

        let session = SessionToken::generate();
        let shown = format!("{session:?}");
        assert!(!shown.contains(session.expose()));
        assert!(!shown.contains(&session.expose()[..8]));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn session_tokens_are_43_url_safe_chars_and_round_trip() {
        let token = SessionToken::generate();
        assert_eq!(token.expose().len(), 43);
        assert!(
            token
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            SessionToken::parse(token.expose()).unwrap().expose(),
            token.expose()
        );
        assert_ne!(SessionToken::generate().expose(), token.expose());
    }

    #[test]
    fn malformed_session_tokens_are_rejected() {
        let token = SessionToken::generate();
        let text = token.expose();
        let plus = format!("+{}", &text[1..]);
        let padded = format!("{}=", &text[..42]);
        // The last character carries 2 unused bits; setting them is another spelling.
        let noncanonical = format!("{}B", &text[..42]);
        let canonical = format!("{}A", &text[..42]);
        assert!(SessionToken::parse(&canonical).is_ok());
        for bad in [
            &text[..42],
            plus.as_str(),
            padded.as_str(),
            noncanonical.as_str(),
            "",
        ] {
            assert_eq!(
                SessionToken::parse(bad).unwrap_err(),
                TokenError::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn sha256_hex_matches_known_digests() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

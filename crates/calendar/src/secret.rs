//! Strings that are secrets (tokens, client secret, PKCE verifier, channel tokens): wiped when
//! dropped, `[redacted]` in `Debug`, not `Display`, not serializable. Read them through `expose`.

use std::fmt;

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// A secret string. `Debug` prints `[redacted]`; the bytes are wiped when it is dropped.
#[derive(Clone)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `value`; the caller should not keep another copy.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself, for the one place that must send, store or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented value (for equal lengths; the length of a
    /// secret we minted is not itself secret).
    pub fn ct_eq_str(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Compared in constant time, so a comparison leaks no prefix.
impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq_str(other.expose())
    }
}

impl Eq for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Bounds a text a provider wrote (an error description, an error code) before it goes into an
/// error message: control characters become spaces, and it is cut at `max` characters.
pub(crate) fn bounded_text(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Cuts `text` to at most `max_bytes`, on a character boundary.
pub(crate) fn truncate_bytes(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretString::new("ya29.secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "ya29.secret");
        assert!(s.ct_eq_str("ya29.secret"));
        assert!(!s.ct_eq_str("ya29.secreT"));
        assert!(!s.ct_eq_str("ya29"));
    }

    #[test]
    fn bounded_text_and_truncation() {
        assert_eq!(bounded_text("a\nb", 10), "a b");
        assert_eq!(bounded_text("abcdef", 3), "abc…");
        assert_eq!(truncate_bytes("héllo".to_owned(), 2), "h");
        assert_eq!(truncate_bytes("abc".to_owned(), 10), "abc");
    }
}

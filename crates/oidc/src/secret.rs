//! Strings that are secrets (client secret, browser secret, tokens): zeroized when dropped,
//! `[redacted]` in `Debug`, not `Display`, not serializable. Read them only through `expose`.

use std::fmt;

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// A secret string. `Debug` prints `[redacted]`; the bytes are wiped when it is dropped.
#[derive(Clone)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `value`; the caller should not keep another copy.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Compared in constant time (for equal lengths), so a comparison leaks no prefix.
impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Bounds a text that came from a peer (an error description, a key id) before it goes into
/// an error message or a log: control characters become spaces, and it is cut at `max` chars.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretString::new("hunter2".to_owned());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn bounded_text_strips_controls_and_cuts() {
        assert_eq!(bounded_text("a\nb\u{1b}[31m", 100), "a b [31m");
        assert_eq!(bounded_text("abcdef", 3), "abc…");
        assert_eq!(bounded_text("abc", 3), "abc");
    }
}

//! Where to send the user after login: a path on this site only, so the login cannot be turned
//! into an open redirect.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest `return_to` accepted.
pub const MAX_RETURN_TO_LEN: usize = 1024;

/// A relative path on this site: starts with one `/`, printable ASCII without spaces or
/// backslashes. Refused: absolute URLs, scheme-relative `//host`, `/\host` (which browsers
/// read as `//host`), and control characters or spaces (which browsers strip, turning
/// `/\t/host` into `//host`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReturnTo(String);

/// A `return_to` that is not a path on this site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("return_to must be a path on this site, such as /meetings")]
pub struct ReturnToError;

impl ReturnTo {
    /// Parses a path on this site.
    pub fn parse(value: &str) -> Result<Self, ReturnToError> {
        let bytes = value.as_bytes();
        let ok = bytes.first() == Some(&b'/')
            && !matches!(bytes.get(1), Some(b'/' | b'\\'))
            && bytes.len() <= MAX_RETURN_TO_LEN
            && bytes.iter().all(|&b| b.is_ascii_graphic() && b != b'\\');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ReturnToError)
        }
    }

    /// The site root, `/`.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReturnTo {
    type Error = ReturnToError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReturnTo> for String {
    fn from(value: ReturnTo) -> Self {
        value.0
    }
}

impl fmt::Debug for ReturnTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_paths_on_this_site() {
        for ok in [
            "/",
            "/meetings",
            "/meetings/mtg_1?tab=transcript#t=10",
            "/a/../b",
            "/%2F%2Fx",
        ] {
            assert_eq!(ReturnTo::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_anything_that_could_leave_the_site() {
        for bad in [
            "",
            "meetings",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/a\\b",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            " /meetings",
            "/caf\u{e9}",
            "javascript:alert(1)",
        ] {
            assert_eq!(ReturnTo::parse(bad), Err(ReturnToError), "{bad:?}");
        }
        assert!(ReturnTo::parse(&format!("/{}", "a".repeat(MAX_RETURN_TO_LEN))).is_err());
    }

    #[test]
    fn deserializing_checks_too() {
        assert!(serde_json::from_str::<ReturnTo>(r#""//evil.example""#).is_err());
        assert!(serde_json::from_str::<ReturnTo>(r#""/ok""#).is_ok());
    }
}

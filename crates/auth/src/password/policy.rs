//! The password policy (length, common-password list, personal info, repetition) and the
//! `NewPassword` type that only exists for passwords which passed it.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use zeroize::Zeroizing;

/// Fewest characters (Unicode scalar values, not bytes) a new password may have.
pub const MIN_CHARS: usize = 12;
/// Most characters a new password may have; long enough for any passphrase, short enough
/// that hashing a hostile input stays cheap.
pub const MAX_CHARS: usize = 1024;

/// A stem shorter than this is too generic to condemn a password that merely ends in it
/// after padding ("1234abcd" + digits would otherwise match half the list).
const MIN_STEM_CHARS: usize = 8;

/// Name and email parts shorter than this ("al", "jo") occur inside too many good
/// passwords to be worth rejecting.
const MIN_PERSONAL_CHARS: usize = 4;

/// Longest repeating unit that makes a password "repetitive": "aaaa…", "abab…",
/// "abcabc…", "abcdabcd…" add no strength beyond the unit itself.
const MAX_REPEAT_UNIT: usize = 4;

static COMMON_FILE: &str = include_str!("common.txt");

/// Lowercase entries of at least 8 characters; see the header of common.txt for the source.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_FILE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Why a candidate password was refused. The `Display` text is shown to the user as is, so
/// it says what to do next.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("choose a password of at least {min} characters")]
    TooShort { min: usize },
    #[error("choose a password of at most {max} characters")]
    TooLong { max: usize },
    #[error("this password is in a list of commonly used passwords; choose another")]
    Common,
    #[error("this password contains your name or email address; choose another")]
    ContainsPersonalInfo,
    #[error("this password repeats the same few characters; choose another")]
    Repetitive,
}

/// A candidate new password that passed the policy. Only obtainable through `parse` or
/// `parse_for`, so code that stores a password cannot skip the policy. The text is zeroized
/// on drop and never printed.
///
/// Login does not use this type: an existing password is verified as typed, whatever policy
/// was in force when it was set.
pub struct NewPassword(Zeroizing<String>);

impl NewPassword {
    /// Checks length (12..=1024 characters, never truncated), repetition and the bundled
    /// common-password list.
    ///
    /// The list check compares the trimmed, lowercased password; it also catches a listed
    /// word of 8+ characters padded with digits or punctuation on either side
    /// ("Password1234!", "!!football2024").
    pub fn parse(raw: String) -> Result<Self, PolicyError> {
        let raw = Zeroizing::new(raw);
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(PolicyError::TooShort { min: MIN_CHARS });
        }
        if chars > MAX_CHARS {
            return Err(PolicyError::TooLong { max: MAX_CHARS });
        }
        if is_repetitive(&raw) {
            return Err(PolicyError::Repetitive);
        }
        if is_common(&raw) {
            return Err(PolicyError::Common);
        }
        Ok(Self(raw))
    }

    /// `parse`, and also refuses a password containing the user's email local part, name,
    /// or any part of either of at least 4 characters (case-insensitive): "jane.doe@x.org"
    /// contributes "jane.doe", "jane"; "Mary Ann Smith" contributes "mary ann smith",
    /// "mary", "smith".
    pub fn parse_for(raw: String, email: &str, name: &str) -> Result<Self, PolicyError> {
        let password = Self::parse(raw)?;
        if contains_personal_info(password.expose(), email, name) {
            return Err(PolicyError::ContainsPersonalInfo);
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

fn is_repetitive(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    (1..=MAX_REPEAT_UNIT).any(|unit| {
        chars.len() > unit
            && chars.len().is_multiple_of(unit)
            && chars.chunks(unit).all(|chunk| chunk == &chars[..unit])
    })
}

fn is_common(password: &str) -> bool {
    let key = Zeroizing::new(password.trim().to_lowercase());
    if COMMON.contains(key.as_str()) {
        return true;
    }
    let stem = key.trim_matches(|c: char| {
        c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
    });
    stem.chars().count() >= MIN_STEM_CHARS && COMMON.contains(stem)
}

fn contains_personal_info(password: &str, email: &str, name: &str) -> bool {
    let haystack = Zeroizing::new(password.to_lowercase());
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    let local_parts = local.split(['.', '_', '-', '+']);
    let name_parts = name.split_whitespace();
    std::iter::once(local)
        .chain(local_parts)
        .chain(std::iter::once(name))
        .chain(name_parts)
        .map(|part| part.trim().to_lowercase())
        .filter(|part| part.chars().count() >= MIN_PERSONAL_CHARS)
        .any(|part| haystack.contains(&part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<NewPassword, PolicyError> {
        NewPassword::parse(s.to_owned())
    }

    #[test]
    fn length_boundaries_count_characters() {
        assert_eq!(
            parse("kq8#vLm2pX9").unwrap_err(),
            PolicyError::TooShort { min: 12 }
        );
        assert!(parse("kq8#vLm2pX9z").is_ok());

        let long: String = "kq8#vLm2pX9z".chars().cycle().take(1024).collect();
        assert_eq!(parse(&long).unwrap().expose(), long);
        let too_long: String = "kq8#vLm2pX9z".chars().cycle().take(1025).collect();
        assert_eq!(
            parse(&too_long).unwrap_err(),
            PolicyError::TooLong { max: 1024 }
        );
    }

    #[test]
    fn multibyte_characters_count_once_and_are_kept_whole() {
        // 11 characters but 22 bytes: a byte count would wrongly accept it.
        assert_eq!(
            parse("éàüöñçßøåæœ").unwrap_err(),
            PolicyError::TooShort { min: 12 }
        );
        let mixed: String = "é日ü🔑ñç".chars().cycle().take(1024).collect();
        assert!(mixed.len() > 1024);
        let parsed = parse(&mixed).unwrap();
        assert_eq!(parsed.expose(), mixed);
        let too_long: String = "é日ü🔑ñç".chars().cycle().take(1025).collect();
        assert_eq!(
            parse(&too_long).unwrap_err(),
            PolicyError::TooLong { max: 1024 }
        );
    }

    #[test]
    fn common_passwords_are_rejected_with_a_clear_message() {
        assert!(COMMON.len() > 10_000, "list has {} entries", COMMON.len());
        for common in [
            "qwerty123456",
            "1qaz2wsx3edc",
            "  LeaveMeAlone ",
            "SonyEricsson",
        ] {
            let err = parse(common).unwrap_err();
            assert_eq!(err, PolicyError::Common, "{common}");
            assert_eq!(
                err.to_string(),
                "this password is in a list of commonly used passwords; choose another"
            );
        }
    }

    #[test]
    fn common_words_padded_with_digits_or_punctuation_are_rejected() {
        for padded in [
            "password1234!",
            "Football2024",
            "!!baseball!!!",
            "2024sunshine!!",
        ] {
            assert_eq!(parse(padded).unwrap_err(), PolicyError::Common, "{padded}");
        }
        // A listed stem inside a longer phrase is fine: the phrase adds real entropy.
        assert!(parse("my password is long 42").is_ok());
    }

    #[test]
    fn repetitive_passwords_are_rejected() {
        for weak in [
            "aaaaaaaaaaaa",
            "éééééééééééé",
            "abababababab",
            "abcdabcdabcd",
        ] {
            assert_eq!(parse(weak).unwrap_err(), PolicyError::Repetitive, "{weak}");
        }
        assert!(parse("abcdeabcdeab").is_ok());
    }

    #[test]
    fn personal_info_is_rejected_case_insensitively() {
        let email = "jane.doe@example.org";
        let name = "Mary Ann Smithers";
        for bad in [
            "xxJANE.DOExx-9",
            "correct-horse-jane",
            "SMITHERS-battery-7",
            "staple mary 9 q",
        ] {
            assert_eq!(
                NewPassword::parse_for(bad.to_owned(), email, name).unwrap_err(),
                PolicyError::ContainsPersonalInfo,
                "{bad}"
            );
        }
        // "Ann" and "doe" are shorter than 4 characters and too common inside words.
        assert!(NewPassword::parse_for("annotated doe 93 x".to_owned(), email, name).is_ok());
        // Policy errors win over personal info.
        assert_eq!(
            NewPassword::parse_for("jane".to_owned(), email, name).unwrap_err(),
            PolicyError::TooShort { min: 12 }
        );
    }

    #[test]
    fn debug_does_not_show_the_password() {
        let p = parse("kq8#vLm2pX9z").unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("kq8#vLm2pX9z"));
        assert!(shown.contains("[redacted]"));
    }
}

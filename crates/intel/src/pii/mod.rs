//! PII redaction before analysis. [`Detector`] finds emails, phone numbers (international and
//! national formats), US Social Security numbers, payment card numbers (Luhn-checked, known
//! issuer ranges), IBANs (mod-97-checked, per-country length), IPv4 and IPv6 addresses, and the
//! operator's own patterns. A [`Mapping`] replaces each value with a typed placeholder
//! (`[EMAIL_1]`, `[CARD_2]` …; the same value keeps its placeholder across a meeting) and is
//! the only way back: [`Mapping::restore`] puts the values into a model's answer for the
//! owner, and the mapping itself is stored sealed under the meeting's key like the transcript.
//!
//! Precision over recall where a value is ambiguous: a bare run of digits is not a phone number
//! (it may be an order number) unless it has a `+` and a country code, a national trunk `0`
//! with grouping, or the North American 3-3-4 shape; a dotted quad right after `v` or
//! `version` is a version, not an address. `tests/pii.rs` measures both on a corpus.

mod detect;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use detect::Detector;

/// What a redacted value was.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Email,
    Phone,
    Ssn,
    Card,
    Iban,
    Ip,
    /// An operator's pattern, by its name (`EMPLOYEE_ID`).
    Custom(String),
}

impl Kind {
    /// The placeholder's label: `EMAIL`, `PHONE`, `SSN`, `CARD`, `IBAN`, `IP`, or the custom name.
    pub fn label(&self) -> &str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Ssn => "SSN",
            Kind::Card => "CARD",
            Kind::Iban => "IBAN",
            Kind::Ip => "IP",
            Kind::Custom(name) => name,
        }
    }

    /// The built-in kinds, in the order overlapping finds are settled (checksummed first).
    pub const BUILTIN: [Kind; 6] = [
        Kind::Email,
        Kind::Iban,
        Kind::Card,
        Kind::Ssn,
        Kind::Ip,
        Kind::Phone,
    ];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An operator's own pattern (`pii.custom` in the config): a name for its placeholder and a
/// regular expression (Rust `regex` syntax, no look-around).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomPattern {
    pub name: String,
    pub pattern: String,
}

/// A value found in a text: its kind and byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Why a custom pattern was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PiiError {
    #[error(
        "PII pattern name {0:?} must be 1 to 32 capital letters, digits or underscores, starting with a letter"
    )]
    BadName(String),
    #[error("PII pattern name {0:?} is a built-in kind; choose another name")]
    BuiltinName(String),
    #[error("PII pattern {name:?} is not a valid regular expression: {reason}")]
    BadPattern { name: String, reason: String },
    #[error("PII pattern {0:?} matches the empty string; it would redact nothing useful")]
    EmptyMatch(String),
}

/// One replaced value. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub placeholder: String,
    pub kind: Kind,
    pub value: String,
}

/// Placeholders and the values they stand for, for one meeting (or one request). Serializable
/// so it can be stored sealed; never logged (its `Debug` shows only counts).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mapping {
    entries: Vec<Entry>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("placeholder", &self.placeholder)
            .field("kind", &self.kind)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// Marks a placeholder-shaped text already in the input (a word joiner after its `[`), so it
/// cannot be taken for one of ours — by a model, or by [`Mapping::restore`], which removes the
/// mark again.
const MARK: char = '\u{2060}';

fn neutralize(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('[') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        let tail = &rest[open + 1..];
        if looks_like_placeholder(tail) {
            out.push(MARK);
        }
        rest = tail;
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Whether `tail` (the text after a `[`) starts `LABEL_n]`.
fn looks_like_placeholder(tail: &str) -> bool {
    let Some(close) = tail.find(']') else {
        return false;
    };
    let inner = &tail[..close];
    match inner.rsplit_once('_') {
        Some((label, n)) => {
            !label.is_empty()
                && label.starts_with(|c: char| c.is_ascii_uppercase())
                && label
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Mapping {
    pub fn new() -> Self {
        Self::default()
    }

    /// The replaced values, in the order they were first seen.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `text` with every value `detector` finds replaced by its placeholder. A value seen
    /// before (in any text redacted through this mapping) gets the same placeholder.
    pub fn redact(&mut self, detector: &Detector, text: &str) -> String {
        let text = &*neutralize(text);
        let found = detector.find(text);
        if found.is_empty() {
            return text.to_owned();
        }
        let mut index: HashMap<(Kind, String), usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| ((e.kind.clone(), e.value.clone()), i))
            .collect();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.start]);
            let value = &text[f.start..f.end];
            let key = (f.kind.clone(), value.to_owned());
            let i = match index.get(&key) {
                Some(&i) => i,
                None => {
                    let n = self.entries.iter().filter(|e| e.kind == f.kind).count() + 1;
                    self.entries.push(Entry {
                        placeholder: format!("[{}_{n}]", f.kind.label()),
                        kind: f.kind.clone(),
                        value: value.to_owned(),
                    });
                    index.insert(key, self.entries.len() - 1);
                    self.entries.len() - 1
                }
            };
            out.push_str(&self.entries[i].placeholder);
            at = f.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// `text` with every placeholder of this mapping replaced by its value: for the owner's
    /// eyes only (a model's answer about a redacted transcript). Unknown placeholders stay, and
    /// placeholder-shaped text that was in the input comes back as it was.
    pub fn restore(&self, text: &str) -> String {
        if !text.contains('[') {
            return text.to_owned();
        }
        let by_placeholder: HashMap<&str, &str> = self
            .entries
            .iter()
            .map(|e| (e.placeholder.as_str(), e.value.as_str()))
            .collect();
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('[') {
            out.push_str(&rest[..open]);
            let tail = &rest[open..];
            match tail.find(']') {
                Some(close) if close <= 48 => {
                    let candidate = &tail[..=close];
                    match by_placeholder.get(candidate) {
                        Some(value) => out.push_str(value),
                        None => out.push_str(candidate),
                    }
                    rest = &tail[close + 1..];
                }
                _ => {
                    out.push('[');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out.replace(&format!("[{MARK}"), "[")
    }
}

/// Whether a redaction is needed before a model sees a meeting's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RedactionMode {
    /// No redaction.
    Off,
    /// Before any remote provider (the default): the embedded model sees the text as spoken.
    #[default]
    Remote,
    /// Before every model, the embedded ones included.
    All,
}

impl RedactionMode {
    /// Whether text bound for a model (`remote` or embedded) is redacted first.
    pub fn applies(self, remote: bool) -> bool {
        match self {
            RedactionMode::Off => false,
            RedactionMode::Remote => remote,
            RedactionMode::All => true,
        }
    }
}

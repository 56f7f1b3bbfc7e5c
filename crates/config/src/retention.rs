//! Retention: how long each part of a meeting is kept, as the operator's defaults (orgs,
//! workspaces and bots override them through the API, within the org's maxima), and how the
//! sweeper that enforces them runs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest finite window, in days (a hundred years: anything longer is `forever`).
pub const MAX_DAYS: u32 = 36_500;

/// How long something is kept: `0` (deleted as soon as it is processed and delivered), a
/// number of days, or `forever`. Ordered: every number of days is shorter than `forever`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Window {
    Days(u32),
    Forever,
}

impl Window {
    /// The window in milliseconds; `None` for `forever`.
    pub fn millis(self) -> Option<i64> {
        match self {
            Self::Days(d) => Some(i64::from(d) * 86_400_000),
            Self::Forever => None,
        }
    }

    /// A window from its text form (`"forever"` or a number of days), or why not.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("forever") {
            return Ok(Self::Forever);
        }
        match text.parse::<u64>() {
            Ok(d) => Self::from_days(d),
            Err(_) => Err(format!(
                "`{text}` is not a window: give a number of days (0–{MAX_DAYS}) or \"forever\""
            )),
        }
    }

    /// A window of `days` days, or why not.
    pub fn from_days(days: u64) -> Result<Self, String> {
        u32::try_from(days)
            .ok()
            .filter(|d| *d <= MAX_DAYS)
            .map(Self::Days)
            .ok_or_else(|| format!("{days} days is too long: at most {MAX_DAYS}, or \"forever\""))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(1) => f.write_str("1 day"),
            Self::Days(d) => write!(f, "{d} days"),
            Self::Forever => f.write_str("forever"),
        }
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Days(d) => s.serialize_u32(*d),
            Self::Forever => s.serialize_str("forever"),
        }
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Window;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a number of days (0–{MAX_DAYS}) or \"forever\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Window, E> {
                Window::from_days(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Window, E> {
                let days = u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is negative: give 0 or more days")))?;
                self.visit_u64(days)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Window, E> {
                Window::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The operator's retention defaults and the sweeper's pace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Recordings (audio blobs): `0` deletes a recording as soon as it is transcribed (and
    /// delivered, where a destination waits for it); N days after that; or `forever`.
    pub recordings: Window,
    /// Transcripts (segments; later summaries and action items), counted from transcription.
    pub transcripts: Window,
    /// Bot data (the bot, its timeline, participant events, chat), counted from its end.
    pub bot_data: Window,
    /// How long a closed org's data is kept before it is erased (days; an owner can reopen it
    /// until then).
    pub org_grace_days: u32,
    /// How often the retention sweeper looks for expired data (seconds).
    pub sweep_interval_secs: u64,
    /// Meetings the sweeper reads per page (each is deleted in its own transactions).
    pub batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            recordings: Window::Days(0),
            transcripts: Window::Days(30),
            bot_data: Window::Days(90),
            org_grace_days: 90,
            sweep_interval_secs: 300,
            batch: 500,
        }
    }
}

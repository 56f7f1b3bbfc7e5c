//! Voice-intake widgets (`[widgets]`): the limits a visitor's browser meets. Parsing only: the
//! widgets live in `core::widgets`, their public routes in `meetvault-http`.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// `[widgets]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WidgetsConfig {
    /// Voice sessions one IP address may open per hour (across every widget).
    pub sessions_per_ip_hour: u32,
    /// Recordings one IP address may submit per hour.
    pub submissions_per_ip_hour: u32,
    /// Recordings one organization's widgets may take per hour, from every address together.
    pub submissions_per_org_hour: u32,
    /// How long a visitor's session stays open for chunks and its submission (seconds); an
    /// unsubmitted one is deleted with its chunks after that.
    pub session_ttl_secs: u64,
    /// The largest chunk of audio one upload may carry (bytes).
    pub max_chunk_bytes: u64,
    /// The longest recording any widget may allow (seconds).
    pub max_seconds: u32,
    /// Visitors this instance transcribes live at once (widgets with `live_transcript`); the
    /// next ones record as usual and see their transcript only in the meeting. 0: none.
    pub live_sessions: u32,
}

impl Default for WidgetsConfig {
    fn default() -> Self {
        Self {
            sessions_per_ip_hour: 30,
            submissions_per_ip_hour: 60,
            submissions_per_org_hour: 1000,
            session_ttl_secs: 3600,
            max_chunk_bytes: 1024 * 1024,
            max_seconds: 600,
            live_sessions: 4,
        }
    }
}

pub(crate) fn validate(c: &WidgetsConfig) -> Result<(), ConfigError> {
    let zero = c.sessions_per_ip_hour == 0
        || c.submissions_per_ip_hour == 0
        || c.submissions_per_org_hour == 0
        || c.session_ttl_secs == 0
        || c.max_chunk_bytes < 4096
        || c.max_seconds == 0;
    if zero {
        return Err(ConfigError::Invalid {
            key: "widgets".into(),
            message: "the per-IP limits, session_ttl_secs and max_seconds must be at least 1, \
                      max_chunk_bytes at least 4096"
                .into(),
        });
    }
    if c.max_seconds > 3600 || c.session_ttl_secs > 86_400 {
        return Err(ConfigError::Invalid {
            key: "widgets".into(),
            message: "max_seconds is at most 3600 and session_ttl_secs at most 86400".into(),
        });
    }
    Ok(())
}

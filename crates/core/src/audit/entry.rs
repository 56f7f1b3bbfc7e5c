//! The canonical audit entry: exactly the bytes a Merkle leaf commits to. Personal data is not
//! in it; the entry carries an HMAC of it under the subject's key, and the row carries the data
//! sealed under that key, so erasing the key erases the data while every hash stays valid.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Version 1 of the entry format. Field order is the serialization order, so the JSON is canonical.
/// `count` was added later and is left out when absent, so entries written before it keep their
/// exact bytes (and every leaf hash and proof stays valid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub v: u32,
    pub seq: i64,
    pub time: String,
    pub org: Option<String>,
    pub action: String,
    pub actor: String,
    pub resource: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub subject: Option<String>,
    /// Hex HMAC-SHA256 of the canonical personal JSON under the subject's key.
    pub personal: Option<String>,
    /// How many refused attempts this entry stands for (aggregated refusals only; absent: one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Hex SHA-256 of a document the entry commits to (a deletion certificate's canonical
    /// bytes); added with certificates, and absent from every other entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Entry {
    pub fn to_canonical(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// RFC 3339 with microseconds and `Z`: one spelling per instant.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The personal data of one event. Sealed at rest; committed to by HMAC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Personal {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub email: Option<String>,
}

impl Personal {
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.user_agent.is_none() && self.email.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_is_stable() {
        let e = Entry {
            v: 1,
            seq: 7,
            time: "2026-11-24T10:00:00.000000Z".into(),
            org: None,
            action: "auth.login".into(),
            actor: "anonymous".into(),
            resource: None,
            outcome: "failure".into(),
            reason: Some("unknown_user".into()),
            subject: None,
            personal: None,
            count: None,
            digest: None,
        };
        let text = e.to_canonical().unwrap();
        assert_eq!(
            text,
            r#"{"v":1,"seq":7,"time":"2026-11-24T10:00:00.000000Z","org":null,"action":"auth.login","actor":"anonymous","resource":null,"outcome":"failure","reason":"unknown_user","subject":null,"personal":null}"#
        );
        assert_eq!(Entry::parse(&text).unwrap(), e);
    }

    #[test]
    fn a_count_is_appended_only_when_present() {
        let old = r#"{"v":1,"seq":7,"time":"2026-11-24T10:00:00.000000Z","org":null,"action":"auth.login","actor":"anonymous","resource":null,"outcome":"failure","reason":"rate_limited","subject":null,"personal":null}"#;
        let mut e = Entry::parse(old).unwrap();
        assert_eq!(e.count, None);
        assert_eq!(
            e.to_canonical().unwrap(),
            old,
            "an old entry keeps its bytes"
        );
        e.count = Some(299);
        let text = e.to_canonical().unwrap();
        assert!(text.ends_with(r#""personal":null,"count":299}"#), "{text}");
        assert_eq!(Entry::parse(&text).unwrap(), e);
    }
}

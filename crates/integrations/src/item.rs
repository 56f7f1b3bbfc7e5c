//! What is sent: a meeting's [`Summary`] or one action item as a [`Task`]. Serializable, because
//! the server keeps the exact item (sealed) from the moment it is proposed until it is sent, and
//! an approver sees and edits exactly this.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::IntegrationError;

/// The longest title sent (providers cap titles at 255 or less).
pub const MAX_TITLE: usize = 250;
/// The longest body sent.
pub const MAX_BODY: usize = 20_000;

/// A meeting's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The meeting's title.
    pub title: String,
    /// The summary as Markdown (headings, bullet lists, links).
    pub markdown: String,
    /// A link back to the meeting.
    pub link: String,
    /// Attendees' addresses, for matching CRM contacts.
    #[serde(default)]
    pub attendee_emails: Vec<String>,
}

/// One action item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// What to do.
    pub title: String,
    /// Context: the meeting, who said it, the quoted line.
    pub notes: String,
    /// The owner's address, mapped to the provider's user by email.
    #[serde(default)]
    pub owner_email: Option<String>,
    /// When it is due.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// A link back to the moment in the meeting.
    pub link: String,
}

/// What one delivery sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Summary(Summary),
    Task(Task),
}

impl Item {
    /// The title, whichever it is.
    pub fn title(&self) -> &str {
        match self {
            Item::Summary(s) => &s.title,
            Item::Task(t) => &t.title,
        }
    }

    /// Checks sizes and links (an approver's edit goes through this too).
    pub fn check(&self) -> Result<(), IntegrationError> {
        let (title, body, link) = match self {
            Item::Summary(s) => (&s.title, &s.markdown, &s.link),
            Item::Task(t) => (&t.title, &t.notes, &t.link),
        };
        if title.trim().is_empty() || title.chars().count() > MAX_TITLE {
            return Err(IntegrationError::Invalid(format!(
                "the title must be 1 to {MAX_TITLE} characters"
            )));
        }
        if body.chars().count() > MAX_BODY {
            return Err(IntegrationError::Invalid(format!(
                "the text must be at most {MAX_BODY} characters"
            )));
        }
        if !(link.starts_with("https://") || link.starts_with("http://")) {
            return Err(IntegrationError::Invalid(
                "the link must be an http(s) URL".into(),
            ));
        }
        if let Item::Task(t) = self
            && let Some(e) = &t.owner_email
            && !plausible_email(e)
        {
            return Err(IntegrationError::Invalid(
                "owner_email is not an address".into(),
            ));
        }
        Ok(())
    }
}

/// A key that is safe in every provider's search syntax: letters, digits and `-`, 8 to 64.
pub fn check_key(key: &str) -> Result<(), IntegrationError> {
    if (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(IntegrationError::Invalid(
            "the idempotency key must be 8 to 64 letters, digits or '-'".into(),
        ))
    }
}

/// An address we are willing to put into a provider's user search: one `@`, no spaces, quotes
/// or query syntax.
pub fn plausible_email(e: &str) -> bool {
    e.len() <= 254
        && e.split('@').count() == 2
        && e.split('@').all(|p| !p.is_empty())
        && e.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-' | b'_' | b'+'))
}

/// Markdown without its markup, for providers that take plain text.
pub fn plain(markdown: &str) -> String {
    markdown
        .lines()
        .map(|l| {
            let t = l.trim_start_matches('#').trim_start();
            let t = t
                .strip_prefix("- ")
                .map_or(t.to_owned(), |r| format!("• {r}"));
            t.replace("**", "")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_emails_that_could_inject_are_refused() {
        assert!(check_key("mv-0123456789abcdef").is_ok());
        for bad in ["short", "has space here", "quote\"here00", "semi;colon00"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
        assert!(plausible_email("ana+x@acme.example"));
        for bad in ["a", "a@b@c", "a b@c", "a'@c", "\"x\"@c", "@c", "a@"] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn an_item_round_trips_as_tagged_json_and_is_checked() {
        let t = Item::Task(Task {
            title: "Send the deck".into(),
            notes: "Ana said so".into(),
            owner_email: Some("ana@acme.example".into()),
            due: NaiveDate::from_ymd_opt(2026, 12, 11),
            link: "https://mv.example/m/1#t=61".into(),
        });
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["type"], "task");
        assert_eq!(json["due"], "2026-12-11");
        assert_eq!(serde_json::from_value::<Item>(json).unwrap(), t);
        assert!(t.check().is_ok());
        let mut bad = t.clone();
        if let Item::Task(x) = &mut bad {
            x.link = "javascript:alert(1)".into();
        }
        assert!(bad.check().is_err());
        assert_eq!(plain("## Notes\n- **a**\n- b"), "Notes\n• a\n• b");
    }
}

//! The event as meetvault sees it: only the fields the auto-join rules and the scheduler need,
//! whatever the provider sent. `Debug` prints no content (no title, description, location or
//! address), so an event in a log line leaks nothing.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::links::ConferenceLink;

/// The most of a description we keep, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;
/// The most of a title or location we keep, in bytes.
pub const MAX_SHORT_TEXT_BYTES: usize = 1024;
/// The most attendees we keep per event.
pub const MAX_ATTENDEES: usize = 500;

/// When an event starts or ends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventTime {
    /// A point in time, with the IANA (or Windows) time zone name the provider gave, if any.
    At {
        /// The instant.
        utc: DateTime<Utc>,
        /// The event's time zone, for display.
        time_zone: Option<String>,
    },
    /// An all-day date (the end date is exclusive, as both providers send it).
    Date(NaiveDate),
}

impl EventTime {
    /// The instant, or midnight UTC of an all-day date.
    pub fn instant(&self) -> DateTime<Utc> {
        match self {
            Self::At { utc, .. } => *utc,
            Self::Date(d) => d.and_time(chrono::NaiveTime::MIN).and_utc(),
        }
    }
}

/// The event's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Confirmed.
    Confirmed,
    /// Tentative.
    Tentative,
    /// Cancelled (Graph keeps cancelled meetings in the attendee's calendar until removed).
    Cancelled,
}

/// An attendee's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Not answered yet.
    NeedsAction,
    /// Accepted (Graph's organizer counts as accepted).
    Accepted,
    /// Tentatively accepted.
    Tentative,
    /// Declined.
    Declined,
}

/// One attendee.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attendee {
    /// The address, as sent (compare case-insensitively).
    pub email: String,
    /// The display name.
    pub display_name: Option<String>,
    /// The answer.
    pub response: ResponseStatus,
    /// Whether this attendee is the organizer.
    pub organizer: bool,
    /// Whether this attendee is the calendar's owner (Google marks it; Graph does not).
    pub is_self: bool,
    /// A room or other resource rather than a person.
    pub resource: bool,
}

impl Attendee {
    /// The lowercased domain of the address, without a trailing dot.
    pub fn domain(&self) -> Option<String> {
        email_domain(&self.email)
    }
}

/// The lowercased domain of an address.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_lowercase();
    (!domain.is_empty()).then_some(domain)
}

impl fmt::Debug for Attendee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attendee")
            .field("response", &self.response)
            .field("organizer", &self.organizer)
            .field("is_self", &self.is_self)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// A calendar event (one instance: recurring series come expanded).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// The provider's id of this event or instance.
    pub id: String,
    /// Title (Google `summary`, Graph `subject`), bounded.
    pub title: String,
    /// Description or body as text, bounded to [`MAX_DESCRIPTION_BYTES`].
    pub description: String,
    /// Start.
    pub start: EventTime,
    /// End.
    pub end: EventTime,
    /// An all-day event.
    pub all_day: bool,
    /// The location text, bounded.
    pub location: Option<String>,
    /// Attendees, at most [`MAX_ATTENDEES`].
    pub attendees: Vec<Attendee>,
    /// The organizer's address.
    pub organizer_email: Option<String>,
    /// Whether the calendar's owner organizes it.
    pub organizer_is_self: bool,
    /// Status.
    pub status: EventStatus,
    /// The id of the recurring series this is an instance of.
    pub series_id: Option<String>,
    /// The instance's original start in its series.
    pub original_start: Option<EventTime>,
    /// The meeting to join, if it is on a platform we recognise.
    pub conference: Option<ConferenceLink>,
    /// Whether the calendar's owner declined.
    pub declined: bool,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.id)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("all_day", &self.all_day)
            .field("status", &self.status)
            .field("attendees", &self.attendees.len())
            .field("series_id", &self.series_id)
            .field("platform", &self.conference.as_ref().map(|c| c.platform))
            .field("declined", &self.declined)
            .finish_non_exhaustive()
    }
}

/// One change a sync reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Created or updated (a Graph meeting the organizer cancelled arrives here with
    /// [`EventStatus::Cancelled`]).
    Upsert(Box<Event>),
    /// Deleted, or cancelled on Google (which then sends only the id).
    Removed(String),
}

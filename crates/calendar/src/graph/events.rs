//! Microsoft Graph `event` resources → [`Event`]. `calendarView/delta` does not accept
//! `$select` (its reference: "You cannot use `$select` to get only a subset of those
//! properties"), so Graph sends whole events; this parser reads only the fields listed in
//! [`FIELDS`] and drops the rest at parse time. We ask for UTC times and text bodies with
//! `Prefer` headers.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::event::{
    Attendee, Change, Event, EventStatus, EventTime, MAX_ATTENDEES, MAX_DESCRIPTION_BYTES,
    MAX_SHORT_TEXT_BYTES, ResponseStatus,
};
use crate::links::{ConferenceLink, find_conference_link, parse_conference_url};
use crate::secret::truncate_bytes;

/// The fields we read (documentation, and what a `$select` would name where Graph allows one).
pub const FIELDS: &str = "id,subject,body,start,end,isAllDay,location,attendees,organizer,\
isOrganizer,responseStatus,isCancelled,seriesMasterId,originalStart,type,onlineMeeting";

#[derive(serde::Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    pub value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MEvent {
    id: String,
    #[serde(rename = "@removed")]
    removed: Option<serde_json::Value>,
    subject: Option<String>,
    body: Option<MBody>,
    start: Option<MTime>,
    end: Option<MTime>,
    #[serde(default)]
    is_all_day: bool,
    location: Option<MLocation>,
    #[serde(default)]
    attendees: Vec<MAttendee>,
    organizer: Option<MRecipient>,
    #[serde(default)]
    is_organizer: bool,
    response_status: Option<MResponse>,
    #[serde(default)]
    is_cancelled: bool,
    series_master_id: Option<String>,
    original_start: Option<String>,
    online_meeting: Option<MOnlineMeeting>,
}

#[derive(serde::Deserialize)]
struct MBody {
    content: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MTime {
    date_time: String,
    time_zone: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MLocation {
    display_name: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MAttendee {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<MResponse>,
    email_address: Option<MEmail>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MRecipient {
    email_address: Option<MEmail>,
}

#[derive(serde::Deserialize)]
struct MEmail {
    name: Option<String>,
    address: Option<String>,
}

#[derive(serde::Deserialize)]
struct MResponse {
    response: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MOnlineMeeting {
    join_url: Option<String>,
}

/// Graph's `dateTimeTimeZone`. We send `Prefer: outlook.timezone="UTC"`, so anything but UTC
/// cannot be converted without a time-zone database and the event is skipped.
fn time(t: &MTime, all_day: bool) -> Option<EventTime> {
    let naive = NaiveDateTime::parse_from_str(&t.date_time, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    if all_day {
        return Some(EventTime::Date(naive.date()));
    }
    let zone = t.time_zone.as_deref().unwrap_or("UTC");
    if !matches!(zone, "UTC" | "Etc/UTC" | "tzone://Microsoft/Utc") {
        return None;
    }
    Some(EventTime::At {
        utc: naive.and_utc(),
        time_zone: Some("UTC".to_owned()),
    })
}

fn response(value: Option<&MResponse>) -> ResponseStatus {
    match value.and_then(|r| r.response.as_deref()) {
        Some("accepted" | "organizer") => ResponseStatus::Accepted,
        Some("tentativelyAccepted") => ResponseStatus::Tentative,
        Some("declined") => ResponseStatus::Declined,
        _ => ResponseStatus::NeedsAction,
    }
}

fn conference(e: &MEvent) -> Option<ConferenceLink> {
    e.online_meeting
        .as_ref()
        .and_then(|m| m.join_url.as_deref())
        .and_then(parse_conference_url)
        .or_else(|| {
            e.location
                .as_ref()
                .and_then(|l| l.display_name.as_deref())
                .and_then(find_conference_link)
        })
        .or_else(|| {
            e.body
                .as_ref()
                .and_then(|b| b.content.as_deref())
                .and_then(find_conference_link)
        })
}

/// One item of a delta page → a change; `None` if malformed (skipped and counted).
pub(crate) fn change(item: serde_json::Value) -> Option<Change> {
    let e: MEvent = serde_json::from_value(item).ok()?;
    if e.id.is_empty() || e.id.len() > 1024 {
        return None;
    }
    if e.removed.is_some() {
        return Some(Change::Removed(e.id));
    }
    let start = time(e.start.as_ref()?, e.is_all_day)?;
    let end = time(e.end.as_ref()?, e.is_all_day)?;
    let attendees = e
        .attendees
        .iter()
        .filter_map(|a| {
            let email = a.email_address.as_ref()?;
            Some(Attendee {
                email: truncate_bytes(email.address.clone()?, 320),
                display_name: email.name.clone().map(|n| truncate_bytes(n, 256)),
                response: response(a.status.as_ref()),
                organizer: a.status.as_ref().and_then(|s| s.response.as_deref())
                    == Some("organizer"),
                is_self: false,
                resource: a.kind.as_deref() == Some("resource"),
            })
        })
        .take(MAX_ATTENDEES)
        .collect();
    let conference = conference(&e);
    let original_start = e
        .original_start
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| EventTime::At {
            utc: t.with_timezone(&Utc),
            time_zone: None,
        });
    Some(Change::Upsert(Box::new(Event {
        title: truncate_bytes(e.subject.unwrap_or_default(), MAX_SHORT_TEXT_BYTES),
        description: truncate_bytes(
            e.body.and_then(|b| b.content).unwrap_or_default(),
            MAX_DESCRIPTION_BYTES,
        ),
        location: e
            .location
            .and_then(|l| l.display_name)
            .filter(|l| !l.is_empty())
            .map(|l| truncate_bytes(l, MAX_SHORT_TEXT_BYTES)),
        start,
        end,
        all_day: e.is_all_day,
        attendees,
        organizer_email: e
            .organizer
            .and_then(|o| o.email_address)
            .and_then(|m| m.address)
            .map(|m| truncate_bytes(m, 320)),
        organizer_is_self: e.is_organizer,
        status: if e.is_cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        },
        series_id: e.series_master_id,
        original_start,
        conference,
        declined: response(e.response_status.as_ref()) == ResponseStatus::Declined,
        id: e.id,
    })))
}

#[cfg(test)]
mod tests;

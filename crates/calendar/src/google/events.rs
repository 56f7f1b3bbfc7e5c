//! Google Calendar `events` resources → [`Event`]: only the fields in [`FIELDS`] are read, and
//! [`FIELDS`] is the partial-response mask we send, so Google sends nothing else.

use chrono::{DateTime, NaiveDate, Utc};

use crate::event::{
    Attendee, Change, Event, EventStatus, EventTime, MAX_ATTENDEES, MAX_DESCRIPTION_BYTES,
    MAX_SHORT_TEXT_BYTES, ResponseStatus,
};
use crate::links::{ConferenceLink, find_conference_link, parse_conference_url};
use crate::secret::truncate_bytes;

/// The `fields` mask of `events.list`: the page tokens and exactly the event fields we read.
pub const FIELDS: &str = "nextPageToken,nextSyncToken,items(id,status,summary,description,\
location,start,end,attendees(email,displayName,responseStatus,organizer,self,resource),\
organizer(email,self),recurringEventId,originalStartTime,hangoutLink,\
conferenceData(entryPoints(entryPointType,uri)))";

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page {
    #[serde(default)]
    pub items: Vec<serde_json::Value>,
    pub next_page_token: Option<String>,
    pub next_sync_token: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GEvent {
    id: String,
    status: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<GTime>,
    end: Option<GTime>,
    #[serde(default)]
    attendees: Vec<GAttendee>,
    organizer: Option<GOrganizer>,
    recurring_event_id: Option<String>,
    original_start_time: Option<GTime>,
    hangout_link: Option<String>,
    conference_data: Option<GConference>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GTime {
    date: Option<String>,
    date_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GAttendee {
    email: Option<String>,
    display_name: Option<String>,
    response_status: Option<String>,
    #[serde(default)]
    organizer: bool,
    #[serde(default, rename = "self")]
    is_self: bool,
    #[serde(default)]
    resource: bool,
}

#[derive(serde::Deserialize)]
struct GOrganizer {
    email: Option<String>,
    #[serde(default, rename = "self")]
    is_self: bool,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GConference {
    #[serde(default)]
    entry_points: Vec<GEntryPoint>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GEntryPoint {
    entry_point_type: Option<String>,
    uri: Option<String>,
}

fn time(t: &GTime) -> Option<EventTime> {
    if let Some(dt) = &t.date_time {
        let utc = DateTime::parse_from_rfc3339(dt).ok()?.with_timezone(&Utc);
        return Some(EventTime::At {
            utc,
            time_zone: t.time_zone.clone().map(|z| truncate_bytes(z, 64)),
        });
    }
    let date = NaiveDate::parse_from_str(t.date.as_deref()?, "%Y-%m-%d").ok()?;
    Some(EventTime::Date(date))
}

fn response(status: Option<&str>) -> ResponseStatus {
    match status {
        Some("accepted") => ResponseStatus::Accepted,
        Some("tentative") => ResponseStatus::Tentative,
        Some("declined") => ResponseStatus::Declined,
        _ => ResponseStatus::NeedsAction,
    }
}

fn conference(e: &GEvent) -> Option<ConferenceLink> {
    let entry_points = e
        .conference_data
        .iter()
        .flat_map(|c| &c.entry_points)
        .filter(|p| p.entry_point_type.as_deref() == Some("video"))
        .filter_map(|p| p.uri.as_deref());
    e.hangout_link
        .as_deref()
        .into_iter()
        .chain(entry_points)
        .find_map(parse_conference_url)
        .or_else(|| e.location.as_deref().and_then(find_conference_link))
        .or_else(|| e.description.as_deref().and_then(find_conference_link))
}

/// One item of an `events.list` page → a change; `None` if it is malformed (skipped and
/// counted by the caller, so one bad event does not stop a sync).
pub(crate) fn change(item: serde_json::Value) -> Option<Change> {
    let e: GEvent = serde_json::from_value(item).ok()?;
    if e.id.is_empty() || e.id.len() > 1024 {
        return None;
    }
    let status = match e.status.as_deref() {
        // Deleted and cancelled events (and cancelled instances) come with little beyond the id.
        Some("cancelled") => return Some(Change::Removed(e.id)),
        Some("tentative") => EventStatus::Tentative,
        _ => EventStatus::Confirmed,
    };
    let start = time(e.start.as_ref()?)?;
    let end = time(e.end.as_ref()?)?;
    let all_day = matches!(start, EventTime::Date(_));
    let attendees: Vec<Attendee> = e
        .attendees
        .iter()
        .filter_map(|a| {
            Some(Attendee {
                email: truncate_bytes(a.email.clone()?, 320),
                display_name: a.display_name.clone().map(|n| truncate_bytes(n, 256)),
                response: response(a.response_status.as_deref()),
                organizer: a.organizer,
                is_self: a.is_self,
                resource: a.resource,
            })
        })
        .take(MAX_ATTENDEES)
        .collect();
    let declined = e
        .attendees
        .iter()
        .any(|a| a.is_self && a.response_status.as_deref() == Some("declined"));
    let organizer_is_self = e.organizer.as_ref().is_some_and(|o| o.is_self)
        || e.attendees.iter().any(|a| a.is_self && a.organizer);
    let conference = conference(&e);
    Some(Change::Upsert(Box::new(Event {
        title: truncate_bytes(e.summary.unwrap_or_default(), MAX_SHORT_TEXT_BYTES),
        description: truncate_bytes(e.description.unwrap_or_default(), MAX_DESCRIPTION_BYTES),
        location: e.location.map(|l| truncate_bytes(l, MAX_SHORT_TEXT_BYTES)),
        start,
        end,
        all_day,
        attendees,
        organizer_email: e
            .organizer
            .and_then(|o| o.email)
            .map(|m| truncate_bytes(m, 320)),
        organizer_is_self,
        status,
        series_id: e.recurring_event_id,
        original_start: e.original_start_time.as_ref().and_then(time),
        conference,
        declined,
        id: e.id,
    })))
}

#[cfg(test)]
mod tests;

//! The fakes' shared state: one calendar per provider with a change counter (every mutation
//! stamps the event with the next sequence number, which is what sync tokens and delta tokens
//! encode), the OAuth grants, pending pages, channels and subscriptions; and the rendering of
//! an event as each provider's JSON.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::provider::ProviderKind;

/// An attendee of a fake event (besides the user, who is always invited).
#[derive(Debug, Clone)]
pub struct FakeAttendee {
    /// Address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// A room.
    pub resource: bool,
}

/// An event in a fake calendar, as a test writes it.
#[derive(Debug, Clone)]
pub struct FakeEvent {
    /// The id (assigned by the fake when added).
    pub id: String,
    /// Title.
    pub title: String,
    /// Description / body.
    pub description: String,
    /// Location text.
    pub location: Option<String>,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// All-day (dates of `start` and `end`).
    pub all_day: bool,
    /// Other attendees.
    pub attendees: Vec<FakeAttendee>,
    /// The organizer's address.
    pub organizer: String,
    /// The user's answer: `accepted`, `declined`, `tentative` or `needsAction`.
    pub user_response: String,
    /// The meeting link (Meet → `hangoutLink`, Zoom → a video entry point / location, Teams →
    /// `onlineMeeting.joinUrl`).
    pub conference_url: Option<String>,
    /// The series, for instances.
    pub series_id: Option<String>,
    /// The instance's original start.
    pub original_start: Option<DateTime<Utc>>,
    /// Cancelled by the organizer.
    pub cancelled: bool,
    /// Deleted.
    pub deleted: bool,
    pub(crate) seq: u64,
}

impl FakeEvent {
    /// A meeting organised by someone else at `start` for `minutes`, with `link`.
    pub fn meeting(title: &str, start: DateTime<Utc>, minutes: i64, link: Option<&str>) -> Self {
        Self {
            id: String::new(),
            title: title.to_owned(),
            description: String::new(),
            location: None,
            start,
            end: start + chrono::TimeDelta::minutes(minutes),
            all_day: false,
            attendees: vec![FakeAttendee {
                email: "alice@acme.example".into(),
                name: Some("Alice".into()),
                resource: false,
            }],
            organizer: "alice@acme.example".into(),
            user_response: "accepted".into(),
            conference_url: link.map(str::to_owned),
            series_id: None,
            original_start: None,
            cancelled: false,
            deleted: false,
            seq: 0,
        }
    }
}

pub(crate) struct Calendar {
    pub events: Vec<FakeEvent>,
    /// Tokens encoding a sequence below this are gone (410).
    pub min_valid_seq: u64,
}

pub(crate) struct Grant {
    pub kind: ProviderKind,
    pub revoked: bool,
}

pub(crate) struct Code {
    pub kind: ProviderKind,
    pub challenge: String,
    pub redirect_uri: String,
    pub scope: String,
}

pub(crate) struct Access {
    pub grant: u64,
    pub expires: DateTime<Utc>,
}

/// Items not yet handed out, and the token that ends the list.
pub(crate) struct Pending {
    pub items: Vec<Value>,
    pub final_token: String,
}

pub(crate) struct Channel {
    pub resource_id: String,
    pub address: String,
    pub token: String,
    pub expiration_ms: i64,
    pub message_number: u64,
}

pub(crate) struct Subscription {
    pub notification_url: String,
    pub client_state: Option<String>,
    pub expiration: DateTime<Utc>,
}

/// A request the fake served (for assertions on what the client sent).
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// Path.
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// `Prefer` header values.
    pub prefer: Vec<String>,
}

pub(crate) struct State {
    pub base: String,
    pub user_email: String,
    pub seq: u64,
    pub next_id: u64,
    pub calendars: HashMap<ProviderKind, Calendar>,
    pub grants: HashMap<u64, Grant>,
    pub codes: HashMap<String, Code>,
    pub refresh: HashMap<String, u64>,
    pub access: HashMap<String, Access>,
    pub access_ttl_secs: i64,
    pub pending: HashMap<String, Pending>,
    pub channels: HashMap<String, Channel>,
    pub subscriptions: HashMap<String, Subscription>,
    pub requests: Vec<FakeRequest>,
}

impl State {
    pub fn new(base: &str, user_email: &str) -> Self {
        let mut calendars = HashMap::new();
        for kind in [ProviderKind::Google, ProviderKind::Microsoft] {
            calendars.insert(
                kind,
                Calendar {
                    events: Vec::new(),
                    min_valid_seq: 0,
                },
            );
        }
        Self {
            base: base.trim_end_matches('/').to_owned(),
            user_email: user_email.to_owned(),
            seq: 0,
            next_id: 0,
            calendars,
            grants: HashMap::new(),
            codes: HashMap::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            access_ttl_secs: 3599,
            pending: HashMap::new(),
            channels: HashMap::new(),
            subscriptions: HashMap::new(),
            requests: Vec::new(),
        }
    }

    pub fn token(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}{}", self.next_id, uuid::Uuid::new_v4().simple())
    }

    pub fn calendar(&mut self, kind: ProviderKind) -> &mut Calendar {
        self.calendars.entry(kind).or_insert(Calendar {
            events: Vec::new(),
            min_valid_seq: 0,
        })
    }

    /// The access grant behind a bearer token, if valid for `kind` now.
    pub fn authorized(&self, kind: ProviderKind, bearer: Option<&str>) -> bool {
        let Some(token) = bearer.and_then(|b| b.strip_prefix("Bearer ")) else {
            return false;
        };
        self.access.get(token).is_some_and(|a| {
            a.expires > Utc::now()
                && self
                    .grants
                    .get(&a.grant)
                    .is_some_and(|g| g.kind == kind && !g.revoked)
        })
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn graph_time(t: DateTime<Utc>) -> Value {
    // Graph writes seven fractional digits.
    let stamp = format!(
        "{}.{:07}",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    );
    json!({"dateTime": stamp, "timeZone": "UTC"})
}

/// The event as Google's events resource (the fields we mask for, and a few we do not, as
/// Google would send them without a mask).
pub(crate) fn google_json(e: &FakeEvent, user: &str) -> Value {
    if e.deleted || e.cancelled {
        let mut v = json!({"kind": "calendar#event", "etag": format!("\"{}\"", e.seq), "id": e.id, "status": "cancelled"});
        if let Some(series) = &e.series_id {
            v["recurringEventId"] = json!(series);
            v["originalStartTime"] =
                json!({"dateTime": rfc3339(e.original_start.unwrap_or(e.start))});
        }
        return v;
    }
    let time = |t: DateTime<Utc>| {
        if e.all_day {
            json!({"date": t.format("%Y-%m-%d").to_string()})
        } else {
            json!({"dateTime": rfc3339(t), "timeZone": "UTC"})
        }
    };
    let organizer_is_user = e.organizer.eq_ignore_ascii_case(user);
    let mut attendees = vec![json!({
        "email": user, "self": true, "responseStatus": e.user_response, "organizer": organizer_is_user
    })];
    for a in &e.attendees {
        let mut v = json!({"email": a.email, "responseStatus": "accepted"});
        if let Some(n) = &a.name {
            v["displayName"] = json!(n);
        }
        if a.resource {
            v["resource"] = json!(true);
        }
        if a.email.eq_ignore_ascii_case(&e.organizer) {
            v["organizer"] = json!(true);
        }
        attendees.push(v);
    }
    let mut v = json!({
        "kind": "calendar#event",
        "etag": format!("\"{}\"", e.seq),
        "id": e.id,
        "status": "confirmed",
        "htmlLink": format!("https://www.google.com/calendar/event?eid={}", e.id),
        "summary": e.title,
        "description": e.description,
        "creator": {"email": e.organizer},
        "organizer": {"email": e.organizer, "self": organizer_is_user},
        "start": time(e.start),
        "end": time(e.end),
        "attendees": attendees,
        "reminders": {"useDefault": true},
    });
    if let Some(l) = &e.location {
        v["location"] = json!(l);
    }
    if let Some(url) = &e.conference_url {
        if url.starts_with("https://meet.google.com/") {
            v["hangoutLink"] = json!(url);
        }
        v["conferenceData"] =
            json!({"entryPoints": [{"entryPointType": "video", "uri": url, "label": url}]});
    }
    if let Some(series) = &e.series_id {
        v["recurringEventId"] = json!(series);
        v["originalStartTime"] =
            json!({"dateTime": rfc3339(e.original_start.unwrap_or(e.start)), "timeZone": "UTC"});
    }
    v
}

/// The event as Graph's event resource, or its `@removed` form.
pub(crate) fn graph_json(e: &FakeEvent, user: &str, removed: bool) -> Value {
    if removed || e.deleted {
        return json!({"@odata.type": "#microsoft.graph.event", "id": e.id, "@removed": {"reason": "deleted"}});
    }
    let organizer_is_user = e.organizer.eq_ignore_ascii_case(user);
    let response = if organizer_is_user {
        "organizer"
    } else {
        match e.user_response.as_str() {
            "accepted" => "accepted",
            "declined" => "declined",
            "tentative" => "tentativelyAccepted",
            _ => "notResponded",
        }
    };
    let attendees: Vec<Value> = e
        .attendees
        .iter()
        .map(|a| {
            json!({
                "type": if a.resource { "resource" } else { "required" },
                "status": {"response": "accepted", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a.name.clone().unwrap_or_default(), "address": a.email}
            })
        })
        .collect();
    let is_teams = e
        .conference_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://teams.microsoft.com/"));
    let location = e
        .location
        .clone()
        .or_else(|| e.conference_url.clone().filter(|_| !is_teams));
    let mut v = json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": format!("W/\"{}\"", e.seq),
        "id": e.id,
        "createdDateTime": "2024-01-01T00:00:00.0000000Z",
        "subject": e.title,
        "bodyPreview": e.description.chars().take(255).collect::<String>(),
        "body": {"contentType": "text", "content": e.description},
        "start": graph_time(e.start),
        "end": graph_time(e.end),
        "isAllDay": e.all_day,
        "isCancelled": e.cancelled,
        "isOrganizer": organizer_is_user,
        "responseStatus": {"response": response, "time": "2024-01-01T00:00:00Z"},
        "location": {"displayName": location.unwrap_or_default(), "locationType": "default"},
        "attendees": attendees,
        "organizer": {"emailAddress": {"name": "", "address": e.organizer}},
        "type": if e.series_id.is_some() { "occurrence" } else { "singleInstance" },
        "isOnlineMeeting": is_teams,
        "onlineMeeting": if is_teams { json!({"joinUrl": e.conference_url}) } else { Value::Null },
    });
    if let Some(series) = &e.series_id {
        v["seriesMasterId"] = json!(series);
        v["originalStart"] = json!(rfc3339(e.original_start.unwrap_or(e.start)));
    }
    v
}

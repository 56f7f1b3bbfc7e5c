//! Payloads shaped like the events resource in Google's API reference.

use super::*;
use crate::links::Platform;

fn upsert(v: serde_json::Value) -> Event {
    match change(v) {
        Some(Change::Upsert(e)) => *e,
        other => panic!("expected an upsert, got {other:?}"),
    }
}

#[test]
fn reads_a_meet_invitation_declined_by_the_user() {
    let e = upsert(serde_json::json!({
        "kind": "calendar#event",
        "etag": "\"3181161784712000\"",
        "id": "4rbq0m4pf0e3h0tq8ehhm0pf3c",
        "status": "confirmed",
        "htmlLink": "https://www.google.com/calendar/event?eid=x",
        "summary": "Quarterly review",
        "description": "Agenda attached",
        "creator": {"email": "alice@acme.example"},
        "organizer": {"email": "alice@acme.example"},
        "start": {"dateTime": "2024-05-01T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2024-05-01T11:00:00+02:00", "timeZone": "Europe/Berlin"},
        "attendees": [
            {"email": "alice@acme.example", "organizer": true, "responseStatus": "accepted"},
            {"email": "bob@acme.example", "displayName": "Bob", "self": true, "responseStatus": "declined"},
            {"email": "room-1@resource.calendar.google.com", "resource": true, "responseStatus": "accepted"}
        ],
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
        "conferenceData": {
            "entryPoints": [
                {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij", "label": "meet.google.com/abc-defg-hij"},
                {"entryPointType": "phone", "uri": "tel:+1-555-0100", "pin": "123"}
            ],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}}
        },
        "reminders": {"useDefault": true}
    }));
    assert_eq!(e.id, "4rbq0m4pf0e3h0tq8ehhm0pf3c");
    assert_eq!(e.title, "Quarterly review");
    assert_eq!(e.start.instant().to_rfc3339(), "2024-05-01T08:00:00+00:00");
    assert!(!e.all_day);
    assert!(e.declined);
    assert!(!e.organizer_is_self);
    assert_eq!(e.organizer_email.as_deref(), Some("alice@acme.example"));
    assert_eq!(e.attendees.len(), 3);
    assert!(e.attendees[2].resource);
    assert_eq!(e.attendees[1].response, ResponseStatus::Declined);
    let link = e.conference.unwrap();
    assert_eq!(link.platform, Platform::GoogleMeet);
    assert_eq!(link.key, "meet:abc-defg-hij");
}

#[test]
fn reads_an_all_day_event_and_a_zoom_video_entry_point() {
    let e = upsert(serde_json::json!({
        "id": "allday1",
        "status": "tentative",
        "summary": "Offsite",
        "start": {"date": "2024-05-02"},
        "end": {"date": "2024-05-03"},
        "conferenceData": {"entryPoints": [
            {"entryPointType": "video", "uri": "https://acme.zoom.us/j/98765432101?pwd=xyz"}
        ]}
    }));
    assert!(e.all_day);
    assert_eq!(e.status, EventStatus::Tentative);
    assert_eq!(
        e.start,
        EventTime::Date(NaiveDate::from_ymd_opt(2024, 5, 2).unwrap())
    );
    assert_eq!(e.conference.unwrap().key, "zoom:98765432101");
}

#[test]
fn reads_a_recurring_instance_and_a_link_in_the_description() {
    let e = upsert(serde_json::json!({
        "id": "series1_20240506T090000Z",
        "status": "confirmed",
        "summary": "Standup",
        "description": "<p>Join <a href=\"https://teams.microsoft.com/l/meetup-join/19%3ameeting_Zm9v%40thread.v2/0\">here</a></p>",
        "organizer": {"email": "bob@acme.example", "self": true},
        "start": {"dateTime": "2024-05-06T09:00:00Z"},
        "end": {"dateTime": "2024-05-06T09:15:00Z"},
        "recurringEventId": "series1",
        "originalStartTime": {"dateTime": "2024-05-06T09:00:00Z"}
    }));
    assert_eq!(e.series_id.as_deref(), Some("series1"));
    assert!(e.original_start.is_some());
    assert!(e.organizer_is_self);
    assert_eq!(e.conference.unwrap().key, "teams:19:meeting_Zm9v@thread.v2");
}

#[test]
fn a_cancelled_event_is_a_removal_and_malformed_items_are_skipped() {
    assert_eq!(
        change(serde_json::json!({"id": "gone1", "status": "cancelled"})),
        Some(Change::Removed("gone1".into()))
    );
    assert_eq!(change(serde_json::json!({"status": "confirmed"})), None);
    assert_eq!(
        change(
            serde_json::json!({"id": "x", "start": {"dateTime": "not a time"}, "end": {"date": "2024-01-01"}})
        ),
        None
    );
}

#[test]
fn long_descriptions_are_bounded() {
    let e = upsert(serde_json::json!({
        "id": "big",
        "description": "é".repeat(MAX_DESCRIPTION_BYTES),
        "start": {"dateTime": "2024-05-06T09:00:00Z"},
        "end": {"dateTime": "2024-05-06T09:15:00Z"}
    }));
    assert!(e.description.len() <= MAX_DESCRIPTION_BYTES);
    assert!(!format!("{e:?}").contains('é'));
}

//! Payloads shaped like the event resource and the delta examples in the Graph reference.

use super::*;
use crate::links::Platform;

fn upsert(v: serde_json::Value) -> Event {
    match change(v) {
        Some(Change::Upsert(e)) => *e,
        other => panic!("expected an upsert, got {other:?}"),
    }
}

#[test]
fn reads_a_teams_meeting_the_user_declined() {
    let e = upsert(serde_json::json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": "W/\"ZlnW4RIAV06KYYwlrfNZvQAAKGWwbw==\"",
        "id": "AAMkAGIAAAoZDOFAAA=",
        "createdDateTime": "2024-04-30T08:00:00.0000000Z",
        "subject": "Contract review",
        "bodyPreview": "Please read",
        "body": {"contentType": "text", "content": "Please read the draft."},
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": false,
        "isCancelled": false,
        "isOrganizer": false,
        "responseStatus": {"response": "declined", "time": "2024-04-30T09:00:00Z"},
        "type": "singleInstance",
        "start": {"dateTime": "2024-05-01T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2024-05-01T15:00:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "Room 4", "locationType": "default"},
        "attendees": [
            {"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
             "emailAddress": {"name": "Carol", "address": "carol@partner.example"}},
            {"type": "resource", "status": {"response": "accepted", "time": "0001-01-01T00:00:00Z"},
             "emailAddress": {"name": "Room 4", "address": "room4@acme.example"}}
        ],
        "organizer": {"emailAddress": {"name": "Carol", "address": "carol@partner.example"}},
        "isOnlineMeeting": true,
        "onlineMeetingProvider": "teamsForBusiness",
        "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_YWJj%40thread.v2/0?context=%7b%7d"}
    }));
    assert!(e.declined);
    assert!(!e.organizer_is_self);
    assert_eq!(e.title, "Contract review");
    assert_eq!(e.description, "Please read the draft.");
    assert_eq!(e.location.as_deref(), Some("Room 4"));
    assert_eq!(e.start.instant().to_rfc3339(), "2024-05-01T14:00:00+00:00");
    assert_eq!(e.attendees.len(), 2);
    assert!(e.attendees[1].resource);
    assert_eq!(e.organizer_email.as_deref(), Some("carol@partner.example"));
    let link = e.conference.unwrap();
    assert_eq!(link.platform, Platform::Teams);
    assert_eq!(link.key, "teams:19:meeting_YWJj@thread.v2");
}

#[test]
fn reads_an_occurrence_with_a_zoom_link_in_the_location() {
    let e = upsert(serde_json::json!({
        "id": "AAMkOcc1",
        "subject": "Weekly",
        "type": "occurrence",
        "seriesMasterId": "AAMkMaster",
        "originalStart": "2024-05-06T09:00:00Z",
        "isOrganizer": true,
        "responseStatus": {"response": "organizer"},
        "start": {"dateTime": "2024-05-06T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2024-05-06T09:30:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "https://acme.zoom.us/j/123456789?pwd=p"},
        "onlineMeeting": null
    }));
    assert_eq!(e.series_id.as_deref(), Some("AAMkMaster"));
    assert!(e.original_start.is_some());
    assert!(e.organizer_is_self);
    assert!(!e.declined);
    assert_eq!(e.conference.unwrap().key, "zoom:123456789");
}

#[test]
fn all_day_cancelled_and_removed() {
    let e = upsert(serde_json::json!({
        "id": "AAMkAllDay",
        "isAllDay": true,
        "isCancelled": true,
        "start": {"dateTime": "2024-05-02T00:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2024-05-03T00:00:00.0000000", "timeZone": "UTC"}
    }));
    assert!(e.all_day);
    assert_eq!(e.status, EventStatus::Cancelled);
    assert_eq!(
        change(
            serde_json::json!({"@odata.type": "#microsoft.graph.event", "id": "AAMkGone", "@removed": {"reason": "deleted"}})
        ),
        Some(Change::Removed("AAMkGone".into()))
    );
}

#[test]
fn a_time_zone_we_cannot_convert_skips_the_event() {
    assert_eq!(
        change(serde_json::json!({
            "id": "x",
            "start": {"dateTime": "2024-05-01T14:00:00.0000000", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2024-05-01T15:00:00.0000000", "timeZone": "Pacific Standard Time"}
        })),
        None
    );
}

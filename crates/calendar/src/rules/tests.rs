//! Auto-join decisions, table-driven, and the dedupe key.

use chrono::{TimeZone as _, Utc};

use super::*;
use crate::event::{Attendee, EventTime};
use crate::links::parse_conference_url;

fn attendee(email: &str) -> Attendee {
    Attendee {
        email: email.into(),
        display_name: None,
        response: ResponseStatus::Accepted,
        organizer: false,
        is_self: false,
        resource: false,
    }
}

fn event() -> Event {
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
    Event {
        id: "e1".into(),
        title: "Weekly sync".into(),
        description: String::new(),
        start: EventTime::At {
            utc: start,
            time_zone: None,
        },
        end: EventTime::At {
            utc: start + chrono::TimeDelta::hours(1),
            time_zone: None,
        },
        all_day: false,
        location: None,
        attendees: vec![
            Attendee {
                is_self: true,
                ..attendee("me@acme.example")
            },
            attendee("colleague@acme.example"),
        ],
        organizer_email: Some("colleague@acme.example".into()),
        organizer_is_self: false,
        status: EventStatus::Confirmed,
        series_id: None,
        original_start: None,
        conference: parse_conference_url("https://meet.google.com/abc-defg-hij"),
        declined: false,
    }
}

fn rules(mode: Mode) -> Rules {
    Rules {
        mode,
        never_keywords: vec!["1:1".into(), "ÜBERPRÜFUNG".into()],
        never_domains: vec!["competitor.example".into()],
        own_domains: vec!["acme.example".into()],
    }
}

#[test]
fn decisions_table() {
    type Case = (
        &'static str,
        fn(&mut Event),
        Mode,
        Option<Override>,
        bool,
        Reason,
    );
    let cases: &[Case] = &[
        ("plain", |_| {}, Mode::All, None, true, Reason::Matched),
        (
            "cancelled",
            |e| e.status = EventStatus::Cancelled,
            Mode::All,
            Some(Override::Always),
            false,
            Reason::Cancelled,
        ),
        (
            "no link",
            |e| e.conference = None,
            Mode::All,
            Some(Override::Always),
            false,
            Reason::NoConferenceLink,
        ),
        (
            "override never",
            |_| {},
            Mode::All,
            Some(Override::Never),
            false,
            Reason::OverrideNever,
        ),
        (
            "override always beats declined",
            |e| e.declined = true,
            Mode::OnlyOrganizer,
            Some(Override::Always),
            true,
            Reason::OverrideAlways,
        ),
        (
            "declined flag",
            |e| e.declined = true,
            Mode::All,
            None,
            false,
            Reason::Declined,
        ),
        (
            "declined by address",
            |e| {
                e.attendees[0].is_self = false;
                e.attendees[0].response = ResponseStatus::Declined;
            },
            Mode::All,
            None,
            false,
            Reason::Declined,
        ),
        (
            "someone else declined",
            |e| e.attendees[1].response = ResponseStatus::Declined,
            Mode::All,
            None,
            true,
            Reason::Matched,
        ),
        (
            "all day",
            |e| e.all_day = true,
            Mode::All,
            None,
            false,
            Reason::AllDay,
        ),
        (
            "keyword",
            |e| e.title = "Bob / me 1:1".into(),
            Mode::All,
            None,
            false,
            Reason::KeywordExcluded,
        ),
        (
            "unicode keyword",
            |e| e.title = "Jährliche Überprüfung".into(),
            Mode::All,
            None,
            false,
            Reason::KeywordExcluded,
        ),
        (
            "never domain",
            |e| e.attendees.push(attendee("x@Competitor.Example")),
            Mode::All,
            None,
            false,
            Reason::DomainExcluded,
        ),
        (
            "never subdomain",
            |e| e.attendees.push(attendee("x@eu.competitor.example")),
            Mode::All,
            None,
            false,
            Reason::DomainExcluded,
        ),
        (
            "lookalike is not subdomain",
            |e| e.attendees.push(attendee("x@notcompetitor.example")),
            Mode::All,
            None,
            true,
            Reason::Matched,
        ),
        (
            "not organizer",
            |_| {},
            Mode::OnlyOrganizer,
            None,
            false,
            Reason::NotOrganizer,
        ),
        (
            "organizer flag",
            |e| e.organizer_is_self = true,
            Mode::OnlyOrganizer,
            None,
            true,
            Reason::Matched,
        ),
        (
            "organizer by address",
            |e| e.organizer_email = Some("ME@acme.example".into()),
            Mode::OnlyOrganizer,
            None,
            true,
            Reason::Matched,
        ),
        (
            "internal only",
            |_| {},
            Mode::OnlyExternal,
            None,
            false,
            Reason::NoExternalAttendee,
        ),
        (
            "internal subdomain",
            |e| e.attendees.push(attendee("y@eu.acme.example")),
            Mode::OnlyExternal,
            None,
            false,
            Reason::NoExternalAttendee,
        ),
        (
            "rooms are not external",
            |e| {
                e.attendees.push(Attendee {
                    resource: true,
                    ..attendee("room@resource.calendar.google.com")
                })
            },
            Mode::OnlyExternal,
            None,
            false,
            Reason::NoExternalAttendee,
        ),
        (
            "external",
            |e| e.attendees.push(attendee("carol@partner.example")),
            Mode::OnlyExternal,
            None,
            true,
            Reason::Matched,
        ),
    ];
    for (name, change, mode, override_, record, reason) in cases {
        let mut e = event();
        change(&mut e);
        let d = decide(&e, "me@acme.example", &rules(*mode), *override_);
        assert_eq!((d.record, d.reason), (*record, *reason), "{name}");
    }
}

#[test]
fn dedupe_key_is_shared_by_colleagues_and_differs_per_instance() {
    let mine = event();
    let mut theirs = event();
    theirs.id = "a-different-provider-id".into();
    theirs.conference = parse_conference_url("https://meet.google.com/ABC-DEFG-HIJ?authuser=2");
    assert_eq!(dedupe_key(&mine), dedupe_key(&theirs));
    assert_eq!(
        dedupe_key(&mine).unwrap(),
        "meet:abc-defg-hij@2024-05-01T08:00:00Z"
    );
    let mut next_week = event();
    next_week.start = EventTime::At {
        utc: Utc.with_ymd_and_hms(2024, 5, 8, 8, 0, 0).unwrap(),
        time_zone: Some("Europe/Berlin".into()),
    };
    assert_ne!(dedupe_key(&mine), dedupe_key(&next_week));
    let mut no_link = event();
    no_link.conference = None;
    assert_eq!(dedupe_key(&no_link), None);
}

//! Graph `calendarView/delta` rounds against the fake: removals, reset, link origin.

use chrono::{DateTime, TimeDelta, Utc};
use meetvault_calendar::fake::{FakeEvent, FakeProviders};
use meetvault_calendar::sync::Window;
use meetvault_calendar::{
    CalendarError, Change, EventStatus, ProviderKind, Reason, Rules, SyncCursor, SyncOptions,
    decide, sync,
};

use crate::support::{Store, connect, http};

const M: ProviderKind = ProviderKind::Microsoft;
const TEAMS: &str =
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_YWJjZGVm%40thread.v2/0?context=%7b%7d";

fn at(hours: i64) -> DateTime<Utc> {
    let hour = Utc::now().timestamp() / 3600 * 3600;
    DateTime::from_timestamp(hour, 0).unwrap() + TimeDelta::hours(hours)
}

#[tokio::test]
async fn delta_rounds_follow_adds_moves_cancels_deletes_declines_and_occurrences() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, M).await;
    let opts = SyncOptions {
        page_size: 2,
        ..SyncOptions::default()
    };
    let sync_call = fake.add_event(M, FakeEvent::meeting("Sync call", at(2), 30, Some(TEAMS)));
    let zoom = fake.add_event(
        M,
        FakeEvent::meeting(
            "Zoom call",
            at(3),
            30,
            Some("https://acme.zoom.us/j/123456789"),
        ),
    );
    let gone = fake.add_event(M, FakeEvent::meeting("To delete", at(4), 30, None));

    let first = sync(
        &http(),
        &provider,
        &tokens.access_token,
        None,
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    assert!(first.reset && first.complete);
    assert!(matches!(first.cursor, SyncCursor::GraphDelta { .. }));
    let mut store = Store::default();
    store.apply(&first);
    assert_eq!(store.0.len(), 3);
    assert_eq!(
        store.0[&sync_call].conference.as_ref().unwrap().key,
        "teams:19:meeting_YWJjZGVm@thread.v2"
    );
    assert_eq!(
        store.0[&zoom].conference.as_ref().unwrap().key,
        "zoom:123456789"
    );

    let added = fake.add_event(M, FakeEvent::meeting("Added", at(5), 30, Some(TEAMS)));
    fake.move_event(M, &zoom, at(6), at(6) + TimeDelta::minutes(30));
    fake.cancel_event(M, &sync_call);
    fake.delete_event(M, &gone);
    let series = fake.add_series(
        M,
        FakeEvent::meeting("Weekly", at(7), 30, Some(TEAMS)),
        2,
        TimeDelta::days(7),
    );
    fake.respond(M, &series[0], "declined");
    // Moved outside the window: Graph reports it as removed.
    let leaving = fake.add_event(M, FakeEvent::meeting("Leaving", at(8), 30, None));

    let second = sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&first.cursor),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    store.apply(&second);
    assert!(!second.reset);
    assert!(store.0.contains_key(&added));
    assert!(!store.0.contains_key(&gone));
    assert_eq!(store.0[&zoom].start.instant(), at(6));
    let cancelled = &store.0[&sync_call];
    assert_eq!(cancelled.status, EventStatus::Cancelled);
    assert_eq!(
        decide(cancelled, "me@acme.example", &Rules::default(), None).reason,
        Reason::Cancelled
    );
    assert!(store.0[&series[0]].declined);
    assert_eq!(store.0[&series[1]].series_id, store.0[&series[0]].series_id);

    fake.move_event(
        M,
        &leaving,
        at(24 * 60),
        at(24 * 60) + TimeDelta::minutes(30),
    );
    let third = sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&second.cursor),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(third.changes, vec![Change::Removed(leaving.clone())]);

    // Every request asked for small pages, UTC times and text bodies.
    for r in fake.requests() {
        assert!(
            r.prefer.contains(&"odata.maxpagesize=2".to_owned()),
            "{r:?}"
        );
        assert!(
            r.prefer.contains(&"outlook.timezone=\"UTC\"".to_owned()),
            "{r:?}"
        );
        assert!(
            r.prefer
                .contains(&"outlook.body-content-type=\"text\"".to_owned()),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn an_invalidated_delta_token_resets_to_a_full_sync() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, M).await;
    let keep = fake.add_event(M, FakeEvent::meeting("Keep", at(2), 30, None));
    let opts = SyncOptions::default();
    let first = sync(
        &http(),
        &provider,
        &tokens.access_token,
        None,
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    fake.expire_sync_state(M);
    let second = sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&first.cursor),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    assert!(second.reset);
    let mut store = Store::default();
    store.apply(&second);
    assert!(store.0.contains_key(&keep));
}

#[tokio::test]
async fn a_delta_link_to_another_origin_is_never_followed() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, M).await;
    let window = Window {
        start: Utc::now(),
        end: Utc::now() + TimeDelta::days(30),
    };
    for link in [
        "http://127.0.0.2:1/v1.0/me/calendarView/delta?$deltatoken=1_1_1".to_owned(),
        format!("{}beta/me/calendarView/delta", fake.base_url()),
    ] {
        let cursor = SyncCursor::GraphDelta { link, window };
        let err = sync(
            &http(),
            &provider,
            &tokens.access_token,
            Some(&cursor),
            Utc::now(),
            &SyncOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CalendarError::InvalidResponse(_)), "{err:?}");
    }
    assert!(fake.requests().is_empty());
}

//! Google `events.list` sync against the fake: full, incremental, paging, 410 reset.

use chrono::{DateTime, TimeDelta, Utc};
use meetvault_calendar::fake::{FakeEvent, FakeProviders};
use meetvault_calendar::sync::Window;
use meetvault_calendar::{
    CalendarError, Change, ProviderKind, Rules, SyncCursor, SyncOptions, decide, dedupe_key, sync,
};

use crate::support::{Store, connect, http};

const G: ProviderKind = ProviderKind::Google;

fn at(hours: i64) -> DateTime<Utc> {
    let hour = Utc::now().timestamp() / 3600 * 3600;
    DateTime::from_timestamp(hour, 0).unwrap() + TimeDelta::hours(hours)
}

#[tokio::test]
async fn full_then_incremental_sync_follows_adds_moves_cancels_declines_and_instances() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, G).await;
    let opts = SyncOptions::default();
    let standup = fake.add_event(
        G,
        FakeEvent::meeting(
            "Standup",
            at(2),
            15,
            Some("https://meet.google.com/abc-defg-hij"),
        ),
    );
    let review = fake.add_event(
        G,
        FakeEvent::meeting(
            "Review",
            at(5),
            60,
            Some("https://acme.zoom.us/j/81234567890?pwd=x"),
        ),
    );
    let _far = fake.add_event(G, FakeEvent::meeting("Far future", at(24 * 60), 30, None));

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
    let mut store = Store::default();
    store.apply(&first);
    assert_eq!(store.0.len(), 2, "the window holds two events");
    let e = &store.0[&standup];
    assert_eq!(e.title, "Standup");
    assert_eq!(e.conference.as_ref().unwrap().key, "meet:abc-defg-hij");
    assert!(decide(e, "me@acme.example", &Rules::default(), None).record);

    // Add, move, cancel, decline, and a recurring series.
    let new = fake.add_event(
        G,
        FakeEvent::meeting(
            "New",
            at(3),
            30,
            Some("https://meet.google.com/xyz-abcd-efg"),
        ),
    );
    fake.move_event(G, &standup, at(4), at(4) + TimeDelta::minutes(15));
    fake.cancel_event(G, &review);
    let series = fake.add_series(
        G,
        FakeEvent::meeting(
            "Weekly",
            at(6),
            30,
            Some("https://meet.google.com/wee-klyy-syn"),
        ),
        3,
        TimeDelta::days(7),
    );
    fake.respond(G, &series[1], "declined");

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
    assert!(!second.reset && second.complete);
    assert!(second.changes.contains(&Change::Removed(review.clone())));
    store.apply(&second);
    assert!(store.0.contains_key(&new));
    assert!(!store.0.contains_key(&review));
    assert_eq!(store.0[&standup].start.instant(), at(4));
    let instances: Vec<_> = series.iter().map(|id| &store.0[id]).collect();
    assert!(
        instances
            .iter()
            .all(|e| e.series_id.is_some() && e.original_start.is_some())
    );
    assert!(instances[1].declined);
    assert!(!decide(instances[1], "me@acme.example", &Rules::default(), None).record);
    assert_ne!(dedupe_key(instances[0]), dedupe_key(instances[2]));

    // Nothing changed: an empty incremental sync.
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
    assert!(third.changes.is_empty() && !third.reset);

    // Cancelling one instance removes just that one.
    fake.cancel_event(G, &series[2]);
    let fourth = sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&third.cursor),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(fourth.changes, vec![Change::Removed(series[2].clone())]);
}

#[tokio::test]
async fn pages_are_followed_with_the_field_mask_and_no_time_range_beside_a_sync_token() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, G).await;
    for i in 0..5 {
        fake.add_event(G, FakeEvent::meeting(&format!("M{i}"), at(i + 1), 30, None));
    }
    let opts = SyncOptions {
        page_size: 2,
        ..SyncOptions::default()
    };
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
    assert_eq!(first.changes.len(), 5);
    assert!(matches!(first.cursor, SyncCursor::GoogleSync { .. }));
    fake.add_event(G, FakeEvent::meeting("later", at(10), 30, None));
    sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&first.cursor),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 4, "three pages, then one incremental page");
    for r in &requests {
        let q = |k: &str| {
            r.query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(q("singleEvents").as_deref(), Some("true"));
        assert!(q("fields").unwrap().contains("items(id,status,summary"));
        if q("syncToken").is_some() {
            assert!(q("timeMin").is_none() && q("timeMax").is_none());
        } else {
            assert!(q("timeMin").is_some() && q("timeMax").is_some());
        }
    }
}

#[tokio::test]
async fn an_invalidated_sync_token_resets_to_a_full_sync() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, G).await;
    let keep = fake.add_event(G, FakeEvent::meeting("Keep", at(2), 30, None));
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
    fake.expire_sync_state(G);
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
    assert!(second.reset, "410 must turn into a full sync");
    let mut store = Store::default();
    store.apply(&second);
    assert!(store.0.contains_key(&keep));
    // And the new token works.
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
    assert!(!third.reset);
}

#[tokio::test]
async fn the_page_bound_returns_a_cursor_that_continues() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, G).await;
    for i in 0..5 {
        fake.add_event(G, FakeEvent::meeting(&format!("M{i}"), at(i + 1), 30, None));
    }
    let opts = SyncOptions {
        page_size: 2,
        max_pages: 2,
        ..SyncOptions::default()
    };
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
    assert!(!first.complete && first.reset);
    assert_eq!(first.changes.len(), 4);
    let rest = sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&first.cursor),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    assert!(rest.complete && !rest.reset);
    assert_eq!(rest.changes.len(), 1);
}

#[tokio::test]
async fn an_old_window_starts_a_new_round() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, G).await;
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
    let SyncCursor::GoogleSync { sync_token, .. } = first.cursor else {
        panic!()
    };
    let stale = SyncCursor::GoogleSync {
        sync_token,
        window: Window {
            start: Utc::now() - TimeDelta::days(3),
            end: Utc::now() + TimeDelta::days(28),
        },
    };
    let next = sync(
        &http(),
        &provider,
        &tokens.access_token,
        Some(&stale),
        Utc::now(),
        &opts,
    )
    .await
    .unwrap();
    assert!(next.reset);
    assert!(next.cursor.window().end > Utc::now() + TimeDelta::days(29));
}

#[tokio::test]
async fn a_cursor_of_the_other_provider_is_refused() {
    let fake = FakeProviders::start().await.unwrap();
    let (provider, tokens) = connect(&fake, G).await;
    let cursor = SyncCursor::GraphDelta {
        link: "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x".into(),
        window: Window {
            start: Utc::now(),
            end: Utc::now() + TimeDelta::days(30),
        },
    };
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
    assert!(matches!(err, CalendarError::Invalid(_)), "{err:?}");
}

//! Retention: policies at org, workspace and bot level (the most specific wins, the org's
//! maxima bind the others, bad values are refused naming the field and change nothing); the
//! sweeper, run at chosen times, deletes each part when its window ends — one certificate per
//! deletion, verified — and the meeting whole with its last part, leaving no row or blob of
//! it; a purge cut off by a crash is finished once; many meetings are swept a page at a time;
//! the sweeper runs by itself; an org's own outbox window keeps its events.

use chrono::{Duration, Utc};
use meetvault_config::{RetentionConfig, Window};
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::certificates::meeting;
use crate::encryption::{id_lit, meeting_uuid, uid, upload};

async fn app() -> TestApp {
    TestApp::spawn_with(|c| c.retention = RetentionConfig::default()).await
}

async fn send(
    app: &TestApp,
    cred: &Cred,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let r = app.send(cred, method, path, body).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_ok(app: &TestApp, cred: &Cred, path: &str) -> Value {
    let (status, body) = send(app, cred, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// Rows of `table` whose `column` is `id`.
pub(crate) async fn rows(app: &TestApp, table: &str, column: &str, id: Uuid) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM {table} WHERE {column} = {}",
        id_lit(app.db(), id)
    );
    match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => {
            sqlx::query_scalar(&sql).fetch_one(p).await.unwrap()
        }
        meetvault_store::Database::Postgres(p) => {
            sqlx::query_scalar(&sql).fetch_one(p).await.unwrap()
        }
    }
}

async fn blobs_of(app: &TestApp, org: Uuid, meeting: Uuid) -> usize {
    app.blobs()
        .list(&format!("orgs/{org}/meetings/{meeting}"))
        .await
        .unwrap()
        .len()
}

fn part<'a>(schedule: &'a Value, name: &str) -> &'a Value {
    schedule["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == name)
        .unwrap_or_else(|| panic!("no {name} in {schedule}"))
}

async fn certificates(app: &TestApp, cred: &Cred) -> Vec<Value> {
    get_ok(app, cred, "/api/v1/certificates").await["certificates"]
        .as_array()
        .unwrap()
        .clone()
}

async fn audit_count(app: &TestApp, cred: &Cred, action: &str) -> usize {
    get_ok(app, cred, &format!("/api/v1/audit?action={action}")).await["entries"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn policies_are_set_per_org_and_workspace_within_maxima_and_bad_values_change_nothing() {
    let app = app().await;
    let s = app.register("ret-policy@example.com", "R").await;
    let me = Cred::Session(s.clone());

    let v = get_ok(&app, &me, "/api/v1/retention").await;
    assert_eq!(
        v["defaults"],
        json!({"recordings": 0, "transcripts": 30, "bot_data": 90})
    );
    assert_eq!(
        v["effective"]["transcripts"],
        json!({"window": 30, "source": "default"})
    );
    assert_eq!(v["effective"]["events"], 7);
    assert_eq!(v["org"], json!({"max": {}}));

    let policy = json!({"transcripts": 60, "bot_data": "forever", "events": 14,
        "max": {"transcripts": 90, "recordings": 30}});
    let (status, v) = send(
        &app,
        &me,
        Method::PUT,
        "/api/v1/retention",
        Some(policy.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["org"], policy);
    assert_eq!(
        v["effective"]["transcripts"],
        json!({"window": 60, "source": "org"})
    );
    assert_eq!(
        v["effective"]["bot_data"],
        json!({"window": "forever", "source": "org"})
    );
    assert_eq!(v["effective"]["events"], 14);

    // Bad values: refused naming the field, nothing changed.
    for (body, named) in [
        (
            json!({"transcripts": 120, "max": {"transcripts": 90}}),
            "transcripts",
        ),
        (json!({"recordings": -1}), "recordings"),
        (json!({"recordings": "soon"}), "recordings"),
        (json!({"recordings": 36501}), "recordings"),
        (json!({"recordings": 1.5}), "recordings"),
        (json!({"events": 0}), "events"),
        (json!({"minutes": 3}), "minutes"),
    ] {
        let (status, err) = send(
            &app,
            &me,
            Method::PUT,
            "/api/v1/retention",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{body}: {message}");
    }
    assert_eq!(get_ok(&app, &me, "/api/v1/retention").await["org"], policy);

    // A workspace's windows, within the org's maxima; events and maxima are the org's.
    let ws = get_ok(&app, &me, "/api/v1/workspaces").await["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/retention?workspace_id={ws}");
    let (status, v) = send(
        &app,
        &me,
        Method::PUT,
        &path,
        Some(json!({"transcripts": 14})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["workspace"]["windows"], json!({"transcripts": 14}));
    assert_eq!(
        v["effective"]["transcripts"],
        json!({"window": 14, "source": "workspace"})
    );
    for (body, field) in [
        (json!({"transcripts": 365}), "transcripts"),
        (json!({"recordings": "forever"}), "recordings"),
        (json!({"events": 3}), "events"),
        (json!({"max": {"transcripts": 5}}), "max"),
    ] {
        let (status, err) = send(&app, &me, Method::PUT, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{body}: {err}"
        );
    }
    assert_eq!(
        get_ok(&app, &me, &path).await["workspace"]["windows"],
        json!({"transcripts": 14})
    );
    let (status, _) = send(
        &app,
        &me,
        Method::GET,
        &format!(
            "/api/v1/retention?workspace_id=wsp_{}",
            Uuid::new_v4().simple()
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A bot's own windows: over the maximum refused, within it its meeting's.
    let bot = |retention: Value| {
        json!({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Notes",
            "retention": retention})
    };
    let (status, err) = send(
        &app,
        &me,
        Method::POST,
        "/api/v1/bots",
        Some(bot(json!({"transcripts": "forever"}))),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("retention.transcripts:"),
        "{err}"
    );
    let (status, b) = send(
        &app,
        &me,
        Method::POST,
        "/api/v1/bots",
        Some(bot(json!({"transcripts": 7}))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let schedule = get_ok(
        &app,
        &me,
        &format!(
            "/api/v1/meetings/{}/retention",
            b["meeting_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(schedule["own"], json!({"transcripts": 7}));
    let t = part(&schedule, "transcripts");
    assert_eq!(
        (t["window"].clone(), t["source"].clone()),
        (json!(7), json!("meeting"))
    );
    let r = part(&schedule, "recordings");
    assert_eq!(
        (r["window"].clone(), r["source"].clone()),
        (json!(0), json!("default"))
    );
    let bd = part(&schedule, "bot_data");
    assert_eq!(bd["held"], true);
    assert_eq!(bd["waiting"], "the bot's end", "{schedule}");
    assert!(bd["delete_at"].is_null());

    // Lowering the maximum later caps what was set before.
    let (status, _) = send(
        &app,
        &me,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"max": {"transcripts": 3}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v = get_ok(&app, &me, &path).await;
    assert_eq!(
        v["effective"]["transcripts"],
        json!({"window": 3, "source": "org_maximum"})
    );
    assert_eq!(audit_count(&app, &me, "retention.update").await, 3);
}

#[tokio::test]
async fn each_part_goes_when_its_window_ends_certified_and_the_meeting_goes_whole_with_the_last() {
    let app = app().await;
    let s = app.register("ret-sweep@example.com", "R").await;
    let me = Cred::Session(s.clone());
    let (status, _) = send(
        &app,
        &me,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"recordings": 1, "transcripts": 30})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let id = meeting(&app, &me, "Quarterly numbers").await;
    let audio = meetvault_test_support::media::wav_with_payload(&[7u8; 32_000]);
    let rec = upload(&app, &me, &id, audio).await;
    let (org, m) = (uid(&s.org_id), meeting_uuid(&id));
    let now = Utc::now();

    let schedule = get_ok(&app, &me, &format!("/api/v1/meetings/{id}/retention")).await;
    let r = part(&schedule, "recordings");
    assert_eq!(r["held"], true);
    let at: chrono::DateTime<Utc> = r["delete_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (at - now - Duration::days(1)).num_seconds().abs() < 60,
        "{schedule}"
    );
    let t = part(&schedule, "transcripts");
    let at: chrono::DateTime<Utc> = t["delete_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (at - now - Duration::days(30)).num_seconds().abs() < 60,
        "{schedule}"
    );
    assert_eq!(part(&schedule, "bot_data")["held"], false);

    // Nothing is due yet.
    let report = app.core().sweep_retention_at_for_tests(now).await.unwrap();
    assert_eq!(
        (report.meetings_deleted, report.parts_purged),
        (0, 0),
        "{report:?}"
    );
    assert!(certificates(&app, &me).await.is_empty());

    // Two days on: the recording goes, certified; the transcript stays.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(
        (report.meetings_deleted, report.parts_purged),
        (0, 1),
        "{report:?}"
    );
    let certs = certificates(&app, &me).await;
    assert_eq!(certs.len(), 1);
    let cert = &certs[0];
    assert_eq!(cert["verified"]["ok"], true, "{cert}");
    assert_eq!(cert["certificate"]["part"], "recordings");
    assert_eq!(
        cert["certificate"]["policy"],
        "retention: recordings 1 day (org)"
    );
    assert_eq!(cert["certificate"]["subject"]["id"], id);
    assert_eq!(cert["certificate"]["deleted"][0]["count"], 1);
    assert_eq!(cert["certificate"]["actor"], "system");
    let (status, _) = send(
        &app,
        &me,
        Method::GET,
        &format!("/api/v1/meetings/{id}/recordings/{rec}"),
        None,
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(blobs_of(&app, org, m).await, 0);
    let transcript = get_ok(&app, &me, &format!("/api/v1/meetings/{id}/transcript")).await;
    assert_eq!(transcript["segments"].as_array().unwrap().len(), 3);
    let schedule = get_ok(&app, &me, &format!("/api/v1/meetings/{id}/retention")).await;
    let r = part(&schedule, "recordings");
    assert_eq!(r["held"], false);
    assert_eq!(r["certificate_id"], cert["id"]);
    assert!(r["deleted_at"].is_string());

    // A second sweep at the same time deletes nothing twice.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + Duration::days(2))
        .await
        .unwrap();
    assert_eq!((report.meetings_deleted, report.parts_purged), (0, 0));
    assert_eq!(certificates(&app, &me).await.len(), 1);

    // A month on: the transcript is due, and it is all the meeting holds — it goes whole.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + Duration::days(31))
        .await
        .unwrap();
    assert_eq!(
        (report.meetings_deleted, report.parts_purged),
        (1, 0),
        "{report:?}"
    );
    let (status, _) = send(
        &app,
        &me,
        Method::GET,
        &format!("/api/v1/meetings/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let certs = certificates(&app, &me).await;
    assert_eq!(certs.len(), 2);
    let whole = certs
        .iter()
        .find(|c| c["certificate"]["part"].is_null())
        .unwrap();
    assert_eq!(whole["verified"]["ok"], true, "{whole}");
    assert_eq!(
        whole["certificate"]["policy"],
        "retention: recordings 1 day (org); transcripts 30 days (org); bot data 90 days (default)"
    );
    assert!(
        !whole["certificate"]["keys_destroyed"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for (table, column) in [
        ("meetings", "id"),
        ("meeting_participants", "meeting_id"),
        ("transcript_segments", "meeting_id"),
        ("recordings", "meeting_id"),
        ("meeting_keys", "meeting_id"),
        ("outbox_events", "resource_id"),
    ] {
        let n = rows(&app, table, column, m).await;
        // The meeting.deleted event (ids only) is the one that stays.
        let allowed = i64::from(table == "outbox_events");
        assert_eq!(n, allowed, "{table} still holds {n} rows of the meeting");
    }
    assert_eq!(blobs_of(&app, org, m).await, 0);
    assert_eq!(audit_count(&app, &me, "retention.purge").await, 1);
    assert_eq!(audit_count(&app, &me, "meeting.delete").await, 1);
    // Nothing is left to sweep.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + Duration::days(400))
        .await
        .unwrap();
    assert_eq!(report.meetings_seen, 0);
}

#[tokio::test]
async fn a_purge_a_crash_cut_off_is_finished_once_by_the_next_sweep() {
    let app = app().await;
    let s = app.register("ret-crash@example.com", "R").await;
    let me = Cred::Session(s.clone());
    let (status, _) = send(
        &app,
        &me,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"recordings": "forever", "transcripts": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let id = meeting(&app, &me, "Cut off").await;
    upload(
        &app,
        &me,
        &id,
        meetvault_test_support::media::wav_with_payload(&[1u8; 3200]),
    )
    .await;
    let (org, m) = (uid(&s.org_id), meeting_uuid(&id));
    let later = Utc::now() + Duration::days(2);

    // The crash: the pending certificate is written, nothing deleted yet.
    let pending = app
        .core()
        .begin_retention_purge_for_tests(org, m, later)
        .await
        .unwrap();
    assert!(pending.is_some());
    assert_eq!(rows(&app, "transcript_segments", "meeting_id", m).await, 3);
    assert!(
        certificates(&app, &me).await.is_empty(),
        "a pending certificate is not shown"
    );

    let report = app
        .core()
        .sweep_retention_at_for_tests(later)
        .await
        .unwrap();
    assert_eq!(report.resumed, 1, "{report:?}");
    assert_eq!(
        report.parts_purged, 0,
        "the resumed purge is the only one: {report:?}"
    );
    assert_eq!(rows(&app, "transcript_segments", "meeting_id", m).await, 0);
    let certs = certificates(&app, &me).await;
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["certificate"]["part"], "transcripts");
    assert_eq!(certs[0]["certificate"]["deleted"][0]["count"], 3);
    assert_eq!(certs[0]["verified"]["ok"], true);
    // Sweeping again changes nothing: one deletion, one certificate, one audit entry.
    app.core()
        .sweep_retention_at_for_tests(later)
        .await
        .unwrap();
    assert_eq!(certificates(&app, &me).await.len(), 1);
    assert_eq!(audit_count(&app, &me, "retention.purge").await, 1);
    // The recording is kept forever.
    assert_eq!(rows(&app, "recordings", "meeting_id", m).await, 1);
    assert_eq!(blobs_of(&app, org, m).await, 1);
}

#[tokio::test]
async fn many_meetings_are_swept_a_page_at_a_time_and_other_policies_are_left_alone() {
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.retention = RetentionConfig {
            batch: 3,
            ..RetentionConfig::default()
        }
    })
    .await;
    let a = Cred::Session(app.register("ret-many-a@example.com", "A").await);
    let b = Cred::Session(app.register("ret-many-b@example.com", "B").await);
    let (status, _) = send(
        &app,
        &a,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"transcripts": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &app,
        &b,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"transcripts": "forever"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..10 {
        meeting(&app, &a, &format!("A{i}")).await;
    }
    for i in 0..2 {
        meeting(&app, &b, &format!("B{i}")).await;
    }
    let report = app
        .core()
        .sweep_retention_at_for_tests(Utc::now() + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(report.meetings_seen, 12, "{report:?}");
    assert_eq!(report.meetings_deleted, 10, "{report:?}");
    let left = get_ok(&app, &a, "/api/v1/meetings").await;
    assert_eq!(left["meetings"].as_array().unwrap().len(), 0, "{left}");
    assert_eq!(certificates(&app, &a).await.len(), 10);
    let kept = get_ok(&app, &b, "/api/v1/meetings").await;
    assert_eq!(kept["meetings"].as_array().unwrap().len(), 2);
    assert!(certificates(&app, &b).await.is_empty());
}

#[tokio::test]
async fn a_bots_data_goes_with_its_window_while_its_meetings_transcript_stays() {
    let app = app().await;
    let s = app.register("ret-bot@example.com", "R").await;
    let me = Cred::Session(s.clone());
    let (status, b) = send(
        &app,
        &me,
        Method::POST,
        "/api/v1/bots",
        Some(
            json!({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Notes",
            "retention": {"bot_data": 1, "transcripts": 60}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let (bot, id) = (b["id"].as_str().unwrap(), b["meeting_id"].as_str().unwrap());
    let segs =
        json!({"segments": [{"start_ms": 0, "end_ms": 900, "speaker": "A", "text": "hello"}]});
    let (status, _) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/meetings/{id}/transcript"),
        Some(segs),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let later = Utc::now() + Duration::days(2);
    // While the bot is not done, nothing of it goes.
    let report = app
        .core()
        .sweep_retention_at_for_tests(later)
        .await
        .unwrap();
    assert_eq!((report.meetings_deleted, report.parts_purged), (0, 0));
    let (status, _) = send(
        &app,
        &me,
        Method::DELETE,
        &format!("/api/v1/bots/{bot}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let report = app
        .core()
        .sweep_retention_at_for_tests(later)
        .await
        .unwrap();
    assert_eq!(
        (report.meetings_deleted, report.parts_purged),
        (0, 1),
        "{report:?}"
    );
    let (status, _) = send(&app, &me, Method::GET, &format!("/api/v1/bots/{bot}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let certs = certificates(&app, &me).await;
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["certificate"]["part"], "bot_data");
    assert_eq!(
        certs[0]["certificate"]["policy"],
        "retention: bot data 1 day (meeting)"
    );
    assert_eq!(certs[0]["verified"]["ok"], true);
    let transcript = get_ok(&app, &me, &format!("/api/v1/meetings/{id}/transcript")).await;
    assert_eq!(transcript["segments"].as_array().unwrap().len(), 1);
    let m = meeting_uuid(id);
    assert_eq!(rows(&app, "bots", "meeting_id", m).await, 0);
}

#[tokio::test]
async fn the_sweeper_runs_by_itself() {
    let app = TestApp::spawn_with(|c| {
        c.retention = RetentionConfig {
            transcripts: Window::Days(0),
            sweep_interval_secs: 1,
            ..RetentionConfig::default()
        }
    })
    .await;
    let me = Cred::Session(app.register("ret-auto@example.com", "R").await);
    let id = meeting(&app, &me, "Gone soon").await;
    let start = std::time::Instant::now();
    loop {
        let (status, _) = send(
            &app,
            &me,
            Method::GET,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
        if status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the sweeper never deleted a meeting whose transcript window is 0"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The meeting's rows go before its certificate is signed: wait for that too.
    let certs = loop {
        let certs = certificates(&app, &me).await;
        if !certs.is_empty() {
            break certs;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the deleted meeting's certificate was never issued"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["verified"]["ok"], true);
}

#[tokio::test]
async fn an_orgs_own_outbox_window_keeps_its_events_while_others_are_pruned() {
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.events.retention_secs = 1;
    })
    .await;
    let keep_s = app.register("ret-ev-keep@example.com", "K").await;
    let other_s = app.register("ret-ev-other@example.com", "O").await;
    let (keep, other) = (
        Cred::Session(keep_s.clone()),
        Cred::Session(other_s.clone()),
    );
    let (status, _) = send(
        &app,
        &keep,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"events": "forever"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    meeting(&app, &keep, "Kept events").await;
    meeting(&app, &other, "Pruned events").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    app.core().prune_events().await.unwrap();
    let events = |org: &str| app.db().events_after(uid(org), None, 0, 100);
    assert!(
        !events(&keep_s.org_id).await.unwrap().is_empty(),
        "the org's forever window kept its events"
    );
    assert!(
        events(&other_s.org_id).await.unwrap().is_empty(),
        "the default window pruned the other org's"
    );
}

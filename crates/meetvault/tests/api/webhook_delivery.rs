//! Webhook delivery: retries on the schedule with every attempt logged and per-endpoint order,
//! 410 and days of failure disabling an endpoint, URLs that reach inside refused at
//! registration with no connection made and checked again at delivery, a crashed instance's
//! deliveries taken over by another, workspace filters and opt-in partial transcripts.

use std::time::Duration;

use meetvault_test_support::receiver::{Answer, Received, Receiver};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::webhooks::{
    WAIT, app_with, call, create, deliveries, delivery_until, get_until, new_meeting, types,
    webhook_until,
};

#[tokio::test]
async fn failures_are_retried_on_schedule_in_order_and_every_attempt_is_logged() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let (hook, secret) = create(&app, &owner, json!({"url": receiver.url("/hook")})).await;
    // A failure that echoes our secret back, a redirect (never followed), a 503 asking for
    // a second, then success.
    receiver.script([
        Answer::status(500).body(&format!("boom; you sent {secret}")),
        Answer::status(302).header("location", &receiver.url("/elsewhere")),
        Answer::status(503).header("retry-after", "1"),
        Answer::status(200).body("thanks"),
    ]);
    let first = new_meeting(&app, &owner, "One").await;
    let second = new_meeting(&app, &owner, "Two").await;
    let got = receiver.wait_for(5, WAIT).await;
    // The second event waited behind the first until it succeeded.
    let order: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["meeting_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        order,
        [&first, &first, &first, &first, &second].map(String::clone)
    );
    assert!(
        got.iter().all(|r| r.path == "/hook"),
        "a redirect was followed"
    );
    let ids: std::collections::BTreeSet<&str> = got[..4]
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "a retry keeps its webhook-id");

    let log = deliveries(&app, &owner, &hook).await;
    let d = log
        .iter()
        .find(|d| d["payload"]["data"]["meeting_id"] == first.as_str())
        .unwrap();
    let id = d["id"].as_str().unwrap();
    let d = delivery_until(&app, &owner, &hook, id, |d| d["state"] == "succeeded").await;
    let attempts = d["attempt_log"].as_array().unwrap();
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 302, 503, 200], "{d:#}");
    assert_eq!(d["attempts"], 4);
    let excerpt = attempts[0]["excerpt"].as_str().unwrap();
    assert!(
        excerpt.starts_with("boom") && !excerpt.contains(&secret["whsec_".len()..]),
        "{excerpt}"
    );
    assert_eq!(attempts[3]["excerpt"], "thanks");
    // Retry-After honoured: the next try was a second after the 503, not the 100 ms schedule.
    let at = |a: &Value| chrono::DateTime::parse_from_rfc3339(a.as_str().unwrap()).unwrap();
    let gap = at(&attempts[3]["at"]) - at(&attempts[2]["at"]);
    assert!(
        gap >= chrono::Duration::milliseconds(950),
        "retried after {gap}"
    );
    let planned = at(&attempts[2]["next_retry_at"]) - at(&attempts[2]["at"]);
    assert!(planned >= chrono::Duration::milliseconds(990), "{planned}");
    assert!(attempts[0]["next_retry_at"].is_string());
    assert!(attempts[3]["next_retry_at"].is_null());
    assert!(
        attempts
            .iter()
            .all(|a| a["latency_ms"].as_i64().unwrap() >= 0 && a["trigger"] == "scheduled")
    );
    let (_, view) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/webhooks/{hook}"),
        None,
    )
    .await;
    assert!(
        view["failing_since"].is_null(),
        "a success clears the failure: {view:#}"
    );
}

#[tokio::test]
async fn a_receiver_that_answers_410_or_fails_for_days_is_disabled_and_its_owner_told() {
    // 1 s stands in for the 5 days (the retries span 2 s, so they outlast it).
    let app = app_with(|c| {
        c.webhooks.disable_after_secs = 1;
        c.webhooks.retry_delays_ms = vec![300; 7];
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let gone = Receiver::start().await;
    let failing = Receiver::start().await;
    gone.script([Answer::status(410)]);
    failing.script((0..1000).map(|_| Answer::status(500)));
    let (gone_hook, _) = create(&app, &owner, json!({"url": gone.url("/gone")})).await;
    let (failing_hook, _) = create(
        &app,
        &owner,
        json!({"url": failing.url("/down"), "event_types": ["meeting.created"]}),
    )
    .await;
    new_meeting(&app, &owner, "One").await;

    let v = webhook_until(&app, &owner, &gone_hook, |v| v["enabled"] == false).await;
    assert!(
        v["disabled_reason"].as_str().unwrap().contains("410"),
        "{v:#}"
    );
    let v = webhook_until(&app, &owner, &failing_hook, |v| v["enabled"] == false).await;
    assert!(
        v["disabled_reason"].as_str().unwrap().contains("failed"),
        "{v:#}"
    );
    // The audit entry is appended just after the endpoint's state commits: wait for both.
    let audit = get_until(&app, &owner, "/api/v1/audit?action=webhook.disabled", |a| {
        a["entries"].as_array().is_some_and(|e| e.len() >= 2)
    })
    .await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit:#}");
    let tried = failing.received().len();
    assert!(tried >= 2, "retried before giving up ({tried})");

    // Disabled: nothing more is sent, a redelivery or test is refused until it is enabled.
    new_meeting(&app, &owner, "Two").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gone.received().len(), 1);
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/webhooks/{gone_hook}/test"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    // Enabled again (the receiver is back): the endpoint starts afresh and a test goes through.
    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/webhooks/{gone_hook}"),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(
        v["disabled_reason"].is_null() && v["failing_since"].is_null(),
        "{v:#}"
    );
    let (status, d) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/webhooks/{gone_hook}/test"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = d["id"].as_str().unwrap();
    let d = delivery_until(&app, &owner, &gone_hook, id, |d| d["state"] == "succeeded").await;
    assert_eq!(d["attempt_log"][0]["trigger"], "test");
    assert_eq!(
        gone.received().last().unwrap().json()["type"],
        "webhook.test"
    );
}

/// Spellings of loopback, private and internal targets (here 127.0.0.2, where a counting
/// listener waits and which the allow-list does not name) and cloud-metadata names.
fn inside_urls(port: u16) -> Vec<String> {
    let mut urls: Vec<String> = [
        "127.0.0.2",
        "2130706434",
        "0x7f000002",
        "0177.0.0.2",
        "017700000002",
        "127.2",
        "127.0.2",
        "0x7f.0.0.2",
        "[::ffff:127.0.0.2]",
        "[::ffff:7f00:2]",
        "[64:ff9b::7f00:2]",
        "[::127.0.0.2]",
        "[2002:7f00:2::]",
        "localhost",
        "localhost.",
        "LOCALHOST",
        "127.0.0.2.",
        "[::1]",
        "0.0.0.0",
        "0",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "[fc00::1]",
        "[fe80::1]",
        "metadata.google.internal",
        "metadata",
        "instance-data",
        "%31%32%37.0.0.2",
        "127.0.0.2%2F",
        "xn--lcalhost-8za",
    ]
    .iter()
    .flat_map(|h| {
        [
            format!("https://{h}:{port}/hook"),
            format!("http://{h}:{port}/hook"),
        ]
    })
    .collect();
    urls.extend([
        format!("https://evil@127.0.0.2:{port}/"),
        format!("https://127.0.0.1:{port}@127.0.0.2:{port}/"),
        "https://user:pw@example.com/".to_string(),
        format!("https://127.0.0.2:{port}#@example.com/"),
        format!("ftp://127.0.0.2:{port}/"),
        "file:///etc/passwd".to_string(),
        format!("gopher://127.0.0.2:{port}/"),
        "https://metadata.google.internal/computeMetadata/v1/".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
    ]);
    urls
}

#[tokio::test]
async fn urls_that_reach_inside_are_refused_at_registration_and_nothing_connects() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let target = Receiver::start_on("127.0.0.2:0").await;
    let urls = inside_urls(target.addr.port());
    assert!(urls.len() >= 60, "{}", urls.len());
    for url in &urls {
        let (status, v) = call(
            &app,
            &owner,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": url})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url} was not refused: {v}"
        );
        assert!(v.to_string().contains("url"), "{url}: {v}");
    }
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(list["webhooks"], json!([]));
    assert_eq!(target.connections(), 0, "a refused URL was connected to");
}

#[tokio::test]
async fn the_url_is_checked_again_at_delivery_and_a_crashed_instances_work_is_taken_over() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let (hook, _) = create(
        &app,
        &owner,
        json!({"url": receiver.url("/hook"), "event_types": ["meeting.created"]}),
    )
    .await;
    // This instance stops delivering (a crash, as far as the queue can tell).
    app.core().webhooks().stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = new_meeting(&app, &owner, "One").await;

    // An instance whose operator removed the allow-list entry refuses to send: logged, and
    // no connection is made.
    let strict = app
        .spawn_sibling(|c| c.outbound.allow_hosts = Vec::new())
        .await;
    let log = loop {
        let log = deliveries(&strict, &owner, &hook).await;
        if log
            .first()
            .is_some_and(|d| d["attempts"].as_i64().unwrap() >= 1)
        {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let d = delivery_until(
        &strict,
        &owner,
        &hook,
        log[0]["id"].as_str().unwrap(),
        |d| d["attempts"].as_i64() >= Some(1),
    )
    .await;
    let error = d["attempt_log"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("refused"), "{error}");
    assert_eq!(receiver.connections(), 0);
    strict.core().webhooks().stop();
    drop(strict);

    // A crashed sender's lease: another instance waits it out, then delivers everything.
    let until = chrono::Utc::now().timestamp_millis() + 1500;
    meetvault_test_support::execute(
        app.db(),
        &format!("UPDATE webhook_endpoints SET lease_owner = 'crashed/1', lease_until = {until}, next_at = 0"),
    )
    .await;
    let second = new_meeting(&app, &owner, "Two").await;
    let next = app.spawn_sibling(|_| {}).await;
    let got = receiver.wait_for(2, WAIT).await;
    let ids: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["meeting_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [first.clone(), second.clone()]);
    assert!(
        chrono::Utc::now().timestamp_millis() >= until,
        "the lease was not waited out"
    );
    drop(next);
}

#[tokio::test]
async fn a_workspace_endpoint_hears_only_its_workspace_and_partial_transcripts_are_opt_in() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (status, ws) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/workspaces",
        Some(json!({"name": "Sales"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let sales = ws["id"].as_str().unwrap().to_owned();
    let receiver = Receiver::start().await;
    create(&app, &owner, json!({"url": receiver.url("/sales"), "workspace_id": sales, "event_types": ["meeting.created", "meeting.deleted"]})).await;
    create(&app, &owner, json!({"url": receiver.url("/partial"), "event_types": ["transcript.partial", "transcript.ready"]})).await;

    let default_meeting = new_meeting(&app, &owner, "Default").await;
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/meetings",
        Some(json!({"title": "Sales call", "workspace_id": sales})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let sales_meeting = v["id"].as_str().unwrap().to_owned();
    receiver.wait_for(1, WAIT).await;
    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/meetings/{sales_meeting}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = receiver.wait_for(2, WAIT).await;
    let sales_got: Vec<&Received> = got.iter().filter(|r| r.path == "/sales").collect();
    assert_eq!(
        types(&sales_got.iter().map(|r| (*r).clone()).collect::<Vec<_>>()),
        ["meeting.created", "meeting.deleted"]
    );
    assert!(
        sales_got
            .iter()
            .all(|r| r.json()["data"]["meeting_id"] == sales_meeting.as_str())
    );

    // A transcribed recording: partial segments as they are heard (ids and times, no text:
    // this endpoint did not opt in to content, and it is not https), then transcript.ready.
    let r = crate::transcription::upload_track(&app, &owner, &default_meeting, 0, "Ada").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{default_meeting}/transcribe"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let partial = loop {
        let partial: Vec<Received> = receiver
            .received()
            .into_iter()
            .filter(|r| r.path == "/partial")
            .collect();
        if partial
            .iter()
            .any(|r| r.json()["type"] == "transcript.ready")
        {
            break partial;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no transcript.ready: {:?}",
            types(&partial)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let kinds = types(&partial);
    assert!(
        kinds.iter().filter(|k| *k == "transcript.partial").count() >= 1,
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("transcript.ready"));
    for r in &partial {
        let body = r.json();
        assert!(
            body["data"].get("text").is_none() && body["data"].get("speaker").is_none(),
            "{body}"
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("Ada"));
    }
    assert_eq!(partial[0].json()["data"]["source"], "job");
}

#[tokio::test]
async fn a_bot_created_with_a_webhook_url_reports_its_own_meeting_there() {
    let app = app_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let new_bot = |url: Option<String>| json!({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Notes", "webhook_url": url});
    // A URL that reaches inside: 422 naming the field, and no bot.
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/bots",
        Some(new_bot(Some("https://169.254.169.254/".into()))),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("webhook_url"), "{v}");
    let (_, bots) = call(&app, &owner, Method::GET, "/api/v1/bots", None).await;
    assert_eq!(bots["bots"], json!([]));

    let (status, bot) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/bots",
        Some(new_bot(Some(receiver.url("/bot")))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    let secret = bot["webhook"]["secret"].as_str().unwrap().to_owned();
    let hook = bot["webhook"]["id"].as_str().unwrap().to_owned();
    // Another bot, without one: none of its events reach the first bot's endpoint.
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/bots",
        Some(new_bot(None)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let got = receiver.wait_for(2, WAIT).await;
    let first = got
        .iter()
        .find(|r| r.json()["type"] == "bot.status_changed")
        .unwrap()
        .json();
    assert_eq!(first["data"]["bot_id"], bot["id"]);
    assert_eq!(first["data"]["new_state"], "scheduled");
    assert!(first["data"]["old_state"].is_null());
    tokio::time::sleep(Duration::from_millis(500)).await;
    for r in receiver.received() {
        assert_eq!(
            r.json()["data"]["meeting_id"],
            bot["meeting_id"],
            "another meeting's event: {}",
            r.json()
        );
        let key = meetvault_crypto::webhook::VerifyKey::parse(&secret).unwrap();
        let headers = meetvault_crypto::webhook::Headers {
            id: r.header("webhook-id"),
            timestamp: r.header("webhook-timestamp"),
            signature: r.header("webhook-signature"),
        };
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            meetvault_crypto::webhook::verify(&[key], headers, &r.body, now, 300),
            Ok(())
        );
    }
    // Its GET names the endpoint, never the secret; the endpoint is listed with the bot.
    let (_, again) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/bots/{}", bot["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(again["webhook"]["id"], hook.as_str());
    assert!(again["webhook"].get("secret").is_none(), "{again:#}");
    let (_, listed) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/webhooks/{hook}"),
        None,
    )
    .await;
    assert_eq!(listed["bot_id"], bot["id"]);

    // The sweep keeps it while its bot lives; once the meeting is deleted, `meeting.deleted`
    // still reaches it, and then it goes (audited).
    assert_eq!(app.core().retire_bot_webhooks_for_tests().await.unwrap(), 0);
    let meeting = bot["meeting_id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/meetings/{meeting}"),
        None,
    )
    .await;
    assert!(status.is_success(), "{status}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !receiver
        .received()
        .iter()
        .any(|r| r.json()["type"] == "meeting.deleted")
    {
        assert!(tokio::time::Instant::now() < deadline, "no meeting.deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its row is written just after the answer: wait until nothing is pending.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if app.core().retire_bot_webhooks_for_tests().await.unwrap() == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never retired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/webhooks/{hook}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = call(
        &app,
        &owner,
        Method::GET,
        "/api/v1/audit?action=webhook.delete",
        None,
    )
    .await;
    assert!(audit.to_string().contains(&hook), "{audit:#}");
}

#[tokio::test]
async fn finished_deliveries_leave_the_log_after_its_retention() {
    let app = app_with(|c| {
        c.webhooks.log_retention_secs = 1;
        c.events.retention_secs = 1; // the sweeper's pace
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    let (hook, _) = create(&app, &owner, json!({"url": receiver.url("/hook")})).await;
    let (status, d) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/webhooks/{hook}/test"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    delivery_until(&app, &owner, &hook, d["id"].as_str().unwrap(), |d| {
        d["state"] == "succeeded"
    })
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !deliveries(&app, &owner, &hook).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log kept a finished delivery"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Its attempts went with it.
    let count = "SELECT COUNT(*) FROM webhook_attempts";
    let attempts: i64 = match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => sqlx::query_scalar(count).fetch_one(p).await,
        meetvault_store::Database::Postgres(p) => sqlx::query_scalar(count).fetch_one(p).await,
    }
    .unwrap();
    assert_eq!(attempts, 0);
}

#[tokio::test]
async fn a_refused_test_message_is_one_attempt_and_holds_nothing_back() {
    let app = app_with(|c| c.webhooks.retry_delays_ms = vec![60_000; 7]).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::status(400).body("unknown type")]);
    let (hook, _) = create(&app, &owner, json!({"url": receiver.url("/hook")})).await;
    let (status, d) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/webhooks/{hook}/test"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let d = delivery_until(&app, &owner, &hook, d["id"].as_str().unwrap(), |d| {
        d["state"] != "pending"
    })
    .await;
    assert_eq!(d["state"], "failed", "{d:#}");
    assert_eq!(d["attempts"], 1);
    assert!(d["attempt_log"][0]["next_retry_at"].is_null());
    // A real message right after goes at once (the minute-long retry schedule is not waited).
    let meeting = new_meeting(&app, &owner, "One").await;
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got[1].json()["data"]["meeting_id"], meeting.as_str());
}

/// `kill -9` of the real binary with deliveries queued behind a receiver that is down: the
/// restarted server sends every one, once the receiver is back, with the same `webhook-id`s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_queued_when_the_server_is_killed_are_sent_after_its_restart() {
    use crate::helpers::{ServerProcess, database_env};
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    std::fs::write(
        dir.path().join("meetvault.toml"),
        "[outbound]\nallow_hosts = [\"127.0.0.1/32\"]\n\n\
         [webhooks]\npoll_ms = 50\nretry_delays_ms = [300, 300, 300, 300, 300, 300, 300]\nlease_secs = 2\n\n\
         [transcription]\nauto = false\n",
    )
    .unwrap();
    // The receiver's port, reserved and let go: nothing listens there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = [("MEETVAULT_DATABASE__URL", db.as_str())];
    let server = ServerProcess::start(dir.path(), &env);
    let client = reqwest::Client::new();
    let r = client
        .post(server.url("/api/v1/auth/register"))
        .json(&json!({"email": "owner@example.com", "password": meetvault_test_support::PASSWORD, "name": "Owner", "org_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf: Value = r.json().await.unwrap();
    let csrf = csrf["csrf_token"].as_str().unwrap_or_default().to_owned();
    let send = |server: &ServerProcess, path: &str, body: Value| {
        client
            .post(server.url(path))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let r = send(
        &server,
        "/api/v1/webhooks",
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "event_types": ["meeting.created"]}),
    )
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let mut meetings = Vec::new();
    for i in 0..5 {
        let r = send(
            &server,
            "/api/v1/meetings",
            json!({"title": format!("M{i}")}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        meetings.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Let it fan out and fail a few attempts, then kill it mid-flight.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.signal("KILL");
    drop(server);

    let receiver = Receiver::start_on(&format!("127.0.0.1:{port}")).await;
    let _again = ServerProcess::start(dir.path(), &env);
    let got = receiver.wait_for(5, Duration::from_secs(30)).await;
    let order: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["meeting_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order[..5], meetings[..], "every delivery, in event order");
    let ids: std::collections::BTreeSet<&str> = got
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        5,
        "one webhook-id per event (a repeat would carry the same one)"
    );
}

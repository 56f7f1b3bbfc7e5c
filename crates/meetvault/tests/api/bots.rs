//! Meeting bots through the public API: sending, listing, reading and cancelling a bot, its
//! transitions on its meeting's event stream, validation naming each field, hostile meeting
//! URLs, tenant isolation and permissions. The internal bot protocol and the orchestrator are
//! in `bot_protocol.rs`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long a bot test waits for a state: generous, because CI's PostgreSQL + S3 phase runs
/// the bot, moto and the server on two busy cores (an opt-out's abort waited past 20 s there).
pub(crate) const WAIT: Duration = Duration::from_secs(45);

pub(crate) fn bot_body(url: &str) -> Value {
    json!({"meeting_url": url, "bot_name": "Notetaker", "metadata": {"crm_id": "42"}})
}

pub(crate) async fn send_bot(app: &TestApp, cred: &Cred, body: Value) -> Value {
    let r = app
        .send(cred, Method::POST, "/api/v1/bots", Some(body))
        .await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

pub(crate) async fn get_bot(app: &TestApp, cred: &Cred, id: &str) -> Value {
    let r = app
        .send(cred, Method::GET, &format!("/api/v1/bots/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Polls the bot until `pred` holds; fails after `WAIT` with its last state.
pub(crate) async fn wait_bot(
    app: &TestApp,
    cred: &Cred,
    id: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let v = get_bot(app, cred, id).await;
        if pred(&v) {
            return v;
        }
        assert!(start.elapsed() < WAIT, "the bot never got there: {v:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_bot_is_sent_listed_read_and_cancelled_and_its_meeting_stream_shows_its_transitions() {
    let app = TestApp::spawn().await;
    let owner = app.register("bots@example.com", "Bots").await;
    let cred = Cred::Session(owner.clone());
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let mut body = bot_body("https://meet.google.com/abc-defg-hij");
    body["join_at"] = json!(later);
    body["intelligence"] = json!({"pii_redaction": "all", "prompt": "List the decisions first."});
    let first = send_bot(&app, &cred, body).await;
    assert_eq!(first["state"], "scheduled");
    assert_eq!(first["platform"], "google-meet");
    assert_eq!(first["bot_name"], "Notetaker");
    assert_eq!(first["metadata"]["crm_id"], "42");
    assert_eq!(
        first["recording"],
        json!({"per_speaker": true, "mixed": false, "keep_local_copy": false})
    );
    assert_eq!(first["automatic_leave"]["waiting_room_timeout_secs"], 900);
    assert_eq!(first["transitions"].as_array().unwrap().len(), 1);
    assert_eq!(first["transitions"][0]["from"], Value::Null);
    let id = first["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("bot_"), "{id}");
    let meeting = first["meeting_id"].as_str().unwrap().to_owned();
    // The bot's meeting is a meeting like any other.
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{meeting}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["title"], "Notetaker");
    // Its intelligence settings are its meeting's own.
    assert_eq!(m["intelligence"]["pii_redaction"], "all", "{m}");
    assert_eq!(m["intelligence"]["prompt"], "List the decisions first.");
    assert_eq!(m["intelligence"]["provider"], Value::Null);
    let second = send_bot(
        &app,
        &cred,
        bot_body("https://us02web.zoom.us/j/81234567890"),
    )
    .await;

    // A page at a time, newest first; filters by state.
    let r = app
        .send(&cred, Method::GET, "/api/v1/bots?limit=1", None)
        .await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["bots"][0]["id"], second["id"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/bots?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["bots"][0]["id"], first["id"]);
    assert_eq!(page["next_cursor"], Value::Null);
    let r = app
        .send(&cred, Method::GET, "/api/v1/bots?state=ended", None)
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["bots"], json!([]));
    let r = app
        .send(&cred, Method::GET, "/api/v1/bots?state=exploded", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Cancelling a scheduled bot ends it; an ended bot cannot be cancelled, left or chatted.
    let r = app
        .send(&cred, Method::DELETE, &format!("/api/v1/bots/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["state"].as_str(), v["sub_code"].as_str()),
        (Some("ended"), Some("cancelled"))
    );
    assert_eq!(v["transitions"][1]["from"], "scheduled");
    assert_eq!(v["transitions"][1]["to"], "ended");
    for (method, path, body) in [
        (Method::DELETE, format!("/api/v1/bots/{id}"), None),
        (Method::POST, format!("/api/v1/bots/{id}/leave"), None),
        (
            Method::POST,
            format!("/api/v1/bots/{id}/chat"),
            Some(json!({"message": "hello"})),
        ),
    ] {
        let r = app.send(&cred, method.clone(), &path, body).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{method} {path}");
    }
    let r = app
        .send(&cred, Method::GET, "/api/v1/bots?state=ended", None)
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["bots"][0]["id"],
        first["id"]
    );

    // Every transition is an event on the bot's meeting stream.
    let r = app
        .client
        .get(app.url(&format!("/api/v1/meetings/{meeting}/events")))
        .header("cookie", &owner.cookie)
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut stream = r.bytes_stream();
    let mut text = String::new();
    let start = Instant::now();
    while !text.contains("\"cancelled\"") {
        assert!(start.elapsed() < WAIT, "stream: {text}");
        if let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(Duration::from_secs(1), stream.next()).await
        {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(text.contains("event: bot_state"), "{text}");
    assert!(text.contains("\"state\":\"scheduled\""), "{text}");
    assert!(text.contains("\"state\":\"ended\""), "{text}");
    assert!(
        !text.contains("Notetaker") && !text.contains("meet.google.com"),
        "{text}"
    );

    // Audited, naming no content.
    let r = app.send(&cred, Method::GET, "/api/v1/audit", None).await;
    let audit = r.text().await.unwrap();
    for action in ["bot.create", "bot.transition", "bot.cancel"] {
        assert!(audit.contains(action), "{action} not audited: {audit}");
    }
    assert!(!audit.contains("Notetaker") && !audit.contains("abc-defg-hij"));
}

#[tokio::test]
async fn each_invalid_field_is_named_and_hostile_meeting_urls_are_refused() {
    let app = TestApp::spawn_with(|c| {
        c.bot.test_platform_origins = vec!["http://127.0.0.1:4100".parse().unwrap()];
    })
    .await;
    let owner = app.register("valid@example.com", "Valid").await;
    let cred = Cred::Session(owner);
    let far = (chrono::Utc::now() + chrono::Duration::days(100)).to_rfc3339();
    let many: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"bot_name": ""}), "bot_name"),
        (json!({"bot_name": "x".repeat(101)}), "bot_name"),
        (json!({"join_at": "2030-13-01"}), "join_at"),
        (json!({"join_at": far}), "join_at"),
        (
            json!({"transcription": {"language": "klingon"}}),
            "transcription.language",
        ),
        (
            json!({"transcription": {"provider": "deepgram"}}),
            "transcription.provider",
        ),
        (
            json!({"recording": {"per_speaker": false, "mixed": false}}),
            "recording",
        ),
        (json!({"consent_message": " "}), "consent_message"),
        (
            json!({"automatic_leave": {"waiting_room_timeout_secs": 0}}),
            "automatic_leave.waiting_room_timeout_secs",
        ),
        (
            json!({"automatic_leave": {"max_duration_secs": 100000}}),
            "automatic_leave.max_duration_secs",
        ),
        (
            json!({"automatic_leave": {"silence_timeout_secs": 0}}),
            "automatic_leave.silence_timeout_secs",
        ),
        (
            json!({"intelligence": {"prompt": " "}}),
            "intelligence.prompt",
        ),
        (
            json!({"intelligence": {"provider": "openai", "base_url": "http://10.0.0.1/v1", "model": "m"}}),
            "intelligence.base_url",
        ),
        (json!({"metadata": {"bad key!": "v"}}), "metadata"),
        (json!({"metadata": Value::Object(many)}), "metadata"),
        (json!({"metadata": {"k": "x".repeat(501)}}), "metadata"),
        (
            json!({"workspace_id": "wsp_00000000000000000000000000000000"}),
            "workspace_id",
        ),
        (json!({"surprise": 1}), "surprise"),
    ];
    for (patch, field) in cases {
        let mut body = bot_body("https://meet.google.com/abc-defg-hij");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app
            .send(&cred, Method::POST, "/api/v1/bots", Some(body))
            .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {text}");
        assert!(text.contains(field), "{field} not named: {text}");
    }
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/bots",
            Some(json!({"bot_name": "x"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("meeting_url"));

    for url in [
        "http://meet.google.com/abc-defg-hij",
        "ftp://meet.google.com/abc",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,hi",
        "https://meet.google.com.evil.example/abc",
        "https://meet.google.com@evil.example/abc",
        "https://evilzoom.us/j/1",
        "https://zoom.us.evil.example/j/1",
        "https://teams.microsoft.com.evil.example/l/x",
        "https://user:pw@meet.google.com/abc",
        "https://meet.google.com:8443/abc",
        "https://127.0.0.1/r/x",
        "https://10.0.0.1/r/x",
        "https://[::1]/r/x",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/r/x",
        "https://metadata.google.internal/x",
        "http://127.0.0.1:4101/r/room",
        "http://localhost:4100/r/room",
        "http://127.0.0.1:4100/elsewhere",
        "https://meet.google.com/landing",
        "not a url",
        "",
    ] {
        let r = app
            .send(&cred, Method::POST, "/api/v1/bots", Some(bot_body(url)))
            .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {text}");
        assert!(text.contains("meeting_url"), "{url}: {text}");
    }
    // Known platforms and the configured test origin pass.
    for (url, platform) in [
        (
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
            "microsoft-teams",
        ),
        (
            "https://teams.live.com/meet/9312345678901",
            "microsoft-teams",
        ),
        ("https://zoom.us/j/81234567890", "zoom"),
        ("http://127.0.0.1:4100/r/room", "testmeet"),
    ] {
        let v = send_bot(&app, &cred, bot_body(url)).await;
        assert_eq!(v["platform"], platform, "{url}");
    }
}

#[tokio::test]
async fn another_tenant_gets_404_and_a_viewer_reads_but_cannot_send_a_bot() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let owner = app.register("tenant-a@example.com", "A").await;
    let viewer = app.user_with_role(&owner, "viewer").await;
    let other = app.register("tenant-b@example.com", "B").await;
    let bot = send_bot(
        &app,
        &Cred::Session(owner.clone()),
        bot_body("https://meet.google.com/aaa-bbbb-ccc"),
    )
    .await;
    let id = bot["id"].as_str().unwrap();
    let b = Cred::Session(other.clone());
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/bots/{id}"), None),
        (Method::DELETE, format!("/api/v1/bots/{id}"), None),
        (Method::POST, format!("/api/v1/bots/{id}/leave"), None),
        (
            Method::POST,
            format!("/api/v1/bots/{id}/chat"),
            Some(json!({"message": "hi"})),
        ),
    ] {
        let r = app.send(&b, method.clone(), &path, body).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let r = app.send(&b, Method::GET, "/api/v1/bots", None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["bots"], json!([]));

    let v = Cred::Session(viewer);
    let r = app
        .send(
            &v,
            Method::POST,
            "/api/v1/bots",
            Some(bot_body("https://meet.google.com/aaa-bbbb-ccc")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(get_bot(&app, &v, id).await["state"], "scheduled");
    let r = app
        .send(&v, Method::DELETE, &format!("/api/v1/bots/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn consent_policies_of_org_and_workspace_set_what_a_bot_posts_and_a_workspace_can_require_it()
{
    let app = TestApp::spawn().await;
    let owner = app.register("consent@example.com", "Consent").await;
    let cred = Cred::Session(owner.clone());
    let url = "https://meet.google.com/abc-defg-hij";

    // No policy: the default message, naming the default phrase.
    let plain = send_bot(&app, &cred, bot_body(url)).await;
    assert_eq!(plain["opt_out_phrase"], "/optout");
    assert!(plain["post_consent"].as_bool().unwrap());
    assert!(
        plain["consent_message"]
            .as_str()
            .unwrap()
            .contains("/optout")
    );
    let ws = plain["workspace_id"].as_str().unwrap().to_owned();

    // The org's policy applies; its phrase appears in the default message.
    let put = |path: String, body: Value| {
        let app = &app;
        let cred = &cred;
        async move { app.send(cred, Method::PUT, &path, Some(body)).await }
    };
    let r = put(
        "/api/v1/bot-consent".into(),
        json!({"opt_out_phrase": "/leave-me-out"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bot = send_bot(&app, &cred, bot_body(url)).await;
    assert_eq!(bot["opt_out_phrase"], "/leave-me-out");
    assert!(
        bot["consent_message"]
            .as_str()
            .unwrap()
            .contains("/leave-me-out")
    );

    // The workspace's comes first and may require consent.
    let r = put(
        format!("/api/v1/workspaces/{ws}/bot-consent"),
        json!({"message": "Acme records this call.", "required": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/workspaces/{ws}/bot-consent"),
            None,
        )
        .await;
    let policy: Value = r.json().await.unwrap();
    assert_eq!(policy["required"], true);
    let bot = send_bot(&app, &cred, bot_body(url)).await;
    assert_eq!(bot["consent_message"], "Acme records this call.");
    assert_eq!(
        bot["opt_out_phrase"], "/leave-me-out",
        "the org's phrase still applies"
    );
    // The request's own message and phrase come before both.
    let mut body = bot_body(url);
    body["consent_message"] = json!("This one is ours.");
    body["opt_out_phrase"] = json!("stop");
    let bot = send_bot(&app, &cred, body).await;
    assert_eq!(bot["consent_message"], "This one is ours.");
    assert_eq!(bot["opt_out_phrase"], "stop");

    // A bot that would post nothing is refused where consent is required: nothing is made.
    let before = app
        .send(&cred, Method::GET, "/api/v1/bots", None)
        .await
        .json::<Value>()
        .await
        .unwrap()["bots"]
        .as_array()
        .unwrap()
        .len();
    let mut silent = bot_body(url);
    silent["post_consent"] = json!(false);
    let r = app
        .send(&cred, Method::POST, "/api/v1/bots", Some(silent.clone()))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("post_consent"));
    let after = app
        .send(&cred, Method::GET, "/api/v1/bots", None)
        .await
        .json::<Value>()
        .await
        .unwrap()["bots"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    // Without the requirement it is allowed, and says so.
    let r = put(format!("/api/v1/workspaces/{ws}/bot-consent"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let bot = send_bot(&app, &cred, silent).await;
    assert_eq!(bot["post_consent"], false);

    // Bad policies name their field; unknown workspaces are 404; members cannot set them.
    for (body, field) in [
        (json!({"opt_out_phrase": "x"}), "opt_out_phrase"),
        (json!({"opt_out_phrase": "a\nb"}), "opt_out_phrase"),
        (json!({"message": "  "}), "message"),
        (json!({"requried": true}), "requried"),
    ] {
        let r = put("/api/v1/bot-consent".into(), body.clone()).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_client_error(), "{body}: {status} {text}");
        assert!(text.contains(field), "{body}: {text}");
    }
    let mut body = bot_body(url);
    body["opt_out_phrase"] = json!("");
    let r = app
        .send(&cred, Method::POST, "/api/v1/bots", Some(body))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = put(
        "/api/v1/workspaces/wsp_00000000000000000000000000000000/bot-consent".into(),
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let member = app.user_with_role(&owner, "member").await;
    let r = app
        .send(
            &Cred::Session(member),
            Method::PUT,
            "/api/v1/bot-consent",
            Some(json!({"required": false})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

//! What a bot reports besides transitions and audio, in the exact shapes `meetvault bot run`
//! sends (`meetvault_bot::BotEvent`): chat stored once per key, tracks with their loss,
//! opt-outs that delete and refuse a participant's audio, sealed diagnoses, bad bodies that
//! change nothing — and a reported end that goes through `post_processing`. The bot process is
//! the stand-in of `bot_protocol.rs`; the tests speak for it with its token.

use futures::StreamExt as _;
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bot_protocol::{
    app_with_bots, internal, pcm_second, post_audio, recordings, report, report_code, token_of,
};
use crate::bots::{bot_body, get_bot, send_bot, wait_bot};

/// A launched bot in `recording`: (app, owner's credential, bot id, token, meeting id).
async fn recording_bot(
    dir: &std::path::Path,
    url: &str,
) -> (TestApp, Cred, String, String, String) {
    recording_bot_with(dir, url, |_| {}).await
}

pub(crate) async fn recording_bot_with(
    dir: &std::path::Path,
    url: &str,
    adjust: impl FnOnce(&mut meetvault_config::Config),
) -> (TestApp, Cred, String, String, String) {
    let app = app_with_bots(dir, "hold", adjust).await;
    let owner = app.register("reports@example.com", "Reports").await;
    let cred = Cred::Session(owner);
    let bot = send_bot(&app, &cred, bot_body(url)).await;
    let id = bot["id"].as_str().unwrap().to_owned();
    let meeting = bot["meeting_id"].as_str().unwrap().to_owned();
    let token = token_of(dir, &id).await;
    for state in ["joining", "waiting_room", "joined", "recording"] {
        assert_eq!(
            report(&app, &token, &id, state).await,
            StatusCode::NO_CONTENT,
            "{state}"
        );
    }
    (app, cred, id, token, meeting)
}

async fn event(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    internal(
        app,
        Some(token),
        Method::POST,
        &format!("/internal/v1/bots/{id}/events"),
        Some(body),
    )
    .await
}

pub(crate) async fn send_events(app: &TestApp, token: &str, id: &str, events: &[Value]) {
    for e in events {
        let r = event(app, token, id, e.clone()).await;
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{e}: {}",
            r.text().await.unwrap()
        );
    }
}

/// The keys of the bot's stored audio blobs.
async fn audio_blobs(app: &TestApp) -> Vec<String> {
    app.blobs()
        .list("orgs/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .filter(|k| k.contains("/audio/"))
        .collect()
}

/// The bot's chunk rows, as (track, seq).
async fn chunk_rows(app: &TestApp, id: &str) -> Vec<(String, i64)> {
    let bot: meetvault_core::ids::BotId = id.parse().unwrap();
    let row = app.db().bot_by_id(bot.uuid()).await.unwrap().unwrap();
    app.db()
        .audio_chunks(row.org_id, row.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.track, c.seq))
        .collect()
}

#[tokio::test]
async fn the_real_bots_events_are_stored_chat_once_speakers_and_track_loss_and_bad_bodies_change_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let (app, cred, id, token, _) =
        recording_bot(dir.path(), "https://meet.google.com/rep-orts-evx").await;
    send_events(
        &app,
        &token,
        &id,
        &[
            json!({"type": "audio_clock", "unix_ms": 1_764_680_000_000_i64}),
            json!({"type": "participant_joined", "id": "p1", "name": "Alice"}),
            json!({"type": "participant_joined", "id": "p2", "name": "Bob"}),
            json!({"type": "track_mapped", "track": "1-0-2", "participant_id": "p1"}),
            json!({"type": "chat_message", "id": "dedupe-key", "sender": "Alice", "sender_id": "p1", "text": "hello"}),
            // Sent again (a retry): stored once.
            json!({"type": "chat_message", "id": "dedupe-key", "sender": "Alice", "sender_id": "p1", "text": "hello"}),
            json!({"type": "chat_message", "id": "m-2", "sender": "Guest", "sender_id": null, "text": "hi all"}),
            json!({"type": "active_speakers", "participant_ids": ["p1", "p2"]}),
            json!({"type": "active_speakers", "participant_ids": []}),
            json!({"type": "track_ended", "track": "1-0-2", "samples_expected": 480_000, "samples_received": 479_990}),
            json!({"type": "participant_left", "id": "p2", "name": "Bob"}),
        ],
    )
    .await;
    let v = get_bot(&app, &cred, &id).await;
    assert_eq!(v["audio_started_at"], "2025-12-02T12:53:20Z", "{v:#}");
    let chat = v["chat"].as_array().unwrap();
    assert_eq!(chat.len(), 2, "{v:#}");
    assert_eq!(
        (&chat[0]["sender"], &chat[0]["sender_id"], &chat[0]["text"]),
        (&json!("Alice"), &json!("p1"), &json!("hello"))
    );
    assert_eq!(
        (&chat[1]["sender"], &chat[1]["sender_id"]),
        (&json!("Guest"), &Value::Null)
    );
    let speakers: Vec<&Value> = v["active_speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["participant_ids"])
        .collect();
    assert_eq!(speakers, [&json!(["p1", "p2"]), &json!([])]);
    let track = &v["tracks"][0];
    assert_eq!(track["track"], "1-0-2");
    assert_eq!(track["participant_id"], "p1");
    assert_eq!(track["samples_expected"], 480_000);
    assert_eq!(track["samples_received"], 479_990);
    assert_eq!(track["loss_percent"], 0.002);
    assert!(track["ended_at"].is_string());
    let people = v["participants"].as_array().unwrap();
    assert_eq!(people.len(), 2);
    assert!(people.iter().any(|p| p["participant_id"] == "p2"
        && p["name"] == "Bob"
        && p["left_at"].is_string()
        && p["opted_out_at"].is_null()));

    // Malformed bodies: 422 naming the field, and nothing stored.
    for (body, field) in [
        (
            json!({"type": "participant_joined", "id": "../x", "name": "X"}),
            "id",
        ),
        (json!({"type": "participant_joined", "id": "p3"}), "name"),
        (
            json!({"type": "chat_message", "id": "bad key", "sender": "A", "sender_id": null, "text": "t"}),
            "id",
        ),
        (
            json!({"type": "chat_message", "id": "m-3", "sender": "A", "sender_id": "p/1", "text": "t"}),
            "sender_id",
        ),
        (
            json!({"type": "chat_message", "id": "m-4", "sender": "A", "sender_id": null, "text": "bell\u{7}"}),
            "text",
        ),
        (
            json!({"type": "active_speakers", "participant_ids": ["p1", "no spaces"]}),
            "participant_ids",
        ),
        (
            json!({"type": "track_mapped", "track": "1 0 2", "participant_id": "p1"}),
            "track",
        ),
        (
            json!({"type": "track_ended", "track": "1-0-2", "samples_expected": -1, "samples_received": 0}),
            "samples_expected",
        ),
        (json!({"type": "audio_clock", "unix_ms": 0}), "unix_ms"),
        (
            json!({"type": "participant_opted_out", "participant_id": ""}),
            "participant_id",
        ),
        (
            json!({"type": "diagnosis", "reason": "r", "screenshot_png": "not base64!", "dom_html": ""}),
            "screenshot_png",
        ),
        (
            json!({"type": "participant_joined", "id": "p4", "name": "D", "extra": 1}),
            "extra",
        ),
        (
            json!({"type": "active_speaker", "participant_id": "p1"}),
            "active_speaker",
        ),
    ] {
        let r = event(&app, &token, &id, body.clone()).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        assert!(text.contains(field), "{body}: `{field}` not named: {text}");
    }
    let after = get_bot(&app, &cred, &id).await;
    assert_eq!(after, v, "a refused event changed the bot");
}

#[tokio::test]
async fn an_opt_out_deletes_the_participants_audio_refuses_more_and_leaves_no_recording_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let (app, cred, id, token, meeting) =
        recording_bot(dir.path(), "https://meet.google.com/opt-outb-otx").await;
    send_events(
        &app,
        &token,
        &id,
        &[
            json!({"type": "participant_joined", "id": "p1", "name": "Alice Optout"}),
            json!({"type": "participant_joined", "id": "p2", "name": "Bob Stays"}),
            json!({"type": "track_mapped", "track": "1-0-1", "participant_id": "p1"}),
            json!({"type": "track_mapped", "track": "1-0-2", "participant_id": "p2"}),
            json!({"type": "chat_message", "id": "a-1", "sender": "Alice Optout", "sender_id": "p1", "text": "before"}),
            json!({"type": "chat_message", "id": "b-1", "sender": "Bob Stays", "sender_id": "p2", "text": "hi"}),
        ],
    )
    .await;
    for (track, seed) in [("1-0-1", 1), ("1-0-2", 2)] {
        for seq in 0..2 {
            let q = format!("track={track}&seq={seq}&start_ms={}", seq * 1000);
            assert_eq!(
                post_audio(&app, &token, &id, &q, pcm_second(seed + seq as i16)).await,
                StatusCode::CREATED
            );
        }
    }
    // Audio of a track not mapped yet, which turns out to be Alice's after she opts out.
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=1-0-3&seq=0&start_ms=0",
            pcm_second(5)
        )
        .await,
        StatusCode::CREATED
    );
    assert_eq!(audio_blobs(&app).await.len(), 5);

    send_events(
        &app,
        &token,
        &id,
        &[json!({"type": "participant_opted_out", "participant_id": "p1"})],
    )
    .await;
    let hex1 = hex::encode("1-0-1");
    let left = audio_blobs(&app).await;
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(!left.iter().any(|k| k.contains(&hex1)), "{left:?}");
    let rows = chunk_rows(&app, &id).await;
    assert!(!rows.iter().any(|(t, _)| t == "1-0-1"), "{rows:?}");
    // Further audio of her track is dropped, unstored; a repeat of the opt-out changes nothing.
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=1-0-1&seq=2&start_ms=2000",
            pcm_second(9)
        )
        .await,
        StatusCode::OK
    );
    send_events(
        &app,
        &token,
        &id,
        &[
            json!({"type": "participant_opted_out", "participant_id": "p1"}),
            json!({"type": "track_mapped", "track": "1-0-3", "participant_id": "p1"}),
            json!({"type": "chat_message", "id": "a-2", "sender": "Alice Optout", "sender_id": "p1", "text": "after"}),
        ],
    )
    .await;
    let left = audio_blobs(&app).await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.iter().all(|k| k.contains(&hex::encode("1-0-2"))),
        "{left:?}"
    );
    let rows = chunk_rows(&app, &id).await;
    assert_eq!(rows, [("1-0-2".to_owned(), 0), ("1-0-2".to_owned(), 1)]);
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=1-0-3&seq=1&start_ms=1000",
            pcm_second(6)
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(audio_blobs(&app).await.len(), 2);

    let v = get_bot(&app, &cred, &id).await;
    let alice = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == "p1")
        .unwrap();
    assert!(alice["opted_out_at"].is_string(), "{v:#}");
    // Her chat is gone, before and after; Bob's stays.
    let chat: Vec<&Value> = v["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["text"])
        .collect();
    assert_eq!(chat, [&json!("hi")], "{v:#}");
    for t in v["tracks"].as_array().unwrap() {
        assert_eq!(
            t["opted_out_at"].is_string(),
            t["participant_id"] == "p1",
            "{t}"
        );
    }
    // On the meeting's stream, naming her platform id only.
    let Cred::Session(owner) = &cred else {
        panic!("a session")
    };
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
    let start = std::time::Instant::now();
    while !text.contains("event: bot_participant_opted_out") {
        assert!(start.elapsed() < crate::bots::WAIT, "stream: {text}");
        if let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(std::time::Duration::from_secs(1), stream.next()).await
        {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(text.contains("\"participant_id\":\"p1\""), "{text}");
    assert!(!text.contains("Alice"), "{text}");
    drop(stream);
    // Audited once, naming the bot and her platform id only.
    let audit: Value = app
        .send(
            &cred,
            Method::GET,
            "/api/v1/audit?action=bot.participant_opt_out",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit:#}");
    let text = entries[0].to_string();
    assert!(text.contains(&id) && text.contains("p1"), "{text}");
    assert!(!text.contains("Alice"), "{text}");

    // The bot ends: only Bob's track becomes a recording.
    assert_eq!(
        report(&app, &token, &id, "leaving").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        report_code(&app, &token, &id, "ended", Some("left_by_api")).await,
        StatusCode::NO_CONTENT
    );
    wait_bot(&app, &cred, &id, |v| v["state"] == "ended").await;
    let list = recordings(&app, &cred, &meeting, 1).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["speaker"], "Bob Stays");
    assert_eq!(list[0]["duration_ms"], 2000);
}

#[tokio::test]
async fn a_diagnosis_is_sealed_readable_and_bounded_in_size() {
    let dir = tempfile::tempdir().unwrap();
    let (app, cred, id, token, _) =
        recording_bot(dir.path(), "https://meet.google.com/dia-gnos-isx").await;
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/bots/{id}/diagnosis"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A screenshot bigger than the default body limit of 1 MiB (valid base64).
    let png_b64 = format!("iVBORw0KGgo{}", "AAECAwQF".repeat(250_000) + "A");
    let dom = "<html><body><div id=canary-dom-5e1d>Join now</div></body></html>";
    let r = event(
        &app,
        &token,
        &id,
        json!({"type": "diagnosis", "reason": "join button missing", "screenshot_png": png_b64, "dom_html": dom}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Sealed: the blob holds neither the DOM nor the reason in clear.
    let blobs = app.blobs().list("orgs/").await.unwrap();
    let blob = blobs
        .iter()
        .find(|m| m.key.ends_with("/diagnosis"))
        .unwrap_or_else(|| panic!("no diagnosis blob: {blobs:?}"));
    let key = meetvault_store::BlobKey::parse(&blob.key).unwrap();
    let bytes = app.blobs().get_range(&key, 0..blob.size).await.unwrap();
    for marker in ["canary-dom-5e1d", "join button missing", &png_b64[..64]] {
        assert!(
            !crate::canary::contains(&bytes, marker),
            "`{marker}` in clear"
        );
    }
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/bots/{id}/diagnosis"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["reason"], "join button missing");
    assert_eq!(d["dom_html"], dom);
    assert_eq!(d["screenshot_png"], png_b64.as_str());
    assert!(d["at"].is_string());
    assert!(get_bot(&app, &cred, &id).await["diagnosis_at"].is_string());
    // Beyond the event limit: refused.
    let huge = "x".repeat(9 * 1024 * 1024);
    let r = event(
        &app,
        &token,
        &id,
        json!({"type": "diagnosis", "reason": "r", "screenshot_png": "", "dom_html": huge}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_reported_end_goes_through_post_processing_keeps_its_sub_code_and_stops_the_audio() {
    let dir = tempfile::tempdir().unwrap();
    let (app, cred, id, token, meeting) =
        recording_bot(dir.path(), "https://meet.google.com/end-sinm-eet").await;
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=1-0-0&seq=0&start_ms=0",
            pcm_second(4)
        )
        .await,
        StatusCode::CREATED
    );
    // Straight from recording, as when the host ends the meeting.
    assert_eq!(
        report_code(&app, &token, &id, "ended", Some("meeting_ended")).await,
        StatusCode::NO_CONTENT
    );
    // Done: its token sends no more audio.
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=1-0-0&seq=1&start_ms=1000",
            pcm_second(5)
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let v = wait_bot(&app, &cred, &id, |v| v["state"] == "ended").await;
    assert_eq!(v["sub_code"], "meeting_ended");
    let steps: Vec<(&str, &str, &Value)> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["to"].as_str().unwrap(),
                t["at"].as_str().unwrap(),
                &t["sub_code"],
            )
        })
        .collect();
    let tail: Vec<(&str, &Value)> = steps[steps.len() - 3..]
        .iter()
        .map(|(to, _, code)| (*to, *code))
        .collect();
    assert_eq!(
        tail,
        [
            ("recording", &Value::Null),
            ("post_processing", &json!("meeting_ended")),
            ("ended", &json!("meeting_ended"))
        ]
    );
    assert!(steps.windows(2).all(|w| w[0].1 <= w[1].1), "{steps:?}");
    // The recording was stored before `ended` was written.
    let list = recordings(&app, &cred, &meeting, 1).await;
    assert_eq!(list.len(), 1);

    // Not admitted: from the waiting room straight to ended.
    let bot = send_bot(
        &app,
        &cred,
        bot_body("https://meet.google.com/den-iedb-otx"),
    )
    .await;
    let id2 = bot["id"].as_str().unwrap().to_owned();
    let token2 = token_of(dir.path(), &id2).await;
    for state in ["joining", "waiting_room"] {
        assert_eq!(
            report(&app, &token2, &id2, state).await,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        report_code(&app, &token2, &id2, "ended", Some("admission_denied")).await,
        StatusCode::NO_CONTENT
    );
    let v = get_bot(&app, &cred, &id2).await;
    assert_eq!(
        (v["state"].as_str(), v["sub_code"].as_str()),
        (Some("ended"), Some("admission_denied"))
    );
    let timeline: Vec<&str> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["scheduled", "joining", "waiting_room", "ended"]);
}

#[tokio::test]
async fn a_bot_left_in_post_processing_by_a_restart_is_processed_and_ended_by_the_orchestrator() {
    let dir = tempfile::tempdir().unwrap();
    let (app, cred, id, token, meeting) =
        recording_bot_with(dir.path(), "https://meet.google.com/res-tart-ppx", |c| {
            c.bot.heartbeat_timeout_secs = 1
        })
        .await;
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=1-0-0&seq=0&start_ms=0",
            pcm_second(7)
        )
        .await,
        StatusCode::CREATED
    );
    // As if the server died right after writing post_processing, before processing anything.
    let bot: meetvault_core::ids::BotId = id.parse().unwrap();
    let row = app.db().bot_by_id(bot.uuid()).await.unwrap().unwrap();
    let written = app
        .db()
        .transition_bot(
            &meetvault_store::bots::StateChange {
                org_id: row.org_id,
                bot_id: row.id,
                from: "recording",
                to: "post_processing",
                sub_code: Some("meeting_ended"),
                at: chrono::Utc::now().timestamp_millis(),
                revoke_token: true,
            },
            &[],
        )
        .await
        .unwrap();
    assert!(written);
    let v = wait_bot(&app, &cred, &id, |v| v["state"] == "ended").await;
    assert_eq!(v["sub_code"], "meeting_ended");
    let list = recordings(&app, &cred, &meeting, 1).await;
    assert_eq!(list.len(), 1, "{list:?}");
}

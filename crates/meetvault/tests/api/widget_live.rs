//! A widget's live transcript: the visitor's recording, WebM/Opus written live (unknown sizes,
//! as MediaRecorder writes it) and cut at arbitrary bytes, is decoded as its chunks arrive and
//! transcribed at its pauses, so what was said before a pause is readable before the
//! recording is sent; sending it transcribes the rest and ends the transcript. A widget
//! without `live_transcript`, and a visitor past `widgets.live_sessions`, get none; the poll
//! is the session's alone (its token, the widget's origins).

use std::time::{Duration, Instant};

use meetvault_test_support::TestApp;
use meetvault_test_support::media::{ffmpeg, speak};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::widgets::{ELSEWHERE, SITE, call, open, put_chunk, submit, visitor, widget};

const FIRST: &str = "My package arrived broken yesterday.";
const SECOND: &str = "Please send a replacement to my office.";

/// The two sentences with two seconds of silence between them, as a live WebM.
fn recording() -> Vec<u8> {
    recording_padded(None)
}

/// The same, padded with silence to `secs` when given.
fn recording_padded(secs: Option<u32>) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "widget-live-{}-{}",
        std::process::id(),
        secs.unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.wav"), dir.join("b.wav"));
    speak(FIRST, "en-us", &a);
    speak(SECOND, "en-us", &b);
    let out = dir.join("note.webm");
    ffmpeg(
        &a,
        &out,
        &[
            "-i",
            b.to_str().unwrap(),
            "-filter_complex",
            &match secs {
                Some(s) => format!(
                    "[0:a]apad=pad_dur=2[p];[p][1:a]concat=n=2:v=0:a=1[c];[c]apad=whole_dur={s}"
                ),
                None => "[0:a]apad=pad_dur=2[p];[p][1:a]concat=n=2:v=0:a=1".to_owned(),
            },
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            "-live",
            "1",
        ],
    );
    std::fs::read(out).unwrap()
}

async fn live(app: &TestApp, id: &str, token: &str, after: &str) -> (StatusCode, Value) {
    let r = visitor(
        app,
        Method::GET,
        &format!("/widget/v1/widgets/{id}/live?after={after}"),
        Some(SITE),
    )
    .bearer_auth(token)
    .send()
    .await
    .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Polls until `until` holds of everything heard so far (each poll asking only for what is
/// new); returns the lines and the last answer.
async fn heard_until(
    app: &TestApp,
    id: &str,
    token: &str,
    lines: &mut Vec<Value>,
    until: impl Fn(&[Value], &Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let (status, v) = live(app, id, token, &lines.len().to_string()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["live"], true, "{v}");
        lines.extend(v["lines"].as_array().unwrap().iter().cloned());
        assert_eq!(v["next"], lines.len(), "{v}");
        if until(lines, &v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "not heard yet: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn text(lines: &[Value]) -> String {
    lines
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[tokio::test]
async fn a_visitor_reads_what_was_heard_while_talking() {
    let app = TestApp::spawn_with(|c| {
        c.widgets.live_sessions = 1;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, _) = widget(&app, &owner, json!({"live_transcript": true})).await;
    let r: Value = open(&app, &id, None).await.json().await.unwrap();
    assert_eq!(r["live"], true, "{r}");
    let token = r["session_token"].as_str().unwrap().to_owned();
    // The one live transcriber is taken: the next visitor (from another address) records
    // without one.
    let r: Value = visitor(
        &app,
        Method::POST,
        &format!("/widget/v1/widgets/{id}/sessions"),
        Some(SITE),
    )
    .header("x-forwarded-for", "203.0.113.9")
    .json(&json!({}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(r["live"], false, "{r}");
    let other = r["session_token"].as_str().unwrap().to_owned();
    let (status, v) = live(&app, &id, &other, "0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v,
        json!({"live": false, "lines": [], "next": 0, "done": false})
    );

    // The poll is the session's, from the widget's origins only.
    let (status, _) = live(&app, &id, "mvv_not-a-token", "0").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = visitor(
        &app,
        Method::GET,
        &format!("/widget/v1/widgets/{id}/live"),
        Some(ELSEWHERE),
    )
    .bearer_auth(&token)
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let (status, v) = live(&app, &id, &token, "many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "bad_request", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("after"),
        "{v}"
    );

    // The recording arrives in uneven pieces, a second or so each; nothing is sent yet.
    let audio = recording();
    for (seq, piece) in audio.chunks(3_001).enumerate() {
        let (status, v) = put_chunk(&app, &id, &token, seq as u32, piece.to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let mut lines = Vec::new();
    heard_until(&app, &id, &token, &mut lines, |l, _| {
        let t = text(l);
        t.contains("package") && t.contains("broken")
    })
    .await;
    let (status, v) = live(&app, &id, &token, &lines.len().to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["done"], false, "still recording: {v}");

    // Sent: the rest is heard to its end, then the transcript is done.
    assert_eq!(submit(&app, &id, &token).await, StatusCode::ACCEPTED);
    let last = heard_until(&app, &id, &token, &mut lines, |_, v| v["done"] == true).await;
    let all = text(&lines);
    println!("heard live: {lines:?}");
    for word in ["replacement", "office"] {
        assert!(all.contains(word), "{word} not in {all:?}");
    }
    assert_eq!(last["next"], lines.len());
    let starts: Vec<i64> = lines
        .iter()
        .map(|l| l["start_ms"].as_i64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["end_ms"].as_i64() >= l["start_ms"].as_i64()),
        "{lines:?}"
    );
    // The second sentence starts after the first and its pause (about 4.5 s in).
    let second = lines
        .iter()
        .find(|l| {
            l["text"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("office")
        })
        .unwrap();
    assert!(second["start_ms"].as_i64().unwrap() > 3_000, "{lines:?}");
    // Asking again from the start gives the same lines — also once the submission's job has
    // made the meeting (and deleted the session's row): they stay a while for the visitor.
    let (_, again) = live(&app, &id, &token, "0").await;
    assert_eq!(again["lines"].as_array().unwrap(), &lines);
    let start = Instant::now();
    loop {
        let (_, page) = call(&app, &owner, Method::GET, "/api/v1/meetings", None).await;
        if let Some(m) = page["meetings"].as_array().unwrap().first() {
            let path = format!("/api/v1/meetings/{}/transcript", m["id"].as_str().unwrap());
            let (_, t) = call(&app, &owner, Method::GET, &path, None).await;
            if t["segments"].as_array().is_some_and(|s| !s.is_empty()) {
                break;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no meeting");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, again) = live(&app, &id, &token, "0").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["done"], true);
    assert_eq!(again["lines"].as_array().unwrap(), &lines);

    // The widget deleted: nothing of it answers.
    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = live(&app, &id, &token, "0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn audio_sent_faster_than_speech_ends_the_live_transcript() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, _) = widget(
        &app,
        &owner,
        json!({"live_transcript": true, "max_seconds": 120}),
    )
    .await;
    let r: Value = open(&app, &id, None).await.json().await.unwrap();
    assert_eq!(r["live"], true, "{r}");
    let token = r["session_token"].as_str().unwrap().to_owned();
    // One live recording per address at a time.
    let r: Value = open(&app, &id, None).await.json().await.unwrap();
    assert_eq!(r["live"], false, "{r}");
    // A minute of audio in a moment: no one speaks that fast. It is stored (the meeting will
    // have it) but the live transcript ends without waiting for the submission.
    let audio = recording_padded(Some(60));
    for (seq, piece) in audio.chunks(64 * 1024).enumerate() {
        let (status, v) = put_chunk(&app, &id, &token, seq as u32, piece.to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let sent = Instant::now();
    let mut lines = Vec::new();
    let last = heard_until(&app, &id, &token, &mut lines, |_, v| v["done"] == true).await;
    assert_eq!(last["live"], true);
    // Ended for running ahead of the clock, not for going quiet (30 s) or the length (150 s).
    assert!(
        sent.elapsed() < Duration::from_secs(20),
        "done only after {:?}",
        sent.elapsed()
    );
    // Finished, it no longer counts: the same address gets a live transcript again.
    let r: Value = open(&app, &id, None).await.json().await.unwrap();
    assert_eq!(r["live"], true, "{r}");
}

#[tokio::test]
async fn a_widget_without_live_transcript_has_none() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (id, _) = widget(&app, &owner, json!({})).await;
    let r: Value = open(&app, &id, None).await.json().await.unwrap();
    assert_eq!(r["live"], false, "{r}");
    let token = r["session_token"].as_str().unwrap().to_owned();
    let (status, _) = put_chunk(&app, &id, &token, 0, recording()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = live(&app, &id, &token, "0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["live"], false, "{v}");
    // Turned on later: sessions opened from then on are live.
    let r = app
        .send(
            &meetvault_test_support::Cred::Session(owner.clone()),
            Method::PATCH,
            &format!("/api/v1/widgets/{id}"),
            Some(json!({"live_transcript": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["live_transcript"], true, "{v}");
    let r: Value = open(&app, &id, None).await.json().await.unwrap();
    assert_eq!(r["live"], true, "{r}");
}

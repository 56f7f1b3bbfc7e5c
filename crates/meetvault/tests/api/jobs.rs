//! The durable job queue through the real binary: SIGKILL the server in the middle of a
//! transcription, start it again, and the job resumes and completes once, with one transcript.

use std::time::{Duration, Instant};

use meetvault_test_support::media::whisper_model_dir;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Client, ServerProcess, database_env};
use crate::speech;

async fn job_state(c: &Client, id: &str) -> Value {
    let r = c
        .req(Method::GET, &format!("/api/v1/jobs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_transcription_survives_sigkill_of_the_server_and_completes_once() {
    let model = whisper_model_dir();
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let model = model.to_str().unwrap().to_owned();
    let env = [
        ("MEETVAULT_DATABASE__URL", db.as_str()),
        ("MEETVAULT_TRANSCRIPTION__MODEL_DIR", model.as_str()),
        ("MEETVAULT_JOBS__LEASE_SECS", "5"),
        ("MEETVAULT_JOBS__POLL_INTERVAL_MS", "200"),
        ("MEETVAULT_LOG__LEVEL", "info"),
    ];
    let mut server = ServerProcess::start(dir.path(), &env);
    let mut c = Client::register(&server.url(""), "kill@example.com").await;
    let r = c
        .req(Method::POST, "/api/v1/meetings")
        .json(&json!({"title": "Killed mid-job"}))
        .send()
        .await
        .unwrap();
    let meeting = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Over three minutes: the engine is seen part-way (progress past 5 %) before it ends.
    let (path, text) = speech::long_single_speaker();
    let r = c
        .req(
            Method::POST,
            &format!("/api/v1/meetings/{meeting}/recordings"),
        )
        .header("content-type", "audio/wav")
        .body(std::fs::read(path).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = r.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Wait until the engine is working on it, then kill the server without warning.
    let start = Instant::now();
    loop {
        let j = job_state(&c, &job).await;
        if j["state"] == "running" && j["progress"].as_i64().unwrap() > 5 {
            break;
        }
        assert_ne!(
            j["state"], "succeeded",
            "the job finished before it could be killed; use longer audio"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the job never got going: {j}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.signal("KILL");
    server.wait(Duration::from_secs(10));

    // Start again: the lease runs out and the job resumes from the start.
    let server = ServerProcess::start(dir.path(), &env);
    c.rebase(&server.url(""));
    let start = Instant::now();
    let done = loop {
        let j = job_state(&c, &job).await;
        match j["state"].as_str().unwrap() {
            "succeeded" => break j,
            "dead" | "cancelled" => panic!("the job did not survive: {j}\n{}", server.log()),
            _ => {}
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the job did not resume: {j}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        done["attempts"], 2,
        "one attempt killed, one that finished: {done}"
    );
    assert_eq!(done["progress"], 100);

    // One transcript: no segment twice.
    let r = c
        .req(
            Method::GET,
            &format!("/api/v1/meetings/{meeting}/transcript"),
        )
        .send()
        .await
        .unwrap();
    let segments = r.json::<Value>().await.unwrap()["segments"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!segments.is_empty());
    let mut keys: Vec<(i64, String)> = segments
        .iter()
        .map(|s| {
            (
                s["start_ms"].as_i64().unwrap(),
                s["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let before = keys.len();
    keys.dedup();
    assert_eq!(
        keys.len(),
        before,
        "a segment was stored twice: {segments:?}"
    );
    let heard: Vec<&str> = segments
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let wer = meetvault_stt::word_error_rate(text, &heard.join(" "));
    assert!(wer <= 0.15, "word error rate {wer:.3}");
}

//! What meetvault keeps of a bot's recordings once they reached the customer's bucket (moto
//! on loopback): by default nothing — each recording's copy is deleted once delivered (and,
//! with transcription on, only after its transcript is stored), audited, then the chunks it
//! was made from; a deleted copy's download is 410 naming its key, and delivering again sends
//! nothing.

use std::time::Duration;

use meetvault_test_support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::bot_protocol::post_audio;
use crate::destinations_stream::{
    bucket_name, moto_destination, object, reader, recording_bot, recording_bot_with,
};
use crate::webhooks::call;

#[tokio::test]
async fn once_delivered_a_bots_recordings_leave_no_copy_here() {
    let bucket = bucket_name();
    let body = moto_destination(&bucket).await;
    let endpoint = body["endpoint"].as_str().unwrap().to_owned();
    let (m, _) = recording_bot(body, json!({"recording": {"mixed": true}})).await;
    m.send(&m.app, "1-0-0", 1, 0..3, 0).await;
    m.send(&m.app, "2-0-0", 2, 0..2, 2_000).await;
    let meeting = m.bot["meeting_id"].as_str().unwrap().to_owned();
    let meeting_hex = meeting.trim_start_matches("mtg_").to_owned();
    let local = |app: &TestApp| {
        let blobs = app.blobs().clone();
        let hex = meeting_hex.clone();
        async move {
            let uuid = uuid::Uuid::parse_str(&hex).unwrap().to_string();
            blobs
                .list("")
                .await
                .unwrap()
                .into_iter()
                .map(|b| b.key)
                .filter(|k| k.contains(&uuid))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(local(&m.app).await.len(), 5, "the five chunks, sealed");

    let files = m.end().await;
    assert_eq!(files.len(), 3, "two speakers and the mix: {files:#?}");
    // Each recording is marked delivered (where), then its copy here deleted.
    let path = format!("/api/v1/meetings/{meeting}/recordings");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let recordings = loop {
        let r = m.app.send(&m.cred, Method::GET, &path, None).await;
        let v: Value = r.json().await.unwrap();
        let recs = v["recordings"].as_array().unwrap().clone();
        if recs.len() == 3 && recs.iter().all(|r| r["local_copy_deleted_at"].is_string()) {
            break recs;
        }
        assert!(tokio::time::Instant::now() < deadline, "copies kept: {v:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let store = reader(&bucket, &endpoint);
    for rec in &recordings {
        let file = files
            .iter()
            .find(|f| f["recording_id"] == rec["id"])
            .unwrap();
        assert_eq!(rec["delivered"]["key"], file["key"]);
        let stored = object(&store, file["key"].as_str().unwrap()).await.unwrap();
        assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&stored)));
        // Its download says where it went.
        let r = m
            .app
            .send(
                &m.cred,
                Method::GET,
                &format!("{path}/{}", rec["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::GONE);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains(file["key"].as_str().unwrap()),
            "{v}"
        );
    }
    // Nothing of the meeting's audio is left here: no recording blob, no chunk.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = local(&m.app).await;
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left here: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, audit) = call(
        &m.app,
        &m.owner,
        Method::GET,
        "/api/v1/audit?action=recording.local_copy_delete",
        None,
    )
    .await;
    assert_eq!(
        audit["entries"].as_array().map(Vec::len),
        Some(3),
        "{audit:#}"
    );
    // Delivering again sends nothing (there is nothing here to send) and fails nothing.
    let (status, _) = call(
        &m.app,
        &m.owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn with_transcription_on_a_copy_goes_only_once_its_transcript_is_stored() {
    use meetvault_test_support::media::{ffmpeg, speak, whisper_model_dir};
    let model = whisper_model_dir();
    let bucket = bucket_name();
    let body = moto_destination(&bucket).await;
    let (m, _) = recording_bot_with(body, json!({}), |c| {
        c.transcription.auto = true;
        c.transcription.live = false;
        c.transcription.model_dir = Some(model);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for (track, text) in [
        ("1-0-0", "The marmalade budget is approved."),
        ("2-0-0", "Please send the contract on Friday."),
    ] {
        let wav = dir.path().join(format!("{track}.wav"));
        let raw = dir.path().join(format!("{track}.raw"));
        speak(text, "en-us", &wav);
        ffmpeg(&wav, &raw, &["-ar", "16000", "-ac", "1", "-f", "s16le"]);
        let pcm = std::fs::read(&raw).unwrap();
        let q = format!("track={track}&seq=0&start_ms=0");
        assert_eq!(
            post_audio(&m.app, &m.token, &m.id, &q, pcm).await,
            StatusCode::CREATED
        );
    }
    m.end().await;
    // The copies go once delivered and transcribed: the transcription read them first.
    let meeting = m.bot["meeting_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/meetings/{meeting}/recordings");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let r = m.app.send(&m.cred, Method::GET, &path, None).await;
        let v: Value = r.json().await.unwrap();
        let recs = v["recordings"].as_array().unwrap();
        if recs.len() == 2 && recs.iter().all(|r| r["local_copy_deleted_at"].is_string()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "copies kept: {v:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, transcript) = call(
        &m.app,
        &m.owner,
        Method::GET,
        &format!("/api/v1/meetings/{meeting}/transcript"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{transcript}");
    let text = transcript.to_string().to_lowercase();
    assert!(
        text.contains("marmalade") && text.contains("contract"),
        "both tracks were transcribed before their copies went: {transcript:#}"
    );
}

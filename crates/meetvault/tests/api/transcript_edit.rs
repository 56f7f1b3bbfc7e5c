//! Correcting a transcript: one segment's text or speaker (`PATCH …/transcript/{segment_id}`)
//! and a speaker's name everywhere (`POST …/speakers/rename`). What is read back, exported and
//! audited follows the correction; bad input changes nothing; a viewer and another org cannot.

use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn transcript(app: &TestApp, cred: &Cred, id: &str) -> Vec<Value> {
    let r = app
        .send(
            cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["segments"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_segment_is_corrected_and_a_speaker_renamed_everywhere() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let owner = app.register("edit@example.com", "Acme").await;
    let cred = Cred::Session(owner.clone());
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Planning"})),
        )
        .await;
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(json!({"segments": [
                {"start_ms": 0, "end_ms": 2000, "speaker": "SPEAKER_1", "text": "We ship on thursday."},
                {"start_ms": 2500, "end_ms": 4000, "speaker": "SPEAKER_2", "text": "Agreed."},
                {"start_ms": 4500, "end_ms": 6000, "speaker": "SPEAKER_1", "text": "Good."},
            ]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let segments = transcript(&app, &cred, &id).await;
    let first = segments[0]["id"].as_str().unwrap().to_owned();
    assert!(first.starts_with("seg_") && first.len() == 36, "{first}");

    // The text, corrected (control characters become spaces).
    let path = format!("/api/v1/meetings/{id}/transcript/{first}");
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &path,
            Some(json!({"text": "We ship on\nFriday."})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let seg: Value = r.json().await.unwrap();
    assert_eq!(seg["text"], "We ship on Friday.");
    assert_eq!(seg["speaker"], "SPEAKER_1");
    assert_eq!(seg["id"], first.as_str());
    // The speaker of one line only.
    let second = segments[1]["id"].as_str().unwrap();
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &format!("/api/v1/meetings/{id}/transcript/{second}"),
            Some(json!({"speaker": "  Ben  "})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["speaker"], "Ben");

    // Bad input is refused and changes nothing.
    for (body, field) in [
        (json!({}), "text"),
        (json!({"speaker": "   "}), "speaker"),
        (json!({"speaker": "x".repeat(201)}), "speaker"),
        (json!({"text": "y".repeat(20_001)}), "text"),
    ] {
        let r = app.send(&cred, Method::PATCH, &path, Some(body)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().starts_with(field),
            "{e}"
        );
    }
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &path,
            Some(json!({"text": "x", "words": []})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &format!("/api/v1/meetings/{id}/transcript/seg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f"),
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &format!("/api/v1/meetings/{id}/transcript/rec_x"),
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        transcript(&app, &cred, &id).await[0]["text"],
        "We ship on Friday."
    );

    // A speaker renamed everywhere; the export follows.
    let rename = format!("/api/v1/meetings/{id}/speakers/rename");
    let r = app
        .send(
            &cred,
            Method::POST,
            &rename,
            Some(json!({"from": "SPEAKER_1", "to": "Ada Lovelace"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["renamed"], 2);
    let speakers: Vec<String> = transcript(&app, &cred, &id)
        .await
        .iter()
        .map(|s| s["speaker"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(speakers, ["Ada Lovelace", "Ben", "Ada Lovelace"]);
    let srt = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript?format=srt"),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(srt.contains("Ada Lovelace: We ship on Friday."), "{srt}");
    let r = app
        .send(
            &cred,
            Method::POST,
            &rename,
            Some(json!({"from": "Nobody", "to": "Someone"})),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["renamed"], 0);
    let r = app
        .send(
            &cred,
            Method::POST,
            &rename,
            Some(json!({"from": "Ben", "to": ""})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A viewer may read but not correct; another org finds nothing.
    let viewer = Cred::Session(app.user_with_role(&owner, "viewer").await);
    let r = app
        .send(&viewer, Method::PATCH, &path, Some(json!({"text": "mine"})))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let other = Cred::Session(app.register("else@example.com", "Else").await);
    let r = app
        .send(&other, Method::PATCH, &path, Some(json!({"text": "mine"})))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send(
            &other,
            Method::POST,
            &rename,
            Some(json!({"from": "Ben", "to": "Mine"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        transcript(&app, &cred, &id).await[0]["text"],
        "We ship on Friday."
    );

    // Each correction is in the audit log.
    let audit: Value = app
        .send(
            &cred,
            Method::GET,
            "/api/v1/audit?action=transcript.edit",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(reasons, ["text", "speaker"]);
    let audit: Value = app
        .send(
            &cred,
            Method::GET,
            "/api/v1/audit?action=transcript.speaker_rename",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"].as_array().unwrap().len(), 2);
}

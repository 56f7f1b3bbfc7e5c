//! Glossaries: an org's and a meeting's names and jargon reach the transcriber as its prompt
//! (a name Whisper spells otherwise comes out the glossary's way), are stored sealed (no
//! plaintext in the row; the org's survives an org-key rotation), and bad ones are clear 422s
//! that change nothing.

use std::time::Duration;

use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::encryption::{meeting_uuid, uid};
use crate::speech;
use crate::transcription::{self, meeting, upload, wait_job};

async fn send(
    app: &TestApp,
    s: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let r = app
        .send(&Cred::Session(s.clone()), method, path, body)
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Uploads the "Siobhan" sentence to a new meeting created with `body`; returns its text.
async fn transcribe_siobhan(app: &TestApp, s: &Session, body: Value) -> (String, String) {
    let id = meeting(app, s, body).await;
    let wav = std::fs::read(speech::siobhan()).unwrap();
    let r = upload(app, s, &id, "?speaker=Ann", "audio/wav", wav).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    wait_job(
        app,
        s,
        rec["job_id"].as_str().unwrap(),
        Duration::from_secs(300),
    )
    .await;
    let (status, t) = send(
        app,
        s,
        Method::GET,
        &format!("/api/v1/meetings/{id}/transcript"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    (id, text)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_meeting_glossary_spells_a_name_its_way_and_is_stored_sealed() {
    let app = transcription::app().await;
    let s = app.register("glossary@example.com", "Glossary").await;

    let (_, plain) =
        transcribe_siobhan(&app, &s, json!({"title": "Plain", "language": "en"})).await;
    let (id, prompted) = transcribe_siobhan(
        &app,
        &s,
        json!({"title": "Prompted", "language": "en", "glossary": "Siobhan, Mikkel Sørensen"}),
    )
    .await;
    eprintln!("without a glossary: {plain}\nwith the meeting's:  {prompted}");
    assert!(!plain.contains("Siobhan"), "{plain}");
    assert!(prompted.contains("Siobhan"), "{prompted}");

    let (status, m) = send(
        &app,
        &s,
        Method::GET,
        &format!("/api/v1/meetings/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["glossary"], "Siobhan, Mikkel Sørensen");
    let row = app
        .db()
        .meeting(uid(&s.org_id), meeting_uuid(&id))
        .await
        .unwrap()
        .unwrap();
    let sealed = row.glossary.expect("the glossary is stored");
    assert!(!contains(&sealed, "Siobhan"), "the glossary is sealed");

    // Too long, or more tokens than a prompt window: 422 naming the field, nothing changed.
    for bad in ["x".repeat(1001), "ab1 cd2 ".repeat(120)] {
        let (status, body) = send(
            &app,
            &s,
            Method::PATCH,
            &format!("/api/v1/meetings/{id}"),
            Some(json!({"glossary": bad, "title": "Changed"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("glossary:"),
            "{body}"
        );
    }
    let (_, m) = send(
        &app,
        &s,
        Method::GET,
        &format!("/api/v1/meetings/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (m["title"].as_str(), m["glossary"].as_str()),
        (Some("Prompted"), Some("Siobhan, Mikkel Sørensen"))
    );

    // null clears it.
    let (status, m) = send(
        &app,
        &s,
        Method::PATCH,
        &format!("/api/v1/meetings/{id}"),
        Some(json!({"glossary": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["glossary"], Value::Null);
    let row = app
        .db()
        .meeting(uid(&s.org_id), meeting_uuid(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.glossary, None);
}

#[tokio::test]
async fn the_org_glossary_prompts_every_meeting_is_sealed_and_survives_a_key_rotation() {
    let app = transcription::app().await;
    let s = app
        .register("org-glossary@example.com", "Org glossary")
        .await;
    let org = uid(&s.org_id);

    let (status, body) = send(
        &app,
        &s,
        Method::PATCH,
        "/api/v1/org",
        Some(json!({"glossary": "Siobhan"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["glossary"], "Siobhan");
    let sealed = app.db().org_glossary(org).await.unwrap().expect("stored");
    assert!(!contains(&sealed, "Siobhan"), "the org glossary is sealed");

    // A meeting with no glossary of its own gets the org's; with its own, both (org's first).
    let (_, text) = transcribe_siobhan(&app, &s, json!({"title": "Org", "language": "en"})).await;
    assert!(text.contains("Siobhan"), "{text}");
    let (_, text) = transcribe_siobhan(
        &app,
        &s,
        json!({"title": "Both", "language": "en", "glossary": "Mikkel Sørensen"}),
    )
    .await;
    assert!(text.contains("Siobhan"), "{text}");

    // Bad input changes nothing; the other fields of the same request are not applied.
    let (status, body) = send(
        &app,
        &s,
        Method::PATCH,
        "/api/v1/org",
        Some(json!({"glossary": "ab1 cd2 ".repeat(120), "name": "Renamed"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("glossary:"),
        "{body}"
    );
    let (_, body) = send(&app, &s, Method::GET, "/api/v1/org", None).await;
    assert_eq!(
        (body["name"].as_str(), body["glossary"].as_str()),
        (Some("Org glossary"), Some("Siobhan"))
    );

    // An org-key rotation re-seals it under the new version before the old one is deleted.
    app.core()
        .encryption()
        .rotate_org_key(org.into(), &|_: u64, _: u64| {})
        .await
        .unwrap();
    let resealed = app.db().org_glossary(org).await.unwrap().expect("stored");
    assert_ne!(resealed, sealed);
    let sibling = app.spawn_sibling(|_| {}).await;
    let (status, body) = send(&sibling, &s, Method::GET, "/api/v1/org", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["glossary"], "Siobhan");

    // null clears it.
    let (_, body) = send(
        &app,
        &s,
        Method::PATCH,
        "/api/v1/org",
        Some(json!({"glossary": null})),
    )
    .await;
    assert_eq!(body["glossary"], Value::Null);
    assert_eq!(app.db().org_glossary(org).await.unwrap(), None);
}

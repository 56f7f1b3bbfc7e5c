//! Participant deletion requests end to end, with the email through a loopback SMTP server:
//! a participant a bot recorded submits a request (no account), confirms it from the emailed
//! link's page (strict CSP, a button press), the owner lists and completes it; that
//! participant's transcript lines, chat, per-speaker audio (every chunk), the mixed recording
//! and their participant record are gone while the other participant's stay; the requester is
//! emailed the outcome and fetches the certificate with their token, and it verifies offline.
//! The rules around it (bad input, rate limits, rejection, expiry, a crash) are
//! `deletion_requests_rules.rs`.

use std::time::Duration;

use meetvault_test_support::smtp::SmtpSink;
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bot_protocol::{
    app_with_bots, pcm_second, post_audio, recordings, report_code, token_of,
};
use crate::bot_reports::send_events;
use crate::bots::{get_bot, send_bot, wait_bot};

pub(crate) const MAIL_WAIT: Duration = Duration::from_secs(20);
const FORM_POLICY: &str = "default-src 'none'; style-src 'sha256-yLPCUZgj0G1kIlBcJ1NdtevtqIQeK2FgUeKFhSycIno='; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub(crate) fn with_mail(sink: &SmtpSink) -> impl FnOnce(&mut meetvault_config::Config) {
    let url = sink.url();
    move |c| {
        c.email.smtp_url = Some(meetvault_config::Secret::new(url));
        c.server.public_url = Some("https://vault.example.com".parse().unwrap());
        // The test client calls by address, not by the public name.
        c.server.allowed_hosts = vec!["127.0.0.1".into()];
    }
}

pub(crate) async fn send(
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

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => {
            sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
        }
        meetvault_store::Database::Postgres(p) => {
            sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
        }
    }
}

/// The token in an email's body.
pub(crate) fn token_in(body: &str) -> String {
    let start = body
        .find("mvdr_")
        .unwrap_or_else(|| panic!("no token in {body}"));
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

pub(crate) fn submission(org: &str, email: &str) -> Value {
    json!({"org_id": org, "name": "Alice Erase", "email": email,
           "meeting": "https://meet.google.com/era-sure-req on 2 Dec", "message": "Please remove me."})
}

async fn page(
    app: &TestApp,
    method: Method,
    path: &str,
    form: Option<&[(&str, &str)]>,
) -> (StatusCode, String, String) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(f) = form {
        req = req.form(f);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let csp = r
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, csp, r.text().await.unwrap())
}

#[tokio::test]
async fn a_participant_asks_confirms_by_email_and_is_erased_from_the_meeting_with_a_certificate() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_bots(dir.path(), "hold", with_mail(&sink)).await;
    let owner = app.register("dr-owner@example.com", "Erasers").await;
    let me = Cred::Session(owner.clone());
    let mut body = crate::bots::bot_body("https://meet.google.com/era-sure-req");
    body["recording"] = json!({"per_speaker": true, "mixed": true});
    let bot = send_bot(&app, &me, body).await;
    let id = bot["id"].as_str().unwrap().to_owned();
    let meeting = bot["meeting_id"].as_str().unwrap().to_owned();
    let token = token_of(dir.path(), &id).await;
    for state in ["joining", "waiting_room", "joined", "recording"] {
        assert_eq!(
            report_code(&app, &token, &id, state, None).await,
            StatusCode::NO_CONTENT
        );
    }
    send_events(
        &app,
        &token,
        &id,
        &[
            json!({"type": "participant_joined", "id": "p1", "name": "Alice Erase"}),
            json!({"type": "participant_joined", "id": "p2", "name": "Bob Stays"}),
            json!({"type": "track_mapped", "track": "1-0-1", "participant_id": "p1"}),
            json!({"type": "track_mapped", "track": "1-0-2", "participant_id": "p2"}),
            json!({"type": "chat_message", "id": "a-1", "sender": "Alice Erase", "sender_id": "p1", "text": "my number is 555"}),
            json!({"type": "chat_message", "id": "b-1", "sender": "Bob Stays", "sender_id": "p2", "text": "hi all"}),
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
    assert_eq!(
        report_code(&app, &token, &id, "ended", Some("meeting_ended")).await,
        StatusCode::NO_CONTENT
    );
    wait_bot(&app, &me, &id, |v| v["state"] == "ended").await;
    // One recording per speaker, and the mixed one.
    assert_eq!(recordings(&app, &me, &meeting, 3).await.len(), 3);
    let segs = json!({"segments": [
        {"start_ms": 0, "end_ms": 900, "speaker": "Alice Erase", "text": "I live at 12 Elm Street"},
        {"start_ms": 1000, "end_ms": 1900, "speaker": "Bob Stays", "text": "thanks Alice"},
        {"start_ms": 2000, "end_ms": 2900, "speaker": "Alice Erase", "text": "call me later"},
    ]});
    let (status, _) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/transcript"),
        Some(segs),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The form: strict CSP, no script, the org carried along (escaped).
    let (status, csp, html) = page(
        &app,
        Method::GET,
        &format!("/privacy/deletion-request?org={}", owner.org_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csp, FORM_POLICY);
    assert!(
        html.contains(&format!("value=\"{}\"", owner.org_id)) && !html.contains("<script"),
        "{html}"
    );
    let (_, _, hostile) = page(
        &app,
        Method::GET,
        "/privacy/deletion-request?org=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        None,
    )
    .await;
    assert!(!hostile.contains("<script>alert"), "{hostile}");

    // Submitted through the form (as a browser posts it); the token comes by email.
    let (status, csp, html) = page(
        &app,
        Method::POST,
        "/privacy/deletion-request",
        Some(&[
            ("org", owner.org_id.as_str()),
            ("name", "Alice Erase"),
            ("email", "alice@example.org"),
            ("meeting", "the sales call on 2 Dec"),
            ("message", "Please remove me."),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{html}");
    assert_eq!(csp, FORM_POLICY);
    let mail = sink.wait_for("alice@example.org", MAIL_WAIT).await;
    assert!(
        mail.subject()
            .contains("Confirm your deletion request to Erasers"),
        "{}",
        mail.subject()
    );
    let body = mail.body();
    assert!(
        body.contains("https://vault.example.com/privacy/deletion-request/status?token=mvdr_"),
        "{body}"
    );
    let rtoken = token_in(&body);

    // Unconfirmed: the owner does not see it yet; the requester sees it waiting.
    let (status, list) = send(&app, &me, Method::GET, "/api/v1/deletion-requests", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["requests"], json!([]), "{list}");
    let (status, st) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/status",
        Some(json!({"token": rtoken})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(st["state"], "unconfirmed");
    // Opening the link confirms nothing (a mail scanner may fetch it); the button does.
    let (status, csp, html) = page(
        &app,
        Method::GET,
        &format!("/privacy/deletion-request/status?token={rtoken}"),
        None,
    )
    .await;
    assert_eq!((status, csp.as_str()), (StatusCode::OK, FORM_POLICY));
    assert!(
        html.contains("action=\"/privacy/deletion-request/confirm\""),
        "{html}"
    );
    let (status, _, html) = page(
        &app,
        Method::POST,
        "/privacy/deletion-request/confirm",
        Some(&[("token", rtoken.as_str())]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Confirmed"), "{html}");
    let (status, _, html) = page(
        &app,
        Method::POST,
        "/privacy/deletion-request/confirm",
        Some(&[("token", "mvdr_wrong")]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");

    // The owner sees it, details opened.
    let (_, list) = send(
        &app,
        &me,
        Method::GET,
        "/api/v1/deletion-requests?state=open",
        None,
    )
    .await;
    let req = &list["requests"][0];
    assert_eq!(
        (req["name"].as_str(), req["email"].as_str()),
        (Some("Alice Erase"), Some("alice@example.org")),
        "{list}"
    );
    assert_eq!(req["message"], "Please remove me.");
    let rid = req["id"].as_str().unwrap().to_owned();
    // The details are sealed at rest: the email is in no column in the clear.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM deletion_requests").await,
        1
    );
    let raw: Vec<u8> = match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => {
            sqlx::query_scalar("SELECT details FROM deletion_requests")
                .fetch_one(p)
                .await
                .unwrap()
        }
        meetvault_store::Database::Postgres(p) => {
            sqlx::query_scalar("SELECT details FROM deletion_requests")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert!(!String::from_utf8_lossy(&raw).contains("alice@example.org"));

    let complete = |speaker: &str, meeting: &str| json!({"targets": [{"meeting_id": meeting, "speaker": speaker}], "note": "Removed everywhere."});
    // A speaker the meeting does not have, a meeting not the org's, a bad mode: 422, nothing changes.
    let before = count(&app, "SELECT COUNT(*) FROM transcript_segments").await;
    for bad in [
        complete("Nobody Here", &meeting),
        complete(
            "Alice Erase",
            &meetvault_core::ids::MeetingId::new().to_string(),
        ),
        json!({"targets": [{"meeting_id": meeting, "speaker": "Alice Erase"}], "mixed_recordings": "shred"}),
        json!({"targets": []}),
    ] {
        let (status, e) = send(
            &app,
            &me,
            Method::POST,
            &format!("/api/v1/deletion-requests/{rid}/complete"),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM transcript_segments").await,
        before
    );

    let (status, cert) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/deletion-requests/{rid}/complete"),
        Some(complete("Alice Erase", &meeting)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cert}");
    assert_eq!(cert["verified"]["ed25519"], true, "{cert:#}");
    assert_eq!(cert["verified"]["inclusion"], true, "{cert:#}");
    let doc = &cert["certificate"];
    assert_eq!(doc["subject"]["kind"], "participant");
    assert_eq!(doc["subject"]["id"], rid.as_str());
    let n = |kind: &str| {
        doc["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {doc:#}"))["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        [
            n("transcript_segments"),
            n("chat_messages"),
            n("speaker_recordings"),
            n("mixed_recordings"),
            n("audio_chunks"),
            n("participant_records")
        ],
        // The audio chunks went with the post-meeting purge, once the recordings were made.
        [2, 1, 1, 1, 0, 1],
        "{doc:#}"
    );
    assert!(
        !doc.to_string().contains("Alice"),
        "a certificate holds no content: {doc}"
    );

    // What is left is Bob's.
    let (_, t) = send(
        &app,
        &me,
        Method::GET,
        &format!("/api/v1/meetings/{meeting}/transcript"),
        None,
    )
    .await;
    let speakers: Vec<&str> = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["speaker"].as_str().unwrap())
        .collect();
    assert_eq!(speakers, ["Bob Stays"], "{t:#}");
    let recs = recordings(&app, &me, &meeting, 1).await;
    let labels: Vec<&Value> = recs.iter().map(|r| &r["speaker"]).collect();
    assert_eq!(labels, [&json!("Bob Stays")], "{recs:#?}");
    let v = get_bot(&app, &me, &id).await;
    let chat: Vec<&Value> = v["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["text"])
        .collect();
    assert_eq!(chat, [&json!("hi all")], "{v:#}");
    let people: Vec<&Value> = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["participant_id"])
        .collect();
    assert_eq!(people, [&json!("p2")], "{v:#}");
    let blobs: Vec<String> = app
        .blobs()
        .list("orgs/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    let alice_track = hex::encode("1-0-1");
    assert!(!blobs.iter().any(|k| k.contains(&alice_track)), "{blobs:?}");
    // Bob's recording is the one blob left (the chunks went with the post-meeting purge).
    let bob = recs[0]["id"].as_str().unwrap();
    let bob_uuid = Uuid::parse_str(bob.rsplit('_').next().unwrap())
        .unwrap()
        .to_string();
    assert!(
        blobs.len() == 1 && blobs[0].ends_with(&bob_uuid),
        "{blobs:?}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM bot_tracks WHERE track = '1-0-1'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM bot_audio_chunks WHERE track = '1-0-1'"
        )
        .await,
        0
    );

    // Told by email, and the token shows the outcome with the certificate.
    let done = sink.wait_for("alice@example.org", MAIL_WAIT).await;
    assert!(done.subject().contains("is done"), "{}", done.subject());
    let cid = cert["id"].as_str().unwrap();
    assert!(
        done.body()
            .contains(&format!("https://vault.example.com/api/certificates/{cid}")),
        "{}",
        done.body()
    );
    let (status, st) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/status",
        Some(json!({"token": rtoken})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (st["state"].as_str(), st["decision"].as_str()),
        (Some("completed"), Some("Removed everywhere.")),
        "{st:#}"
    );
    assert_eq!(st["certificate"]["certificate"], cert["certificate"]);
    let (_, _, html) = page(
        &app,
        Method::GET,
        &format!("/privacy/deletion-request/status?token={rtoken}"),
        None,
    )
    .await;
    assert!(
        html.contains(&format!("href=\"/api/certificates/{cid}\"")),
        "{html}"
    );

    // It verifies offline with the CLI, like every certificate.
    let file = dir.path().join("participant.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&cert).unwrap()).unwrap();
    let (code, out) = crate::certificates::cli_verify(&file, &[]);
    assert_eq!(code, 0, "{out}");

    // Closed: neither completed again nor rejected.
    let (status, _) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/deletion-requests/{rid}/complete"),
        Some(complete("Alice Erase", &meeting)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/deletion-requests/{rid}/reject"),
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The audit log names the request, not the person.
    let (_, audit) = send(&app, &me, Method::GET, "/api/v1/audit?limit=200", None).await;
    let text = audit.to_string();
    assert!(
        text.contains("deletion_request.complete") && text.contains("deletion_request.confirm"),
        "{text}"
    );
    assert!(!text.contains("alice@example.org"), "{text}");
}

//! Participant deletion requests, the rules around the happy path: bad input, an unknown org,
//! a cross-site form post and a spent rate limit change nothing and send nothing; a rejection
//! needs a reason and the requester sees it; an unconfirmed request expires with the sweep; a
//! mistyped speaker is refused; a completion a crash cut off holds its request (no rejection
//! meanwhile) and is finished and certified once.

use std::time::Duration;

use meetvault_test_support::receiver::Receiver;
use meetvault_test_support::smtp::SmtpSink;
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::deletion_requests::{MAIL_WAIT, count, send, submission, token_in, with_mail};

#[tokio::test]
async fn bad_requests_change_nothing_a_rejection_carries_its_reason_and_unconfirmed_ones_expire() {
    let sink = SmtpSink::start().await;
    let mail = with_mail(&sink);
    let app = TestApp::spawn_with(move |c| {
        mail(c);
        c.auth.open_registration = true;
        c.rate_limit.deletion_requests_per_hour = 3;
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.webhooks.poll_ms = 50;
    })
    .await;
    let owner = app.register("dr-reject@example.com", "Rejecters").await;
    // The org's webhook hears of requests (ids only).
    let receiver = Receiver::start().await;
    crate::webhooks::create(
        &app,
        &owner,
        json!({"url": receiver.url("/hook"),
               "event_types": ["deletion_request.received", "deletion_request.closed"]}),
    )
    .await;
    let me = Cred::Session(owner.clone());
    let org = owner.org_id.as_str();
    let path = "/api/v1/deletion-requests";
    for (bad, want) in [
        (
            json!({"org_id": org, "name": "", "email": "a@example.org", "meeting": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"org_id": org, "name": "A", "email": "not-an-email", "meeting": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A name goes into the email: one line only, so nobody writes their own text into it.
        (
            json!({"org_id": org, "name": "A\n\nClick https://evil.example/", "email": "a@example.org", "meeting": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"org_id": org, "name": "A", "email": "a@example.org", "meeting": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"org_id": org, "name": "A", "email": "a@example.org", "meeting": "x", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"org_id": "org_nope", "name": "A", "email": "a@example.org", "meeting": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"org_id": meetvault_core::ids::OrgId::new().to_string(), "name": "A", "email": "a@example.org", "meeting": "x"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, e) = send(&app, &Cred::None, Method::POST, path, Some(bad.clone())).await;
        assert_eq!(status, want, "{bad}: {e}");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM deletion_requests").await,
        0
    );
    // The form, posted from another site's page (the browser says so): refused.
    let r = app
        .client
        .post(app.url("/privacy/deletion-request"))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("org", org),
            ("name", "A"),
            ("email", "a@example.org"),
            ("meeting", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM deletion_requests").await,
        0
    );
    assert!(sink.messages().is_empty());

    // A request, confirmed through the API, rejected with a reason.
    let (status, s) = send(
        &app,
        &Cred::None,
        Method::POST,
        path,
        Some(submission(org, "carol@example.org")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{s}");
    assert_eq!(s["state"], "unconfirmed");
    let token = token_in(&sink.wait_for("carol@example.org", MAIL_WAIT).await.body());
    let (status, c) = send(
        &app,
        &Cred::None,
        Method::POST,
        &format!("{path}/confirm"),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        (status, c["state"].as_str()),
        (StatusCode::OK, Some("open")),
        "{c}"
    );
    let rid = s["id"].as_str().unwrap();
    let (status, e) = send(
        &app,
        &me,
        Method::POST,
        &format!("{path}/{rid}/reject"),
        Some(json!({"reason": "  "})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, r) = send(
        &app,
        &me,
        Method::POST,
        &format!("{path}/{rid}/reject"),
        Some(json!({"reason": "We hold no recording of you."})),
    )
    .await;
    assert_eq!(
        (status, r["state"].as_str()),
        (StatusCode::OK, Some("rejected")),
        "{r}"
    );
    let told = sink.wait_for("carol@example.org", MAIL_WAIT).await;
    assert!(
        told.body().contains("We hold no recording of you."),
        "{}",
        told.body()
    );
    let (_, st) = send(
        &app,
        &Cred::None,
        Method::POST,
        &format!("{path}/status"),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        (st["state"].as_str(), st["decision"].as_str()),
        (Some("rejected"), Some("We hold no recording of you.")),
        "{st}"
    );
    // The webhook heard both, with ids and links only: no name, email or reason.
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    let seen: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let v = r.json();
            (
                v["type"].as_str().unwrap().to_owned(),
                v["data"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("deletion_request.received".to_owned(), "open".to_owned()),
            ("deletion_request.closed".to_owned(), "rejected".to_owned())
        ]
    );
    for r in &got {
        let v = r.json();
        assert_eq!(v["data"]["request_id"], rid);
        let text = v.to_string();
        assert!(
            !text.contains("carol@example.org") && !text.contains("recording of you"),
            "{text}"
        );
    }
    // Only the org's owners and admins read requests.
    let (status, _) = send(
        &app,
        &Cred::None,
        Method::GET,
        &format!("{path}/{rid}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = Cred::Session(app.register("dr-other@example.com", "Others").await);
    let (status, _) = send(&app, &other, Method::GET, &format!("{path}/{rid}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Per IP: the quota (3 an hour here) is spent by two more; the next is refused and kept nowhere.
    let (status, _) = send(
        &app,
        &Cred::None,
        Method::POST,
        path,
        Some(submission(org, "dan@example.org")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let dan = token_in(&sink.wait_for("dan@example.org", MAIL_WAIT).await.body());
    let (status, _) = send(
        &app,
        &Cred::None,
        Method::POST,
        path,
        Some(submission(org, "erin@example.org")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, e) = send(
        &app,
        &Cred::None,
        Method::POST,
        path,
        Some(submission(org, "fay@example.org")),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{e}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM deletion_requests").await,
        3
    );

    // Unconfirmed past a day: gone with the next sweep, and its token finds nothing.
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    let report = app
        .core()
        .sweep_retention_at_for_tests(later)
        .await
        .unwrap();
    assert_eq!(report.requests_expired, 2);
    let (status, _) = send(
        &app,
        &Cred::None,
        Method::POST,
        &format!("{path}/status"),
        Some(json!({"token": dan})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM deletion_requests").await,
        1
    );
}

#[tokio::test]
async fn a_completion_a_crash_cut_off_is_finished_and_certified_once() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(with_mail(&sink)).await;
    let owner = app.register("dr-crash@example.com", "Crashers").await;
    let me = Cred::Session(owner.clone());
    let meeting = crate::certificates::meeting(&app, &me, "Standup").await;
    let segs = json!({"segments": [
        {"start_ms": 0, "end_ms": 900, "speaker": "Gus", "text": "mine"},
        {"start_ms": 1000, "end_ms": 1900, "speaker": "Hal", "text": "his"},
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
    // Ada is on the meeting's participant list with this address.
    let (status, s) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests",
        Some(submission(&owner.org_id, "ada@example.com")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{s}");
    let token = token_in(&sink.wait_for("ada@example.com", MAIL_WAIT).await.body());
    send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/confirm",
        Some(json!({"token": token})),
    )
    .await;
    let segments = count(&app, "SELECT COUNT(*) FROM transcript_segments").await;
    let uid = |s: &str| Uuid::parse_str(s.rsplit('_').next().unwrap()).unwrap();
    let rid = s["id"].as_str().unwrap();
    // A speaker the meeting does not have is refused even though the email matches a
    // participant-list entry: a typo must not close the request.
    let (status, e) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/deletion-requests/{rid}/complete"),
        Some(json!({"targets": [{"meeting_id": meeting, "speaker": "Gus Typo"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    app.core()
        .begin_deletion_request_completion_for_tests(
            uid(&owner.org_id),
            uid(rid),
            uid(&owner.user_id),
            vec![meetvault_core::requests::Target {
                meeting_id: meeting.parse().unwrap(),
                speaker: "Gus".into(),
            }],
        )
        .await
        .unwrap();
    // Cut off: nothing deleted yet; the request is reserved for this completion.
    let (_, st) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/status",
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(st["state"], "completing", "{st}");
    let (status, _) = send(
        &app,
        &me,
        Method::POST,
        &format!("/api/v1/deletion-requests/{rid}/reject"),
        Some(json!({"reason": "too late"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM transcript_segments").await,
        segments
    );
    assert_eq!(
        app.core()
            .finish_pending_deletions_for_tests()
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.core()
            .finish_pending_deletions_for_tests()
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM transcript_segments").await,
        segments - 1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM certificates WHERE subject_kind = 'participant'"
        )
        .await,
        1
    );
    let (_, st) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/status",
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(st["state"], "completed", "{st}");
    assert_eq!(st["certificate"]["verified"]["ed25519"], true, "{st}");
    let doc = &st["certificate"]["certificate"];
    assert_eq!(doc["actor"], "system");
    let n = |kind: &str| {
        doc["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap()["count"]
            .as_u64()
            .unwrap()
    };
    // Gus's line, and the participant-list entry with the requester's email.
    assert_eq!(
        (n("transcript_segments"), n("participant_records")),
        (1, 1),
        "{doc:#}"
    );
}

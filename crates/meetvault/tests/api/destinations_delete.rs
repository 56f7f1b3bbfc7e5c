//! Deleting from the customer's bucket (moto on loopback), where the customer lets meetvault:
//! `allow_delete` is proved with a probe write and delete when it is turned on; a meeting's
//! deletion then deletes exactly the objects meetvault wrote for it (an object the customer
//! keeps beside them stays) and certifies them as `customer_bucket_delete`; with it off, or
//! through a destination since removed, the objects stay and the certificate says why; a
//! participant's erasure deletes their recordings' objects and says the shared transcript
//! file stays; a deletion cut off mid-way is finished once, with the same counts.

use std::time::Duration;

use meetvault_test_support::{Cred, Session, TestApp, services, smtp::SmtpSink};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::deletion_requests::{MAIL_WAIT, count, send, submission, token_in, with_mail};
use crate::destinations::upload_wav;
use crate::webhooks::{WAIT, app_with, call, new_meeting};

/// A destination under a fresh prefix of the test bucket; its id.
async fn destination(app: &TestApp, owner: &Session, allow_delete: bool) -> (String, String) {
    let prefix = format!("del-{}", Uuid::new_v4().simple());
    let s3 = services::s3_config(&prefix).await;
    let (status, dest) = call(
        app,
        owner,
        Method::POST,
        "/api/v1/destinations",
        Some(json!({
            "name": "Archive",
            "endpoint": s3.endpoint.unwrap().as_str(),
            "bucket": s3.bucket,
            "prefix": prefix,
            "path_style": true,
            "access_key_id": "AKIADELETE0001",
            "secret_access_key": "delete-secret",
            "allow_delete": allow_delete,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");
    assert_eq!(dest["allow_delete"], allow_delete);
    (dest["id"].as_str().unwrap().to_owned(), prefix)
}

/// The keys under `prefix` in the test bucket.
async fn keys(prefix: &str) -> Vec<String> {
    let reader = meetvault_store::BlobStore::s3(&services::s3_config("").await, 8 << 20).unwrap();
    reader
        .list(prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect()
}

/// A meeting with a recording and two speakers' transcript, delivered to `dest`; its id.
async fn delivered_meeting(app: &TestApp, owner: &Session, dest: &str, prefix: &str) -> String {
    let meeting = new_meeting(app, owner, "Board").await;
    let wav = meetvault_test_support::media::wav_with_payload(&vec![5u8; 64_000]);
    upload_wav(app, owner, &meeting, &wav).await;
    let segments = json!({"segments": [
        {"start_ms": 0, "end_ms": 900, "speaker": "Ada", "text": "Mine."},
        {"start_ms": 1000, "end_ms": 1900, "speaker": "Bob", "text": "His."},
    ]});
    let (status, _) = call(
        app,
        owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/transcript"),
        Some(segments),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, queued) = call(
        app,
        owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({"destination_id": dest})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let job = queued["job_id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, j) = call(
            app,
            owner,
            Method::GET,
            &format!("/api/v1/jobs/{job}"),
            None,
        )
        .await;
        if j["state"] == "succeeded" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never delivered: {j:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut there = keys(&format!("{prefix}/meetings/{meeting}")).await;
    there.sort();
    assert_eq!(there.len(), 2, "{there:?}");
    meeting
}

/// The one entry of `kind` in the certificate's `deleted` or `retained` list (two of a kind
/// would count the same objects twice).
fn entry<'a>(cert: &'a Value, list: &str, kind: &str) -> Option<&'a Value> {
    let found: Vec<&Value> = cert["certificate"][list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == kind)
        .collect();
    assert!(found.len() <= 1, "{kind} twice in {list}: {cert:#}");
    found.first().copied()
}

async fn delete_meeting(app: &TestApp, owner: &Session, meeting: &str) -> Value {
    let (status, cert) = call(
        app,
        owner,
        Method::DELETE,
        &format!("/api/v1/meetings/{meeting}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cert}");
    assert_eq!(cert["verified"]["ok"], true, "{cert:#}");
    cert
}

#[tokio::test]
async fn a_meetings_deletion_deletes_what_meetvault_wrote_to_the_bucket_where_allowed() {
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("bucket-del@example.com", "Acme").await;

    // Allowed: the probe write and delete leave nothing; the meeting's objects go with it,
    // and a file the customer keeps beside them stays.
    let (allowed, prefix) = destination(&app, &owner, true).await;
    assert!(keys(&prefix).await.is_empty());
    let meeting = delivered_meeting(&app, &owner, &allowed, &prefix).await;
    let reader = meetvault_store::BlobStore::s3(&services::s3_config("").await, 8 << 20).unwrap();
    let theirs = format!("{prefix}/meetings/{meeting}/notes-the-customer-wrote.txt");
    reader
        .put(
            &meetvault_store::BlobKey::parse(&theirs).unwrap(),
            bytes::Bytes::from_static(b"ours"),
        )
        .await
        .unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM bucket_objects").await, 2);
    let cert = delete_meeting(&app, &owner, &meeting).await;
    let gone = entry(&cert, "deleted", "customer_bucket_objects").expect("deleted objects");
    assert_eq!(gone["count"], 2, "{cert:#}");
    assert_eq!(gone["method"], "customer_bucket_delete");
    assert!(gone["bytes"].as_u64().unwrap() > 64_000, "{gone}");
    assert!(entry(&cert, "retained", "customer_bucket_objects").is_none());
    assert_eq!(keys(&prefix).await, vec![theirs]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM bucket_objects").await, 0);

    // Not allowed: the objects stay, and the certificate says so.
    let (kept, prefix) = destination(&app, &owner, false).await;
    let meeting = delivered_meeting(&app, &owner, &kept, &prefix).await;
    let cert = delete_meeting(&app, &owner, &meeting).await;
    assert!(entry(&cert, "deleted", "customer_bucket_objects").is_none());
    let left = entry(&cert, "retained", "customer_bucket_objects").expect("retained");
    assert_eq!(left["count"], 2);
    assert!(
        left["reason"]
            .as_str()
            .unwrap()
            .contains("allow_delete is off"),
        "{left}"
    );
    assert_eq!(keys(&prefix).await.len(), 2);

    // Turned on later (a probe delete first), it reaches what was delivered before.
    let meeting = delivered_meeting(&app, &owner, &kept, &prefix).await;
    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/destinations/{kept}"),
        Some(json!({"allow_delete": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["allow_delete"], true);
    assert_eq!(v["is_default"], false);
    // Each flag changes alone: making it the default leaves allow_delete as it is.
    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/destinations/{kept}"),
        Some(json!({"is_default": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["is_default"].clone(), v["allow_delete"].clone()),
        (json!(true), json!(true))
    );
    let cert = delete_meeting(&app, &owner, &meeting).await;
    assert_eq!(
        entry(&cert, "deleted", "customer_bucket_objects").unwrap()["count"],
        2
    );
    assert!(
        keys(&format!("{prefix}/meetings/{meeting}"))
            .await
            .is_empty()
    );

    // A destination removed from meetvault: its credentials are gone, so are its objects'
    // reach; the certificate says so.
    let meeting = delivered_meeting(&app, &owner, &kept, &prefix).await;
    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/destinations/{kept}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cert = delete_meeting(&app, &owner, &meeting).await;
    let left = entry(&cert, "retained", "customer_bucket_objects").expect("retained");
    assert_eq!(left["count"], 2);
    assert!(
        left["reason"].as_str().unwrap().contains("since removed"),
        "{left}"
    );
    assert_eq!(keys(&format!("{prefix}/meetings/{meeting}")).await.len(), 2);

    // Bad input changes nothing.
    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/destinations/{allowed}"),
        Some(json!({"allow_delete": "yes"})),
    )
    .await;
    assert!(status.is_client_error(), "{v}");
    let (_, one) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/destinations/{allowed}"),
        None,
    )
    .await;
    assert_eq!(one["allow_delete"], true);
}

#[tokio::test]
async fn a_deletion_cut_off_before_the_bucket_is_finished_once_with_the_same_counts() {
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("bucket-crash@example.com", "Acme").await;
    let (dest, prefix) = destination(&app, &owner, true).await;
    let meeting = delivered_meeting(&app, &owner, &dest, &prefix).await;
    let uid = |s: &str| Uuid::parse_str(s.rsplit('_').next().unwrap()).unwrap();
    // The crash: the pending certificate written (with the objects to delete), nothing more.
    app.core()
        .begin_meeting_deletion_for_tests(uid(&owner.org_id), uid(&meeting))
        .await
        .unwrap();
    // The rerun finishes it: the objects go, certified once.
    let cert = delete_meeting(&app, &owner, &meeting).await;
    assert_eq!(
        entry(&cert, "deleted", "customer_bucket_objects").unwrap()["count"],
        2
    );
    assert!(keys(&prefix).await.is_empty());
    let again = delete_meeting(&app, &owner, &meeting).await;
    assert_eq!(again["certificate"], cert["certificate"]);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM certificates WHERE subject_kind = 'meeting'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_participants_erasure_deletes_their_recordings_from_the_bucket_and_names_the_shared_files()
 {
    let sink = SmtpSink::start().await;
    let mail = with_mail(&sink);
    let app = app_with(move |c| {
        c.transcription.auto = false;
        mail(c);
    })
    .await;
    let owner = app.register("bucket-dr@example.com", "Acme").await;
    let (dest, prefix) = destination(&app, &owner, true).await;
    let meeting = delivered_meeting(&app, &owner, &dest, &prefix).await;
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
    let (status, v) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/confirm",
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let rid = s["id"].as_str().unwrap();
    // The upload is a recording of every voice (mixed): erased with Ada by default.
    let (status, cert) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/deletion-requests/{rid}/complete"),
        Some(json!({"targets": [{"meeting_id": meeting, "speaker": "Ada"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cert}");
    let gone = entry(&cert, "deleted", "customer_bucket_objects").expect("deleted objects");
    assert_eq!(gone["count"], 1, "{cert:#}");
    assert_eq!(gone["method"], "customer_bucket_delete");
    let shared = entry(&cert, "retained", "customer_bucket_documents").expect("documents");
    assert_eq!(shared["count"], 1);
    assert!(
        shared["reason"].as_str().unwrap().contains("deliver"),
        "{shared}"
    );
    let left = keys(&format!("{prefix}/meetings/{meeting}")).await;
    assert_eq!(
        left,
        vec![format!("{prefix}/meetings/{meeting}/transcript.json")]
    );
}

#[tokio::test]
async fn a_recordings_window_of_days_reaches_the_buckets_copies_and_nothing_else() {
    let app = app_with(|c| {
        c.transcription.auto = false;
        c.retention = meetvault_config::RetentionConfig::default();
    })
    .await;
    let owner = app.register("bucket-ret@example.com", "Acme").await;
    let (status, v) = call(
        &app,
        &owner,
        Method::PUT,
        "/api/v1/retention",
        Some(json!({"recordings": 1, "transcripts": 30})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (dest, prefix) = destination(&app, &owner, true).await;
    let meeting = delivered_meeting(&app, &owner, &dest, &prefix).await;
    let now = chrono::Utc::now();
    let (_, schedule) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/meetings/{meeting}/retention"),
        None,
    )
    .await;
    let recordings = schedule["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == "recordings")
        .unwrap();
    assert_eq!(recordings["held"], true, "{schedule}");
    let at: chrono::DateTime<chrono::Utc> =
        recordings["delete_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (at - now - chrono::Duration::days(1)).num_seconds().abs() < 60,
        "{schedule}"
    );

    // Two days on: the recording goes here and from the bucket, certified together; the
    // transcript file stays.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + chrono::Duration::days(2))
        .await
        .unwrap();
    assert_eq!(
        (report.meetings_deleted, report.parts_purged),
        (0, 1),
        "{report:?}"
    );
    let (_, certs) = call(&app, &owner, Method::GET, "/api/v1/certificates", None).await;
    let cert = &certs["certificates"][0];
    assert_eq!(cert["certificate"]["part"], "recordings", "{cert:#}");
    assert_eq!(cert["verified"]["ok"], true);
    let gone = entry(cert, "deleted", "customer_bucket_objects").expect("bucket objects");
    assert_eq!(gone["count"], 1, "{cert:#}");
    let transcript = format!("{prefix}/meetings/{meeting}/transcript.json");
    assert_eq!(keys(&prefix).await, vec![transcript.clone()]);
    // A second sweep finds nothing more to do there.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + chrono::Duration::days(3))
        .await
        .unwrap();
    assert_eq!(
        (report.meetings_deleted, report.parts_purged),
        (0, 0),
        "{report:?}"
    );

    // With the transcript's window the meeting goes whole; retention does not reach the
    // transcript file in the bucket, and its certificate says so.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(report.meetings_deleted, 1, "{report:?}");
    let (_, certs) = call(&app, &owner, Method::GET, "/api/v1/certificates", None).await;
    let whole = certs["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["certificate"]["part"].is_null())
        .expect("the meeting's certificate");
    assert!(
        entry(whole, "deleted", "customer_bucket_objects").is_none(),
        "{whole:#}"
    );
    let left = entry(whole, "retained", "customer_bucket_objects").expect("retained");
    assert_eq!(left["count"], 1);
    assert!(
        left["reason"].as_str().unwrap().contains("retention"),
        "{left}"
    );
    assert_eq!(keys(&prefix).await, vec![transcript]);
}

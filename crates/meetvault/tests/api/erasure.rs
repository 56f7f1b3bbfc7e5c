//! Account erasure (`DELETE /api/v1/me`): after the password, every meeting the account owns
//! is deleted with a certificate of its own, the account and its audit personal data go, and
//! the account's certificate names the meetings' — it verifies; a member's erasure leaves the
//! org and the others' meetings whole; an org's last member takes the org with them (no row of
//! it is left, no blob); a last owner with other members is refused and nothing changes; a
//! wrong password changes nothing; an erasure cut off by a crash is finished once.

use meetvault_test_support::{Cred, PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::certificates::meeting;
use crate::encryption::{id_lit, meeting_uuid, uid, upload};

async fn erase(app: &TestApp, cred: &Cred, password: &str) -> (StatusCode, Value) {
    let r = app
        .send(
            cred,
            Method::DELETE,
            "/api/v1/me",
            Some(json!({"password": password})),
        )
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => {
            sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
        }
        meetvault_store::Database::Postgres(p) => {
            sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
        }
    }
}

async fn rows_of(app: &TestApp, table: &str, column: &str, id: Uuid) -> i64 {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM {table} WHERE {column} = {}",
            id_lit(app.db(), id)
        ),
    )
    .await
}

async fn public_certificate(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/certificates/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK, "{id}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_members_erasure_takes_their_meetings_and_account_and_leaves_the_org_whole() {
    let app = TestApp::spawn().await;
    let owner = app.register("erase-owner@example.com", "Erase").await;
    let member = app.user_with_role(&owner, "member").await;
    let (o, m) = (Cred::Session(owner.clone()), Cred::Session(member.clone()));
    let kept = meeting(&app, &o, "The owner's").await;
    let gone = [
        meeting(&app, &m, "The member's first").await,
        meeting(&app, &m, "The member's second").await,
    ];
    upload(
        &app,
        &m,
        &gone[0],
        meetvault_test_support::media::wav_with_payload(&[9u8; 8000]),
    )
    .await;
    let org = uid(&owner.org_id);
    let user = uid(&member.user_id);

    // A wrong password changes nothing.
    let (status, _) = erase(&app, &m, "not the password at all").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rows_of(&app, "users", "id", user).await, 1);
    assert_eq!(rows_of(&app, "meetings", "owner_id", user).await, 2);

    // The last owner of an org with other members is refused, and nothing changes.
    let (status, body) = erase(&app, &o, PASSWORD).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(rows_of(&app, "users", "id", uid(&owner.user_id)).await, 1);
    let r = app.send(&o, Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the owner's session still works"
    );

    let (status, cert) = erase(&app, &m, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{cert}");
    assert_eq!(cert["verified"]["ok"], true, "{cert}");
    let c = &cert["certificate"];
    assert_eq!(c["subject"]["kind"], "account");
    assert_eq!(c["subject"]["id"], member.user_id);
    assert_eq!(c["actor"], member.user_id);
    let includes = c["includes"].as_array().unwrap();
    assert_eq!(includes.len(), 2, "{c}");
    for id in includes {
        let meeting_cert = public_certificate(&app, id.as_str().unwrap()).await;
        assert_eq!(meeting_cert["verified"]["ok"], true);
        assert_eq!(meeting_cert["certificate"]["subject"]["kind"], "meeting");
        assert!(
            gone.contains(
                &meeting_cert["certificate"]["subject"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            )
        );
    }
    assert_eq!(
        public_certificate(&app, cert["id"].as_str().unwrap()).await["verified"]["ok"],
        true
    );

    // The account is gone: its session, its sign-in, its rows, its meetings and their blobs.
    let r = app.send(&m, Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.login(&member.email, PASSWORD).await;
    assert!(r.status().is_client_error());
    for (table, column) in [
        ("users", "id"),
        ("sessions", "user_id"),
        ("user_keys", "user_id"),
        ("workspace_members", "user_id"),
        ("meetings", "owner_id"),
    ] {
        assert_eq!(rows_of(&app, table, column, user).await, 0, "{table}");
    }
    for id in &gone {
        let mid = meeting_uuid(id);
        assert_eq!(
            rows_of(&app, "transcript_segments", "meeting_id", mid).await,
            0
        );
        assert_eq!(rows_of(&app, "meeting_keys", "meeting_id", mid).await, 0);
        let blobs = app
            .blobs()
            .list(&format!("orgs/{org}/meetings/{mid}"))
            .await
            .unwrap();
        assert!(blobs.is_empty(), "{blobs:?}");
    }
    // Its audit personal data is unreadable; the owner's meeting and the org are whole.
    assert!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM audit_subjects WHERE id = {} AND subject_key IS NOT NULL",
                id_lit(app.db(), user)
            )
        )
        .await
            == 0
    );
    let r = app
        .send(
            &o,
            Method::GET,
            &format!("/api/v1/meetings/{kept}/transcript"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let audit: Value = app
        .send(&o, Method::GET, "/api/v1/audit?action=account.erase", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["entries"][0]["seq"], c["audit_seq"]);
}

#[tokio::test]
async fn an_orgs_last_member_takes_the_org_with_them() {
    let app = TestApp::spawn().await;
    let s = app.register("erase-last@example.com", "Alone").await;
    let me = Cred::Session(s.clone());
    let id = meeting(&app, &me, "Mine").await;
    upload(
        &app,
        &me,
        &id,
        meetvault_test_support::media::wav_with_payload(&[3u8; 4000]),
    )
    .await;
    let org = uid(&s.org_id);
    let (status, cert) = erase(&app, &me, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{cert}");
    assert_eq!(cert["verified"]["ok"], true);
    let deleted: Vec<&str> = cert["certificate"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(deleted.contains(&"org"), "{deleted:?}");
    assert!(
        cert["certificate"]["keys_destroyed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["key"] == format!("org:{}", s.org_id)),
        "{cert}"
    );
    for table in [
        "orgs",
        "users",
        "workspaces",
        "org_keys",
        "user_keys",
        "meetings",
        "recordings",
        "transcript_segments",
        "outbox_events",
        "retention_policies",
    ] {
        let column = if table == "orgs" { "id" } else { "org_id" };
        assert_eq!(rows_of(&app, table, column, org).await, 0, "{table}");
    }
    assert!(
        app.blobs()
            .list(&format!("orgs/{org}"))
            .await
            .unwrap()
            .is_empty()
    );
    // The certificates outlive the org, publicly verifiable.
    let c = public_certificate(&app, cert["id"].as_str().unwrap()).await;
    assert_eq!(c["verified"]["ok"], true);
    let includes = c["certificate"]["includes"].as_array().unwrap();
    assert_eq!(includes.len(), 1);
    assert_eq!(
        public_certificate(&app, includes[0].as_str().unwrap()).await["verified"]["ok"],
        true
    );
}

#[tokio::test]
async fn an_erasure_a_crash_cut_off_is_finished_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("erase-crash@example.com", "Crash").await;
    let member = app.user_with_role(&owner, "member").await;
    let m = Cred::Session(member.clone());
    let id = meeting(&app, &m, "Half way").await;
    let (org, user) = (uid(&owner.org_id), uid(&member.user_id));
    app.core()
        .begin_account_erasure_for_tests(org, user)
        .await
        .unwrap();
    assert_eq!(
        rows_of(&app, "users", "id", user).await,
        1,
        "nothing erased yet"
    );
    assert_eq!(
        app.core()
            .finish_pending_deletions_for_tests()
            .await
            .unwrap(),
        1
    );
    assert_eq!(rows_of(&app, "users", "id", user).await, 0);
    assert_eq!(rows_of(&app, "meetings", "id", meeting_uuid(&id)).await, 0);
    assert_eq!(
        app.core()
            .finish_pending_deletions_for_tests()
            .await
            .unwrap(),
        0
    );
    let o = Cred::Session(owner.clone());
    let list: Value = app
        .send(&o, Method::GET, "/api/v1/certificates", None)
        .await
        .json()
        .await
        .unwrap();
    let certs = list["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "the account's and its meeting's: {list}");
    assert!(certs.iter().all(|c| c["verified"]["ok"] == true));
    let audit: Value = app
        .send(&o, Method::GET, "/api/v1/audit?action=account.erase", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_closed_org_is_shut_for_its_grace_period_can_reopen_and_is_erased_when_it_ends() {
    let app = TestApp::spawn_with(|c| c.retention.org_grace_days = 30).await;
    let owner = app.register("close-owner@example.com", "Closing").await;
    let admin = app.user_with_role(&owner, "admin").await;
    let (o, a) = (Cred::Session(owner.clone()), Cred::Session(admin.clone()));
    meeting(&app, &o, "The owner's").await;
    meeting(&app, &a, "The admin's").await;
    let org = uid(&owner.org_id);
    let close = |cred: &Cred, password: &str| {
        let (cred, password) = (cred.clone(), password.to_owned());
        let app = &app;
        async move {
            let r = app
                .send(
                    &cred,
                    Method::POST,
                    "/api/v1/org/close",
                    Some(json!({"password": password})),
                )
                .await;
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // Only an owner closes, with their password; nothing changes otherwise.
    let (status, body) = close(&a, PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = close(&o, "not the password at all").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.send(&a, Method::GET, "/api/v1/meetings", None).await;
    assert_eq!(r.status(), StatusCode::OK);

    let (status, body) = close(&o, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["closed"], true);
    let erase_at: chrono::DateTime<chrono::Utc> =
        body["erase_at"].as_str().unwrap().parse().unwrap();
    let in_30_days = chrono::Utc::now() + chrono::Duration::days(30);
    assert!((erase_at - in_30_days).num_seconds().abs() < 60, "{body}");

    // Closed: every permission answers org_closed with the date; the own account stays open.
    for cred in [&o, &a] {
        let r = app.send(cred, Method::GET, "/api/v1/meetings", None).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "org_closed", "{err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&erase_at.format("%Y-%m-%d").to_string()),
            "{err}"
        );
        let r = app.send(cred, Method::GET, "/api/v1/me", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let c: Value = app
            .send(cred, Method::GET, "/api/v1/org/closure", None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(c["closed"], true);
        assert_eq!(c["erase_at"], body["erase_at"]);
    }

    // An owner reopens; an admin cannot.
    let r = app.send(&a, Method::POST, "/api/v1/org/reopen", None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.send(&o, Method::POST, "/api/v1/org/reopen", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.send(&a, Method::GET, "/api/v1/meetings", None).await;
    assert_eq!(r.status(), StatusCode::OK, "open again");
    let r = app.send(&o, Method::POST, "/api/v1/org/reopen", None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Closed again: kept through the grace period, erased when it ends.
    let (status, _) = close(&o, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let now = chrono::Utc::now();
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + chrono::Duration::days(29))
        .await
        .unwrap();
    assert_eq!(report.orgs_erased, 0);
    assert_eq!(rows_of(&app, "orgs", "id", org).await, 1);
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(report.orgs_erased, 1);
    for table in [
        "users",
        "workspaces",
        "org_keys",
        "meetings",
        "transcript_segments",
    ] {
        assert_eq!(rows_of(&app, table, "org_id", org).await, 0, "{table}");
    }
    assert_eq!(rows_of(&app, "orgs", "id", org).await, 0);
    assert!(
        app.blobs()
            .list(&format!("orgs/{org}"))
            .await
            .unwrap()
            .is_empty()
    );
    let id = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM certificates WHERE subject_kind = 'org' AND state = 'issued' AND subject_id = {}",
            id_lit(app.db(), org)
        ),
    )
    .await;
    assert_eq!(id, 1, "one certificate for the org");
    let sql = format!(
        "SELECT id FROM certificates WHERE subject_kind = 'org' AND subject_id = {}",
        id_lit(app.db(), org)
    );
    let cert_id: Uuid = match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => {
            sqlx::query_scalar(&sql).fetch_one(p).await.unwrap()
        }
        meetvault_store::Database::Postgres(p) => {
            sqlx::query_scalar(&sql).fetch_one(p).await.unwrap()
        }
    };
    let cert = public_certificate(&app, &format!("crt_{}", cert_id.simple())).await;
    assert_eq!(cert["verified"]["ok"], true, "{cert}");
    assert_eq!(cert["certificate"]["subject"]["kind"], "org");
    assert_eq!(cert["certificate"]["actor"], "system");
    let includes = cert["certificate"]["includes"].as_array().unwrap();
    assert_eq!(includes.len(), 2);
    for c in includes {
        assert_eq!(
            public_certificate(&app, c.as_str().unwrap()).await["verified"]["ok"],
            true
        );
    }
    let r = app.login(&owner.email, PASSWORD).await;
    assert!(r.status().is_client_error());
    // A second sweep has nothing left to erase.
    let report = app
        .core()
        .sweep_retention_at_for_tests(now + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(report.orgs_erased, 0);
}

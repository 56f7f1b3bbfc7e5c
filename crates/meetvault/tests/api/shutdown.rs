//! SIGTERM stops the server gracefully: new connections are refused, a request already in
//! flight still gets its full answer, and the process exits 0.

use std::time::Duration;

use meetvault_config::DatabaseUrl;
use sqlx::Connection;

use crate::helpers::{ServerProcess, database_env};

/// Holds a lock that makes `GET /api/v1/instance` wait, until dropped or released.
enum Lock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn lock_instance_table(url: &str) -> Lock {
    match DatabaseUrl::parse(url).unwrap().kind() {
        meetvault_config::DatabaseKind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql("BEGIN EXCLUSIVE")
                .execute(&mut c)
                .await
                .unwrap();
            Lock::Sqlite(c)
        }
        meetvault_config::DatabaseKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql("BEGIN; LOCK TABLE instance IN ACCESS EXCLUSIVE MODE")
                .execute(&mut c)
                .await
                .unwrap();
            Lock::Postgres(c)
        }
    }
}

async fn release(lock: Lock) {
    match lock {
        Lock::Sqlite(mut c) => {
            sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
        }
        Lock::Postgres(mut c) => {
            sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
        }
    }
}

// Multi-threaded: the helper's log polling blocks a thread while the request task runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("MEETVAULT_DATABASE__URL", &db),
            ("MEETVAULT_LOG__LEVEL", "debug"),
        ],
    );
    let lock = lock_instance_table(&db).await;

    // The first request creates the instance row, so it waits on the lock inside the handler
    // (a write on SQLite; any access on PostgreSQL under ACCESS EXCLUSIVE).
    let url = server.url("/api/v1/instance");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await });
    server.wait_for_log(
        |l| l.contains("request headers") && l.contains("/api/v1/instance"),
        Duration::from_secs(10),
    );

    server.signal("TERM");
    server.wait_for_log(
        |l| l.contains("finishing in-flight requests"),
        Duration::from_secs(10),
    );
    // The listener is closed: a new request cannot get in.
    let refused = reqwest::Client::new()
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "a new request was served after SIGTERM");

    release(lock).await;
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got an answer");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["instance_id"].as_str().unwrap().starts_with("ins_"));

    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    assert!(server.log().contains("\"shut down\""), "{}", server.log());
}

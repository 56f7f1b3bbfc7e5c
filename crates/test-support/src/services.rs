//! The real services the suite runs against, all on loopback, chosen by environment:
//! `TEST_DATABASE=sqlite|postgres` with `TEST_POSTGRES_URL`, and `TEST_BLOBS=filesystem|s3` with
//! `TEST_S3_ENDPOINT`; Redis at `TEST_REDIS_URL`. `scripts/test` starts PostgreSQL, the S3 server
//! and Redis and sets these. A test that needs a service that is not configured fails with the
//! reason; it never skips.

use meetvault_config::{DatabaseUrl, S3Config, Secret};
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobBackendChoice {
    Filesystem,
    S3,
}

pub const S3_BUCKET: &str = "meetvault-test";

pub fn database_backend() -> Backend {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TEST_DATABASE={other}: use sqlite or postgres"),
    }
}

pub fn blob_backend() -> BlobBackendChoice {
    match std::env::var("TEST_BLOBS").as_deref() {
        Ok("s3") => BlobBackendChoice::S3,
        Ok("filesystem") | Err(_) => BlobBackendChoice::Filesystem,
        Ok(other) => panic!("TEST_BLOBS={other}: use filesystem or s3"),
    }
}

fn required(var: &str, what: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set, so this test cannot reach {what}. Run the suite with `scripts/test` \
             (it installs and starts PostgreSQL, the S3 server and Redis on loopback), or start \
             them with `scripts/services.sh start` and export the variables it prints."
        )
    })
}

/// The admin URL of the loopback PostgreSQL server.
pub fn postgres_admin_url() -> String {
    required("TEST_POSTGRES_URL", "PostgreSQL")
}

/// Creates an empty database and returns its URL.
pub async fn fresh_postgres_database() -> DatabaseUrl {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at TEST_POSTGRES_URL: {e}"));
    let name = format!("mv_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    let mut url = Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    DatabaseUrl::parse(url.as_str()).unwrap()
}

/// The loopback S3 server's endpoint.
pub fn s3_endpoint() -> Url {
    let raw = required("TEST_S3_ENDPOINT", "the S3 server");
    let url = Url::parse(&raw).unwrap_or_else(|e| panic!("TEST_S3_ENDPOINT={raw}: {e}"));
    let host = url.host_str().unwrap_or_default();
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "TEST_S3_ENDPOINT must be on loopback, not {host}"
    );
    url
}

/// The loopback Redis server's URL, `redis://127.0.0.1:PORT`. Tests share the server, so each
/// uses keys of its own (a UUID in the key) rather than a database of its own.
pub fn redis_url() -> String {
    let raw = required("TEST_REDIS_URL", "Redis");
    let url = Url::parse(&raw).unwrap_or_else(|e| panic!("TEST_REDIS_URL={raw}: {e}"));
    let host = url.host_str().unwrap_or_default();
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "TEST_REDIS_URL must be on loopback, not {host}"
    );
    raw
}

/// An S3 configuration for the test bucket under a unique `prefix`, creating the bucket if needed.
pub async fn s3_config(prefix: &str) -> S3Config {
    let endpoint = s3_endpoint();
    ensure_bucket(&endpoint).await;
    S3Config {
        bucket: S3_BUCKET.to_owned(),
        endpoint: Some(endpoint),
        region: "us-east-1".to_owned(),
        prefix: prefix.to_owned(),
        access_key_id: Some(Secret::new("testing")),
        secret_access_key: Some(Secret::new("testing")),
        path_style: true,
        allow_http: true,
    }
}

async fn ensure_bucket(endpoint: &Url) {
    let url = endpoint.join(S3_BUCKET).unwrap();
    let response = reqwest::Client::new()
        .put(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the S3 server at TEST_S3_ENDPOINT: {e}"));
    let status = response.status();
    // 409 BucketAlreadyOwnedByYou: another test made it first.
    assert!(
        status.is_success() || status == reqwest::StatusCode::CONFLICT,
        "creating the test bucket failed: {status}"
    );
}

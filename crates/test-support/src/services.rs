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

/// A moto S3 server of the test's own, on a free loopback port, started with `env` (e.g.
/// `INITIAL_NO_AUTH_ACTION_COUNT`, which turns SigV4 signature checks on after that many free
/// requests); killed when dropped. moto comes from the tools virtualenv scripts/deps.sh makes.
#[derive(Debug)]
pub struct PrivateMoto {
    child: std::process::Child,
    pub endpoint: Url,
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PrivateMoto {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let tools = std::env::var_os("MEETVAULT_TOOLS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                    .join(".cache/meetvault-tools")
            });
        let bin = tools.join("venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: scripts/deps.sh installs moto",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = std::process::Command::new(bin);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("starting moto_server");
        let endpoint = Url::parse(&format!("http://127.0.0.1:{port}")).expect("a URL");
        let ready = endpoint.join("moto-api/").expect("a URL");
        for _ in 0..300 {
            if reqwest::get(ready.clone()).await.is_ok() {
                return Self { child, endpoint };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("moto_server did not answer on 127.0.0.1:{port} within 15 s");
    }

    /// One IAM query action, unsigned (one of the free requests): its XML answer.
    pub async fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut form: Vec<(&str, &str)> = vec![("Version", "2010-05-08")];
        form.extend_from_slice(params);
        let response = reqwest::Client::new()
            .post(self.endpoint.clone())
            // moto routes by the service named in the credential scope.
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=bootstrap/20260101/us-east-1/iam/aws4_request, \
                 SignedHeaders=host, Signature=00",
            )
            .form(&form)
            .send()
            .await
            .expect("moto answers");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "IAM {params:?}: {status} {body}");
        body
    }
}

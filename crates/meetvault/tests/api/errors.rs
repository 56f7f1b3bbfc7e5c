//! One error shape for the whole API, `{"error": {"code", "message", "request_id"}}`: precise for
//! 4xx, and for 5xx nothing but a fixed sentence and the request id.

use meetvault_test_support::{TestApp, execute};
use serde_json::Value;

async fn error_body(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let header_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    let error = body["error"].clone();
    assert!(
        error["code"].is_string() && error["message"].is_string(),
        "{body}"
    );
    assert_eq!(
        error["request_id"],
        header_id.as_str(),
        "body and header ids agree"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only the `error` key: {body}"
    );
    (status, header_id, error)
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = TestApp::spawn().await;
    let (status, _, error) = error_body(app.get("/api/v1/nothing-here").await).await;
    assert_eq!(status, 404);
    assert_eq!(error["code"], "not_found");
}

#[tokio::test]
async fn wrong_methods_get_a_json_405_with_allow() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/api/v1/instance"))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
    let (status, _, error) = error_body(r).await;
    assert_eq!(status, 405);
    assert_eq!(error["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_callers_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    let (_, id, _) = error_body(r).await;
    assert_eq!(id, "trace-abc-123");

    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "bad id with spaces");
    assert_eq!(id.len(), 36);
}

#[tokio::test]
async fn a_forced_internal_error_leaks_nothing() {
    let app = TestApp::spawn().await;
    // Break the database under the running server: the next query fails inside the driver.
    execute(app.db(), "DROP TABLE instance").await;
    let r = app.get("/api/v1/instance").await;
    let raw_headers = format!("{:?}", r.headers());
    let (status, id, error) = error_body(r).await;
    assert_eq!(status, 500);
    assert_eq!(error["code"], "internal");
    assert_eq!(error["message"], "Something went wrong on our side");
    let text = error.to_string().to_lowercase() + &raw_headers.to_lowercase();
    for leak in [
        "instance", "table", "relation", "sqlx", "sqlite", "postgres", "select", "insert", "/tmp",
        ".db", "panicked", "error:", "database",
    ] {
        assert!(!text.contains(leak), "500 leaked {leak:?}: {text}");
    }
    assert!(!id.is_empty());
}

//! Every response carries the security headers: successes, client errors, server errors,
//! 404s, 405s and redirects alike.

use meetvault_test_support::{TestApp, execute};

const EXPECTED: &[(&str, &str)] = &[
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), geolocation=(), microphone=(self)",
    ),
];

pub fn assert_security_headers(response: &reqwest::Response) {
    let headers = response.headers();
    for (name, value) in EXPECTED {
        assert_eq!(
            headers.get(*name).and_then(|v| v.to_str().ok()),
            Some(*value),
            "{name} on {} {}",
            response.status(),
            response.url()
        );
    }
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no CSP on {}", response.url()));
    // No answer is a page: nothing may load or run from one, not even from our own origin.
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert!(
        !csp.contains("'self'") && !csp.contains("unsafe-") && !csp.contains("-src *"),
        "CSP too loose: {csp}"
    );
    assert!(
        headers.get("x-request-id").is_some(),
        "x-request-id on {}",
        response.url()
    );
}

#[tokio::test]
async fn security_headers_are_on_success_responses() {
    let app = TestApp::spawn().await;
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/instance",
    ] {
        let r = app.get(path).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert_security_headers(&r);
    }
}

#[tokio::test]
async fn security_headers_are_on_404_405_and_500_responses() {
    let app = TestApp::spawn().await;
    let r = app.get("/no/such/route").await;
    assert_eq!(r.status(), 404);
    assert_security_headers(&r);

    let r = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_security_headers(&r);

    let r = app.get("/.well-known/security.txt").await;
    assert_eq!(r.status(), 404, "no contact configured");
    assert_security_headers(&r);

    execute(app.db(), "DROP TABLE instance").await;
    let r = app.get("/api/v1/instance").await;
    assert_eq!(r.status(), 500);
    assert_security_headers(&r);
}

#[tokio::test]
async fn api_responses_are_not_cached() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/v1/instance").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
}

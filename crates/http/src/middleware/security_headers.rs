//! The security headers on every response, errors and redirects included, and the stricter set
//! for responses that carry bytes or text a user supplied (recordings, exports): those are
//! always downloads, never documents a browser renders or runs in our origin.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header, response};
use axum::middleware::Next;
use axum::response::Response;

/// Every answer is JSON, text or a download, never a page: nothing may load, run, frame it or
/// submit from it.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// For user-supplied bytes: the above, and a `sandbox` that gives a document rendered anyway
/// (an old browser ignoring `attachment`) a unique opaque origin with scripts disabled, so it
/// cannot act with the viewer's session.
pub const USER_CONTENT_POLICY: &str =
    "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// For meetvault's few pages (the participant deletion-request form): nothing loads or runs
/// but the page's own stylesheet (by hash), and its forms post only back here.
pub const FORM_PAGE_POLICY: &str = "default-src 'none'; style-src 'sha256-yLPCUZgj0G1kIlBcJ1NdtevtqIQeK2FgUeKFhSycIno='; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The dashboard pages' Content-Security-Policy: scripts, styles, media and API calls from
/// this origin only; no inline script or style, no `eval`, no frames, forms post only here.
pub const DASHBOARD_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub const HEADERS: &[(&str, &str)] = &[
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), geolocation=(), microphone=(self)",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A route may set one of two policies of its own: the user-content one, which is
    // stricter, or a form page's, which lets its own stylesheet load and its forms post here.
    let user_content = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .is_some_and(|v| {
            v == USER_CONTENT_POLICY || v == FORM_PAGE_POLICY || v == DASHBOARD_POLICY
        });
    // A widget's answer to an allowed origin's page may be read by that page.
    let cross_origin = headers
        .get("cross-origin-resource-policy")
        .is_some_and(|v| v == "cross-origin");
    for (name, value) in HEADERS {
        if user_content && *name == "content-security-policy" {
            continue;
        }
        if cross_origin && *name == "cross-origin-resource-policy" {
            continue;
        }
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    // API answers carry meeting data: no shared or browser cache keeps them unless a route says so.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Headers for a response carrying user-supplied bytes or text: `content_type` (which the
/// caller must have chosen from a fixed list, never taken from the user), `nosniff`, the
/// sandboxing policy, and `Content-Disposition: attachment` under `file_name` so a browser saves
/// it instead of rendering it.
pub fn user_content(
    builder: response::Builder,
    content_type: &'static str,
    file_name: &str,
) -> response::Builder {
    // The name is ours (ids and fixed extensions); keep it a plain token all the same.
    let file_name: String = file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    builder
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, USER_CONTENT_POLICY)
}

//! The web dashboard, served by meetvault itself at `/` (same origin as the API).
//!
//! Server-rendered pages with a little JavaScript (ARCHITECTURE.md says why): each page is
//! built here from core's answers, through the same `Auth<…>` proofs and wire types as the API
//! routes, so a page never shows what the API would not. Every change a page makes goes
//! through the JSON API itself: its forms name the API route (`data-api`) and the one script,
//! `assets/app.js`, sends them as JSON (same origin, so the session cookie and the `Origin`
//! header pass the CSRF rule). The script also streams uploads with progress, keeps the
//! transcript in step with the audio player, and follows the meeting's event stream (SSE).
//!
//! Assets are compiled into the binary and served from `/assets/`; the pages' policy,
//! [`DASHBOARD_POLICY`], lets only those load (no inline script or style, no `eval`, no
//! other host).

mod account;
mod account_more;
pub mod assets;
mod audit;
mod bots;
mod integrations;
mod meeting_tools;
mod meetings;
mod org_admin;
mod organization;
mod privacy_requests;
mod signin;
mod widgets;
mod workspace;

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use meetvault_core::access::proof::Proof;
use meetvault_core::access::{Principal, Scope};

use crate::ApiError;
use crate::auth::{Caller, denied_reason};
use crate::routes::privacy::esc;
use crate::state::AppState;

pub use crate::middleware::security_headers::DASHBOARD_POLICY;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .merge(assets::routes())
        .merge(signin::routes())
        .merge(meetings::routes())
        .merge(account::routes())
        .merge(audit::routes())
        .merge(bots::routes())
        .merge(organization::routes())
        .merge(workspace::routes())
        .merge(privacy_requests::routes())
        .merge(integrations::routes())
        .merge(widgets::routes())
}

async fn home() -> Redirect {
    Redirect::to("/meetings")
}

/// The main navigation: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/meetings", "Meetings"),
    ("/bots", "Bots"),
    ("/audit", "Audit log"),
    ("/settings", "Settings"),
];

/// A page for a signed-in user: the header with the navigation (`current` marked) and sign-out,
/// then `body` under an `<h1>` of `title`.
pub(crate) fn shell(current: &str, title: &str, body: &str) -> Response {
    let mut nav = String::new();
    for (path, label) in NAV {
        let here = if *path == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!("<li><a href=\"{path}\"{here}>{label}</a></li>"));
    }
    let header = format!(
        "<header class=\"top\"><a class=\"brand\" href=\"/meetings\">meetvault</a>\
         <nav aria-label=\"Main\"><ul>{nav}</ul></nav>\
         <form data-api=\"/api/v1/auth/logout\" data-next=\"/login\">\
         <button type=\"submit\" class=\"link\">Sign out</button></form></header>"
    );
    document(StatusCode::OK, title, &header, body)
}

/// A page with no navigation (sign-in, sign-up, errors for the signed-out).
pub(crate) fn bare(status: StatusCode, title: &str, body: &str) -> Response {
    let header = "<header class=\"top\"><a class=\"brand\" href=\"/\">meetvault</a></header>";
    document(status, title, header, body)
}

fn document(status: StatusCode, title: &str, header: &str, body: &str) -> Response {
    let title = esc(title);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · meetvault</title>\
         <link rel=\"stylesheet\" href=\"{css}\"><script src=\"{js}\" defer></script></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>{header}\
         <main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>\n{body}\n</main></body></html>\n",
        css = assets::CSS_PATH,
        js = assets::JS_PATH,
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DASHBOARD_POLICY),
        ],
        html,
    )
        .into_response()
}

/// Why a page could not be shown: the visitor must sign in first (sent to `/login`, then back),
/// or the API's own refusal, shown as a page.
#[derive(Debug)]
pub(crate) enum PageError {
    SignIn(String),
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<meetvault_core::CoreError> for PageError {
    fn from(e: meetvault_core::CoreError) -> Self {
        PageError::Api(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn(next) => {
                Redirect::to(&format!("/login?next={}", percent(&next))).into_response()
            }
            PageError::Api(e) => {
                let (status, code) = e.status_and_code();
                let message = if status.is_server_error() {
                    // The detail is in the server's log (ApiError's own rendering logs it).
                    tracing::error!(error = %e, "dashboard page failed");
                    "Something went wrong on the server. Try again; if it keeps happening, \
                     the operator will find the detail in the server log."
                        .to_owned()
                } else {
                    e.to_string()
                };
                bare(
                    status,
                    "This page cannot be shown",
                    &format!(
                        "<p class=\"error\" role=\"alert\">{}</p><p class=\"note\">({})</p>\
                         <p><a href=\"/meetings\">Back to the meetings</a></p>",
                        esc(&message),
                        esc(code)
                    ),
                )
            }
        }
    }
}

/// The signed-in caller, or: not signed in (or the session ended) → the sign-in page, which
/// comes back to `uri`.
pub(crate) fn gate(caller: Result<Caller, ApiError>, uri: &Uri) -> Result<Principal, PageError> {
    match caller {
        Ok(Caller(principal)) => Ok(principal),
        Err(ApiError::Unauthenticated | ApiError::Unauthorized) => {
            let next = uri.path_and_query().map_or("/", |p| p.as_str());
            Err(PageError::SignIn(next.to_owned()))
        }
        Err(e) => Err(PageError::Api(e)),
    }
}

/// The caller's scope for the page's proof `P`; a refusal is audited (as the API's are) and
/// shown as a page.
pub(crate) async fn need<P: Proof>(
    app: &AppState,
    principal: &Principal,
    uri: &Uri,
) -> Result<Scope<P>, PageError> {
    match principal.authorize::<P>() {
        Ok(scope) => Ok(scope),
        Err(denied) => {
            app.core
                .audit_log()
                .refused_request(
                    Some(principal),
                    principal.meta(),
                    denied_reason(&denied),
                    format!("GET {}", uri.path()),
                )
                .await?;
            Err(PageError::Api(denied.into()))
        }
    }
}

/// A `return_to`/`next` path this site may send a browser to: a local absolute path only
/// (`/…`, never `//host` or `/\host`), else `/meetings`.
pub(crate) fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/meetings",
    }
}

/// Percent-encodes a query value.
pub(crate) fn percent(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A table that scrolls sideways on a narrow screen (and can be reached by keyboard to do so):
/// `headers` as column heads (an empty one is an action column, named for screen readers only),
/// `rows` its `<tr>`s.
pub(crate) fn table(label: &str, headers: &[&str], rows: &str) -> String {
    let mut head = String::new();
    for h in headers {
        if h.is_empty() {
            head.push_str("<th scope=\"col\"><span class=\"visually-hidden\">Action</span></th>");
        } else {
            head.push_str(&format!("<th scope=\"col\">{h}</th>"));
        }
    }
    format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{} (scrolls sideways)\"><table>\
         <thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>",
        esc(label)
    )
}

/// A one-button form: `label` sends `method` to `path` (after `confirm`, if any), then goes to
/// `next` (`reload`, or a path).
pub(crate) fn button(
    path: &str,
    method: &str,
    label: &str,
    next: &str,
    confirm: Option<&str>,
) -> String {
    let confirm = confirm
        .map(|c| format!(" data-confirm=\"{}\"", esc(c)))
        .unwrap_or_default();
    format!(
        "<form class=\"inline\" data-api=\"{path}\" data-method=\"{method}\" data-next=\"{next}\"{confirm}>\
         <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\">{label}</button></form>"
    )
}

/// A select's options, `(value, label)` each, the one whose value is `selected` chosen.
pub(crate) fn options(choices: &[(&str, &str)], selected: &str) -> String {
    let mut out = String::new();
    for (value, label) in choices {
        let mark = if *value == selected { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{value}\"{mark}>{label}</option>"));
    }
    out
}

/// `v[k]` as text ("" when absent or not a string): a field of an API answer read as JSON.
pub(crate) fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// Percent-encodes one path segment (everything but RFC 3986's unreserved characters).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A duration in milliseconds as `m:ss` or `h:mm:ss`.
pub(crate) fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A time as people read it: `2026-12-05 09:30 UTC`.
pub(crate) fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path(Some("/meetings/mtg_1?x=1")),
            "/meetings/mtg_1?x=1"
        );
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), "/meetings", "{bad:?}");
        }
        assert_eq!(local_path(None), "/meetings");
    }

    #[test]
    fn path_segments_are_encoded_whole() {
        assert_eq!(segment("abc_1-2.3~"), "abc_1-2.3~");
        assert_eq!(segment("a b/c+d=é"), "a%20b%2Fc%2Bd%3D%C3%A9");
    }

    #[test]
    fn clocks_read_as_people_write_them() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(61_500), "1:01");
        assert_eq!(clock(3_723_000), "1:02:03");
        assert_eq!(clock(-5), "0:00");
    }
}

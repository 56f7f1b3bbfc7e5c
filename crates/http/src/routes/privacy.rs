//! The participant deletion-request pages, served by meetvault for people with no account:
//! `GET /privacy/deletion-request` (the form; `?org=org_…` names the organization), its
//! `POST` (takes the request, as `POST /api/v1/deletion-requests` does), `GET
//! /privacy/deletion-request/status?token=…` (the emailed link: the request's state, a
//! Confirm button while unconfirmed, the certificate once completed) and `POST
//! /privacy/deletion-request/confirm`.
//!
//! Plain HTML, no script: the strict [`FORM_PAGE_POLICY`] lets only the page's own stylesheet
//! (by hash) load and its forms post back here. Everything shown is escaped. Confirming takes
//! a button press (a POST), so a mail scanner fetching the link confirms nothing.

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use meetvault_core::CoreError;
use meetvault_core::ids::OrgId;
use meetvault_core::requests::{NewDeletionRequest, RequestState, RequesterView};
use serde::Deserialize;

use super::Meta;
use crate::middleware::security_headers::FORM_PAGE_POLICY;
use crate::state::AppState;

/// The pages' stylesheet; [`FORM_PAGE_POLICY`] allows exactly it, by its SHA-256.
pub const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}label{display:block;margin-top:1rem;font-weight:600}input,textarea{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit}.note{color:#555}.error{color:#a00}dt{font-weight:600}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy/deletion-request", get(form).post(submit))
        .route("/privacy/deletion-request/status", get(status))
        .route("/privacy/deletion-request/confirm", post(confirm))
}

/// HTML-escapes text for an element or a quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n{body}\n</body></html>\n",
        esc(title),
        esc(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, FORM_PAGE_POLICY),
        ],
        html,
    )
        .into_response()
}

/// An error as a page: the status an API caller would get, the message a person can act on.
fn error_page(e: &CoreError) -> Response {
    let (status, message) = match e {
        CoreError::Invalid { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Please check the {field}: it {message}."),
        ),
        CoreError::NotFound(what) => (
            StatusCode::NOT_FOUND,
            format!("No such {what}. Check the link you were given."),
        ),
        CoreError::Gone(m) => (StatusCode::GONE, format!("{m}.")),
        CoreError::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many requests from here or for this email address. Try again in {} minutes.",
                retry_after_secs.div_ceil(60).max(1)
            ),
        ),
        CoreError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We could not send the email just now, so nothing was kept. Please try again later."
                .into(),
        ),
        other => {
            tracing::error!(error = %other, "a deletion-request page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again later.".into(),
            )
        }
    };
    page(
        status,
        "Deletion request",
        &format!("<p class=\"error\">{}</p>", esc(&message)),
    )
}

/// A form posted from another site's page (a browser says so in `Sec-Fetch-Site`): refused,
/// so no page elsewhere can make its visitors' browsers send requests in their name.
fn cross_site(headers: &HeaderMap) -> Option<Response> {
    let site = headers.get("sec-fetch-site")?.to_str().ok()?;
    (site == "cross-site").then(|| {
        page(
            StatusCode::FORBIDDEN,
            "Deletion request",
            "<p class=\"error\">This form can only be sent from this server's own page. Open \
             the link you were given and fill it in there.</p>",
        )
    })
}

#[derive(Debug, Deserialize)]
pub struct FormQuery {
    org: Option<String>,
}

async fn form(Query(q): Query<FormQuery>) -> Response {
    let org = q.org.unwrap_or_default();
    page(
        StatusCode::OK,
        "Ask for your data to be deleted",
        &format!(
            "<p>If a meeting bot recorded you, you can ask the organization that sent it to erase \
             what it holds of you: your lines in the transcript, your voice, your chat messages, \
             your name and email. You need no account. We will email you a link to confirm the \
             request, and later the outcome with a signed deletion certificate.</p>\n\
             <form method=\"post\" action=\"/privacy/deletion-request\">\n\
             <input type=\"hidden\" name=\"org\" value=\"{}\">\n\
             <label for=\"name\">Your name, as shown in the meeting</label>\
             <input id=\"name\" name=\"name\" required maxlength=\"200\" autocomplete=\"name\">\n\
             <label for=\"email\">Your email address</label>\
             <input id=\"email\" name=\"email\" type=\"email\" required maxlength=\"254\" autocomplete=\"email\">\n\
             <label for=\"meeting\">The meeting: its link, or its date and time</label>\
             <input id=\"meeting\" name=\"meeting\" required maxlength=\"500\">\n\
             <label for=\"message\">Anything else (optional)</label>\
             <textarea id=\"message\" name=\"message\" rows=\"4\" maxlength=\"4000\"></textarea>\n\
             <button type=\"submit\">Send request</button>\n</form>\n\
             <p class=\"note\">Your details are stored encrypted and shown only to the \
             organization's owners and administrators.</p>",
            esc(&org)
        ),
    )
}

#[derive(Debug, Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    org: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    meeting: String,
    #[serde(default)]
    message: String,
}

async fn submit(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    form: Result<Form<SubmitForm>, FormRejection>,
) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let Ok(Form(f)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            "Deletion request",
            "<p class=\"error\">The form could not be read. Please fill it in again.</p>",
        );
    };
    let org_id = match f.org.trim() {
        "" => None,
        raw => match raw.parse::<OrgId>() {
            Ok(id) => Some(id),
            Err(_) => return error_page(&CoreError::NotFound("organization")),
        },
    };
    let taken = app
        .core
        .deletion_requests()
        .submit(NewDeletionRequest {
            org_id,
            name: f.name,
            email: f.email,
            meeting: f.meeting,
            message: Some(f.message),
            ip: meta.ip,
        })
        .await;
    match taken {
        Ok(_) => page(
            StatusCode::ACCEPTED,
            "Check your email",
            "<p>We sent you a link. Open it within 24 hours and press Confirm; until then \
             nothing happens. The same link later shows the organization's decision.</p>",
        ),
        Err(e) => error_page(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn status(State(app): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    match app.core.deletion_requests().status(&q.token).await {
        Ok(v) => status_page(&v, &q.token),
        Err(e) => error_page(&e),
    }
}

async fn confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenQuery>, FormRejection>,
) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let Ok(Form(f)) = form else {
        return error_page(&CoreError::NotFound("deletion request"));
    };
    match app.core.deletion_requests().confirm(&f.token).await {
        Ok(v) => status_page(&v, &f.token),
        Err(e) => error_page(&e),
    }
}

fn status_page(v: &RequesterView, token: &str) -> Response {
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut body = format!(
        "<dl><dt>Organization</dt><dd>{}</dd><dt>Request</dt><dd>{}</dd><dt>Sent</dt><dd>{}</dd></dl>\n",
        esc(&v.org_name),
        esc(&v.id.to_string()),
        when(v.created_at)
    );
    match v.state {
        RequestState::Unconfirmed => body.push_str(&format!(
            "<p>Press Confirm to send your request to {}{}.</p>\n\
             <form method=\"post\" action=\"/privacy/deletion-request/confirm\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Confirm</button></form>",
            esc(&v.org_name),
            v.expires_at
                .map(|t| format!(" (before {})", when(t)))
                .unwrap_or_default(),
            esc(token)
        )),
        RequestState::Open | RequestState::Completing => body.push_str(
            "<p>Confirmed. The organization's owners will review your request; this page and \
             an email will tell you what they decide.</p>",
        ),
        RequestState::Rejected => body.push_str(&format!(
            "<p>The organization declined your request.</p><p>Their reason: {}</p>",
            esc(v.decision.as_deref().unwrap_or(""))
        )),
        RequestState::Completed => {
            body.push_str("<p>Done: what the organization's meetings held of you was deleted.</p>");
            if let Some(note) = &v.decision {
                body.push_str(&format!("<p>Their note: {}</p>", esc(note)));
            }
            match &v.certificate {
                Some(c) => body.push_str(&format!(
                    "<p>The signed deletion certificate, which anyone can verify: \
                     <a href=\"/api/certificates/{id}\">{id}</a>.</p>",
                    id = esc(&c.id.to_string())
                )),
                None => {
                    body.push_str("<p>Its certificate is being issued; look again shortly.</p>")
                }
            }
        }
    }
    page(StatusCode::OK, "Your deletion request", &body)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_pages_stylesheet() {
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(STYLE.as_bytes()));
        assert!(
            FORM_PAGE_POLICY.contains(&format!("'sha256-{hash}'")),
            "update FORM_PAGE_POLICY's style-src to 'sha256-{hash}'"
        );
    }

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}

//! The data subjects' deletion requests, for the organization's admins:
//! `/settings/privacy-requests` (the confirmed requests, filtered by state) and
//! `/settings/privacy-requests/{id}` (one request: erase the participant from the meetings
//! named, with a certificate, or reject it with a reason told to the requester).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::organization::{answer, json_editor};
use super::{PageError, gate, need, percent, s, shell, table};
use crate::ApiError;
use crate::auth::{Auth, Caller, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/privacy-requests", get(list))
        .route("/settings/privacy-requests/{id}", get(one))
}

const STATES: &[(&str, &str)] = &[
    ("", "All"),
    ("open", "Open"),
    ("completing", "Being erased"),
    ("completed", "Completed"),
    ("rejected", "Rejected"),
];

#[derive(Deserialize)]
struct Filter {
    state: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Query(f): Query<Filter>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::OrgManage>(&app, &principal, &uri).await?;
    let state = f.state.filter(|s| !s.is_empty());
    let page = answer(
        routes::requests::list(
            State(app),
            Auth(scope),
            Query(routes::requests::ListQuery {
                state: state.clone(),
                limit: Some(200),
            }),
        )
        .await,
    )
    .await?;
    let options = super::options(STATES, state.as_deref().unwrap_or(""));
    let mut rows = String::new();
    for r in page["requests"].as_array().into_iter().flatten() {
        rows.push_str(&format!(
            "<tr><td><a href=\"/settings/privacy-requests/{id}\">{name}</a></td><td>{email}</td><td>{meeting}</td>\
             <td>{state}</td><td>{at}</td></tr>",
            id = esc(s(r, "id")),
            name = esc(s(r, "name")),
            email = esc(s(r, "email")),
            meeting = esc(s(r, "meeting")),
            state = esc(s(r, "state")),
            at = esc(s(r, "confirmed_at")),
        ));
    }
    let listing = if rows.is_empty() {
        "<p>No requests.</p>".to_owned()
    } else {
        table(
            "Deletion requests",
            &[
                "Who",
                "Email",
                "Which meeting (their words)",
                "State",
                "Confirmed",
            ],
            &rows,
        )
    };
    let body = format!(
        "{}<p>People who were in a meeting ask here to be erased from it: \
         <a href=\"/privacy/deletion-request\">/privacy/deletion-request</a> (the form they use). \
         Only requests they confirmed from their email are listed.</p>\
         <form method=\"get\" action=\"/settings/privacy-requests\" class=\"filters\">\
         <label for=\"pr-state\">State</label><select id=\"pr-state\" name=\"state\">{options}</select>\
         <button type=\"submit\">Show</button></form>{listing}",
        super::account::SETTINGS_NAV
    );
    Ok(shell("/settings", "Deletion requests", &body))
}

async fn one(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::OrgManage>(&app, &principal, &uri).await?;
    let r = answer(routes::requests::get(State(app), Auth(scope), Path(id.clone())).await).await?;
    let id = esc(&id);
    let mut body = format!(
        "<p><a href=\"/settings/privacy-requests\">All requests</a></p>\
         <dl><dt>Who</dt><dd>{name} &lt;{email}&gt;</dd><dt>Which meeting (their words)</dt><dd>{meeting}</dd>\
         <dt>Their message</dt><dd>{message}</dd><dt>Asked</dt><dd>{created}</dd><dt>Confirmed</dt><dd>{confirmed}</dd>\
         <dt>State</dt><dd>{state}</dd></dl>",
        name = esc(s(&r, "name")),
        email = esc(s(&r, "email")),
        meeting = esc(s(&r, "meeting")),
        message = esc(r["message"].as_str().unwrap_or("(none)")),
        created = esc(s(&r, "created_at")),
        confirmed = esc(r["confirmed_at"].as_str().unwrap_or("not yet")),
        state = esc(s(&r, "state")),
    );
    if let Some(cert) = r["certificate_id"].as_str() {
        body.push_str(&format!(
            "<p>Erased: <a href=\"/certificates/{c}\">the deletion certificate</a>.</p>",
            c = esc(cert)
        ));
    }
    if let Some(decision) = r["decision"].as_str() {
        body.push_str(&format!(
            "<p>Decided {}: {}</p>",
            esc(s(&r, "decided_at")),
            esc(decision)
        ));
    }
    if s(&r, "state") == "open" {
        body.push_str(&format!(
            "<p>Find the meeting: <a href=\"/meetings?q={q}\">search the meetings for “{m}”</a>; \
             the speaker is the name its transcript shows for them.</p>",
            q = percent(s(&r, "meeting")),
            m = esc(s(&r, "meeting")),
        ));
        body.push_str(&json_editor(
            "complete",
            "Erase them",
            "Each meeting they were in, with the name they have in its transcript. Their transcript \
             lines, their own audio, their chat messages and their participant entries go; <code>mixed_recordings</code> \
             <code>delete</code> (the default) deletes the meetings' mixed recordings too, since \
             they hold every voice, and <code>keep</code> keeps them (the certificate says so). \
             The requester is told, with your note.",
            &format!("/api/v1/deletion-requests/{id}/complete"),
            "POST",
            &json!({"targets": [{"meeting_id": "", "speaker": s(&r, "name")}], "mixed_recordings": "delete", "note": ""}),
        ));
        body.push_str(&format!(
            "<section aria-labelledby=\"rej-h\"><h2 id=\"rej-h\">Reject it</h2>\
             <form data-api=\"/api/v1/deletion-requests/{id}/reject\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"rej-reason\">Why (told to the requester)</label>\
             <textarea id=\"rej-reason\" name=\"reason\" rows=\"3\" required></textarea>\
             <button type=\"submit\">Reject the request</button></form></section>"
        ));
    }
    Ok(shell("/settings", "Deletion request", &body))
}

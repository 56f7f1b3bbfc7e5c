//! The organization's settings: `/settings/organization` — workspaces, webhooks, destinations,
//! retention, the bots' consent policy, meeting intelligence (its providers) and single
//! sign-on — and `/settings/webhooks/{id}` (an endpoint's delivery log: redeliver, send a test,
//! rotate the secret). Each section is shown to those who hold its permission, read through
//! the API's own GET handler (so it shows exactly what the API answers) and changed through the
//! API's route: small forms where the shape is small, the API's JSON itself (with its current
//! value, and the API's own message naming a bad field) where a policy has many parts.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::{PageError, gate, need, s, shell, table};
use crate::ApiError;
use crate::auth::{Auth, Caller, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/organization", get(organization))
        .route("/settings/webhooks/{id}", get(webhook))
}

/// What an API handler answered, as JSON.
pub(crate) async fn answer(r: Result<impl IntoResponse, ApiError>) -> Result<Value, PageError> {
    let body = r?.into_response().into_body();
    let bytes = axum::body::to_bytes(body, 8 << 20)
        .await
        .map_err(ApiError::internal)?;
    Ok(serde_json::from_slice(&bytes).map_err(ApiError::internal)?)
}

/// A section whose change is the API's JSON body: the current value in a textarea, sent with
/// `method` to `path`.
pub(crate) fn json_editor(
    id: &str,
    heading: &str,
    help: &str,
    path: &str,
    method: &str,
    current: &Value,
) -> String {
    let pretty = serde_json::to_string_pretty(current).unwrap_or_default();
    let rows = pretty.lines().count().clamp(4, 24);
    format!(
        "<section aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{heading}</h2><p>{help}</p>\
         <form data-api=\"{path}\" data-method=\"{method}\" data-body=\"json\" data-done=\"Saved.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
         <label for=\"{id}-json\">As the API takes it (<code>{method} {path}</code>)</label>\
         <textarea id=\"{id}-json\" name=\"body\" rows=\"{rows}\" spellcheck=\"false\" class=\"json\">{}</textarea>\
         <button type=\"submit\">Save</button></form></section>",
        esc(&pretty)
    )
}

/// `v` without the fields an answer shows but a change does not take (who set it, when).
pub(crate) fn without(mut v: Value, read_only: &[&str]) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in read_only {
            o.remove(*k);
        }
    }
    v
}

async fn organization(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let mut body = String::from(super::account::SETTINGS_NAV);
    let org = principal.authorize::<perm::OrgManage>().ok();
    let hooks = principal.authorize::<perm::WebhooksManage>().ok();
    if org.is_none() && hooks.is_none() {
        // Neither: the page is refused (and audited) as a whole.
        need::<perm::OrgManage>(&app, &principal, &uri).await?;
    }
    if let Some(scope) = &org {
        let list =
            answer(routes::org::list_workspaces(State(app.clone()), Auth(scope.clone())).await)
                .await?;
        let mut rows = String::new();
        for w in list["workspaces"].as_array().into_iter().flatten() {
            rows.push_str(&format!(
                "<li><form class=\"inline-edit\" data-api=\"/api/v1/workspaces/{id}\" data-method=\"PATCH\" data-done=\"Renamed.\">\
                 <label for=\"ws-{id}\">Workspace <code>{id}</code></label><input id=\"ws-{id}\" name=\"name\" value=\"{name}\" required>\
                 <button type=\"submit\">Rename</button> <a href=\"/settings/workspaces/{id}\">Its members and policies</a>\
                 <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p></form></li>",
                id = esc(s(w, "id")),
                name = esc(s(w, "name")),
            ));
        }
        body.push_str(&format!(
            "<section aria-labelledby=\"ws-h\"><h2 id=\"ws-h\">Workspaces</h2><ul class=\"plain\">{rows}</ul>\
             <form data-api=\"/api/v1/workspaces\" data-next=\"reload\"><p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"ws-new\">New workspace</label><input id=\"ws-new\" name=\"name\" required>\
             <button type=\"submit\">Create</button></form></section>"
        ));
    }
    if let Some(scope) = &hooks {
        let list =
            answer(routes::webhooks::list_webhooks(State(app.clone()), Auth(scope.clone())).await)
                .await?;
        let mut rows = String::new();
        for w in list["webhooks"].as_array().into_iter().flatten() {
            let state = if w["enabled"] == Value::Bool(true) {
                "on".to_owned()
            } else {
                format!("off {}", esc(s(w, "disabled_reason")))
            };
            rows.push_str(&format!(
                "<tr><td><a href=\"/settings/webhooks/{id}\">{url}</a></td><td>{events}</td><td>{state}</td></tr>",
                id = esc(s(w, "id")),
                url = esc(s(w, "url")),
                events = esc(
                    &w["event_types"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "all".to_owned())
                ),
            ));
        }
        let table = if rows.is_empty() {
            "<p>No webhook endpoints.</p>".to_owned()
        } else {
            table("Webhooks", &["Endpoint", "Events", "State"], &rows)
        };
        body.push_str(&format!(
            "<section aria-labelledby=\"wh-h\"><h2 id=\"wh-h\">Webhooks</h2>{table}\
             <form data-api=\"/api/v1/webhooks\"><p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"wh-url\">New endpoint's URL (https)</label><input id=\"wh-url\" name=\"url\" type=\"url\" required>\
             <label for=\"wh-desc\">Description</label><input id=\"wh-desc\" name=\"description\">\
             <div class=\"shown\" hidden><p><strong>Its signing secret, shown only this once</strong> \
             (Standard Webhooks; see docs/webhooks.md to verify deliveries):</p><p><code class=\"secret\" data-shown=\"secret\"></code></p>\
             <p><a href=\"/settings/organization\">Done</a></p></div>\
             <button type=\"submit\">Add endpoint</button></form></section>"
        ));
    }
    if let Some(scope) = &org {
        body.push_str(&super::org_admin::destinations(&app, scope).await?);
        let retention = answer(
            routes::retention::get_retention(
                State(app.clone()),
                Auth(
                    principal
                        .authorize::<perm::MeetingsRead>()
                        .map_err(ApiError::from)?,
                ),
                Query(routes::retention::RetentionQuery { workspace_id: None }),
            )
            .await,
        )
        .await?;
        body.push_str(&json_editor(
            "ret",
            "Retention",
            "How long each kind of data is kept before it is deleted (with a signed certificate).",
            "/api/v1/retention",
            "PUT",
            &retention["org"],
        ));
        body.push_str(&format!(
            "<details><summary>In effect (with the defaults)</summary><pre>{}</pre></details>",
            esc(&serde_json::to_string_pretty(&retention["effective"]).unwrap_or_default())
        ));
        let consent =
            answer(routes::bots::get_org_consent(State(app.clone()), Auth(scope.clone())).await)
                .await?;
        body.push_str(&json_editor(
            "consent",
            "Bots' consent policy",
            "What a bot says when it joins, and the phrase that makes it stop recording someone.",
            "/api/v1/bot-consent",
            "PUT",
            &consent,
        ));
        let intel = answer(
            routes::intel::get_intelligence_settings(State(app.clone()), Auth(scope.clone())).await,
        )
        .await?;
        body.push_str(&json_editor(
            "intel",
            "Meeting intelligence and its providers",
            "Whether meetings are summarized, by which processor (the local model, or a provider you name, \
             which then receives meeting content), and personal-data redaction.",
            "/api/v1/org/intelligence",
            "PUT",
            &without(intel, &["configured_by"]),
        ));
        let sso =
            answer(routes::sso::get_org_sso(State(app.clone()), Auth(scope.clone())).await).await?;
        body.push_str(&json_editor(
            "sso",
            "Single sign-on",
            "Whether people from your email domains get an account at their first sign-in, with \
             which role, and whether members must sign in with single sign-on (owners keep a \
             password for emergencies, and its use is audited). Your own provider is set below.",
            "/api/v1/org/sso",
            "PUT",
            &without(sso.clone(), &["domains", "providers"]),
        ));
        let list = |k: &str| {
            sso[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(esc)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "none".to_owned())
        };
        body.push_str(&format!(
            "<p class=\"note\">Your email domains: {}. Sign-in providers for them: {}.</p>",
            list("domains"),
            list("providers")
        ));
    }
    body.push_str(&super::org_admin::processors(&app, &principal).await?);
    if let Some(scope) = &org {
        body.push_str(&super::org_admin::own_provider(&app, scope).await?);
        body.push_str(&super::org_admin::encryption(&app, scope).await?);
        body.push_str(
            "<section aria-labelledby=\"dsr-h\"><h2 id=\"dsr-h\">Deletion requests</h2>\
             <p>What people who were in your meetings asked to have erased: \
             <a href=\"/settings/privacy-requests\">the requests</a>.</p></section>",
        );
    }
    Ok(shell("/settings", "Organization settings", &body))
}

async fn webhook(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::WebhooksManage>(&app, &principal, &uri).await?;
    let w = answer(
        routes::webhooks::get_webhook(State(app.clone()), Auth(scope.clone()), Path(id.clone()))
            .await,
    )
    .await?;
    let log = answer(
        routes::webhooks::list_deliveries(
            State(app.clone()),
            Auth(scope),
            Path(id.clone()),
            Query(routes::webhooks::DeliveriesQuery {
                cursor: None,
                limit: None,
            }),
        )
        .await,
    )
    .await?;
    let id = esc(&id);
    let mut rows = String::new();
    for d in log["deliveries"].as_array().into_iter().flatten() {
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>\
             <form data-api=\"/api/v1/webhooks/{id}/deliveries/{}/redeliver\" data-next=\"reload\">\
             <button type=\"submit\">Send again</button></form></td></tr>",
            esc(s(d, "event_type")),
            esc(s(d, "state")),
            d["attempts"].as_i64().unwrap_or(0),
            esc(s(d, "created_at")),
            esc(s(d, "id")),
        ));
    }
    let table = if rows.is_empty() {
        "<p>Nothing delivered yet.</p>".to_owned()
    } else {
        table(
            "Deliveries",
            &["Event", "State", "Attempts", "Queued", ""],
            &rows,
        )
    };
    let body = format!(
        "<p><a href=\"/settings/organization\">All endpoints</a></p>\
         <dl><dt>URL</dt><dd>{url}</dd><dt>Signing</dt><dd>{signing}</dd><dt>State</dt><dd>{state}</dd></dl>\
         <form data-api=\"/api/v1/webhooks/{id}/test\" data-done=\"A test message was queued.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
         <button type=\"submit\">Send a test message</button></form>\
         <form data-api=\"/api/v1/webhooks/{id}/rotate-secret\" data-confirm=\"Make a new secret? The old one keeps working for a day.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <div class=\"shown\" hidden><p><strong>The new secret, shown only this once:</strong></p><p><code class=\"secret\" data-shown=\"secret\"></code></p></div>\
         <button type=\"submit\">Rotate the secret</button></form>\
         <h2>Delivery log</h2>{table}\
         <form data-api=\"/api/v1/webhooks/{id}\" data-method=\"DELETE\" data-next=\"/settings/organization\" data-confirm=\"Delete this endpoint?\">\
         <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\" class=\"danger\">Delete this endpoint</button></form>",
        url = esc(s(&w, "url")),
        signing = esc(&w["signing"].to_string()),
        state = if w["enabled"] == Value::Bool(true) {
            "on".to_owned()
        } else {
            format!("off {}", esc(s(&w, "disabled_reason")))
        },
    );
    Ok(shell("/settings", "Webhook endpoint", &body))
}

//! A workspace's own settings: `/settings/workspaces/{id}` — who has a role in it, and the
//! policies a workspace may set apart from the org's (retention windows, the bots' consent
//! policy, calendar rules, meeting intelligence). Each section reads through the API's own GET
//! handler and changes through the API's route, as the organization page does.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use meetvault_core::ids::WorkspaceId;
use serde_json::Value;

use super::organization::{answer, json_editor};
use super::{PageError, gate, need, shell, table};
use crate::ApiError;
use crate::auth::{Auth, Caller, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;
use crate::wire::org::MemberList;

pub fn routes() -> Router<AppState> {
    Router::new().route("/settings/workspaces/{id}", get(workspace))
}

/// The roles a member may hold in a workspace (owner is an org role only).
const WORKSPACE_ROLES: &[&str] = &["admin", "member", "viewer", "billing"];

async fn workspace(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::OrgManage>(&app, &principal, &uri).await?;
    let ws: WorkspaceId = routes::parse_id(&id)?;
    let name = app.core.org().workspace(&scope, ws).await?.name;
    let mut body = format!(
        "{}<p><a href=\"/settings/organization\">All workspaces</a> · <code>{ws}</code></p>",
        super::account::SETTINGS_NAV
    );
    if let Ok(members_scope) = principal.authorize::<perm::MembersManage>() {
        let everyone = MemberList::from(app.core.org().members(&members_scope).await?);
        let roles = answer(
            routes::org::list_workspace_members(
                State(app.clone()),
                Auth(members_scope),
                Path(ws.to_string()),
            )
            .await,
        )
        .await?;
        body.push_str(&members_section(ws, &everyone, &roles));
    }
    let retention = answer(
        routes::retention::get_retention(
            State(app.clone()),
            Auth(
                principal
                    .authorize::<perm::MeetingsRead>()
                    .map_err(ApiError::from)?,
            ),
            Query(routes::retention::RetentionQuery {
                workspace_id: Some(ws.to_string()),
            }),
        )
        .await,
    )
    .await?;
    let own = if retention["workspace"].is_null() {
        serde_json::json!({})
    } else {
        retention["workspace"]["windows"].clone()
    };
    body.push_str(&json_editor(
        "wret",
        "Retention in this workspace",
        "This workspace's own windows (none: the organization's apply). A window longer than the \
         organization's maximum is refused; <code>{}</code> removes this workspace's windows.",
        &format!("/api/v1/retention?workspace_id={ws}"),
        "PUT",
        &own,
    ));
    body.push_str(&format!(
        "<details><summary>In effect here (with the organization's and the defaults)</summary><pre>{}</pre></details>",
        esc(&serde_json::to_string_pretty(&retention["effective"]).unwrap_or_default())
    ));
    let consent = answer(
        routes::bots::get_workspace_consent(
            State(app.clone()),
            Auth(scope.clone()),
            Path(ws.to_string()),
        )
        .await,
    )
    .await?;
    body.push_str(&json_editor(
        "wconsent",
        "Bots' consent policy in this workspace",
        "What a bot from this workspace says when it joins, and the phrase that makes it stop \
         recording someone.",
        &format!("/api/v1/workspaces/{ws}/bot-consent"),
        "PUT",
        &consent,
    ));
    let rules = answer(
        routes::calendar::get_workspace_rules(
            State(app.clone()),
            Auth(scope.clone()),
            Path(ws.to_string()),
        )
        .await,
    )
    .await?;
    body.push_str(&json_editor(
        "wrules",
        "Calendar rules in this workspace",
        "Its members' default for which calendar meetings get a bot, and exclusions no member \
         lifts.",
        &format!("/api/v1/workspaces/{ws}/calendar-rules"),
        "PUT",
        &rules,
    ));
    let intel = answer(
        routes::intel::get_workspace_intelligence(
            State(app.clone()),
            Auth(scope),
            Path(ws.to_string()),
        )
        .await,
    )
    .await?;
    body.push_str(&json_editor(
        "wintel",
        "Meeting intelligence in this workspace",
        "Whether this workspace's meetings are summarized, by which processor (a provider you name \
         then receives meeting content), and personal-data redaction.",
        &format!("/api/v1/workspaces/{ws}/intelligence"),
        "PUT",
        &super::organization::without(intel, &["configured_by"]),
    ));
    Ok(shell("/settings", &format!("Workspace: {name}"), &body))
}

/// Every member of the org, with their role in this workspace (a select: none, or a role).
fn members_section(ws: WorkspaceId, everyone: &MemberList, roles: &Value) -> String {
    let mut rows = String::new();
    for m in &everyone.members {
        let id = m.id.to_string();
        let current = roles["members"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["user_id"].as_str() == Some(&id))
            .and_then(|r| r["role"].as_str())
            .unwrap_or("");
        let mut options = format!(
            "<option value=\"\"{}>none</option>",
            if current.is_empty() { " selected" } else { "" },
        );
        for r in WORKSPACE_ROLES {
            let selected = if *r == current { " selected" } else { "" };
            options.push_str(&format!("<option value=\"{r}\"{selected}>{r}</option>"));
        }
        rows.push_str(&format!(
            "<tr><td>{name}</td><td>{email}</td><td>{role}</td><td><form class=\"inline-edit\" \
             data-api=\"/api/v1/workspaces/{ws}/members/{id}\" data-method=\"PUT\" data-done=\"Saved.\">\
             <label class=\"visually-hidden\" for=\"wrole-{id}\">Role of {name} in this workspace</label>\
             <select id=\"wrole-{id}\" name=\"role\" data-null>{options}</select> <button type=\"submit\">Set</button>\
             <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p></form></td></tr>",
            name = esc(&m.name),
            email = esc(&m.email),
            role = esc(&m.role),
        ));
    }
    format!(
        "<section aria-labelledby=\"wmem-h\"><h2 id=\"wmem-h\">Who works here</h2>\
         <p>A role here adds to (never lowers) what someone's organization role lets them do in this workspace.</p>{}</section>",
        table(
            "Members",
            &["Name", "Email", "Organization role", "Role here"],
            &rows
        )
    )
}

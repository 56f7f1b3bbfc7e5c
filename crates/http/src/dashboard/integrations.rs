//! Integrations and approvals: `/settings/integrations` (the connections, connecting by
//! consent or with a token, where the OAuth callback brings a browser back),
//! `/settings/integrations/{id}` (one connection: its settings, its delivery log,
//! disconnecting) and `/settings/approvals` (what waits for an approver before it goes to a
//! CRM or tracker: exactly what would be sent, edited, approved or rejected). Read through the
//! API's own handlers, changed through the API's routes.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::organization::{answer, without};
use super::{PageError, button, gate, need, s, segment, shell, table};
use crate::ApiError;
use crate::auth::{Auth, Caller, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/integrations", get(list))
        .route("/settings/integrations/{id}", get(one))
        .route("/settings/approvals", get(approvals))
}

/// The providers as the API names them, with the names people know.
const PROVIDERS: &[(&str, &str)] = &[
    ("slack", "Slack"),
    ("notion", "Notion"),
    ("google_drive", "Google Drive"),
    ("linear", "Linear"),
    ("jira", "Jira"),
    ("hubspot", "HubSpot"),
    ("salesforce", "Salesforce"),
];

fn provider_label(p: &str) -> &str {
    PROVIDERS
        .iter()
        .find(|(k, _)| *k == p)
        .map_or(p, |(_, label)| label)
}

#[derive(Deserialize)]
struct ListQuery {
    connected: Option<String>,
    failed: Option<String>,
}

/// What the OAuth callback's `?failed=` word means (a fixed list: nothing from the URL is
/// shown as it came).
fn failure(why: &str) -> &'static str {
    match why {
        "state" => {
            "The consent link was unknown, used or expired: it lasts ten minutes, once, for the \
             person who started. Start connecting again."
        }
        "declined" => "The provider did not grant access. Start connecting again to retry.",
        _ => {
            "The provider refused the connection (the code, the credential or the settings). \
             Start again; the connection was not made."
        }
    }
}

async fn list(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::IntegrationsManage>(&app, &principal, &uri).await?;
    let mut body = String::from(super::account::SETTINGS_NAV);
    if q.connected.is_some() {
        body.push_str("<p class=\"ok\" role=\"status\">Connected: the provider granted access and the connection works.</p>");
    }
    if let Some(why) = &q.failed {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            failure(why)
        ));
    }
    body.push_str(
        "<p>A finished meeting's summary and action items go to the tools connected here. \
         Trackers and CRMs send nothing until an approver has seen exactly what would be sent: \
         <a href=\"/settings/approvals\">the approvals</a>. Credentials are stored sealed and \
         never shown again.</p>",
    );
    let listed =
        answer(routes::integrations::list_integrations(State(app.clone()), Auth(scope)).await)
            .await?;
    let mut rows = String::new();
    for i in listed["integrations"].as_array().into_iter().flatten() {
        let mut sends = Vec::new();
        if i["on_summary"] == Value::Bool(true) {
            sends.push("the summary");
        }
        if i["on_action_items"] == Value::Bool(true) {
            sends.push("action items");
        }
        let status = match i["status_reason"].as_str() {
            Some(r) => format!("{}: {}", esc(s(i, "status")), esc(r)),
            None => esc(s(i, "status")),
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"/settings/integrations/{id}\">{name}</a></td><td>{provider}</td>\
             <td>{dest}</td><td>{sends}</td><td>{approval}</td><td>{status}{off}</td><td>{cred}</td></tr>",
            id = segment(s(i, "id")),
            name = esc(s(i, "name")),
            provider = esc(provider_label(s(i, "provider"))),
            dest = esc(i["destination"].as_str().unwrap_or("—")),
            sends = if sends.is_empty() {
                "nothing".to_owned()
            } else {
                sends.join(", ")
            },
            approval = if i["approval"] == Value::Bool(true) {
                "approved first"
            } else {
                "sent directly"
            },
            off = if i["enabled"] == Value::Bool(false) {
                " (turned off)"
            } else {
                ""
            },
            cred = esc(&format!(
                "{} {}",
                s(&i["credential"], "type"),
                s(&i["credential"], "hint")
            )),
        ));
    }
    body.push_str("<section aria-labelledby=\"int-h\"><h2 id=\"int-h\">Connections</h2>");
    if rows.is_empty() {
        body.push_str("<p>Nothing is connected: meetings stay on this server.</p>");
    } else {
        body.push_str(&table(
            "Connections",
            &[
                "Name",
                "Provider",
                "Where",
                "Sends",
                "Approval",
                "State",
                "Credential",
            ],
            &rows,
        ));
    }
    body.push_str("</section>");
    body.push_str(&consent_form(&app));
    body.push_str(&token_form());
    Ok(shell("/settings", "Integrations", &body))
}

/// Connecting by consent: the providers the operator configured an OAuth app for.
fn consent_form(app: &AppState) -> String {
    let config = app.core.config();
    let mut out = String::from(
        "<section aria-labelledby=\"consent-h\"><h2 id=\"consent-h\">Connect by consent</h2>",
    );
    let apps: Vec<&(&str, &str)> = PROVIDERS
        .iter()
        .filter(|(k, _)| config.integrations.oauth.contains_key(*k))
        .collect();
    if config.server.public_url.is_none() {
        out.push_str(
            "<p>Not available: the server's address for the provider to send you back to is \
             not set (<code>server.public_url</code>).</p></section>",
        );
        return out;
    }
    if apps.is_empty() {
        out.push_str(
            "<p>No provider has an OAuth app on this server (the operator adds one under \
             <code>[integrations.oauth.&lt;provider&gt;]</code>); connect with a token below.</p></section>",
        );
        return out;
    }
    let mut options = String::new();
    for (k, label) in apps {
        options.push_str(&format!("<option value=\"{k}\">{label}</option>"));
    }
    out.push_str(&format!(
        "<p>You are sent to the provider to grant access, then back here. Only what meetvault \
         needs to post is asked for.</p>\
         <form data-api=\"/api/v1/integrations/oauth\" data-next=\"@authorization_url\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"oa-provider\">Provider</label><select id=\"oa-provider\" name=\"provider\">{options}</select>\
         <label for=\"oa-name\">Name (optional)</label><input id=\"oa-name\" name=\"name\" data-null>\
         <label for=\"oa-dest\">Where to post: a Slack channel id, a Notion page id, a Drive folder id, a Linear team id or a Jira project key</label>\
         <input id=\"oa-dest\" name=\"destination\" data-null>\
         <label for=\"oa-base\">The API's address (Jira: your site, <code>https://acme.atlassian.net</code>; empty for the provider's own)</label>\
         <input id=\"oa-base\" name=\"base_url\" type=\"url\" data-null>\
         <button type=\"submit\">Continue to the provider</button></form></section>"
    ));
    out
}

/// Connecting with a token: the API's body.
fn token_form() -> String {
    let example = json!({
        "provider": "slack",
        "name": "Team channel",
        "credential": {"type": "webhook_url", "url": "https://hooks.slack.com/services/…"},
    });
    let pretty = serde_json::to_string_pretty(&example).unwrap_or_default();
    format!(
        "<section aria-labelledby=\"tok-h\"><h2 id=\"tok-h\">Connect with a token</h2>\
         <p>The connection as the API takes it (docs/integrations.md): <code>credential</code> is \
         a Slack incoming webhook (<code>webhook_url</code>), a <code>token</code> (Slack bot, \
         Notion, Linear, HubSpot, Jira Data Center) or Jira Cloud's <code>basic</code> (email \
         and API token). meetvault checks it with the provider before it saves.</p>\
         <form data-api=\"/api/v1/integrations\" data-body=\"json\" data-next=\"/settings/integrations/{{id}}\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"tok-json\">As the API takes it (<code>POST /api/v1/integrations</code>)</label>\
         <textarea id=\"tok-json\" name=\"body\" rows=\"8\" spellcheck=\"false\" class=\"json\">{}</textarea>\
         <button type=\"submit\">Connect</button></form></section>",
        esc(&pretty)
    )
}

async fn one(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::IntegrationsManage>(&app, &principal, &uri).await?;
    let i = answer(
        routes::integrations::get_integration(
            State(app.clone()),
            Auth(scope.clone()),
            Path(id.clone()),
        )
        .await,
    )
    .await?;
    let log = answer(
        routes::integrations::integration_deliveries(State(app), Auth(scope), Path(id.clone()))
            .await,
    )
    .await?;
    let path = format!("/api/v1/integrations/{}", segment(&id));
    let who = match (i["workspace_id"].as_str(), i["user_id"].as_str()) {
        (Some(w), _) => format!("the meetings of workspace <code>{}</code>", esc(w)),
        (None, Some(u)) => format!("the meetings of member <code>{}</code>", esc(u)),
        (None, None) => "every meeting of the organization".to_owned(),
    };
    let mut body = format!(
        "<p><a href=\"/settings/integrations\">All integrations</a></p>\
         <dl><dt>Provider</dt><dd>{provider}</dd><dt>Account</dt><dd>{account}</dd>\
         <dt>API</dt><dd><code>{base}</code></dd><dt>Where</dt><dd>{dest}</dd><dt>For</dt><dd>{who}</dd>\
         <dt>Credential</dt><dd>{kind} {hint}, set {set}{expires}</dd><dt>State</dt><dd>{status}{reason}</dd></dl>{disconnect}",
        provider = esc(provider_label(s(&i, "provider"))),
        account = esc(s(&i, "account")),
        base = esc(s(&i, "base_url")),
        dest = esc(i["destination"].as_str().unwrap_or("—")),
        kind = esc(s(&i["credential"], "type")),
        hint = esc(s(&i["credential"], "hint")),
        set = esc(s(&i["credential"], "set_at")),
        expires = i["credential"]["expires_at"]
            .as_str()
            .map(|e| format!(" (the access token is refreshed; it expires {})", esc(e)))
            .unwrap_or_default(),
        status = esc(s(&i, "status")),
        reason = i["status_reason"]
            .as_str()
            .map(|r| format!(": {}", esc(r)))
            .unwrap_or_default(),
        disconnect = button(
            &path,
            "DELETE",
            "Disconnect",
            "/settings/integrations",
            Some(
                "Disconnect? The credential, what waits to be sent and the delivery log are deleted; \
                 what was sent stays with the provider."
            )
        ),
    );
    let settings = without(
        i.clone(),
        &[
            "id",
            "provider",
            "workspace_id",
            "user_id",
            "base_url",
            "jira_deployment",
            "credential",
            "account",
            "status",
            "status_reason",
            "created_at",
            "updated_at",
        ],
    );
    body.push_str(&super::organization::json_editor(
        "int",
        "Its settings",
        "What it sends and whether an approver sees it first; <code>enabled</code> false pauses \
         it. A new <code>credential</code> (as when connecting) is checked with the provider and \
         mends a broken connection.",
        &path,
        "PATCH",
        &settings,
    ));
    let mut items = String::new();
    for it in log["items"].as_array().into_iter().flatten() {
        items.push_str(&format!(
            "<tr><td><a href=\"/meetings/{m}\">{title}</a></td><td>{state}</td><td>{attempts}</td>\
             <td>{error}</td><td>{external}</td></tr>",
            m = segment(s(it, "meeting_id")),
            title = esc(it["title"].as_str().unwrap_or("(untitled)")),
            state = esc(s(it, "state")),
            attempts = it["attempts"].as_i64().unwrap_or(0),
            error = esc(it["last_error"].as_str().unwrap_or("")),
            external = external(it),
        ));
    }
    let mut attempts = String::new();
    for a in log["attempts"].as_array().into_iter().flatten() {
        attempts.push_str(&format!(
            "<tr><td>{at}</td><td><code>{item}</code></td><td>{outcome}</td><td>{error}</td><td>{ms} ms</td></tr>",
            at = esc(s(a, "at")),
            item = esc(s(a, "item_id")),
            outcome = esc(s(a, "outcome")),
            error = esc(a["error"].as_str().unwrap_or("")),
            ms = a["latency_ms"].as_i64().unwrap_or(0),
        ));
    }
    body.push_str("<section aria-labelledby=\"log-h\"><h2 id=\"log-h\">Delivery log</h2>");
    if items.is_empty() {
        body.push_str("<p>Nothing has been proposed or sent yet.</p>");
    } else {
        body.push_str(&table(
            "What was proposed",
            &["Item", "State", "Attempts", "Last error", "At the provider"],
            &items,
        ));
        body.push_str(&table(
            "Attempts",
            &["When", "Item", "Outcome", "Error", "Took"],
            &attempts,
        ));
    }
    body.push_str("</section>");
    Ok(shell("/settings", s(&i, "name"), &body))
}

/// A link to what an item became at the provider (only an `http(s)` URL is made a link).
fn external(item: &Value) -> String {
    match (item["external_url"].as_str(), item["external_id"].as_str()) {
        (Some(url), _) if url.starts_with("https://") || url.starts_with("http://") => {
            format!(
                "<a href=\"{}\" rel=\"noreferrer\">{}</a>",
                esc(url),
                esc(item["external_id"].as_str().unwrap_or("open"))
            )
        }
        (_, Some(id)) => format!("<code>{}</code>", esc(id)),
        _ => String::new(),
    }
}

const STATES: &[(&str, &str)] = &[
    ("awaiting_approval", "Waiting for approval"),
    ("queued", "Approved, being sent"),
    ("sent", "Sent"),
    ("rejected", "Rejected"),
    ("failed", "Failed"),
];

#[derive(Deserialize)]
struct ApprovalsFilter {
    state: Option<String>,
}

async fn approvals(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Query(f): Query<ApprovalsFilter>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::ApprovalsDecide>(&app, &principal, &uri).await?;
    let state = f
        .state
        .filter(|s| STATES.iter().any(|(k, _)| k == s))
        .unwrap_or_else(|| "awaiting_approval".to_owned());
    let listed = answer(
        routes::integrations::list_approvals(
            State(app),
            Auth(scope),
            Query(routes::integrations::ApprovalsQuery {
                state: Some(state.clone()),
            }),
        )
        .await,
    )
    .await?;
    let options = super::options(STATES, &state);
    let mut body = format!(
        "{}<p>Before a summary or an action item goes to a CRM or a tracker, an approver sees \
         exactly what would be sent, and may change it first. Nothing is sent for a rejected item.</p>\
         <form method=\"get\" action=\"/settings/approvals\" class=\"filters\">\
         <label for=\"ap-state\">Show</label><select id=\"ap-state\" name=\"state\">{options}</select>\
         <button type=\"submit\">Show</button></form>",
        super::account::SETTINGS_NAV
    );
    let items = listed["approvals"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        body.push_str("<p>Nothing here.</p>");
    }
    for (n, it) in items.iter().enumerate() {
        body.push_str(&approval(n, it));
    }
    Ok(shell("/settings", "Approvals", &body))
}

/// One item: what would be sent, and (while it waits) approve, reject or edit.
fn approval(n: usize, it: &Value) -> String {
    let id = segment(s(it, "id"));
    let c = &it["content"];
    let content = match s(c, "type") {
        "task" => format!(
            "<dl><dt>Task</dt><dd>{title}</dd><dt>Notes</dt><dd class=\"pre\">{notes}</dd>\
             <dt>Owner</dt><dd>{owner}</dd><dt>Due</dt><dd>{due}</dd><dt>Link</dt><dd><code>{link}</code></dd></dl>",
            title = esc(s(c, "title")),
            notes = esc(s(c, "notes")),
            owner = esc(c["owner_email"].as_str().unwrap_or("nobody")),
            due = esc(c["due"].as_str().unwrap_or("none")),
            link = esc(s(c, "link")),
        ),
        "summary" => format!(
            "<dl><dt>Summary</dt><dd>{title}</dd><dt>Link</dt><dd><code>{link}</code></dd></dl>\
             <pre class=\"json\">{md}</pre>",
            title = esc(s(c, "title")),
            link = esc(s(c, "link")),
            md = esc(s(c, "markdown")),
        ),
        _ => "<p>(its content is not kept once it is decided)</p>".to_owned(),
    };
    let heading = format!(
        "{} to {}",
        if s(c, "type") == "summary" {
            "A summary"
        } else {
            "An action item"
        },
        provider_label(s(it, "provider"))
    );
    let mut out = format!(
        "<section class=\"card\" aria-labelledby=\"ap-{n}-h\"><h2 id=\"ap-{n}-h\">{heading}</h2>\
         <p class=\"meta\">From <a href=\"/meetings/{m}\">the meeting</a>, proposed {at}; {state}{edited}{error}{external}</p>{content}",
        heading = esc(&heading),
        m = segment(s(it, "meeting_id")),
        at = esc(s(it, "created_at")),
        state = esc(STATES
            .iter()
            .find(|(k, _)| *k == s(it, "state"))
            .map_or(s(it, "state"), |(_, label)| label)),
        edited = if it["edited"] == Value::Bool(true) {
            ", edited by an approver"
        } else {
            ""
        },
        error = it["last_error"]
            .as_str()
            .map(|e| format!("; last error: {}", esc(e)))
            .unwrap_or_default(),
        external = match external(it) {
            e if e.is_empty() => e,
            e => format!("; at the provider: {e}"),
        },
    );
    if s(it, "state") == "awaiting_approval" {
        let path = format!("/api/v1/approvals/{id}");
        out.push_str(&format!(
            "<p>{}{}</p>",
            button(
                &format!("{path}/approve"),
                "POST",
                "Approve and send",
                "reload",
                None
            ),
            button(
                &format!("{path}/reject"),
                "POST",
                "Reject",
                "reload",
                Some("Reject it? Nothing is ever sent for it.")
            ),
        ));
        let pretty = serde_json::to_string_pretty(&json!({"content": c})).unwrap_or_default();
        out.push_str(&format!(
            "<details><summary>Change what will be sent</summary>\
             <form data-api=\"{path}\" data-method=\"PATCH\" data-body=\"json\" data-done=\"Saved: it still waits for approval.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
             <label for=\"ap-{n}-json\">As the API takes it (<code>PATCH {path}</code>)</label>\
             <textarea id=\"ap-{n}-json\" name=\"body\" rows=\"{rows}\" spellcheck=\"false\" class=\"json\">{json}</textarea>\
             <button type=\"submit\">Save the change</button></form></details>",
            rows = pretty.lines().count().clamp(4, 20),
            json = esc(&pretty),
        ));
    }
    out.push_str("</section>");
    out
}

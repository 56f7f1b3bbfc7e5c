//! The voice-intake widgets, for those who hold `widgets:manage`: `/settings/widgets` (the
//! org's widgets, and a form that creates one and shows its signing secret and snippet this
//! once) and `/settings/widgets/{id}` (what it shows and allows, the snippet and the host
//! page's policy, a form for every setting, a new secret, deleting it). Every change goes
//! through `/api/v1/widgets` like any client's.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::organization::answer;
use super::{PageError, button, gate, need, options, s, segment, shell, table};
use crate::ApiError;
use crate::auth::{Auth, Caller, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/widgets", get(list))
        .route("/settings/widgets/{id}", get(one))
}

const ON_SUBMIT: &[(&str, &str)] = &[
    ("transcript", "Transcribe it"),
    ("summary", "Transcribe and summarize it"),
];

async fn list(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::WidgetsManage>(&app, &principal, &uri).await?;
    let listed =
        answer(routes::widgets::list_widgets(State(app.clone()), Auth(scope)).await).await?;
    let mut rows = String::new();
    for w in listed["widgets"].as_array().into_iter().flatten() {
        let origins: Vec<&str> = w["allowed_origins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        rows.push_str(&format!(
            "<tr><td><a href=\"/settings/widgets/{id}\">{name}</a></td><td>{origins}</td>\
             <td>{mode}</td><td>{state}</td></tr>",
            id = segment(s(w, "id")),
            name = esc(s(w, "name")),
            origins = esc(&origins.join(", ")),
            mode = if w["live_transcript"] == Value::Bool(true) {
                "voice note, live transcript"
            } else {
                "voice note"
            },
            state = if w["enabled"] == Value::Bool(true) {
                "on"
            } else {
                "turned off"
            },
        ));
    }
    let mut body = String::from(super::account::SETTINGS_NAV);
    body.push_str(
        "<p>A widget on your website lets visitors leave a voice note — a support request, \
         feedback, a brief before a meeting. It arrives here as a meeting with one speaker, \
         <code>visitor</code>, transcribed on this server, encrypted and kept under the \
         widget's retention (docs/widget.md).</p>",
    );
    body.push_str("<section aria-labelledby=\"wl-h\"><h2 id=\"wl-h\">Widgets</h2>");
    if rows.is_empty() {
        body.push_str("<p>No widget yet.</p>");
    } else {
        body.push_str(&table(
            "Widgets",
            &["Name", "Allowed sites", "What visitors get", "State"],
            &rows,
        ));
    }
    body.push_str("</section>");
    body.push_str(&create_form());
    Ok(shell("/settings", "Widgets", &body))
}

/// The fields a widget is made and changed with (`w`: the widget, or nothing for a new one);
/// `id` prefixes the elements' ids.
fn fields(id: &str, w: Option<&Value>) -> String {
    let get = |k: &str| w.map(|w| s(w, k)).unwrap_or_default();
    let origins = w
        .and_then(|w| w["allowed_origins"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let checked = |k: &str| {
        if w.is_some_and(|w| w[k] == Value::Bool(true)) {
            " checked"
        } else {
            ""
        }
    };
    // Clearing an optional text clears it on a change; a new widget just goes without.
    let null = if w.is_some() { " data-null" } else { "" };
    let max = w
        .and_then(|w| w["max_seconds"].as_u64())
        .unwrap_or(120)
        .to_string();
    format!(
        "<label for=\"{id}-name\">Name (yours, not shown to visitors)</label>\
         <input id=\"{id}-name\" name=\"name\" value=\"{name}\" required maxlength=\"200\">\
         <label for=\"{id}-origins\">The sites it may appear on: one origin a line, exactly as \
         the browser sends it (<code>https://www.example.com</code>)</label>\
         <textarea id=\"{id}-origins\" name=\"allowed_origins\" rows=\"3\" data-lines required>{origins}</textarea>\
         <label for=\"{id}-greeting\">Greeting</label>\
         <input id=\"{id}-greeting\" name=\"greeting\" value=\"{greeting}\" maxlength=\"200\">\
         <label for=\"{id}-prompt\">What the visitor is asked</label>\
         <input id=\"{id}-prompt\" name=\"prompt\" value=\"{prompt}\" maxlength=\"1000\"{null}>\
         <label for=\"{id}-consent\">Consent text, shown before the microphone is asked for</label>\
         <textarea id=\"{id}-consent\" name=\"consent_text\" rows=\"3\" maxlength=\"1000\">{consent}</textarea>\
         <label for=\"{id}-privacy\">Your privacy notice (https), linked beside it</label>\
         <input id=\"{id}-privacy\" name=\"privacy_url\" type=\"url\" value=\"{privacy}\"{null}>\
         <label for=\"{id}-max\">Longest message (seconds)</label>\
         <input id=\"{id}-max\" name=\"max_seconds\" type=\"number\" min=\"1\" value=\"{max}\">\
         <label for=\"{id}-submit\">With each message</label>\
         <select id=\"{id}-submit\" name=\"on_submit\">{on_submit}</select>\
         <label><input type=\"checkbox\" name=\"live_transcript\"{live}> Show visitors the \
         transcript while they talk</label>\
         <label><input type=\"checkbox\" name=\"require_identity\"{identity}> Only visitors your \
         site vouches for (a signed visitor token)</label>\
         <label><input type=\"checkbox\" name=\"enabled\"{enabled}> On</label>",
        name = esc(get("name")),
        greeting = esc(get("greeting")),
        prompt = esc(w.and_then(|w| w["prompt"].as_str()).unwrap_or_default()),
        consent = esc(get("consent_text")),
        privacy = esc(w
            .and_then(|w| w["privacy_url"].as_str())
            .unwrap_or_default()),
        origins = esc(&origins),
        on_submit = options(ON_SUBMIT, w.map_or("transcript", |w| s(w, "on_submit"))),
        live = checked("live_transcript"),
        identity = checked("require_identity"),
        enabled = if w.is_none() {
            " checked"
        } else {
            checked("enabled")
        },
    )
}

/// Creating a widget: its secret and snippet are shown once, in the answer.
fn create_form() -> String {
    format!(
        "<section aria-labelledby=\"wn-h\"><h2 id=\"wn-h\">Create a widget</h2>\
         <form data-api=\"/api/v1/widgets\" data-done=\"Created.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>{fields}\
         <button type=\"submit\">Create the widget</button><p class=\"form-done\" role=\"status\"></p>\
         <div class=\"shown\" hidden><p>Its signing secret, shown this once: your server signs \
         visitor tokens with it. Keep it there, never in a page.</p>\
         <p><code class=\"secret\" data-shown=\"secret\"></code></p>\
         <p>Paste this into your page:</p><pre data-shown=\"widget.snippet\"></pre>\
         <p>Reload this page to see it in the list.</p></div></form></section>",
        fields = fields("wn", None)
    )
}

async fn one(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::WidgetsManage>(&app, &principal, &uri).await?;
    let w = answer(routes::widgets::get_widget(State(app.clone()), Auth(scope), Path(id)).await)
        .await?;
    let api = format!("/api/v1/widgets/{}", segment(s(&w, "id")));
    let mut body = String::from(
        "<p><a href=\"/settings/widgets\">All widgets</a></p>\
         <section aria-labelledby=\"we-h\"><h2 id=\"we-h\">On your site</h2>",
    );
    match w["snippet"].as_str() {
        Some(snippet) => {
            let server = app
                .core
                .config()
                .server
                .public_url
                .as_ref()
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            body.push_str(&format!(
                "<p>Paste this where the widget should appear:</p><pre>{}</pre>\
                 <p>A page with a Content-Security-Policy needs this server in two directives, \
                 and nothing else:</p><pre>script-src {server};\nconnect-src {server};</pre>",
                esc(snippet),
                server = esc(&server),
            ));
        }
        None => body.push_str(
            "<p>The snippet needs this server's public address: the operator sets \
             <code>server.public_url</code>, and it appears here.</p>",
        ),
    }
    body.push_str("</section>");
    body.push_str(&format!(
        "<section aria-labelledby=\"ws-h\"><h2 id=\"ws-h\">Settings</h2>\
         <form data-api=\"{api}\" data-method=\"PATCH\" data-next=\"reload\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>{fields}\
         <button type=\"submit\">Save</button></form>\
         <p>Its messages become meetings in workspace <code>{workspace}</code>, kept {retention}; \
         both are changed over the API (<code>PATCH {api}</code>, docs/widget.md).</p></section>",
        fields = fields("ws", Some(&w)),
        workspace = esc(s(&w, "workspace_id")),
        retention = match w["retention"]
            .as_object()
            .filter(|r| r.values().any(|v| !v.is_null()))
        {
            Some(r) => format!(
                "as <code>{}</code> says",
                esc(&Value::Object(r.clone()).to_string())
            ),
            None => "as the workspace's policy says".to_owned(),
        },
    ));
    body.push_str(&format!(
        "<section aria-labelledby=\"wr-h\"><h2 id=\"wr-h\">Signing secret</h2>\
         <p>A new secret replaces the old one at once: visitor tokens signed with the old one \
         are refused from then on.</p>\
         <form data-api=\"{api}/rotate-secret\" data-confirm=\"Replace the signing secret? Tokens signed with the old one stop working.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <button type=\"submit\">Make a new secret</button>\
         <div class=\"shown\" hidden><p>The new secret, shown this once:</p>\
         <p><code class=\"secret\" data-shown=\"secret\"></code></p></div></form></section>"
    ));
    body.push_str(&format!(
        "<section aria-labelledby=\"wd-h\"><h2 id=\"wd-h\">Delete</h2>\
         <p>Visitors' unfinished messages go with it; the meetings its messages became stay, \
         under their retention.</p>{}</section>",
        button(
            &api,
            "DELETE",
            "Delete the widget",
            "/settings/widgets",
            Some("Delete this widget? Pages that embed it show nothing from now on.")
        )
    ));
    Ok(shell("/settings", s(&w, "name"), &body))
}

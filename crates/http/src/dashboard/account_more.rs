//! The rest of the caller's own settings: support-access keys (for meetvault's operator to help
//! with one account, time-limited, every use audited), provider secrets (API keys of remote
//! transcription or LLM providers, sealed under the caller's key, never shown again) and
//! erasing the account.

use axum::extract::State;
use meetvault_core::access::Scope;
use meetvault_core::access::proof::{BotsWrite, OwnAccount};

use super::organization::answer;
use super::{PageError, table};
use crate::auth::Auth;
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;

pub(crate) async fn sections(
    app: &AppState,
    scope: Scope<OwnAccount>,
) -> Result<String, PageError> {
    let keys =
        answer(routes::keys::list_support_keys(State(app.clone()), Auth(scope.clone())).await)
            .await?;
    let secrets =
        answer(routes::encryption::list_secrets(State(app.clone()), Auth(scope.clone())).await)
            .await?;
    let identities = answer(routes::sso::identities(State(app.clone()), Auth(scope)).await).await?;
    let mut out = String::new();

    let mut linked = String::new();
    for i in identities["data"].as_array().into_iter().flatten() {
        let provider = esc(i["provider"].as_str().unwrap_or(""));
        linked.push_str(&format!(
            "<tr><td><code>{provider}</code></td><td>{}</td><td>{}</td><td>\
             <form data-api=\"/api/v1/me/identities/{provider}\" data-method=\"DELETE\" data-next=\"reload\" \
             data-confirm=\"Unlink this sign-in? You then sign in with your password.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\">Unlink</button></form></td></tr>",
            esc(i["linked_at"].as_str().unwrap_or("")),
            esc(i["last_sign_in_at"].as_str().unwrap_or("")),
        ));
    }
    if !linked.is_empty() {
        out.push_str(&format!(
            "<section aria-labelledby=\"ids-h\"><h2 id=\"ids-h\">Single sign-on</h2>\
             <p>The sign-in providers you have signed in with.</p>{}</section>",
            table(
                "Linked sign-ins",
                &["Provider", "Linked", "Last sign-in", ""],
                &linked
            )
        ));
    }

    let mut rows = String::new();
    for k in keys["support_keys"].as_array().into_iter().flatten() {
        if !k["revoked_at"].is_null() {
            continue;
        }
        rows.push_str(&format!(
            "<li>{} <code>{}</code> — until {} <form class=\"inline\" data-api=\"/api/v1/support-keys/{}\" \
             data-method=\"DELETE\" data-next=\"reload\"><button type=\"submit\">Revoke</button></form></li>",
            esc(k["note"].as_str().unwrap_or("")),
            esc(k["prefix"].as_str().unwrap_or("")),
            esc(k["expires_at"].as_str().unwrap_or("")),
            esc(k["id"].as_str().unwrap_or("")),
        ));
    }
    out.push_str(&format!(
        "<section aria-labelledby=\"sup-h\"><h2 id=\"sup-h\">Support access</h2>\
         <p>A key you give the operator so they can look at a problem with your account, for a few \
         hours. Every use is in the audit log; revoke it when done.</p>{list}\
         <form data-api=\"/api/v1/support-keys\"><p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"sup-note\">What it is for</label><input id=\"sup-note\" name=\"note\" required>\
         <label for=\"sup-hours\">Hours it works</label><input id=\"sup-hours\" name=\"expires_in_hours\" type=\"number\" min=\"1\" max=\"168\" value=\"4\" required>\
         <div class=\"shown\" hidden><p><strong>The key, shown only this once:</strong></p><p><code class=\"secret\" data-shown=\"key\"></code></p></div>\
         <button type=\"submit\">Create a support key</button></form></section>",
        list = if rows.is_empty() { String::new() } else { format!("<ul>{rows}</ul>") },
    ));

    let mut names = String::new();
    for s in secrets["secrets"].as_array().into_iter().flatten() {
        let name = esc(s["name"].as_str().unwrap_or(""));
        names.push_str(&format!(
            "<li><code>{name}</code> <form class=\"inline\" data-api=\"/api/v1/me/secrets/{name}\" data-method=\"DELETE\" \
             data-next=\"reload\"><button type=\"submit\">Delete</button></form></li>"
        ));
    }
    out.push_str(&format!(
        "<section aria-labelledby=\"sec-h\"><h2 id=\"sec-h\">Provider secrets</h2>\
         <p>API keys for remote providers you choose for your meetings, sealed under your own key: \
         the server uses one only on your behalf, and never shows it again.</p>{list}\
         <form data-api=\"/api/v1/me/secrets/{{name}}\" data-method=\"PUT\" data-next=\"reload\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"sec-name\">Name (as settings refer to it)</label><input id=\"sec-name\" name=\"name\" required pattern=\"[A-Za-z0-9_.-]+\">\
         <label for=\"sec-value\">Value</label><input id=\"sec-value\" name=\"value\" type=\"password\" autocomplete=\"off\" required>\
         <button type=\"submit\">Store</button></form></section>",
        list = if names.is_empty() { String::new() } else { format!("<ul>{names}</ul>") },
    ));

    out.push_str(
        "<section aria-labelledby=\"erase-h\" class=\"danger\"><h2 id=\"erase-h\">Erase your account</h2>\
         <div class=\"warning\" role=\"note\"><p>Erases your account and <strong>every meeting you own</strong> \
         (each with its own signed deletion certificate), your sessions, keys and secrets. It cannot be \
         undone. The last owner of an organization with other members must hand it over first.</p></div>\
         <form data-api=\"/api/v1/me\" data-method=\"DELETE\" data-next=\"/certificates/{id}\" \
         data-confirm=\"Erase your account and every meeting you own, for good?\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"erase-pw\">Your password</label><input id=\"erase-pw\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\" class=\"danger\">Erase my account</button></form></section>",
    );
    Ok(out)
}

/// The events of the caller's calendars in the sync window: whether a bot records each and
/// why, and the caller's own choice for it (always, never, or the rules).
pub(crate) async fn calendar_events(
    app: &AppState,
    scope: Scope<BotsWrite>,
) -> Result<String, PageError> {
    let events = answer(routes::calendar::events(State(app.clone()), Auth(scope)).await).await?;
    let mut rows = String::new();
    for (i, e) in events["data"].as_array().into_iter().flatten().enumerate() {
        let choice = e["choice"].as_str().unwrap_or("");
        let mut options = String::new();
        for (value, label) in [
            ("", "as the rules say"),
            ("always", "always record"),
            ("never", "never record"),
        ] {
            let selected = if value == choice { " selected" } else { "" };
            options.push_str(&format!(
                "<option value=\"{value}\"{selected}>{label}</option>"
            ));
        }
        let bot = e["bot_id"]
            .as_str()
            .map(|b| format!(" (<a href=\"/bots/{b}\">its bot</a>)", b = esc(b)))
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{title}</td><td>{start}</td><td>{platform}</td><td>{record}: {reason}{bot}</td><td>\
             <form class=\"inline-edit\" data-api=\"/api/v1/calendar/connections/{conn}/events/{event}/choice\" \
             data-method=\"PUT\" data-next=\"reload\"><label class=\"visually-hidden\" for=\"choice-{i}\">Your choice for {title}</label>\
             <select id=\"choice-{i}\" name=\"choice\" data-null>{options}</select> <button type=\"submit\">Set</button>\
             <p class=\"form-error\" role=\"alert\" hidden></p></form></td></tr>",
            title = esc(e["title"].as_str().unwrap_or("")),
            start = esc(e["start"].as_str().unwrap_or("")),
            platform = esc(e["platform"].as_str().unwrap_or("no link")),
            record = if e["record"] == serde_json::Value::Bool(true) {
                "recorded"
            } else {
                "not recorded"
            },
            reason = esc(&e["reason"].as_str().unwrap_or("").replace('_', " ")),
            conn = esc(e["connection_id"].as_str().unwrap_or("")),
            event = esc(&super::segment(e["event_id"].as_str().unwrap_or(""))),
        ));
    }
    if rows.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "<section aria-labelledby=\"ev-h\"><h2 id=\"ev-h\">Coming up in your calendars</h2>{}</section>",
        table(
            "Calendar events",
            &["Meeting", "Starts", "Where", "A bot", "Your choice"],
            &rows
        )
    ))
}

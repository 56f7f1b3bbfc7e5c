//! The rest of the caller's own settings: support-access keys (for meetvault's operator to help
//! with one account, time-limited, every use audited), provider secrets (API keys of remote
//! transcription or LLM providers, sealed under the caller's key, never shown again) and
//! erasing the account.

use axum::extract::State;
use meetvault_core::access::Scope;
use meetvault_core::access::proof::OwnAccount;

use super::PageError;
use super::organization::answer;
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
        answer(routes::encryption::list_secrets(State(app.clone()), Auth(scope)).await).await?;
    let mut out = String::new();

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

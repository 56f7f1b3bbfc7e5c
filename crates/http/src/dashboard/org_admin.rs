//! The organization page's administrative sections: its destinations (each listed, made the
//! default, deleted), the processors that may receive its data, its own sign-in provider
//! (OpenID Connect or SAML), its own KMS key, the data subjects' deletion requests, and — for
//! an owner — closing the organization (or reopening it in the grace period). Read through the
//! API's handlers, changed through the API's routes.

use axum::extract::State;
use meetvault_core::access::proof::OrgManage;
use meetvault_core::access::{Principal, Role, Scope};
use serde_json::{Value, json};

use super::organization::{answer, json_editor, without};
use super::{PageError, s, table};
use crate::ApiError;
use crate::auth::{Auth, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;

/// A one-button form that reloads the page after.
fn button(path: &str, method: &str, label: &str, confirm: Option<&str>) -> String {
    super::button(path, method, label, "reload", confirm)
}

/// The destinations: a table of what is configured, and the API's body to add one.
pub(crate) async fn destinations(
    app: &AppState,
    scope: &Scope<OrgManage>,
) -> Result<String, PageError> {
    let list = answer(
        routes::destinations::list_destinations(State(app.clone()), Auth(scope.clone())).await,
    )
    .await?;
    let mut rows = String::new();
    for d in list["destinations"].as_array().into_iter().flatten() {
        let id = esc(s(d, "id"));
        let default = if d["is_default"] == Value::Bool(true) {
            "the default".to_owned()
        } else {
            format!(
                "<form class=\"inline\" data-api=\"/api/v1/destinations/{id}\" data-method=\"PATCH\" data-next=\"reload\">\
                 <input type=\"hidden\" name=\"is_default\" value=\"true\" data-json>\
                 <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\">Make it the default</button></form>"
            )
        };
        rows.push_str(&format!(
            "<tr><td>{name}</td><td><code>{bucket}/{prefix}</code></td><td>{endpoint}</td><td>{key}</td>\
             <td>{enc}</td><td>{default}</td><td>{delete}</td></tr>",
            name = esc(s(d, "name")),
            bucket = esc(s(d, "bucket")),
            prefix = esc(s(d, "prefix")),
            endpoint = esc(d["endpoint"].as_str().unwrap_or("AWS S3")),
            key = esc(s(d, "access_key_hint")),
            enc = if d["age_recipient"].is_string() {
                "age, to your key"
            } else {
                "the bucket's own"
            },
            delete = button(
                &format!("/api/v1/destinations/{id}"),
                "DELETE",
                "Delete",
                Some("Delete this destination? What was delivered stays in the bucket.")
            ),
        ));
    }
    let mut out = String::from(
        "<section aria-labelledby=\"dests-h\"><h2 id=\"dests-h\">Destinations (your own bucket)</h2>",
    );
    if rows.is_empty() {
        out.push_str(
            "<p>No destinations: recordings and transcripts stay on this server only.</p>",
        );
    } else {
        out.push_str(&table(
            "Destinations",
            &[
                "Name",
                "Bucket and prefix",
                "Endpoint",
                "Access key",
                "Encryption",
                "Default",
                "",
            ],
            &rows,
        ));
    }
    out.push_str("</section>");
    out.push_str(&json_editor(
        "dest",
        "Add a destination",
        "Its settings as the API takes them (docs/delivery.md): the credentials are stored sealed \
         and never shown again; meetvault proves the bucket takes writes before it saves.",
        "/api/v1/destinations",
        "POST",
        &json!({"name": "Archive", "endpoint": "https://s3.eu-central-1.amazonaws.com", "region": "eu-central-1", "bucket": "", "prefix": "meetvault", "access_key_id": "", "secret_access_key": "", "is_default": true}),
    ));
    Ok(out)
}

/// Who may receive this organization's data: the processors in use and available.
pub(crate) async fn processors(app: &AppState, principal: &Principal) -> Result<String, PageError> {
    let Ok(scope) = principal.authorize::<perm::MeetingsRead>() else {
        return Ok(String::new());
    };
    let list = answer(routes::intel::processors(State(app.clone()), Auth(scope)).await).await?;
    let mut rows = String::new();
    for p in list["processors"].as_array().into_iter().flatten() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s(p, "name")),
            esc(s(p, "purpose")),
            esc(s(p, "location")),
            esc(s(p, "retention")),
            if p["active"] == Value::Bool(true) {
                "in use"
            } else {
                "not in use"
            },
        ));
    }
    Ok(format!(
        "<section aria-labelledby=\"proc-h\"><h2 id=\"proc-h\">Processors</h2>\
         <p>Every engine and provider that may receive your organization's meeting data, and where it goes.</p>{}</section>",
        table(
            "Processors",
            &["Name", "Purpose", "Where", "Keeps data", "State"],
            &rows
        )
    ))
}

/// The organization's own sign-in provider: OpenID Connect or SAML.
pub(crate) async fn own_provider(
    app: &AppState,
    scope: &Scope<OrgManage>,
) -> Result<String, PageError> {
    let mut out = String::from(
        "<section aria-labelledby=\"own-h\"><h2 id=\"own-h\">Your own sign-in provider</h2>",
    );
    match answer(routes::sso::get_org_oidc(State(app.clone()), Auth(scope.clone())).await).await {
        Ok(oidc) => {
            out.push_str(&format!(
                "<p>OpenID Connect: <strong>{}</strong>. Register this redirect URI at the provider: \
                 <code>{}</code>. People sign in at <a href=\"{start}\">{start}</a>.</p>{}",
                esc(s(&oidc, "name")),
                esc(s(&oidc, "redirect_uri")),
                button(
                    "/api/v1/org/sso/oidc",
                    "DELETE",
                    "Remove this provider",
                    Some("Remove your OpenID Connect provider? Its sign-in button goes away.")
                ),
                start = esc(s(&oidc, "start_url")),
            ));
            out.push_str(&json_editor(
                "oidc",
                "Change it",
                "Leave out <code>client_secret</code> to keep the stored one.",
                "/api/v1/org/sso/oidc",
                "PUT",
                &without(oidc, &["provider_id", "redirect_uri", "start_url"]),
            ));
        }
        Err(PageError::Api(ApiError::NotFound(_))) => out.push_str(&json_editor(
            "oidc",
            "OpenID Connect",
            "Your provider's client registration: <code>kind</code> is <code>generic</code> \
             (with <code>issuer</code>), <code>google</code> or <code>entra</code> (with \
             <code>tenant</code>). The secret is stored sealed and never shown again.",
            "/api/v1/org/sso/oidc",
            "PUT",
            &json!({"name": "Company sign-in", "kind": "generic", "issuer": "https://", "client_id": "", "client_secret": ""}),
        )),
        Err(e) => return Err(e),
    }
    match answer(routes::saml::get_org_saml(State(app.clone()), Auth(scope.clone())).await).await {
        Ok(saml) => out.push_str(&format!(
            "<h3>SAML</h3><dl><dt>Your identity provider</dt><dd><code>{}</code></dd>\
             <dt>Our entity ID (give it to the provider)</dt><dd><code>{}</code></dd>\
             <dt>Our assertion consumer service URL</dt><dd><code>{}</code></dd>\
             <dt>Sign in at</dt><dd><a href=\"{start}\">{start}</a></dd></dl>{}",
            esc(s(&saml, "idp_entity_id")),
            esc(s(&saml, "sp_entity_id")),
            esc(s(&saml, "sp_acs_url")),
            button(
                "/api/v1/org/sso/saml",
                "DELETE",
                "Remove SAML",
                Some("Remove SAML sign-in for your organization?")
            ),
            start = esc(s(&saml, "start_url")),
        )),
        Err(PageError::Api(ApiError::NotFound(_))) => out.push_str(
            "<h3>SAML</h3><form data-api=\"/api/v1/org/sso/saml\" data-method=\"PUT\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"saml-md\">Your identity provider's metadata (XML)</label>\
             <textarea id=\"saml-md\" name=\"idp_metadata\" rows=\"6\" spellcheck=\"false\" class=\"json\" required></textarea>\
             <button type=\"submit\">Import</button></form>",
        ),
        Err(e) => return Err(e),
    }
    out.push_str("</section>");
    Ok(out)
}

/// The organization's own KMS key, where this server can use one.
pub(crate) async fn encryption(
    app: &AppState,
    scope: &Scope<OrgManage>,
) -> Result<String, PageError> {
    let e = answer(
        routes::encryption::get_org_encryption(State(app.clone()), Auth(scope.clone())).await,
    )
    .await?;
    let mut out = String::from(
        "<section aria-labelledby=\"kms-h\"><h2 id=\"kms-h\">Your organization's key</h2>",
    );
    let current = e["kms_key_id"].as_str();
    out.push_str(&match current {
        Some(k) => format!(
            "<p>Your organization's key is wrapped by your own KMS key <code>{}</code>: revoking \
             meetvault's use of it there makes your data unreadable here.</p>",
            esc(k)
        ),
        None => "<p>Your organization's key is wrapped by this server's master key.</p>".to_owned(),
    });
    if e["kms_available"] == Value::Bool(true) {
        out.push_str(&format!(
            "<form data-api=\"/api/v1/org/encryption\" data-method=\"PUT\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"kms-key\">Your AWS KMS key (id, alias or ARN; empty: give it back to the master key)</label>\
             <input id=\"kms-key\" name=\"kms_key_id\" value=\"{}\" data-null>\
             <button type=\"submit\">Re-wrap the key</button></form>",
            esc(current.unwrap_or(""))
        ));
    } else {
        out.push_str(
            "<p class=\"note\">Bringing your own KMS key is not available: this server has no AWS KMS configured.</p>",
        );
    }
    out.push_str("</section>");
    Ok(out)
}

/// Closing the organization (an owner, with their password), or reopening it while it waits
/// to be erased.
pub(crate) async fn closure(app: &AppState, principal: &Principal) -> Result<String, PageError> {
    if principal.role() != Role::Owner {
        return Ok(String::new());
    }
    let c = answer(routes::org::org_closure(State(app.clone()), Auth(principal.whoami())).await)
        .await?;
    let inner = if c["closed"] == Value::Bool(true) {
        format!(
            "<p><strong>The organization is closed</strong> (since {}); everything in it is erased at {}.</p>\
             <form data-api=\"/api/v1/org/reopen\" data-next=\"reload\"><p class=\"form-error\" role=\"alert\" hidden></p>\
             <button type=\"submit\">Reopen the organization</button></form>",
            esc(s(&c, "closed_at")),
            esc(s(&c, "erase_at")),
        )
    } else {
        "<p>Closing locks the organization at once: from the next request no member or key can \
         use it. Everything in it is erased, with deletion certificates, after a grace period; \
         until then an owner can reopen it.</p><form data-api=\"/api/v1/org/close\" data-next=\"reload\" \
         data-confirm=\"Close the organization? Everyone is signed out.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"close-pw\">Your password</label><input id=\"close-pw\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\" class=\"danger\">Close the organization</button></form>"
            .to_owned()
    };
    Ok(format!(
        "<section aria-labelledby=\"close-h\" class=\"danger\"><h2 id=\"close-h\">Close the organization</h2>{inner}</section>"
    ))
}

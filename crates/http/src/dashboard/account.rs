//! Settings: `/settings` (the caller's account: password, two-factor authentication, sessions,
//! API keys) and `/settings/members` (members and invitations, for those who manage them).
//! Every change is a form sent to the API route it names.

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;

use meetvault_core::access::Scope;
use serde_json::Value;

use super::organization::{answer, json_editor};
use super::{PageError, gate, need, shell, table, when};
use crate::ApiError;
use crate::auth::{Auth, Caller, OwnAccount, perm};
use crate::routes;
use crate::routes::privacy::esc;
use crate::state::AppState;
use crate::wire::auth::{SessionList, User};
use crate::wire::keys::ApiKeyList;
use crate::wire::org::{InvitationList, MemberList};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings))
        .route("/settings/members", get(members))
}

/// The permissions a key may hold, with what each allows.
const PERMISSIONS: &[(&str, &str)] = &[
    ("meetings:read", "read meetings, recordings and transcripts"),
    ("meetings:write", "create meetings and upload recordings"),
    ("meetings:delete", "delete meetings"),
    ("bots:write", "send and stop bots"),
    ("webhooks:manage", "manage webhooks"),
    ("audit:read", "read the audit log"),
];

pub(crate) const SETTINGS_NAV: &str = "<nav aria-label=\"Settings\" class=\"subnav\"><ul>\
    <li><a href=\"/settings\">Your account</a></li><li><a href=\"/settings/members\">Members</a></li>\
    <li><a href=\"/settings/organization\">Organization</a></li>\
    <li><a href=\"/settings/integrations\">Integrations</a></li><li><a href=\"/settings/approvals\">Approvals</a></li>\
    <li><a href=\"/settings/widgets\">Widgets</a></li>\
    <li><a href=\"/certificates\">Deletion certificates</a></li><li><a href=\"/trust\">Trust page</a></li></ul></nav>";

async fn settings(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<OwnAccount>(&app, &principal, &uri).await?;
    let me = User::from(app.core.identity().me(&principal.whoami()).await?);
    let sessions = SessionList::from(app.core.identity().sessions(&scope).await?);
    let mut body = String::from(SETTINGS_NAV);
    body.push_str(&format!(
        "<section aria-labelledby=\"me-h\"><h2 id=\"me-h\">Your account</h2><dl>\
         <dt>Name</dt><dd>{}</dd><dt>Email</dt><dd>{}</dd><dt>Role</dt><dd>{}</dd></dl></section>",
        esc(&me.name),
        esc(&me.email),
        esc(&me.role)
    ));
    body.push_str(
        "<section aria-labelledby=\"pw-h\"><h2 id=\"pw-h\">Password</h2>\
         <form data-api=\"/api/v1/auth/password\" data-done=\"Password changed; your other sessions were ended.\">\
         <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p>\
         <label for=\"current_password\">Current password</label><input id=\"current_password\" name=\"current_password\" type=\"password\" autocomplete=\"current-password\" required>\
         <label for=\"new_password\">New password</label><input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <button type=\"submit\">Change password</button></form></section>",
    );
    body.push_str(&two_factor(me.mfa_enabled));
    let encryption =
        answer(routes::encryption::status(State(app.clone()), Auth(scope.clone())).await).await?;
    body.push_str(&zero_access(&encryption));
    body.push_str(&sessions_section(&sessions));
    if let Ok(bots) = principal.authorize::<perm::BotsWrite>() {
        body.push_str(&calendars(&app, bots).await?);
    }
    body.push_str(&super::account_more::sections(&app, scope.clone()).await?);
    body.push_str(&super::org_admin::closure(&app, &principal).await?);
    // Only for those who may manage keys (not audited as a refusal for the others).
    if let Ok(keys_scope) = principal.authorize::<perm::KeysManage>() {
        let keys = ApiKeyList::from(app.core.api_keys().list(&keys_scope).await?);
        body.push_str(&api_keys(&keys));
    }
    Ok(shell("/settings", "Settings", &body))
}

fn two_factor(enabled: bool) -> String {
    if enabled {
        return "<section aria-labelledby=\"mfa-h\"><h2 id=\"mfa-h\">Two-factor authentication</h2>\
             <p class=\"ok\">On: signing in asks for your authenticator app's code.</p>\
             <form data-api=\"/api/v1/auth/mfa/totp\" data-method=\"DELETE\" data-next=\"reload\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"off-code\">Current code (to turn it off)</label><input id=\"off-code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
             <button type=\"submit\">Turn off</button></form></section>"
            .to_owned();
    }
    "<section aria-labelledby=\"mfa-h\"><h2 id=\"mfa-h\">Two-factor authentication</h2>\
     <p>Off. Turn it on to ask for a code from an authenticator app at each sign-in.</p>\
     <form data-api=\"/api/v1/auth/mfa/totp\">\
     <p class=\"form-error\" role=\"alert\" hidden></p>\
     <div class=\"shown\" hidden><p>Add this key to your authenticator app (or open the link on your phone):</p>\
     <p><code data-shown=\"secret\"></code></p><p><code data-shown=\"otpauth_uri\"></code></p></div>\
     <button type=\"submit\">Start</button></form>\
     <form data-api=\"/api/v1/auth/mfa/totp/confirm\">\
     <p class=\"form-error\" role=\"alert\" hidden></p>\
     <label for=\"totp-code\">Then the app's current code</label><input id=\"totp-code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
     <div class=\"shown\" hidden><p><strong>Two-factor authentication is on.</strong> Keep these recovery codes \
     somewhere safe; each signs you in once without the app. They are shown only now.</p>\
     <pre data-shown=\"recovery_codes\"></pre></div>\
     <button type=\"submit\">Turn on</button></form></section>"
        .to_owned()
}

/// Zero-access mode, with what it costs said in words before it is turned on.
fn zero_access(status: &Value) -> String {
    let on = status["mode"] == "zero_access";
    let mut out = String::from(
        "<section aria-labelledby=\"za-h\"><h2 id=\"za-h\">Zero-access encryption</h2>",
    );
    if on {
        out.push_str(if status["unlocked"] == Value::Bool(true) {
            "<p class=\"ok\">On, and unlocked in this session.</p>"
        } else {
            "<p>On, and locked: your meetings cannot be read until you unlock them with your password.</p>\
             <form data-api=\"/api/v1/me/encryption/unlock\" data-next=\"reload\"><p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"za-unlock\">Password</label><input id=\"za-unlock\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Unlock</button></form>"
        });
        out.push_str(
            "<form data-api=\"/api/v1/me/encryption/zero-access/disable\" data-next=\"reload\" \
             data-confirm=\"Turn zero-access mode off? Your organization's key will be able to open your meetings again.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"za-off\">Password (to turn it off)</label><input id=\"za-off\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Turn off</button></form>",
        );
    } else {
        out.push_str(
            "<p>Off: your meetings are encrypted under keys your organization's key opens.</p>\
             <div class=\"warning\" role=\"note\"><p><strong>Before you turn it on:</strong> your meetings will be \
             encrypted under a key that only your password — or the recovery key you get now — opens. \
             <strong>If you lose both, nobody can recover them: not your administrator, not the operator, not us.</strong> \
             While you are signed out, nothing (no summary, no delivery, no search) can read them. \
             Calendars cannot be connected to a zero-access account.</p></div>\
             <form data-api=\"/api/v1/me/encryption/zero-access\" data-confirm=\"Turn on zero-access mode? Keep the recovery key you will be shown.\">\
             <p class=\"form-error\" role=\"alert\" hidden></p>\
             <label for=\"za-on\">Password</label><input id=\"za-on\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <div class=\"shown\" hidden><p><strong>Your recovery key, shown only this once.</strong> Write it down and keep it apart from your password:</p>\
             <p><code class=\"secret\" data-shown=\"recovery_key\"></code></p><p data-shown=\"warning\"></p>\
             <p><a href=\"/settings\">I have kept it</a></p></div>\
             <button type=\"submit\">Turn on zero-access mode</button></form>",
        );
    }
    out.push_str("</section>");
    out
}

/// The caller's calendars: connected ones, a button per configured provider, the rules.
async fn calendars(app: &AppState, scope: Scope<perm::BotsWrite>) -> Result<String, PageError> {
    let providers = answer(Ok::<_, ApiError>(
        routes::calendar::providers(State(app.clone()), Auth(scope.clone())).await,
    ))
    .await?;
    let providers: Vec<&Value> = providers["data"].as_array().into_iter().flatten().collect();
    if providers.is_empty() {
        return Ok(String::new());
    }
    let connections =
        answer(routes::calendar::list_connections(State(app.clone()), Auth(scope.clone())).await)
            .await?;
    let mut out =
        String::from("<section aria-labelledby=\"cal-h\"><h2 id=\"cal-h\">Calendars</h2>");
    let mut list = String::new();
    for c in connections["data"].as_array().into_iter().flatten() {
        let id = esc(c["id"].as_str().unwrap_or(""));
        list.push_str(&format!(
            "<li>{} — {}{} <form class=\"inline\" data-api=\"/api/v1/calendar/connections/{id}\" data-method=\"DELETE\" \
             data-next=\"reload\" data-confirm=\"Disconnect this calendar? Its scheduled bots are cancelled.\">\
             <button type=\"submit\">Disconnect</button></form> <form class=\"inline\" \
             data-api=\"/api/v1/calendar/connections/{id}/sync\" data-done=\"Reading it now.\">\
             <button type=\"submit\">Read it now</button><p class=\"form-error\" role=\"alert\" hidden></p>\
             <p class=\"form-done\" role=\"status\"></p></form></li>",
            esc(c["provider"].as_str().unwrap_or("")),
            esc(c["status"].as_str().unwrap_or("")),
            c["error"].as_str().map(|e| format!(" ({})", esc(e))).unwrap_or_default(),
        ));
    }
    if !list.is_empty() {
        out.push_str(&format!("<ul>{list}</ul>"));
    }
    for p in providers {
        let name = p["provider"].as_str().unwrap_or("");
        let label = match name {
            "google" => "Google Calendar",
            "microsoft" => "Microsoft 365",
            other => other,
        };
        out.push_str(&format!(
            "<form data-api=\"/api/v1/calendar/connections\" data-next=\"@authorization_url\">\
             <input type=\"hidden\" name=\"provider\" value=\"{}\"><input type=\"hidden\" name=\"return_to\" value=\"/settings\">\
             <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\">Connect {}</button></form>",
            esc(name),
            esc(label)
        ));
    }
    out.push_str("</section>");
    out.push_str(&super::account_more::calendar_events(app, scope.clone()).await?);
    let rules = answer(routes::calendar::get_rules(State(app.clone()), Auth(scope)).await).await?;
    out.push_str(&json_editor(
        "rules",
        "Which calendar meetings get a bot",
        "Your auto-join rules: all meetings with a conference link, only ones you organise, only ones \
         with people from outside, never ones with a keyword or domain.",
        "/api/v1/calendar/rules",
        "PUT",
        &rules,
    ));
    Ok(out)
}

fn sessions_section(sessions: &SessionList) -> String {
    let mut rows = String::new();
    for s in &sessions.sessions {
        let action = if s.current {
            "This session".to_owned()
        } else {
            format!(
                "<form data-api=\"/api/v1/auth/sessions/{}\" data-method=\"DELETE\" data-next=\"reload\">\
                 <button type=\"submit\">End</button></form>",
                s.id
            )
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            esc(s.user_agent.as_deref().unwrap_or("unknown")),
            esc(s.ip.as_deref().unwrap_or("")),
            when(&s.created_at),
            when(&s.last_seen_at),
        ));
    }
    format!(
        "<section aria-labelledby=\"sess-h\"><h2 id=\"sess-h\">Sessions</h2>{}</section>",
        table(
            "Sessions",
            &["Browser", "Address", "Signed in", "Last seen", ""],
            &rows
        )
    )
}

fn api_keys(keys: &ApiKeyList) -> String {
    let mut boxes = String::new();
    for (i, (name, what)) in PERMISSIONS.iter().enumerate() {
        let checked = if *name == "meetings:read" {
            " checked"
        } else {
            ""
        };
        boxes.push_str(&format!(
            "<div class=\"check\"><input type=\"checkbox\" id=\"perm-{i}\" name=\"permissions\" value=\"{name}\" data-list{checked}>\
             <label for=\"perm-{i}\"><code>{name}</code>: {what}</label></div>"
        ));
    }
    let mut rows = String::new();
    for k in keys.api_keys.iter().filter(|k| k.revoked_at.is_none()) {
        rows.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>\
             <form data-api=\"/api/v1/api-keys/{}\" data-method=\"DELETE\" data-next=\"reload\" \
             data-confirm=\"Revoke this key? Programs using it stop working at once.\">\
             <button type=\"submit\">Revoke</button></form></td></tr>",
            esc(&k.name),
            esc(&k.prefix),
            esc(&k.permissions.join(", ")),
            k.last_used_at
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "never".to_owned()),
            k.id
        ));
    }
    let table = if rows.is_empty() {
        "<p>No API keys.</p>".to_owned()
    } else {
        table(
            "API keys",
            &["Name", "Starts with", "Permissions", "Last used", ""],
            &rows,
        )
    };
    format!(
        "<section aria-labelledby=\"keys-h\"><h2 id=\"keys-h\">API keys</h2>{table}\
         <form data-api=\"/api/v1/api-keys\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"key-name\">New key's name</label><input id=\"key-name\" name=\"name\" required>\
         <fieldset><legend>It may</legend>{boxes}</fieldset>\
         <div class=\"shown\" hidden><p><strong>Your new key, shown only this once.</strong> Copy it now; \
         send it as <code>Authorization: Bearer …</code>.</p><p><code class=\"secret\" data-shown=\"key\"></code></p></div>\
         <button type=\"submit\">Create key</button></form></section>"
    )
}

async fn members(
    State(app): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
) -> Result<Response, PageError> {
    let principal = gate(caller, &uri)?;
    let scope = need::<perm::MembersManage>(&app, &principal, &uri).await?;
    let members = MemberList::from(app.core.org().members(&scope).await?);
    let invitations = InvitationList::from(app.core.org().invitations(&scope).await?);
    let mut body = String::from(SETTINGS_NAV);
    let mut rows = String::new();
    for m in &members.members {
        let mut roles = String::new();
        for r in ["owner", "admin", "member", "viewer", "billing"] {
            let selected = if m.role == r { " selected" } else { "" };
            roles.push_str(&format!("<option value=\"{r}\"{selected}>{r}</option>"));
        }
        rows.push_str(&format!(
            "<tr><td>{name}</td><td>{email}</td><td><form class=\"inline-edit\" data-api=\"/api/v1/members/{id}\" \
             data-method=\"PATCH\" data-done=\"Saved.\"><label class=\"visually-hidden\" for=\"role-{id}\">Role of {name}</label>\
             <select id=\"role-{id}\" name=\"role\">{roles}</select> <button type=\"submit\">Change</button>\
             <p class=\"form-error\" role=\"alert\" hidden></p><p class=\"form-done\" role=\"status\"></p></form></td>\
             <td>{mfa}</td><td><form data-api=\"/api/v1/members/{id}\" data-method=\"DELETE\" data-next=\"reload\" \
             data-confirm=\"Remove {name} from the organization?\"><p class=\"form-error\" role=\"alert\" hidden></p>\
             <button type=\"submit\">Remove</button></form></td></tr>",
            id = m.id,
            name = esc(&m.name),
            email = esc(&m.email),
            mfa = if m.mfa_enabled {
                format!(
                    "on <form class=\"inline\" data-api=\"/api/v1/members/{}/mfa\" data-method=\"DELETE\" data-next=\"reload\" \
                     data-confirm=\"Turn off {}'s two-factor authentication (they lost their device)? They are signed out everywhere and can set it up again.\">\
                     <p class=\"form-error\" role=\"alert\" hidden></p><button type=\"submit\">Reset</button></form>",
                    m.id,
                    esc(&m.name)
                )
            } else {
                "off".to_owned()
            },
        ));
    }
    body.push_str(&format!(
        "<section aria-labelledby=\"mem-h\"><h2 id=\"mem-h\">Members</h2>{}</section>",
        table(
            "Members",
            &["Name", "Email", "Role", "Two-factor", ""],
            &rows
        )
    ));
    let mut pending = String::new();
    for i in invitations
        .invitations
        .iter()
        .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none())
    {
        pending.push_str(&format!(
            "<li>{} as {} — until {} <form class=\"inline\" data-api=\"/api/v1/invitations/{}\" data-method=\"DELETE\" data-next=\"reload\">\
             <button type=\"submit\">Revoke</button></form></li>",
            esc(&i.email),
            esc(&i.role),
            when(&i.expires_at),
            i.id
        ));
    }
    if !pending.is_empty() {
        pending = format!("<h3>Waiting to be accepted</h3><ul>{pending}</ul>");
    }
    body.push_str(&format!(
        "<section aria-labelledby=\"inv-h\"><h2 id=\"inv-h\">Invite someone</h2>{pending}\
         <form data-api=\"/api/v1/invitations\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"inv-email\">Email</label><input id=\"inv-email\" name=\"email\" type=\"email\" required>\
         <label for=\"inv-role\">Role</label><select id=\"inv-role\" name=\"role\">\
         <option value=\"member\">Member: records and reads meetings</option>\
         <option value=\"viewer\">Viewer: reads meetings</option>\
         <option value=\"admin\">Admin: manages members and settings</option>\
         <option value=\"billing\">Billing</option></select>\
         <div class=\"shown\" hidden><p><strong>Send them this link</strong> (shown only now; it works once):</p>\
         <p><code class=\"secret\" data-shown=\"token\" data-prefix=\"/invitations/accept#token=\"></code></p></div>\
         <button type=\"submit\">Create invitation</button></form></section>"
    ));
    Ok(shell("/settings", "Members", &body))
}

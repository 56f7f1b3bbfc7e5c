//! Signing in and joining: `/login` (password, then the authenticator code or a recovery code
//! when the account has two factors; the SSO providers as buttons when any is configured),
//! `/signup` (the first user, or anyone when registration is open) and
//! `/invitations/accept#token=mvi_…` (the token stays in the fragment, which no request
//! carries, until the form sends it to the API).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{bare, local_path, percent};
use crate::routes::privacy::esc;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login))
        .route("/signup", get(signup))
        .route("/invitations/accept", get(accept))
        .route("/recover", get(recover))
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login(State(app): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    let next = local_path(q.next.as_deref());
    let providers = app.core.identity().sso_providers();
    let mut sso = String::new();
    if !providers.is_empty() {
        sso.push_str("<section aria-labelledby=\"sso\"><h2 id=\"sso\">With your company's account</h2><ul class=\"buttons\">");
        for p in &providers {
            sso.push_str(&format!(
                "<li><a class=\"button\" href=\"/api/v1/auth/sso/{}/start?return_to={}\">Sign in with {}</a></li>",
                percent(&p.id),
                percent(next),
                esc(&p.name)
            ));
        }
        sso.push_str("</ul></section><h2>With your password</h2>");
    }
    let signup = if app.core.config().auth.open_registration {
        "<p>New here? <a href=\"/signup\">Create an organization</a>.</p>"
    } else {
        "<p class=\"note\">New here? Ask your organization's owner for an invitation (the first \
         person on a new installation <a href=\"/signup\">creates the organization</a>).</p>"
    };
    let body = format!(
        "{sso}<form data-api=\"/api/v1/auth/login\" data-next=\"{next}\" data-mfa>\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <fieldset class=\"mfa\" hidden><legend>Two-factor authentication</legend>\
         <label for=\"totp_code\">Code from your authenticator app</label>\
         <input id=\"totp_code\" name=\"totp_code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\">\
         <label for=\"recovery_code\">Or one of your recovery codes</label>\
         <input id=\"recovery_code\" name=\"recovery_code\" autocomplete=\"off\"></fieldset>\
         <button type=\"submit\">Sign in</button></form>{signup}\
         <p class=\"note\">Forgot the password of a zero-access account? <a href=\"/recover\">Use your recovery key</a>. \
         (For other accounts, ask your organization's owner.)</p>",
        next = esc(next),
    );
    bare(StatusCode::OK, "Sign in", &body)
}

async fn signup() -> Response {
    let body = "<p>Creates your account and a new organization, of which you are the owner. \
         (After the first person, this works only when the operator has opened registration; \
         otherwise ask for an invitation.)</p>\
         <form data-api=\"/api/v1/auth/register\" data-next=\"/meetings\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"name\">Your name</label><input id=\"name\" name=\"name\" autocomplete=\"name\" required>\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required aria-describedby=\"password-help\">\
         <p id=\"password-help\" class=\"note\">At least 12 characters; a passphrase of a few words is best.</p>\
         <label for=\"org_name\">Organization</label><input id=\"org_name\" name=\"org_name\" autocomplete=\"organization\" required>\
         <button type=\"submit\">Create account</button></form>\
         <p>Already have an account? <a href=\"/login\">Sign in</a>.</p>";
    bare(StatusCode::OK, "Create your account", body)
}

/// A zero-access account's way back: the recovery key sets a new password (and is replaced).
async fn recover() -> Response {
    let body = "<p>Your recovery key opens your encrypted meetings without your password. Enter it with \
         a new password; you get a new recovery key (the old one stops working) and every session ends.</p>\
         <form data-api=\"/api/v1/auth/recover\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"recovery_key\">Recovery key</label><input id=\"recovery_key\" name=\"recovery_key\" autocomplete=\"off\" required>\
         <label for=\"new_password\">New password</label><input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <div class=\"shown\" hidden><p><strong>Done. Your new recovery key, shown only this once:</strong></p>\
         <p><code class=\"secret\" data-shown=\"recovery_key\"></code></p><p><a href=\"/login\">Sign in</a></p></div>\
         <button type=\"submit\">Set the new password</button></form>";
    bare(StatusCode::OK, "Recover your account", body)
}

async fn accept() -> Response {
    let body = "<p>You were invited to an organization on meetvault. Choose your name and a \
         password to join it.</p>\
         <form data-api=\"/api/v1/invitations/{token}/accept\" data-next=\"/meetings\">\
         <p class=\"form-error\" role=\"alert\" hidden></p>\
         <label for=\"token\">Invitation code</label><input id=\"token\" name=\"token\" data-from-hash=\"token\" autocomplete=\"off\" required>\
         <label for=\"name\">Your name</label><input id=\"name\" name=\"name\" autocomplete=\"name\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <button type=\"submit\">Join</button></form>";
    bare(StatusCode::OK, "Accept your invitation", body)
}

//! Accounts and sessions: register, login, logout, the caller's sessions, password change and
//! `GET /me`. Login and registration set the session cookie (HttpOnly, Secure, SameSite=Lax,
//! `__Host-` over HTTPS); the body returns the CSRF token for non-browser-origin callers.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use meetvault_core::auth::{LoginOutcome, LoginRequest, RegisterRequest};
use meetvault_core::ids::SessionId;

use crate::auth::{AnyCaller, Auth, OwnAccount, SameSite, cookie, device_cookie_name, set_cookie};
use crate::state::AppState;
use crate::wire::auth::{
    CredentialKind, EraseBody, LoginBody, Me, PasswordBody, PasswordChanged, RegisterBody,
    SessionCreated, SessionList,
};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::{ApiError, ApiJson};

use super::Meta;

pub(crate) fn session_response(
    app: &AppState,
    outcome: LoginOutcome,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let config = app.core.config();
    let session = set_cookie(
        crate::auth::session_cookie_name(config),
        outcome.token.expose(),
        config.auth.session_ttl_secs,
    );
    let device = set_cookie(device_cookie_name(config), &outcome.device, 365 * 24 * 3600);
    let body = SessionCreated {
        user: outcome.user.into(),
        session_id: outcome.session_id.to_string(),
        csrf_token: outcome.csrf_token.clone(),
        expires_at: outcome.expires_at,
    };
    Ok((
        status,
        AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, device)]),
        ApiJson(body),
    )
        .into_response())
}

/// Creates an account. The first user of an instance becomes the owner of a new organization;
/// afterwards registration is by invitation unless `auth.open_registration` is on.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(JsonBodyErrors,
        (status = 201, description = "Registered and signed in", body = SessionCreated),
        (status = 403, description = "Registration is by invitation", body = crate::error::ErrorBody),
        (status = 409, description = "Email taken", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid input (e.g. a common password)", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    ))]
pub async fn register(
    State(app): State<AppState>,
    Meta(meta): Meta,
    _: SameSite,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Response, ApiError> {
    let outcome = app
        .core
        .identity()
        .register(RegisterRequest {
            email: body.email,
            password: body.password,
            name: body.name,
            org_name: body.org_name,
            meta,
        })
        .await?;
    session_response(&app, outcome, StatusCode::CREATED)
}

/// Signs in with email and password (and a second factor when enabled).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(JsonBodyErrors,
        (status = 200, description = "Signed in; the session cookie is set", body = SessionCreated),
        (status = 401, description = "Wrong email or password, or a second factor is required", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    ))]
pub async fn login(
    State(app): State<AppState>,
    Meta(meta): Meta,
    _: SameSite,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let device = cookie(&headers, device_cookie_name(app.core.config()));
    let outcome = app
        .core
        .identity()
        .login(LoginRequest {
            email: body.email,
            password: body.password,
            totp_code: body.totp_code,
            recovery_code: body.recovery_code,
            device,
            meta,
        })
        .await?;
    session_response(&app, outcome, StatusCode::OK)
}

/// Ends the current session and clears its cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("session" = [])),
    responses(AuthErrors, (status = 204, description = "Signed out")))]
pub async fn logout(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<Response, ApiError> {
    app.core.identity().logout(&scope).await?;
    let clear = set_cookie(crate::auth::session_cookie_name(app.core.config()), "", 0);
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, clear)]),
    )
        .into_response())
}

/// The caller: their account (for a key, its creator's).
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The caller", body = Me)))]
pub async fn me(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<AnyCaller>,
) -> Result<impl IntoResponse, ApiError> {
    let user = app.core.identity().me(&scope).await?;
    Ok(ApiJson(Me {
        user: user.into(),
        credential: match scope.credential() {
            meetvault_core::access::Credential::Session(_) => CredentialKind::Session,
            meetvault_core::access::Credential::ApiKey(_) => CredentialKind::ApiKey,
            meetvault_core::access::Credential::Support(_) => CredentialKind::SupportKey,
            // Never a request's credential: calendar syncs run in the background.
            meetvault_core::access::Credential::Calendar(_) => CredentialKind::ApiKey,
        },
    }))
}

/// Erases the caller's account (GDPR erasure), after their password: every meeting they own,
/// each with its own certificate; their sessions, keys, secrets and memberships; their audit
/// personal data; and, for an org's last member, the org and everything in it. Answers the
/// account's signed certificate (which names the meetings' certificates) and clears the
/// session cookie. A last owner with other members is refused (409).
#[utoipa::path(delete, path = "/api/v1/me", tag = "auth", request_body = EraseBody, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 200, description = "Erased: the account's deletion certificate", body = crate::wire::certificates::CertificateEnvelope),
        (status = 409, description = "The last owner of an org with other members", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    ))]
pub async fn erase_me(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<EraseBody>,
) -> Result<Response, ApiError> {
    let view = app
        .core
        .identity()
        .erase_account(&scope, &body.password)
        .await?;
    let clear = set_cookie(crate::auth::session_cookie_name(app.core.config()), "", 0);
    Ok((
        StatusCode::OK,
        AppendHeaders([(header::SET_COOKIE, clear)]),
        ApiJson(crate::wire::certificates::CertificateEnvelope::from(view)),
    )
        .into_response())
}

/// The caller's sessions, with where and when each was used.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Sessions", body = SessionList)))]
pub async fn sessions(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(SessionList::from(
        app.core.identity().sessions(&scope).await?,
    )))
}

/// Ends one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", params(("id" = crate::wire::ids::SessionId, Path, description = "The session")), security(("session" = [])),
    responses(AuthErrors, (status = 204, description = "Ended"), (status = 404, description = "No such session of yours", body = crate::error::ErrorBody)))]
pub async fn revoke_session(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: SessionId = super::parse_id(&id)?;
    app.core.identity().revoke_session(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password and ends every other session.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordBody, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 200, description = "Changed", body = PasswordChanged),
        (status = 422, description = "Wrong current password or a weak new one", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    ))]
pub async fn change_password(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<ApiJson<PasswordChanged>, ApiError> {
    let sessions_ended = app
        .core
        .identity()
        .change_password(&scope, &body.current_password, body.new_password)
        .await?;
    Ok(ApiJson(PasswordChanged { sessions_ended }))
}

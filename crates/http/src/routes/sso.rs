//! Single sign-on (OpenID Connect): the providers offered, the redirect to one, its callback,
//! and an org's SSO settings. The login cookie (`__Host-mv_sso` over HTTPS) binds the sign-in
//! to the browser that started it; it is HttpOnly, SameSite=Lax (the provider's redirect back
//! is a top-level navigation) and lives ten minutes.

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use meetvault_core::org_sso::{OidcInput, SsoSettingsInput};

use crate::auth::{Auth, OwnAccount, cookie, is_https, perm, set_cookie};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::sso::{
    Identity, IdentityList, OrgOidc, OrgOidcBody, OrgSso, OrgSsoBody, SsoProvider, SsoProviderList,
    SsoStartQuery,
};
use crate::{ApiError, ApiJson};

use super::Meta;

/// How long a started sign-in may take (seconds).
pub(crate) const LOGIN_COOKIE_SECS: u64 = 600;

/// A login cookie's name: `__Host-{name}` over HTTPS.
pub(crate) fn host_cookie(app: &AppState, name: &'static str) -> String {
    if is_https(app.core.config()) {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

fn login_cookie_name(app: &AppState) -> String {
    host_cookie(app, "mv_sso")
}

/// The providers people may sign in with.
#[utoipa::path(get, path = "/api/v1/auth/sso", tag = "auth",
    responses((status = 200, description = "The providers", body = SsoProviderList)))]
pub async fn providers(State(app): State<AppState>) -> impl IntoResponse {
    ApiJson(SsoProviderList {
        data: app
            .core
            .identity()
            .sso_providers()
            .into_iter()
            .map(SsoProvider::from)
            .collect(),
    })
}

/// Starts a sign-in: redirects the browser to the provider, with the login cookie set.
#[utoipa::path(get, path = "/api/v1/auth/sso/{id}/start", tag = "auth",
    params(("id" = String, Path, description = "The provider"), SsoStartQuery),
    responses(
        (status = 303, description = "To the provider"),
        (status = 404, description = "No such provider", body = crate::error::ErrorBody),
        (status = 422, description = "return_to is not a path here", body = crate::error::ErrorBody),
        (status = 503, description = "The provider cannot be reached", body = crate::error::ErrorBody),
    ))]
pub async fn start(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SsoStartQuery>,
) -> Result<Response, ApiError> {
    let started = app
        .core
        .identity()
        .sso_start(&id, q.return_to.as_deref())
        .await?;
    let login = set_cookie(
        &login_cookie_name(&app),
        started.browser_secret.expose(),
        LOGIN_COOKIE_SECS,
    );
    Ok(see_other(started.url, login))
}

/// A 303 to `location` that sets (or clears) `cookie`, never cached: the redirects of a
/// sign-in's or a connect's two legs.
pub(crate) fn see_other(location: String, cookie: String) -> Response {
    (
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (header::LOCATION, location),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ]),
    )
        .into_response()
}

/// Where the provider sends the browser back: signs in (the session cookie set) and
/// redirects to the path the sign-in started for.
#[utoipa::path(get, path = "/api/v1/auth/sso/{id}/callback", tag = "auth",
    params(("id" = String, Path, description = "The provider")),
    responses(
        (status = 303, description = "Signed in: to the page it started from"),
        (status = 403, description = "Refused (the message says why and what to do)", body = crate::error::ErrorBody),
        (status = 404, description = "No such provider", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
        (status = 503, description = "The provider cannot be reached", body = crate::error::ErrorBody),
    ))]
pub async fn callback(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let browser = cookie(&headers, &login_cookie_name(&app));
    let signed_in = app
        .core
        .identity()
        .sso_finish(&id, &pairs, browser.as_deref(), meta)
        .await?;
    signed_in_response(&app, signed_in, &login_cookie_name(&app))
}

/// The session cookies of a finished sign-in, a redirect to where it started, and the login
/// cookie `login_cookie` cleared.
pub(crate) fn signed_in_response(
    app: &AppState,
    signed_in: meetvault_core::auth::SsoSignedIn,
    login_cookie: &str,
) -> Result<Response, ApiError> {
    let mut response =
        super::auth::session_response(app, signed_in.outcome, StatusCode::SEE_OTHER)?;
    let h = response.headers_mut();
    h.insert(
        header::LOCATION,
        header::HeaderValue::from_str(&signed_in.return_to)
            .map_err(|_| ApiError::internal("return_to"))?,
    );
    h.append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&set_cookie(login_cookie, "", 0))
            .map_err(|_| ApiError::internal("cookie"))?,
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// The organization's single sign-on settings.
#[utoipa::path(get, path = "/api/v1/org/sso", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The settings", body = OrgSso)))]
pub async fn get_org_sso(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(OrgSso::from(app.core.org().sso(&scope).await?)))
}

/// Replaces the organization's single sign-on settings.
#[utoipa::path(put, path = "/api/v1/org/sso", tag = "org", request_body = OrgSsoBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 200, description = "Saved", body = OrgSso),
    ))]
pub async fn put_org_sso(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<OrgSsoBody>,
) -> Result<impl IntoResponse, ApiError> {
    let default_role = match &body.default_role {
        Some(r) => meetvault_core::org::parse_role("default_role", r)?,
        None => meetvault_core::access::Role::Member,
    };
    let input = SsoSettingsInput {
        jit: body.jit,
        default_role,
        require_sso: body.require_sso,
    };
    Ok(ApiJson(OrgSso::from(
        app.core.org().set_sso(&scope, &input).await?,
    )))
}

/// The caller's identities at sign-in providers.
#[utoipa::path(get, path = "/api/v1/me/identities", tag = "auth", security(("session" = [])),
    responses(AuthErrors, (status = 200, description = "Linked identities", body = IdentityList)))]
pub async fn identities(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(IdentityList {
        data: app
            .core
            .identity()
            .linked_identities(&scope)
            .await?
            .into_iter()
            .map(Identity::from)
            .collect(),
    }))
}

/// Unlinks the caller's identity at a provider.
#[utoipa::path(delete, path = "/api/v1/me/identities/{provider}", tag = "auth", security(("session" = [])),
    params(("provider" = String, Path, description = "An OIDC provider's id, or saml:{org}")),
    responses(AuthErrors,
        (status = 204, description = "Unlinked"),
        (status = 404, description = "No identity of yours at that provider", body = crate::error::ErrorBody),
    ))]
pub async fn unlink_identity(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<OwnAccount>,
    Path(provider): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.core
        .identity()
        .unlink_identity(&scope, &provider)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's own OpenID Connect provider.
#[utoipa::path(get, path = "/api/v1/org/sso/oidc", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors,
        (status = 200, description = "Set up", body = OrgOidc),
        (status = 404, description = "Not set up", body = crate::error::ErrorBody),
    ))]
pub async fn get_org_oidc(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(OrgOidc::from(app.core.org().oidc(&scope).await?)))
}

/// Saves the organization's own OpenID Connect provider (its own client registration; the
/// secret sealed under the org's key). It signs in the org's people only, for the org's
/// email domains.
#[utoipa::path(put, path = "/api/v1/org/sso/oidc", tag = "org", request_body = OrgOidcBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Saved", body = OrgOidc)))]
pub async fn put_org_oidc(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<OrgOidcBody>,
) -> Result<impl IntoResponse, ApiError> {
    let kind =
        serde_json::from_value(serde_json::Value::String(body.kind.clone())).map_err(|_| {
            ApiError::from(meetvault_core::CoreError::invalid(
                "kind",
                "must be generic, google or entra",
            ))
        })?;
    let input = OidcInput {
        name: body.name,
        kind,
        issuer: body.issuer,
        tenant: body.tenant,
        allowed_tenants: body.allowed_tenants,
        client_id: body.client_id,
        client_secret: body.client_secret.map(meetvault_config::Secret::new),
    };
    Ok(ApiJson(OrgOidc::from(
        app.core.org().set_oidc(&scope, &input).await?,
    )))
}

/// Removes the organization's own OpenID Connect provider.
#[utoipa::path(delete, path = "/api/v1/org/sso/oidc", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors,
        (status = 204, description = "Removed"),
        (status = 404, description = "Not set up", body = crate::error::ErrorBody),
    ))]
pub async fn delete_org_oidc(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<StatusCode, ApiError> {
    app.core.org().delete_oidc(&scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! SAML 2.0 sign-in for an org that imported its IdP's metadata: meetvault's SP metadata, the
//! redirect to the IdP, the assertion consumer the IdP posts back to, and the org's SAML
//! settings. The login cookie (`__Host-mv_saml` over HTTPS) is `SameSite=None` — the IdP posts
//! the response from its own site — and HttpOnly, Secure, ten minutes.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meetvault_core::ids::OrgId;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Auth, cookie, perm};
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::sso::{OrgSaml, OrgSamlBody, SsoStartQuery};
use crate::{ApiError, ApiJson};

use super::{Meta, parse_id};

fn login_cookie_name(app: &AppState) -> String {
    super::sso::host_cookie(app, "mv_saml")
}

/// meetvault's SAML service-provider metadata for the org (give it to the IdP).
#[utoipa::path(get, path = "/api/v1/auth/saml/{org}/metadata", tag = "auth",
    params(("org" = crate::wire::ids::OrgId, Path, description = "The organization")),
    responses(
        (status = 200, description = "SP metadata (XML)", content_type = "application/samlmetadata+xml", body = String),
        (status = 404, description = "The org has no SAML sign-in", body = crate::error::ErrorBody),
    ))]
pub async fn metadata(
    State(app): State<AppState>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = parse_id::<OrgId>(&org)?;
    let xml = app.core.identity().saml_sp_metadata(org).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response())
}

/// Starts a SAML sign-in: redirects the browser to the org's IdP with an AuthnRequest.
#[utoipa::path(get, path = "/api/v1/auth/saml/{org}/start", tag = "auth",
    params(("org" = crate::wire::ids::OrgId, Path, description = "The organization"), SsoStartQuery),
    responses(
        (status = 303, description = "To the IdP"),
        (status = 404, description = "The org has no SAML sign-in", body = crate::error::ErrorBody),
        (status = 422, description = "return_to is not a path here", body = crate::error::ErrorBody),
    ))]
pub async fn start(
    State(app): State<AppState>,
    Path(org): Path<String>,
    Query(q): Query<SsoStartQuery>,
) -> Result<Response, ApiError> {
    let org = parse_id::<OrgId>(&org)?;
    let started = app
        .core
        .identity()
        .saml_start(org, q.return_to.as_deref())
        .await?;
    // SameSite=None: the IdP's response comes back as a cross-site POST.
    let login = format!(
        "{}={}; HttpOnly; Secure; SameSite=None; Path=/; Max-Age={}",
        login_cookie_name(&app),
        started.cookie.expose(),
        super::sso::LOGIN_COOKIE_SECS
    );
    Ok(super::sso::see_other(started.url, login))
}

/// What the IdP posts (HTTP-POST binding).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    pub saml_response: String,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

/// The assertion consumer: the IdP posts its signed response here; signs in (the session
/// cookie set) and redirects to the page the sign-in started from.
#[utoipa::path(post, path = "/api/v1/auth/saml/{org}/acs", tag = "auth",
    params(("org" = crate::wire::ids::OrgId, Path, description = "The organization")),
    request_body(content = AcsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to the page it started from"),
        (status = 403, description = "Refused (the message says why and what to do)", body = crate::error::ErrorBody),
        (status = 404, description = "The org has no SAML sign-in", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = crate::error::ErrorBody),
    ))]
pub async fn acs(
    State(app): State<AppState>,
    Path(org): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
    Form(form): Form<AcsForm>,
) -> Result<Response, ApiError> {
    let org = parse_id::<OrgId>(&org)?;
    let login = cookie(&headers, &login_cookie_name(&app));
    let signed_in = app
        .core
        .identity()
        .saml_finish(org, &form.saml_response, login.as_deref(), meta)
        .await?;
    super::sso::signed_in_response(&app, signed_in, &login_cookie_name(&app))
}

/// The organization's SAML sign-in.
#[utoipa::path(get, path = "/api/v1/org/sso/saml", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors,
        (status = 200, description = "Set up", body = OrgSaml),
        (status = 404, description = "Not set up", body = crate::error::ErrorBody),
    ))]
pub async fn get_org_saml(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(OrgSaml::from(app.core.org().saml(&scope).await?)))
}

/// Imports the IdP's metadata (replacing any earlier one).
#[utoipa::path(put, path = "/api/v1/org/sso/saml", tag = "org", request_body = OrgSamlBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Set up", body = OrgSaml)))]
pub async fn put_org_saml(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<OrgSamlBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(OrgSaml::from(
        app.core.org().set_saml(&scope, &body.idp_metadata).await?,
    )))
}

/// Turns SAML sign-in off for the organization.
#[utoipa::path(delete, path = "/api/v1/org/sso/saml", tag = "org", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors,
        (status = 204, description = "Removed"),
        (status = 404, description = "Not set up", body = crate::error::ErrorBody),
    ))]
pub async fn delete_org_saml(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<StatusCode, ApiError> {
    app.core.org().delete_saml(&scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

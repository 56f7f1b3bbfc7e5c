//! The fakes' OAuth endpoints, as Google's and the Microsoft identity platform's references
//! describe them: an authorization endpoint that consents at once and redirects with a code,
//! a token endpoint for `authorization_code` (with the PKCE S256 check) and `refresh_token`
//! (`invalid_grant` once the grant is revoked; Google omits the refresh token on refresh,
//! Microsoft rotates it), and Google's revocation endpoint.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{CLIENT_ID, CLIENT_SECRET, Shared};
use crate::oauth::challenge_of;
use crate::provider::ProviderKind;

fn oauth_error(kind: ProviderKind, status: StatusCode, error: &str, description: &str) -> Response {
    let body = match kind {
        ProviderKind::Google => json!({"error": error, "error_description": description}),
        ProviderKind::Microsoft => json!({
            "error": error,
            "error_description": format!("AADSTS70000: {description}"),
            "error_codes": [70000],
            "timestamp": "2024-05-01 10:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000"
        }),
    };
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn google_authorize(
    State(shared): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    authorize(&shared, ProviderKind::Google, &q)
}

pub(crate) async fn microsoft_authorize(
    State(shared): State<Shared>,
    Path(_tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    authorize(&shared, ProviderKind::Microsoft, &q)
}

fn authorize(shared: &Shared, kind: ProviderKind, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let valid = get("client_id") == CLIENT_ID
        && get("response_type") == "code"
        && get("code_challenge_method") == "S256"
        && !get("code_challenge").is_empty()
        && !get("redirect_uri").is_empty()
        && !get("scope").is_empty();
    if !valid {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    }
    let Ok(mut redirect) = url::Url::parse(get("redirect_uri")) else {
        return (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response();
    };
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let code = state.token("code-");
    state.codes.insert(
        code.clone(),
        super::state::Code {
            kind,
            challenge: get("code_challenge").to_owned(),
            redirect_uri: get("redirect_uri").to_owned(),
            scope: get("scope").to_owned(),
        },
    );
    redirect
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", get("state"));
    (
        StatusCode::FOUND,
        [(header::LOCATION, redirect.to_string())],
    )
        .into_response()
}

pub(crate) async fn google_token(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    token(&shared, ProviderKind::Google, &form)
}

pub(crate) async fn microsoft_token(
    State(shared): State<Shared>,
    Path(_tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    token(&shared, ProviderKind::Microsoft, &form)
}

fn token(shared: &Shared, kind: ProviderKind, form: &HashMap<String, String>) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return oauth_error(
            kind,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unauthorized",
        );
    }
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let (grant, scope, new_refresh) = match get("grant_type") {
        "authorization_code" => {
            let Some(code) = state.codes.remove(get("code")) else {
                return oauth_error(
                    kind,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Malformed auth code.",
                );
            };
            if code.kind != kind || code.redirect_uri != get("redirect_uri") {
                return oauth_error(
                    kind,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Bad Request",
                );
            }
            let verifier = get("code_verifier");
            if verifier.is_empty() || challenge_of(verifier) != code.challenge {
                return oauth_error(
                    kind,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid code verifier.",
                );
            }
            let grant = state.next_id + 1_000_000;
            state.next_id += 1;
            state.grants.insert(
                grant,
                super::state::Grant {
                    kind,
                    revoked: false,
                },
            );
            (grant, code.scope, true)
        }
        "refresh_token" => {
            let Some(&grant) = state.refresh.get(get("refresh_token")) else {
                return oauth_error(
                    kind,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            };
            if state
                .grants
                .get(&grant)
                .is_none_or(|g| g.revoked || g.kind != kind)
            {
                return oauth_error(
                    kind,
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            }
            let scope = match kind {
                ProviderKind::Google => crate::oauth::GOOGLE_SCOPE.to_owned(),
                ProviderKind::Microsoft => "Calendars.Read".to_owned(),
            };
            // Google keeps the refresh token; Microsoft hands out a new one each time.
            (grant, scope, kind == ProviderKind::Microsoft)
        }
        _ => {
            return oauth_error(
                kind,
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            );
        }
    };
    let access = state.token("at-");
    let ttl = state.access_ttl_secs;
    state.access.insert(
        access.clone(),
        super::state::Access {
            grant,
            expires: chrono::Utc::now() + chrono::TimeDelta::seconds(ttl),
        },
    );
    let mut body = json!({
        "access_token": access,
        "expires_in": ttl,
        "scope": scope,
        "token_type": "Bearer",
    });
    if kind == ProviderKind::Microsoft {
        body["ext_expires_in"] = json!(ttl);
    }
    if new_refresh {
        let refresh = state.token("rt-");
        state.refresh.insert(refresh.clone(), grant);
        body["refresh_token"] = json!(refresh);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(crate) async fn google_revoke(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let grant = state
        .refresh
        .get(token)
        .copied()
        .or_else(|| state.access.get(token).map(|a| a.grant));
    match grant.and_then(|g| state.grants.get_mut(&g)) {
        Some(g) if !g.revoked && g.kind == ProviderKind::Google => {
            g.revoked = true;
            (StatusCode::OK, axum::Json(json!({}))).into_response()
        }
        _ => oauth_error(
            ProviderKind::Google,
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        ),
    }
}

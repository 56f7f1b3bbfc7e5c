//! The routes, one module per resource. Each handler is annotated for OpenAPI and registered in
//! [`crate::router`], so the served document is generated from the handlers themselves.

pub mod audit;
pub mod auth;
pub mod bot_protocol;
pub mod bots;
pub mod calendar;
pub mod certificates;
pub mod destinations;
pub mod documents;
pub mod encryption;
pub mod health;
pub mod instance;
pub mod integrations;
pub mod intel;
pub mod keys;
pub mod meetings;
pub mod metrics;
pub mod mfa;
pub mod openapi;
pub mod org;
pub mod privacy;
pub mod requests;
pub mod retention;
pub mod saml;
pub mod security_txt;
pub mod sso;
pub mod transcription;
pub mod trust;
pub mod webhooks;
pub mod widget_public;
pub mod widgets;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use meetvault_core::access::RequestMeta;

use crate::ApiError;
use crate::state::AppState;

/// The client's address and user agent, for handlers that run before authentication.
#[derive(Debug)]
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(crate::auth::request_meta(parts, state.core.config())))
    }
}

/// A streamed upload's `Content-Type`, when it sent one that is text.
pub(crate) fn content_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Refuses (413) a streamed upload whose declared `Content-Length` is over `limit` before a
/// byte of it is read; an undeclared length is counted as it streams.
pub(crate) fn refuse_declared_length(
    headers: &axum::http::HeaderMap,
    limit: u64,
) -> Result<(), ApiError> {
    if let Some(length) = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > limit
    {
        return Err(ApiError::PayloadTooLarge {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// Parses a typed id from a path segment: the wrong kind of id is a clear 400.
pub fn parse_id<T: std::str::FromStr<Err = meetvault_core::ids::IdError>>(
    raw: &str,
) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|e: meetvault_core::ids::IdError| ApiError::BadRequest(e.to_string()))
}

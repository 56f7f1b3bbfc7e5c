//! The plain-HTTP listener beside HTTPS: every request gets 301 to the same path on the HTTPS
//! URL (the configured public URL, or the request's host on the HTTPS port).

use std::str::FromStr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use url::Url;

use crate::ApiError;
use crate::error::render_errors;
use crate::middleware::{request_id, security_headers};

#[derive(Debug, Clone)]
struct Target {
    public_url: Option<Url>,
    https_port: u16,
}

pub fn app(public_url: Option<Url>, https_port: u16) -> Router {
    Router::new()
        .fallback(redirect)
        .with_state(Target {
            public_url,
            https_port,
        })
        .layer(
            ServiceBuilder::new()
                .layer(from_fn(request_id::request_id_and_log))
                .layer(from_fn(security_headers::security_headers))
                .layer(from_fn(render_errors)),
        )
}

async fn redirect(State(target): State<Target>, request: Request) -> Result<Response, ApiError> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = match &target.public_url {
        Some(url) => {
            format!(
                "https://{}{}",
                url.host_str().unwrap_or_default(),
                url.port().map(|p| format!(":{p}")).unwrap_or_default()
            ) + path
        }
        None => {
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| Authority::from_str(h).ok())
                .filter(|a| !a.as_str().contains('@'))
                .ok_or_else(|| {
                    ApiError::BadRequest("a valid Host header is required".to_owned())
                })?;
            let port = match target.https_port {
                443 => String::new(),
                p => format!(":{p}"),
            };
            format!("https://{}{port}{path}", host.host())
        }
    };
    let location = HeaderValue::from_str(&location)
        .map_err(|_| ApiError::BadRequest("the request path cannot be redirected".to_owned()))?;
    Ok((
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response())
}

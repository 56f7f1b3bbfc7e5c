//! Authentication and authorization at the edge. A handler declares what it needs in its
//! signature — `Auth<perm::KeysManage>`, `Auth<OwnAccount>`, `Auth<AnyCaller>` — and receives
//! a `Scope<P>` for exactly that proof only if the caller holds it; a handler without an
//! `Auth<…>` has no `Scope` and so cannot reach tenant data, and one holding
//! `Auth<perm::MeetingsRead>` cannot call a service that needs `Scope<MeetingsDelete>` (it does
//! not compile). Also: the client address behind trusted proxies, session cookies, and the CSRF
//! rule for cookie-authenticated unsafe requests. Every refusal here (403, CSRF) is
//! audited as `auth.refused`, aggregated by core's refusal log; bad keys are audited by core.

use std::net::IpAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use meetvault_config::{Config, parse_ip_range};
use meetvault_core::access::proof::Proof;
use meetvault_core::access::{Denied, Principal, RequestMeta, Scope};

use crate::ApiError;
use crate::peer::PeerAddr;
use crate::state::AppState;

/// The proofs a route can require, one per permission: `Auth<perm::AuditRead>` (core's
/// `access::proof` markers).
pub mod perm {
    pub use meetvault_core::access::proof::{
        ApprovalsDecide, AuditRead, BillingRead, BotsWrite, IntegrationsManage, KeysManage,
        MeetingsDelete, MeetingsRead, MeetingsWrite, MembersManage, OrgManage, WebhooksManage,
        WidgetsManage,
    };
}
/// Any authenticated caller.
pub use meetvault_core::access::proof::AnyCaller;
/// The caller's own account (sessions, password, MFA, support keys); session only.
pub use meetvault_core::access::proof::OwnAccount;

/// The authorized caller's scope, for a route requiring `P`: a `Scope<P>`, which only the
/// services that accept proof `P` take.
#[derive(Debug)]
pub struct Auth<P: Proof>(pub Scope<P>);

impl<P: Proof> FromRequestParts<AppState> for Auth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(parts, state).await?;
        match principal.authorize::<P>() {
            Ok(scope) => Ok(Self(scope)),
            Err(denied) => {
                audit_refused(parts, state, Some(&principal), denied_reason(&denied)).await?;
                Err(denied.into())
            }
        }
    }
}

/// The audit log's word for a refusal.
pub(crate) fn denied_reason(denied: &Denied) -> &'static str {
    match denied {
        Denied::Missing(_) => "forbidden",
        Denied::MfaEnrollmentRequired => "mfa_enrollment_required",
        Denied::SessionRequired => "session_required",
        Denied::OrgClosed(_) => "org_closed",
    }
}

/// The authenticated caller, not yet authorized for anything: for the dashboard's pages, which
/// ask one caller for several proofs (a section shown only to those who hold one) and audit a
/// refused page themselves.
#[derive(Debug)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state).await.map(Self)
    }
}

/// Records a refused request in the audit log (aggregated), naming the route it was for.
async fn audit_refused(
    parts: &Parts,
    state: &AppState,
    principal: Option<&Principal>,
    reason: &'static str,
) -> Result<(), ApiError> {
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let meta = match principal {
        Some(p) => p.meta().clone(),
        None => request_meta(parts, state.core.config()),
    };
    let what = format!("{} {route}", parts.method);
    Ok(state
        .core
        .audit_log()
        .refused_request(principal, &meta, reason, what)
        .await?)
}

/// For the routes that set a session cookie (register, login, invitation accept): a cross-site
/// POST is refused (login CSRF) and audited.
#[derive(Debug)]
pub struct SameSite;

impl FromRequestParts<AppState> for SameSite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match parts.headers.get(header::ORIGIN) {
            Some(origin) if !origin_is_ours(origin, &parts.headers, state.core.config()) => {
                audit_refused(parts, state, None, "csrf_failed").await?;
                Err(csrf_failed())
            }
            _ => Ok(Self),
        }
    }
}

/// Who is calling: a bearer key, or a session cookie (with the CSRF rule), else 401.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    let meta = request_meta(parts, state.core.config());
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let bearer = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        return Ok(state
            .core
            .identity()
            .authenticate_bearer(bearer.trim(), meta)
            .await?);
    }
    let token =
        session_cookie(&parts.headers, state.core.config()).ok_or(ApiError::Unauthenticated)?;
    let principal = state
        .core
        .identity()
        .authenticate_session(&token, meta)
        .await?;
    if !is_safe(&parts.method) && !csrf_passes(parts, state, &principal) {
        audit_refused(parts, state, Some(&principal), "csrf_failed").await?;
        return Err(csrf_failed());
    }
    Ok(principal)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cookie-authenticated unsafe request must come from our own origin (`Origin` header), or
/// carry the session's `X-CSRF-Token`.
fn csrf_passes(parts: &Parts, state: &AppState, principal: &Principal) -> bool {
    if let Some(origin) = parts.headers.get(header::ORIGIN)
        && origin_is_ours(origin, &parts.headers, state.core.config())
    {
        return true;
    }
    matches!(
        (parts.headers.get("x-csrf-token"), principal.credential()),
        (Some(token), meetvault_core::access::Credential::Session(id))
            if token.to_str().is_ok_and(|t| state.core.identity().csrf_token_matches(id, t))
    )
}

fn csrf_failed() -> ApiError {
    ApiError::Forbidden {
        code: "csrf_failed",
        message: "a cookie-authenticated change must come from this site (Origin) or carry the \
                  X-CSRF-Token returned at login"
            .to_owned(),
    }
}

/// Whether `Origin` names this server: its public URL when configured, else the Host it was
/// reached at (with the scheme it serves).
pub(crate) fn origin_is_ours(origin: &HeaderValue, headers: &HeaderMap, config: &Config) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    match &config.server.public_url {
        Some(url) => url.origin().ascii_serialization() == origin,
        None => {
            let scheme = if config.server.tls.is_some() {
                "https"
            } else {
                "http"
            };
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .is_some_and(|host| origin == format!("{scheme}://{host}"))
        }
    }
}

/// Served over HTTPS (TLS here, or an https public URL behind a proxy): cookies get `__Host-`.
pub fn is_https(config: &Config) -> bool {
    config.server.tls.is_some()
        || config
            .server
            .public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
}

pub fn session_cookie_name(config: &Config) -> &'static str {
    if is_https(config) {
        "__Host-mv_session"
    } else {
        "mv_session"
    }
}

pub fn device_cookie_name(config: &Config) -> &'static str {
    if is_https(config) {
        "__Host-mv_device"
    } else {
        "mv_device"
    }
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn session_cookie(headers: &HeaderMap, config: &Config) -> Option<String> {
    cookie(headers, session_cookie_name(config))
}

/// A `Set-Cookie` value with every attribute the session needs.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64) -> String {
    format!("{name}={value}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age_secs}")
}

/// The client address (believing `X-Forwarded-For` only from a trusted proxy) and user agent.
pub fn request_meta(parts: &Parts, config: &Config) -> RequestMeta {
    let peer = parts
        .extensions
        .get::<ConnectInfo<PeerAddr>>()
        .map(|ConnectInfo(PeerAddr(addr))| addr.ip());
    RequestMeta {
        ip: peer.map(|p| client_ip(p, &parts.headers, &config.server.trusted_proxies)),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

/// Walks `X-Forwarded-For` from the right while the hop is a trusted proxy; the first untrusted
/// address is the client. From an untrusted peer the header is ignored.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[String]) -> IpAddr {
    let is_trusted = |ip: IpAddr| {
        trusted
            .iter()
            .filter_map(|t| parse_ip_range(t))
            .any(|(net, len)| in_range(ip, net, len))
    };
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map(|h| h.parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    client
}

fn in_range(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".to_owned()];
        let h = xff("198.51.100.7, 10.0.0.9");
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(stranger, &h, &trusted),
            stranger,
            "untrusted peer: header ignored"
        );
        assert_eq!(
            client_ip(proxy, &h, &[]),
            proxy,
            "no trusted proxies: header ignored"
        );
        assert_eq!(client_ip(proxy, &xff("not-an-ip"), &trusted), proxy);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mv_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, "mv_session").as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "nope"), None);
    }
}

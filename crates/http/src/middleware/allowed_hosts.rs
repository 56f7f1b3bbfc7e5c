//! The allowed-hosts check, a DNS-rebinding defence: when `server.public_url` or
//! `server.allowed_hosts` is set, a request whose `Host` (or HTTP/2 `:authority`) names another
//! host is answered 421 before any handler runs. A web page that rebinds its own name to this
//! server's address still sends its own name as Host, so it reaches nothing. The port is not
//! compared (a proxy may change it). Health, readiness and metrics probes are exempt: load
//! balancers and orchestrators call them by IP address. So is the internal bot protocol
//! (`/internal/v1/bots/…`): bot processes call the listen address, and its only credential is
//! a per-bot bearer token no web page holds (no cookie rides along a rebound name).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use meetvault_config::Config;

use crate::ApiError;

/// The probe paths any host may reach.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The lower-cased host names requests may name; empty means no check.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    pub fn from_config(config: &Config) -> Self {
        let mut hosts: Vec<String> = config
            .server
            .allowed_hosts
            .iter()
            .map(|h| normalize(h))
            .collect();
        if let Some(host) = config.server.public_url.as_ref().and_then(|u| u.host_str()) {
            hosts.push(normalize(host));
        }
        Self(Arc::new(hosts))
    }

    fn allows(&self, authority: &str) -> bool {
        let host = normalize(strip_port(authority));
        self.0.contains(&host)
    }
}

pub async fn check_host(
    State(hosts): State<AllowedHosts>,
    request: Request,
    next: Next,
) -> Response {
    if hosts.0.is_empty()
        || PROBES.contains(&request.uri().path())
        || request.uri().path().starts_with("/internal/v1/bots/")
    {
        return next.run(request).await;
    }
    // HTTP/2 carries the authority in the URI; HTTP/1.1 in the Host header.
    let authority = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        });
    match authority {
        Some(a) if hosts.allows(&a) => next.run(request).await,
        _ => ApiError::MisdirectedHost.into_response(),
    }
}

/// `host:port`, `[v6]:port`, `[v6]` or `host` → the host part.
fn strip_port(authority: &str) -> &str {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    match authority.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => authority,
    }
}

fn normalize(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_whatever_the_port_case_or_trailing_dot() {
        let hosts = AllowedHosts(Arc::new(vec![
            "meet.example.com".into(),
            "::1".into(),
            "10.0.0.5".into(),
        ]));
        for ok in [
            "meet.example.com",
            "MEET.example.com:443",
            "meet.example.com.",
            "[::1]:8080",
            "10.0.0.5:8080",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "meet.example.com.evil.example",
            "127.0.0.1:8080",
            "",
            "[::2]",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }
}

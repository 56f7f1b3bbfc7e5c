//! Outbound URLs a user can enter (a transcription provider's base URL today; webhooks and the
//! customer's bucket next): the rules that keep them from reaching this server's own network
//! (SSRF). A URL must be `https`, carry no credentials, and its host must resolve only to public
//! addresses — unless the operator allow-listed that host (`outbound.allow_hosts`), which may
//! then also be plain `http` and private. Callers check a URL when it is configured
//! ([`Policy::check_url`]) and resolve it again right before connecting
//! ([`Policy::resolve`]), then pin the connection to the addresses that passed, so a DNS answer
//! that changes in between (rebinding) cannot redirect the request. Must never: follow a
//! redirect on a caller's behalf, or treat a name as safe without resolving it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Why an outbound URL is refused. Messages name the rule and what to do; never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error(
        "must be an https:// URL (plain http only for hosts the operator allow-listed in outbound.allow_hosts)"
    )]
    NotHttps,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("has no host")]
    NoHost,
    #[error(
        "points at a private, loopback or link-local address, which is refused unless the operator allow-lists the host in outbound.allow_hosts"
    )]
    PrivateAddress,
    #[error("its host name could not be resolved")]
    Unresolvable,
}

/// The operator's outbound rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `host` or `host:port` entries (lowercase) the operator trusts: reachable over plain
    /// http and on private addresses.
    allow: Vec<String>,
}

impl Policy {
    /// A policy that trusts the hosts in `allow` (`host` or `host:port`).
    pub fn new(allow: &[String]) -> Self {
        Self {
            allow: allow
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether the operator allow-listed this URL's host (with or without its port).
    pub fn is_allowed(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let with_port = url.port_or_known_default().map(|p| format!("{host}:{p}"));
        self.allow
            .iter()
            .any(|a| *a == host || Some(a) == with_port.as_ref())
    }

    /// The checks that need no network: scheme, credentials, and a literal address or a
    /// local-only name. Run when a user configures the URL.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::Credentials);
        }
        let host = url.host().ok_or(OutboundError::NoHost)?;
        if self.is_allowed(url) {
            return match url.scheme() {
                "https" | "http" => Ok(()),
                _ => Err(OutboundError::NotHttps),
            };
        }
        if url.scheme() != "https" {
            return Err(OutboundError::NotHttps);
        }
        match host {
            Host::Ipv4(ip) if !is_public(IpAddr::V4(ip)) => Err(OutboundError::PrivateAddress),
            Host::Ipv6(ip) if !is_public(IpAddr::V6(ip)) => Err(OutboundError::PrivateAddress),
            Host::Domain(name) if is_local_name(name) => Err(OutboundError::PrivateAddress),
            _ => Ok(()),
        }
    }

    /// Checks `url` and resolves its host now; every address must be public unless the host is
    /// allow-listed. Connect only to the returned addresses (pin them), never resolve again.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>, OutboundError> {
        self.check_url(url)?;
        let host = url.host_str().ok_or(OutboundError::NoHost)?;
        let port = url.port_or_known_default().ok_or(OutboundError::NoHost)?;
        // `[::1]` comes back bracketed from `host_str`; the resolver wants it bare.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| OutboundError::Unresolvable)?
            .collect();
        if addrs.is_empty() {
            return Err(OutboundError::Unresolvable);
        }
        if !self.is_allowed(url) && addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(OutboundError::PrivateAddress);
        }
        Ok(addrs)
    }
}

/// Names that only ever mean this machine or its local network.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || [".localhost", ".local", ".internal", ".home.arpa"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local (cloud metadata lives there), carrier-grade NAT, unspecified, multicast,
/// broadcast, documentation or benchmarking ranges; IPv4-mapped and NAT64 IPv6 addresses are
/// judged by the IPv4 address inside.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10 carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24 IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // 198.18.0.0/15 benchmarking
        || a >= 240) // 240.0.0.0/4 reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|s| *s == 0) {
        let [_, _, _, _, _, _, hi, lo] = seg;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (seg[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // 2001:db8::/32 documentation
        || seg[..6].iter().all(|s| *s == 0)) // ::/96 IPv4-compatible (deprecated)
}

#[cfg(test)]
mod tests;

//! Outbound URLs a user can enter (a transcription provider's base URL today; webhooks and the
//! customer's bucket next): the rules that keep them from reaching this server's own network
//! (SSRF). A URL must be `https`, carry no credentials, and its host must resolve only to public
//! addresses — unless the operator allow-listed that host or a network holding its addresses
//! (`outbound.allow_hosts`: `host`, `host:port` or a CIDR such as `10.8.0.0/16`), which may
//! then also be plain `http` and private. Loopback is reachable only through that list.
//!
//! Callers check a URL when it is configured ([`Policy::check_url`], or [`Policy::resolve`]
//! to look the name up too) and send through [`Client`], which checks it again and resolves
//! the name itself right before connecting, connecting to exactly the addresses that passed:
//! a DNS answer that changes in between (rebinding) finds nothing to redirect. Must never:
//! follow a redirect on a caller's behalf, use a proxy from the environment, or treat a name as
//! safe without resolving it.

mod client;

pub use client::{Client, ClientOptions, Lookup, ObjectStoreConnector, SendError, SystemLookup};

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
    /// Networks the operator trusts: an address in one counts as allowed.
    networks: Vec<Network>,
}

/// An allow-listed network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// `a.b.c.d/n` or `v6/n`; `None` for anything else.
    fn parse(s: &str) -> Option<Network> {
        let (addr, prefix) = s.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped address is its IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl Policy {
    /// A policy that trusts the entries in `allow`: hosts (`host` or `host:port`) and networks
    /// (`10.8.0.0/16`, `127.0.0.1/32`, `fd00::/8`).
    pub fn new(allow: &[String]) -> Self {
        let mut policy = Self::default();
        for entry in allow {
            let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            match Network::parse(&entry) {
                Some(net) => policy.networks.push(net),
                None => policy.allow.push(entry),
            }
        }
        policy
    }

    /// Whether `entry` is a valid allow-list entry (a host, `host:port` or a CIDR network):
    /// for checking configuration.
    pub fn valid_entry(entry: &str) -> bool {
        let entry = entry.trim();
        if entry.contains('/') {
            return Network::parse(entry).is_some();
        }
        !entry.is_empty() && Url::parse(&format!("http://{entry}/")).is_ok_and(|u| u.path() == "/")
    }

    /// Whether `ip` may be connected to under this policy: public, or in an allow-listed
    /// network.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.networks.iter().any(|n| n.contains(ip))
    }

    /// Whether the operator allow-listed host name `name` (for any port).
    fn name_allowed(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.allow.iter().any(|a| {
            *a == name
                || a.rsplit_once(':')
                    .is_some_and(|(host, port)| host == name && port.parse::<u16>().is_ok())
        })
    }

    /// Whether the operator allow-listed this URL's host (with or without its port).
    pub fn is_allowed(&self, url: &Url) -> bool {
        match url.host() {
            Some(Host::Ipv4(ip)) if self.networks.iter().any(|n| n.contains(IpAddr::V4(ip))) => {
                return true;
            }
            Some(Host::Ipv6(ip)) if self.networks.iter().any(|n| n.contains(IpAddr::V6(ip))) => {
                return true;
            }
            _ => {}
        }
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
        self.resolve_with(url, &SystemLookup).await
    }

    /// [`Policy::resolve`] with the names looked up by `lookup`.
    pub async fn resolve_with(
        &self,
        url: &Url,
        lookup: &dyn Lookup,
    ) -> Result<Vec<SocketAddr>, OutboundError> {
        self.check_url(url)?;
        let port = url.port_or_known_default().ok_or(OutboundError::NoHost)?;
        let ips = match url.host().ok_or(OutboundError::NoHost)? {
            Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
            Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
            Host::Domain(name) => {
                self.screen(name, lookup.lookup(name).await.unwrap_or_default())?
            }
        };
        if !self.is_allowed(url) && ips.iter().any(|ip| !self.address_allowed(*ip)) {
            return Err(OutboundError::PrivateAddress);
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }

    /// What a lookup of `name` answered, if every address may be connected to: all of them
    /// when the name is allow-listed, else all or nothing.
    pub(crate) fn screen(
        &self,
        name: &str,
        ips: Vec<IpAddr>,
    ) -> Result<Vec<IpAddr>, OutboundError> {
        if ips.is_empty() {
            return Err(OutboundError::Unresolvable);
        }
        if self.name_allowed(name) {
            return Ok(ips);
        }
        if is_local_name(name) || ips.iter().any(|ip| !self.address_allowed(*ip)) {
            return Err(OutboundError::PrivateAddress);
        }
        Ok(ips)
    }
}

/// Names that only ever mean this machine, its local network or a cloud's metadata service.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    [
        "localhost",
        "metadata",
        "metadata.goog",
        "instance-data",
        "kubernetes",
    ]
    .contains(&name.as_str())
        || [
            ".localhost",
            ".local",
            ".internal",
            ".home.arpa",
            ".localdomain",
            ".lan",
        ]
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
        || (a == 192 && b == 88 && c == 99) // 192.88.99.0/24 6to4 relay anycast
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
    // 2002::/16 (6to4) carries one in bits 16–48.
    if seg[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::from(
            (u32::from(seg[1]) << 16) | u32::from(seg[2]),
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // 64:ff9b:1::/48 local NAT64
        || (seg[0] == 0x100 && seg[1..4].iter().all(|s| *s == 0)) // 100::/64 discard
        || (seg[0] == 0x2001 && seg[1] == 0) // 2001::/32 Teredo (an IPv4 tunnel)
        || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (seg[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // 2001:db8::/32 documentation
        || seg[..6].iter().all(|s| *s == 0)) // ::/96 IPv4-compatible (deprecated)
}

#[cfg(test)]
mod tests;

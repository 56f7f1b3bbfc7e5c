//! Meeting URLs, parsed once: [`MeetingUrl`] only exists for an `https` URL on a public host
//! name with no credentials and the default port — or for a URL on a test-platform origin the
//! operator configured ([`TestOrigins`]). Which platform it belongs to is `RecipeSet`'s
//! question. Must never: resolve a name, or accept an address the bot's browser should not
//! reach because it "looks" like a platform (`meet.google.com.evil.com`).

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// The longest meeting URL accepted.
const MAX_URL_LEN: usize = 2_048;

/// Why a meeting URL is refused. Each message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeetingUrlError {
    #[error("is not a URL ({0})")]
    NotAUrl(String),
    #[error("is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("must be an https:// URL, not {0}:")]
    Scheme(String),
    #[error(
        "must be an https:// URL (plain http only on a test-platform origin the operator configured)"
    )]
    PlainHttp,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("has no host")]
    NoHost,
    #[error("names an IP address ({host}, {kind}): a meeting URL names the platform's host")]
    IpAddress { host: String, kind: &'static str },
    #[error("names a local or internal host ({0})")]
    InternalHost(String),
    #[error("must use the default https port, not {0}")]
    Port(u16),
    #[error("is not on a known meeting platform (host {0})")]
    UnknownHost(String),
    #[error("is on {platform} but is not a meeting link (path {path})")]
    NotAMeetingPath { platform: String, path: String },
    #[error("test-platform origin {0:?} is not an origin like http://127.0.0.1:8080")]
    BadTestOrigin(String),
}

/// The origins (`scheme://host:port`) of test platforms the operator runs, such as testmeet on
/// loopback. A URL on one of them may be plain `http` and name a loopback address; it is
/// matched only against recipes marked `test_platform`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestOrigins(Vec<(String, String, u16)>);

impl TestOrigins {
    /// No test platforms: only real platforms' URLs pass.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses `origins` (`http://127.0.0.1:8080`); a path other than `/`, a query or
    /// credentials is refused.
    pub fn parse<S: AsRef<str>>(origins: &[S]) -> Result<Self, MeetingUrlError> {
        let mut out = Vec::new();
        for origin in origins {
            let raw = origin.as_ref();
            let bad = || MeetingUrlError::BadTestOrigin(raw.to_owned());
            let url = Url::parse(raw).map_err(|_| bad())?;
            let plain = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
            if !matches!(url.scheme(), "http" | "https")
                || !plain
                || !url.username().is_empty()
                || url.password().is_some()
            {
                return Err(bad());
            }
            out.push(origin_of(&url).ok_or_else(bad)?);
        }
        Ok(Self(out))
    }

    fn contains(&self, url: &Url) -> bool {
        origin_of(url).is_some_and(|o| self.0.contains(&o))
    }
}

fn origin_of(url: &Url) -> Option<(String, String, u16)> {
    Some((
        url.scheme().to_owned(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

/// A meeting URL that passed the structural checks (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingUrl {
    url: Url,
    test_platform: bool,
}

impl MeetingUrl {
    /// Parses and checks `input`; `test` lists the operator's test-platform origins.
    pub fn parse(input: &str, test: &TestOrigins) -> Result<Self, MeetingUrlError> {
        let input = input.trim();
        if input.len() > MAX_URL_LEN {
            return Err(MeetingUrlError::TooLong);
        }
        let url = Url::parse(input).map_err(|e| MeetingUrlError::NotAUrl(e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(MeetingUrlError::Credentials);
        }
        if test.contains(&url) {
            return Ok(Self {
                url,
                test_platform: true,
            });
        }
        match url.scheme() {
            "https" => {}
            "http" => return Err(MeetingUrlError::PlainHttp),
            other => return Err(MeetingUrlError::Scheme(other.to_owned())),
        }
        let mut url = url;
        match url.host() {
            None => return Err(MeetingUrlError::NoHost),
            Some(Host::Ipv4(ip)) => return Err(ip_error(IpAddr::V4(ip))),
            Some(Host::Ipv6(ip)) => return Err(ip_error(IpAddr::V6(ip))),
            Some(Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                if is_internal_name(&name) {
                    return Err(MeetingUrlError::InternalHost(name));
                }
                // `meet.google.com.` is `meet.google.com`: compare without the root dot.
                let trimmed = name.trim_end_matches('.');
                if trimmed != name {
                    url.set_host(Some(trimmed))
                        .map_err(|e| MeetingUrlError::NotAUrl(e.to_string()))?;
                }
            }
        }
        if let Some(port) = url.port() {
            return Err(MeetingUrlError::Port(port));
        }
        Ok(Self {
            url,
            test_platform: false,
        })
    }

    /// The lowercase host name (or address, on a test origin).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The URL's path (`/abc-defg-hij`).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// Whether the URL is on a configured test-platform origin.
    pub fn is_test_platform(&self) -> bool {
        self.test_platform
    }

    /// The URL, as the bot navigates to it.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl fmt::Display for MeetingUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

fn ip_error(ip: IpAddr) -> MeetingUrlError {
    let kind = match ip {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        IpAddr::V4(v4) if v4.is_private() => "private range",
        IpAddr::V4(v4) if v4.is_link_local() => "link-local",
        IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00 => "private range",
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => "link-local",
        _ => "an address literal",
    };
    MeetingUrlError::IpAddress {
        host: ip.to_string(),
        kind,
    }
}

/// Names that only ever mean this machine or a private network: `localhost`, single-label
/// names, and the suffixes reserved or customary for internal use.
pub fn is_internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || !name.contains('.')
        || [
            ".localhost",
            ".local",
            ".internal",
            ".home.arpa",
            ".lan",
            ".intranet",
            ".corp",
            ".localdomain",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Whether `host` (lowercase, no root dot) matches `pattern`: equal, or for `*.domain` a
/// name ending in `.domain` with at least one label before it. Label boundaries are what
/// keep `evilzoom.us` and `meet.google.com.evil.com` out.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => host
            .strip_suffix(domain)
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty()),
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> MeetingUrlError {
        MeetingUrl::parse(input, &TestOrigins::none()).unwrap_err()
    }

    #[test]
    fn a_plain_https_platform_url_parses() {
        let url = MeetingUrl::parse(
            " https://Meet.Google.com/abc-defg-hij ",
            &TestOrigins::none(),
        )
        .unwrap();
        assert_eq!(url.host(), "meet.google.com");
        assert_eq!(url.path(), "/abc-defg-hij");
        assert!(!url.is_test_platform());
    }

    #[test]
    fn the_root_dot_is_dropped() {
        let url = MeetingUrl::parse("https://meet.google.com./abc", &TestOrigins::none()).unwrap();
        assert_eq!(url.host(), "meet.google.com");
    }

    #[test]
    fn plain_http_is_refused() {
        assert_eq!(
            err("http://meet.google.com/abc"),
            MeetingUrlError::PlainHttp
        );
    }

    #[test]
    fn odd_schemes_are_refused() {
        for (input, scheme) in [
            ("ftp://meet.google.com/abc", "ftp"),
            ("javascript:alert(1)", "javascript"),
            ("file:///etc/passwd", "file"),
            ("data:text/html,hi", "data"),
            ("wss://meet.google.com/abc", "wss"),
        ] {
            assert_eq!(
                err(input),
                MeetingUrlError::Scheme(scheme.into()),
                "{input}"
            );
        }
    }

    #[test]
    fn credentials_are_refused() {
        assert_eq!(
            err("https://user:pw@meet.google.com/abc"),
            MeetingUrlError::Credentials
        );
        assert_eq!(
            err("https://meet.google.com@evil.com/abc"),
            MeetingUrlError::Credentials
        );
    }

    #[test]
    fn ip_literals_are_refused_and_named() {
        for (input, kind) in [
            ("https://127.0.0.1/abc", "loopback"),
            ("https://2130706433/abc", "loopback"),
            ("https://0x7f.1/abc", "loopback"),
            ("https://10.1.2.3/abc", "private range"),
            ("https://192.168.0.1/abc", "private range"),
            ("https://169.254.169.254/latest", "link-local"),
            ("https://[::1]/abc", "loopback"),
            ("https://[fd00::1]/abc", "private range"),
            ("https://[fe80::1]/abc", "link-local"),
            ("https://8.8.8.8/abc", "an address literal"),
        ] {
            match err(input) {
                MeetingUrlError::IpAddress { kind: k, .. } => assert_eq!(k, kind, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn internal_names_are_refused() {
        for input in [
            "https://localhost/abc",
            "https://app.localhost/abc",
            "https://metadata.google.internal/abc",
            "https://printer.local/abc",
            "https://intranet/abc",
            "https://router.home.arpa/abc",
        ] {
            assert!(
                matches!(err(input), MeetingUrlError::InternalHost(_)),
                "{input}"
            );
        }
    }

    #[test]
    fn explicit_ports_are_refused() {
        assert_eq!(
            err("https://meet.google.com:8443/abc"),
            MeetingUrlError::Port(8443)
        );
    }

    #[test]
    fn garbage_and_huge_inputs_are_refused() {
        assert!(matches!(
            err("meet.google.com/abc"),
            MeetingUrlError::NotAUrl(_)
        ));
        assert!(matches!(err(""), MeetingUrlError::NotAUrl(_)));
        let long = format!("https://meet.google.com/{}", "a".repeat(3000));
        assert_eq!(err(&long), MeetingUrlError::TooLong);
    }

    #[test]
    fn test_origins_admit_loopback_http_only_on_that_origin() {
        let test = TestOrigins::parse(&["http://127.0.0.1:8080"]).unwrap();
        let url = MeetingUrl::parse("http://127.0.0.1:8080/r/abc", &test).unwrap();
        assert!(url.is_test_platform());
        assert_eq!(
            MeetingUrl::parse("http://127.0.0.1:8081/r/abc", &test).unwrap_err(),
            MeetingUrlError::PlainHttp
        );
        assert_eq!(
            MeetingUrl::parse("http://u:p@127.0.0.1:8080/r/abc", &test).unwrap_err(),
            MeetingUrlError::Credentials
        );
        for bad in [
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/r",
            "ftp://x.y",
            "http://a@b.c",
        ] {
            assert!(TestOrigins::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_patterns_match_on_label_boundaries() {
        assert!(host_matches("meet.google.com", "meet.google.com"));
        assert!(!host_matches("meet.google.com", "meet.google.com.evil.com"));
        assert!(!host_matches("meet.google.com", "evilmeet.google.com"));
        assert!(host_matches("*.zoom.us", "us02web.zoom.us"));
        assert!(host_matches("*.zoom.us", "a.b.zoom.us"));
        assert!(!host_matches("*.zoom.us", "zoom.us"));
        assert!(!host_matches("*.zoom.us", "evilzoom.us"));
        assert!(!host_matches("*.zoom.us", "zoom.us.evil.com"));
    }
}

//! Which meeting URLs a bot may be sent to: `https` on a known platform's host (Google Meet,
//! Microsoft Teams, Zoom), or an origin the operator configured as a test platform
//! (`bot.test_platform_origins`, e.g. testmeet on loopback). Everything else — other schemes,
//! internal addresses, look-alike hosts, credentials or ports in the URL — is refused. One
//! function, so the recipe crate's matcher can replace it.

use url::{Host, Url};

/// Why a meeting URL is refused (the caller names the field).
pub type UrlRefusal = &'static str;

/// The platform a URL belongs to, if it may be joined.
pub fn check_meeting_url(
    raw: &str,
    test_origins: &[Url],
) -> Result<(Url, &'static str), UrlRefusal> {
    if raw.len() > 2048 {
        return Err("is longer than 2048 characters");
    }
    let url = Url::parse(raw.trim()).map_err(|_| "is not a URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if test_origins
        .iter()
        .any(|o| o.origin() == url.origin() && matches!(url.scheme(), "http" | "https"))
    {
        return Ok((url, "test"));
    }
    if url.scheme() != "https" {
        return Err("must be an https:// URL");
    }
    if url.port().is_some() {
        return Err("must not name a port");
    }
    let Some(Host::Domain(host)) = url.host() else {
        return Err("must name a meeting platform's host, not an address");
    };
    let host = host.to_ascii_lowercase();
    let platform = match host.as_str() {
        "meet.google.com" => "google_meet",
        "teams.microsoft.com" | "teams.live.com" => "teams",
        h if h == "zoom.us" || is_subdomain_of(h, "zoom.us") => "zoom",
        _ => {
            return Err(
                "must be a Google Meet, Microsoft Teams or Zoom meeting link (or a test \
                 platform the operator configured)",
            );
        }
    };
    Ok((url, platform))
}

/// `host` is `label.….parent` with non-empty labels (so `evilzoom.us` is not under `zoom.us`).
fn is_subdomain_of(host: &str, parent: &str) -> bool {
    host.strip_suffix(parent)
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|labels| !labels.is_empty() && labels.split('.').all(|l| !l.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_links_pass_and_hostile_ones_are_refused() {
        let test = [Url::parse("http://127.0.0.1:4100").unwrap()];
        for (ok, platform) in [
            ("https://meet.google.com/abc-defg-hij", "google_meet"),
            ("https://teams.microsoft.com/l/meetup-join/19%3a", "teams"),
            ("https://teams.live.com/meet/9312", "teams"),
            ("https://us02web.zoom.us/j/123456789?pwd=x", "zoom"),
            ("https://zoom.us/j/1", "zoom"),
            ("http://127.0.0.1:4100/r/room", "test"),
        ] {
            assert_eq!(check_meeting_url(ok, &test).unwrap().1, platform, "{ok}");
        }
        for bad in [
            "http://meet.google.com/abc",
            "ftp://meet.google.com/abc",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://meet.google.com.evil.example/abc",
            "https://evilzoom.us/j/1",
            "https://zoom.us.evil.example/j/1",
            "https://meet-google.com/abc",
            "https://user:pw@meet.google.com/abc",
            "https://meet.google.com:8443/abc",
            "https://127.0.0.1/r/x",
            "https://[::1]/r/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/r/x",
            "http://127.0.0.1:4101/r/room",
            "https://xn--meet-google-com.example/x",
            "https://.zoom.us/j/1",
            "not a url",
            "",
        ] {
            assert!(check_meeting_url(bad, &test).is_err(), "{bad}");
        }
    }
}

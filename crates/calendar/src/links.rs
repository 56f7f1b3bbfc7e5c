//! Finding and normalising meeting links: Google Meet, Zoom and Microsoft Teams only. A link is
//! accepted by parsing it as a URL and comparing its host exactly (or, for Zoom's vanity
//! subdomains, as a whole-label suffix), never by substring, so `meet.google.com.evil.example`,
//! `https://zoom.us@evil.example/j/1` and `evilzoom.us` are refused. The normalised
//! [`ConferenceLink::key`] names the meeting itself, so two invitations to one meeting map to one
//! key whatever tracking parameters or encodings their URLs carry.

use url::{Host, Url};

/// The platforms we can join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Google Meet.
    GoogleMeet,
    /// Zoom.
    Zoom,
    /// Microsoft Teams (work, school or personal).
    Teams,
}

/// A recognised meeting link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConferenceLink {
    /// The platform.
    pub platform: Platform,
    /// The URL to join with, normalised (Zoom keeps only `pwd`).
    pub url: Url,
    /// The meeting's identity: `meet:abc-defg-hij`, `zoom:123456789`,
    /// `teams:19:meeting_…@thread.v2`, `teams-meet:123…`, `teams-live:…`.
    pub key: String,
}

/// How far into a text we look, and how many candidates we try (hostile bodies stay cheap).
const MAX_SCAN_BYTES: usize = 64 * 1024;
const MAX_CANDIDATES: usize = 200;
const MAX_URL_LEN: usize = 2048;

/// The first recognised meeting link in `text` (a location or a description, plain or HTML).
pub fn find_conference_link(text: &str) -> Option<ConferenceLink> {
    let mut end = text.len().min(MAX_SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let mut rest = text;
    let mut tried = 0;
    while let Some(pos) = find_ascii_ci(rest, "https://") {
        tried += 1;
        if tried > MAX_CANDIDATES {
            return None;
        }
        let candidate = &rest[pos..];
        let len = candidate
            .find(|c: char| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(
                        c,
                        '<' | '>'
                            | '"'
                            | '\''
                            | '`'
                            | '('
                            | ')'
                            | '['
                            | ']'
                            | '{'
                            | '}'
                            | '|'
                            | '\\'
                            | '^'
                    )
            })
            .unwrap_or(candidate.len());
        let raw = candidate[..len].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        if raw.len() <= MAX_URL_LEN
            && let Some(link) = parse_conference_url(&raw.replace("&amp;", "&"))
        {
            return Some(link);
        }
        rest = &candidate["https://".len()..];
    }
    None
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

/// Recognises one URL as a meeting link, or refuses it.
pub fn parse_conference_url(raw: &str) -> Option<ConferenceLink> {
    let url = Url::parse(raw.trim()).ok()?;
    if url.scheme() != "https"
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
    {
        return None;
    }
    let Some(Host::Domain(host)) = url.host() else {
        return None;
    };
    let host = host.to_owned();
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match host.as_str() {
        "meet.google.com" => meet(&segments),
        "teams.microsoft.com" => teams(&url, &segments),
        "teams.live.com" => teams_live(&segments),
        h if is_zoom_host(h) => zoom(&url, h, &segments),
        _ => None,
    }
}

fn is_zoom_host(host: &str) -> bool {
    if host == "zoom.us" {
        return true;
    }
    let Some(sub) = host.strip_suffix(".zoom.us") else {
        return false;
    };
    !sub.is_empty()
        && sub.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn meet(segments: &[&str]) -> Option<ConferenceLink> {
    let [code] = segments else { return None };
    let code = code.to_ascii_lowercase();
    let parts: Vec<&str> = code.split('-').collect();
    let shape =
        matches!(parts.as_slice(), [a, b, c] if a.len() == 3 && b.len() == 4 && c.len() == 3);
    if !shape
        || !parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
    {
        return None;
    }
    Some(ConferenceLink {
        platform: Platform::GoogleMeet,
        url: Url::parse(&format!("https://meet.google.com/{code}")).ok()?,
        key: format!("meet:{code}"),
    })
}

fn zoom(url: &Url, host: &str, segments: &[&str]) -> Option<ConferenceLink> {
    // `/j/<id>` (meetings) and `/w/<id>` (webinars); an id is 9 to 11 digits.
    let [kind @ ("j" | "w"), id] = segments else {
        return None;
    };
    if !(9..=11).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut join = Url::parse(&format!("https://{host}/{kind}/{id}")).ok()?;
    if let Some((_, pwd)) = url.query_pairs().find(|(k, _)| k == "pwd") {
        join.query_pairs_mut().append_pair("pwd", &pwd);
    }
    Some(ConferenceLink {
        platform: Platform::Zoom,
        url: join,
        key: format!("zoom:{id}"),
    })
}

fn teams(url: &Url, segments: &[&str]) -> Option<ConferenceLink> {
    match segments {
        // `/l/meetup-join/19%3ameeting_…%40thread.v2/0?context=…`: the thread id names it.
        ["l", "meetup-join", thread, ..] => {
            let thread = percent_decode(thread)?;
            let valid = thread.starts_with("19:")
                && thread.len() <= 512
                && thread.contains('@')
                && thread
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:@=+/".contains(&b));
            if !valid {
                return None;
            }
            Some(ConferenceLink {
                platform: Platform::Teams,
                url: url.clone(),
                key: format!("teams:{thread}"),
            })
        }
        // The newer short form `/meet/<digits>?p=<passcode>`.
        ["meet", id] if (8..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) => {
            Some(ConferenceLink {
                platform: Platform::Teams,
                url: url.clone(),
                key: format!("teams-meet:{id}"),
            })
        }
        _ => None,
    }
}

fn teams_live(segments: &[&str]) -> Option<ConferenceLink> {
    let ["meet", id] = segments else { return None };
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(ConferenceLink {
        platform: Platform::Teams,
        url: Url::parse(&format!("https://teams.live.com/meet/{id}")).ok()?,
        key: format!("teams-live:{id}"),
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;

//! The link finder against real shapes, lookalikes and hostile text.

use super::*;

fn key(text: &str) -> Option<String> {
    find_conference_link(text).map(|l| l.key)
}

#[test]
fn finds_each_platform_in_prose() {
    assert_eq!(
        key("Join: https://meet.google.com/abc-defg-hij."),
        Some("meet:abc-defg-hij".into())
    );
    assert_eq!(
        key("Zoom (https://us02web.zoom.us/j/81234567890?pwd=QWxhZGRpbg)"),
        Some("zoom:81234567890".into())
    );
    assert_eq!(
        key(
            "<a href=\"https://teams.microsoft.com/l/meetup-join/19%3ameeting_NGQ3NTMyOGYt%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22%7d\">Join</a>"
        ),
        Some("teams:19:meeting_NGQ3NTMyOGYt@thread.v2".into())
    );
    assert_eq!(
        key("https://teams.live.com/meet/9876543210123"),
        Some("teams-live:9876543210123".into())
    );
    assert_eq!(
        key("https://teams.microsoft.com/meet/2345678901234?p=abcdef"),
        Some("teams-meet:2345678901234".into())
    );
}

#[test]
fn lookalike_hosts_and_credentials_are_refused() {
    for hostile in [
        "https://meet.google.com.evil.example/abc-defg-hij",
        "https://zoom.us@evil.example/j/123456789",
        "https://evilzoom.us/j/123456789",
        "https://zoom.us.evil.example/j/123456789",
        "https://meet.google.com:8443/abc-defg-hij",
        "https://user:pw@meet.google.com/abc-defg-hij",
        "http://meet.google.com/abc-defg-hij",
        "https://meet.google.com./abc-defg-hij",
        "https://teams.microsoft.com.evil.example/l/meetup-join/19%3ameeting_x%40thread.v2/0",
        "https://xn--mee-google-xyz.com/abc-defg-hij",
        "https://meet.gооgle.com/abc-defg-hij",
        "https://-bad.zoom.us/j/123456789",
    ] {
        assert_eq!(key(hostile), None, "{hostile}");
    }
}

#[test]
fn a_link_quoted_inside_another_url_yields_only_the_real_host() {
    // The quoted Meet URL is a real Meet link; what we keep is rebuilt on meet.google.com, so
    // the outer host is never joined.
    let link =
        find_conference_link("https://evil.example/?https://meet.google.com/abc-defg-hij").unwrap();
    assert_eq!(link.url.as_str(), "https://meet.google.com/abc-defg-hij");
}

#[test]
fn a_lookalike_does_not_hide_a_real_link_after_it() {
    let text = "fake https://meet.google.com.evil.example/abc-defg-hij real https://meet.google.com/xyz-abcd-efg";
    assert_eq!(key(text), Some("meet:xyz-abcd-efg".into()));
}

#[test]
fn malformed_paths_are_refused() {
    for bad in [
        "https://meet.google.com/",
        "https://meet.google.com/landing",
        "https://meet.google.com/abc-defg-hi",
        "https://meet.google.com/abc-defg-hij/extra",
        "https://zoom.us/j/12345",
        "https://zoom.us/j/12345678901234",
        "https://zoom.us/my/vanity",
        "https://teams.microsoft.com/l/meetup-join/notathread/0",
        "https://teams.microsoft.com/l/meetup-join/19%ZZ/0",
        "https://teams.microsoft.com/",
    ] {
        assert_eq!(key(bad), None, "{bad}");
    }
}

#[test]
fn normalisation_maps_variants_of_one_meeting_to_one_key() {
    let a = find_conference_link("HTTPS://MEET.GOOGLE.COM/ABC-DEFG-HIJ?authuser=1").unwrap();
    let b = find_conference_link("https://meet.google.com/abc-defg-hij?hs=122").unwrap();
    assert_eq!(a.key, b.key);
    assert_eq!(a.url.as_str(), "https://meet.google.com/abc-defg-hij");

    let z1 = find_conference_link("https://us02web.zoom.us/j/81234567890?pwd=abc&amp;from=addon")
        .unwrap();
    let z2 = find_conference_link("https://zoom.us/j/81234567890?uname=x&pwd=abc").unwrap();
    assert_eq!(z1.key, z2.key);
    assert_eq!(
        z1.url.as_str(),
        "https://us02web.zoom.us/j/81234567890?pwd=abc"
    );

    let t1 = find_conference_link(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_ABC%40thread.v2/0?context=1",
    )
    .unwrap();
    let t2 = find_conference_link(
        "https://teams.microsoft.com/l/meetup-join/19%3Ameeting_ABC%40thread.v2/0?context=2",
    )
    .unwrap();
    assert_eq!(t1.key, t2.key);
}

#[test]
fn hostile_text_stays_cheap_and_safe() {
    let noise = "https://".repeat(10_000);
    assert_eq!(key(&noise), None);
    let long = format!("https://meet.google.com/{}", "a".repeat(5000));
    assert_eq!(key(&long), None);
    let multibyte = format!("{}https://meet.google.com/abc-defg-hij", "é".repeat(40_000));
    // Beyond the scanned prefix: not found, and no panic on the char boundary.
    assert_eq!(key(&multibyte), None);
    assert_eq!(
        key("\u{0}https://meet.google.com/abc-defg-hij\u{0}"),
        Some("meet:abc-defg-hij".into())
    );
}

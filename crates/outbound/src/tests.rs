//! The outbound rules on literal addresses, names and the allow-list.
#![allow(clippy::unwrap_used)]

use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn private_loopback_link_local_and_reserved_addresses_are_not_public() {
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2001:db8::1",
        "::127.0.0.1",
    ] {
        assert!(!is_public(ip.parse().unwrap()), "{ip} must not be public");
    }
    for ip in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ] {
        assert!(is_public(ip.parse().unwrap()), "{ip} is public");
    }
}

#[test]
fn only_https_to_public_hosts_passes_without_the_allow_list() {
    let p = Policy::default();
    assert_eq!(p.check_url(&url("https://api.openai.com/v1")), Ok(()));
    assert_eq!(
        p.check_url(&url("http://api.openai.com")),
        Err(OutboundError::NotHttps)
    );
    assert_eq!(
        p.check_url(&url("ftp://api.openai.com")),
        Err(OutboundError::NotHttps)
    );
    for bad in [
        "https://127.0.0.1:8443",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.7",
        "https://[::1]:9000",
        "https://[::ffff:a9fe:a9fe]",
        "https://localhost:8080",
        "https://metadata.google.internal",
        "https://printer.local",
    ] {
        assert_eq!(
            p.check_url(&url(bad)),
            Err(OutboundError::PrivateAddress),
            "{bad}"
        );
    }
    assert_eq!(
        p.check_url(&url("https://user:pw@api.openai.com")),
        Err(OutboundError::Credentials)
    );
}

#[test]
fn an_allow_listed_host_may_be_private_and_plain_http() {
    let p = Policy::new(&["127.0.0.1:8081".to_owned(), "Whisper.Corp.".to_owned()]);
    assert_eq!(p.check_url(&url("http://127.0.0.1:8081/v1")), Ok(()));
    assert_eq!(
        p.check_url(&url("http://127.0.0.1:8082")),
        Err(OutboundError::NotHttps),
        "the allow-list names a port"
    );
    assert_eq!(p.check_url(&url("http://whisper.corp:9000")), Ok(()));
    assert_eq!(
        p.check_url(&url("https://whisper.corp")),
        Ok(()),
        "a bare host allows every port"
    );
}

#[tokio::test]
async fn resolution_refuses_names_that_resolve_to_private_addresses() {
    let p = Policy::default();
    // A local name is refused before any lookup.
    assert_eq!(
        p.resolve(&url("https://localhost./")).await,
        Err(OutboundError::PrivateAddress)
    );
    let allowed = Policy::new(&["127.0.0.1".to_owned()]);
    let addrs = allowed.resolve(&url("http://127.0.0.1:9/")).await.unwrap();
    assert_eq!(addrs, vec!["127.0.0.1:9".parse().unwrap()]);
}

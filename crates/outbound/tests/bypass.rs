//! The outbound client against SSRF bypass attempts: every way of spelling this machine (or a
//! private network) that URL parsers, resolvers and IPv6 transition formats allow is refused,
//! and a loopback listener standing where they all point counts no connection. The listener is
//! reachable only when the operator allow-lists it, and then a redirect it answers is not
//! followed. A scripted resolver plays DNS rebinding: public at registration, loopback at
//! delivery.
//!
//! Nothing here reaches beyond 127.0.0.1: addresses outside loopback are only ever checked by the
//! policy (which the client runs before connecting), never sent to.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use meetvault_outbound::{Client, ClientOptions, Lookup, OutboundError, Policy, SendError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

/// A loopback listener that counts the connections it accepts and answers each with `reply`.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

async fn listener(reply: &'static str) -> Listener {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Listener { port, accepted }
}

/// Every name resolves to loopback — what a hostile DNS answer would say.
struct AllLoopback;

impl Lookup for AllLoopback {
    fn lookup<'a>(
        &'a self,
        _name: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async { Ok(vec!["127.0.0.1".parse().unwrap()]) })
    }
}

/// Public on the first lookup, loopback after (DNS rebinding).
struct Rebinding(AtomicUsize);

impl Lookup for Rebinding {
    fn lookup<'a>(
        &'a self,
        _name: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Ok(vec![if n == 0 {
                "93.184.216.34".parse().unwrap()
            } else {
                "127.0.0.1".parse().unwrap()
            }])
        })
    }
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

/// Spellings of 127.0.0.1 (and names for it) on `port`, over http and https.
fn loopback_spellings(port: u16) -> Vec<String> {
    let hosts = [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "0177.0.0.01",
        "017700000001",
        "127.000.000.001",
        "127.0.0.1.",
        "127.255.255.254",
        "%31%32%37.0.0.1",
        "127%2E0%2E0%2E1",
        "\u{2460}\u{2461}\u{2466}.0.0.1",
        "127\u{3002}0\u{3002}0\u{3002}1",
        "\u{ff11}\u{ff12}\u{ff17}.0.0.1",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::127.0.0.1]",
        "[2002:7f00:1::1]",
        "[::127.0.0.1]",
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "lo\u{ad}calhost",
        "evil.example",
        "evil.example.",
        "attacker-controlled.test",
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "router.lan",
        "printer.local",
    ];
    let mut urls = Vec::new();
    for host in hosts {
        for scheme in ["http", "https"] {
            urls.push(format!("{scheme}://{host}:{port}/hook"));
        }
    }
    // Userinfo and `@` tricks, backslashes, fragments.
    for trick in [
        format!("https://api.example.com@127.0.0.1:{port}/"),
        format!("https://user:secret@api.example.com:{port}/"),
        format!("https://127.0.0.1:{port}\\@api.example.com/"),
        format!("https://127.0.0.1:{port}#@api.example.com/"),
        format!("https://127.0.0.1:{port}?@api.example.com/"),
        format!("http://0:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://[::]:{port}/"),
        "file:///etc/passwd".to_owned(),
        format!("gopher://127.0.0.1:{port}/"),
    ] {
        urls.push(trick);
    }
    urls
}

/// Private, reserved and transition-format addresses elsewhere: checked by the policy only
/// (never connected to, whatever it says).
const ELSEWHERE: &[&str] = &[
    "https://10.0.0.1/",
    "https://10.255.255.255/",
    "https://172.16.0.1/",
    "https://172.31.255.254/",
    "https://192.168.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/",
    "https://[fd00:ec2::254]/",
    "https://100.64.0.1/",
    "https://100.100.100.200/",
    "https://192.0.0.170/",
    "https://192.0.2.1/",
    "https://192.88.99.1/",
    "https://198.18.0.1/",
    "https://198.51.100.7/",
    "https://203.0.113.9/",
    "https://224.0.0.251/",
    "https://239.255.255.250/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://[ff02::1]/",
    "https://[fc00::1]/",
    "https://[2001:db8::1]/",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "https://[2002:a9fe:a9fe::1]/",
    "https://[2002:c0a8:101::1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b:1::a00:1]/",
    "https://[100::1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[::ffff:10.0.0.1]/",
    "https://0xa9fea9fe/",
    "https://2852039166/",
    "https://0251.0376.0251.0376/",
    "https://169.254.43518/",
];

#[tokio::test]
async fn every_spelling_of_a_private_target_is_refused_and_nothing_connects() {
    let target = listener(OK).await;
    let client = Client::with_lookup(
        Policy::default(),
        Arc::new(AllLoopback),
        ClientOptions::default(),
    )
    .unwrap();
    let urls = loopback_spellings(target.port);
    let mut tried = 0;
    for raw in &urls {
        let Ok(url) = Url::parse(raw) else {
            // Not even a URL: nothing to send.
            tried += 1;
            continue;
        };
        // At registration: a clear refusal (what the API turns into a 422).
        let registered = client.policy().resolve_with(&url, &AllLoopback).await;
        assert!(
            registered.is_err(),
            "{raw} passed registration: {registered:?}"
        );
        // At delivery: refused before any byte is sent.
        let sent = match client.request(reqwest::Method::POST, url.clone()) {
            Ok(request) => client.send(request).await,
            Err(refused) => Err(refused),
        };
        assert!(
            matches!(sent, Err(SendError::Refused(_))),
            "{raw} was not refused: {sent:?}"
        );
        tried += 1;
    }
    for raw in ELSEWHERE {
        let url = Url::parse(raw).unwrap();
        assert_eq!(
            client.policy().check_url(&url),
            Err(OutboundError::PrivateAddress),
            "{raw}"
        );
        tried += 1;
    }
    assert!(tried >= 60, "only {tried} attempts");
    assert_eq!(
        target.accepted.load(Ordering::SeqCst),
        0,
        "a connection got through"
    );
}

#[tokio::test]
async fn a_name_that_rebinds_to_loopback_after_registration_is_refused_at_delivery() {
    let target = listener(OK).await;
    let lookup = Arc::new(Rebinding(AtomicUsize::new(0)));
    let client =
        Client::with_lookup(Policy::default(), lookup.clone(), ClientOptions::default()).unwrap();
    let url = Url::parse(&format!("https://hooks.example.com:{}/in", target.port)).unwrap();
    // Registration sees a public address (and connects to nothing).
    let addrs = client
        .policy()
        .resolve_with(&url, lookup.as_ref())
        .await
        .unwrap();
    assert_eq!(addrs.len(), 1);
    // Delivery looks the name up again, gets loopback, and refuses.
    let sent = client
        .send(client.request(reqwest::Method::POST, url).unwrap())
        .await;
    assert!(
        matches!(sent, Err(SendError::Refused(OutboundError::PrivateAddress))),
        "{sent:?}"
    );
    assert_eq!(target.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_allow_listed_receiver_is_reached_its_redirects_are_not_followed_and_bodies_are_bounded()
{
    let elsewhere = listener(OK).await;
    let redirect: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/x\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n",
            elsewhere.port
        )
        .into_boxed_str(),
    );
    let receiver = listener(redirect).await;
    // Only the receiver's port is allow-listed; the redirect target is loopback too.
    let policy = Policy::new(&[format!("127.0.0.1:{}", receiver.port)]);
    let client = Client::new(policy, ClientOptions::default()).unwrap();
    let url = Url::parse(&format!("http://127.0.0.1:{}/hook", receiver.port)).unwrap();
    let response = client
        .send(client.request(reqwest::Method::POST, url).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 302, "the redirect comes back as it is");
    assert_eq!(receiver.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(
        elsewhere.accepted.load(Ordering::SeqCst),
        0,
        "a redirect was followed"
    );

    // Through a CIDR entry, and a body over the bound is refused.
    let big =
        listener("HTTP/1.1 200 OK\r\ncontent-length: 4096\r\nconnection: close\r\n\r\n").await;
    let client = Client::new(
        Policy::new(&["127.0.0.0/8".to_owned()]),
        ClientOptions {
            max_body: 1024,
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let url = Url::parse(&format!("http://127.0.0.1:{}/", big.port)).unwrap();
    let response = client
        .send(client.request(reqwest::Method::GET, url).unwrap())
        .await
        .unwrap();
    assert!(matches!(
        client.read_body(response).await,
        Err(SendError::BodyTooLarge(1024))
    ));
    // A name resolving into the allowed network is reachable too; outside it, not.
    let ok = listener(OK).await;
    let client = Client::with_lookup(
        Policy::new(&["127.0.0.0/8".to_owned()]),
        Arc::new(AllLoopback),
        ClientOptions::default(),
    )
    .unwrap();
    let url = Url::parse(&format!("https://rebind.example:{}/", ok.port)).unwrap();
    // https to a plain listener fails in TLS, after the connection: the policy let it through.
    let sent = client
        .send(client.request(reqwest::Method::GET, url).unwrap())
        .await;
    assert!(matches!(sent, Err(SendError::Http(_))), "{sent:?}");
    assert_eq!(ok.accepted.load(Ordering::SeqCst), 1);
    let narrow = Policy::new(&["10.0.0.0/8".to_owned()]);
    assert!(narrow.address_allowed("10.1.2.3".parse().unwrap()));
    assert!(!narrow.address_allowed("127.0.0.1".parse().unwrap()));
    assert!(Policy::valid_entry("10.0.0.0/8"));
    assert!(Policy::valid_entry("whisper.corp:9000"));
    assert!(!Policy::valid_entry("10.0.0.0/33"));
    assert!(!Policy::valid_entry("http://x/"));
}

//! Built-in TLS: 1.2 and 1.3 are served, 1.1 is refused with a protocol_version alert, and the
//! plain listener answers 301 to the HTTPS URL.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use meetvault_config::TlsConfig;
use meetvault_test_support::{TestApp, self_signed_cert};

use crate::headers::assert_security_headers;

pub(crate) async fn tls_app(dir: &std::path::Path, public_url: Option<&str>) -> (TestApp, Vec<u8>) {
    let (cert_file, key_file, cert_pem) = self_signed_cert(dir);
    let app = TestApp::spawn_with(|c| {
        c.server.tls = Some(TlsConfig {
            cert_file,
            key_file,
            redirect_listen: Some("127.0.0.1:0".parse().unwrap()),
        });
        c.server.public_url = public_url.map(|u| u.parse().unwrap());
    })
    .await;
    (app, cert_pem)
}

pub(crate) fn client(cert_pem: &[u8], version: reqwest::tls::Version) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem).unwrap())
        .min_tls_version(version)
        .max_tls_version(version)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let (app, cert) = tls_app(dir.path(), None).await;
    for version in [
        reqwest::tls::Version::TLS_1_2,
        reqwest::tls::Version::TLS_1_3,
    ] {
        let r = client(&cert, version)
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{version:?} refused: {e:?}"));
        assert_eq!(r.status(), 200);
        assert_security_headers(&r);
    }
}

/// A TLS 1.1 ClientHello (legacy_version 0x0302, no supported_versions extension).
fn tls11_client_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x02];
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // session id
    // ECDHE-ECDSA/RSA AES-GCM (usable with TLS 1.2) and AES-CBC-SHA (TLS 1.1's own).
    let suites: [u16; 4] = [0xc02b, 0xc02f, 0xc013, 0x002f];
    hello.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        hello.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null
    // extensions: server_name "localhost", supported_groups, ec_point_formats, signature_algorithms
    let mut ext = Vec::new();
    let name = b"localhost";
    let mut sni = Vec::new();
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    ext.extend_from_slice(&[0x00, 0x00]);
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17]);
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    ext.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    ]);
    hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    hello.extend_from_slice(&ext);

    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends raw bytes and returns the first `n` bytes of the answer.
async fn first_bytes(addr: std::net::SocketAddr, hello: Vec<u8>, n: usize) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(&hello).unwrap();
        let mut buf = vec![0u8; n];
        tcp.read_exact(&mut buf)
            .unwrap_or_else(|e| panic!("no {n}-byte answer: {e}"));
        buf
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tls_1_1_is_refused_with_a_protocol_version_alert() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = tls_app(dir.path(), None).await;
    let reply = first_bytes(app.addr, tls11_client_hello(), 7).await;
    assert_eq!(
        reply[0], 0x15,
        "an alert record, not a ServerHello: {reply:?}"
    );
    assert_eq!(reply[5], 2, "fatal");
    assert_eq!(reply[6], 70, "protocol_version");

    // The same hello offering TLS 1.2 is answered with a ServerHello, proving the probe is valid.
    let mut hello = tls11_client_hello();
    hello[10] = 0x03; // client_version 3.3 = TLS 1.2 (record header 5 + handshake header 4 + 1)
    let reply = first_bytes(app.addr, hello, 6).await;
    assert_eq!(reply[0], 0x16, "handshake record");
    assert_eq!(reply[5], 0x02, "ServerHello");
}

/// What the plain listener of an app with `public_url` answers to `method path` sent with `host`.
async fn redirect_for(
    public_url: Option<&str>,
    method: reqwest::Method,
    path: &str,
    host: &str,
) -> (reqwest::Response, u16) {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = tls_app(dir.path(), public_url).await;
    let plain = format!("http://{}", app.redirect_addr.unwrap());
    let r = app
        .client
        .request(method, format!("{plain}{path}"))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (r, app.addr.port())
}

#[tokio::test]
async fn plain_http_is_redirected_to_https_with_301() {
    let (r, https_port) = redirect_for(
        None,
        reqwest::Method::GET,
        "/api/v1/instance?x=1",
        "localhost",
    )
    .await;
    assert_eq!(r.status(), 301);
    assert_eq!(
        r.headers()["location"],
        format!("https://localhost:{https_port}/api/v1/instance?x=1").as_str()
    );
    assert_security_headers(&r);

    let (r, _) = redirect_for(
        Some("https://meetvault.example.com"),
        reqwest::Method::POST,
        "/a/b",
        "evil.example",
    )
    .await;
    assert_eq!(r.status(), 301);
    assert_eq!(
        r.headers()["location"],
        "https://meetvault.example.com/a/b",
        "the configured URL wins over Host"
    );
}

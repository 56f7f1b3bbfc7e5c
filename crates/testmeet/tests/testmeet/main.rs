//! testmeet's tests, one binary: the meeting in real browsers, and the server's refusals.
// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod meeting;
mod refusals;

use std::net::SocketAddr;

use serde_json::Value;

/// A testmeet server on a free loopback port, serving until the test ends.
async fn start_server() -> SocketAddr {
    let server = meetvault_testmeet::Server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run(std::future::pending()));
    addr
}

/// `POST /api/rooms`: `{room, host_key, url, host_url}`.
async fn create_room(addr: SocketAddr) -> Value {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

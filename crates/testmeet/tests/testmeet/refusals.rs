//! What testmeet refuses, spoken to directly over HTTP and the signalling websocket: unknown
//! rooms, a wrong host key, host actions by someone else, oversized or malformed input, and
//! another site's page.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{create_room, start_server};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr, room: &str) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws/{room}"))
        .await
        .unwrap()
        .0
}

async fn say(ws: &mut Ws, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message; `null` once the server has closed the connection.
async fn hear(ws: &mut Ws) -> Value {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the server answers within 10 s");
        match next {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Value::Null,
            Some(Ok(_)) => {}
        }
    }
}

/// Skips messages until one of `kind` arrives.
async fn hear_a(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let message = hear(ws).await;
        assert!(!message.is_null(), "closed while waiting for `{kind}`");
        if message["type"] == kind {
            return message;
        }
    }
}

async fn join(addr: SocketAddr, room: &str, name: &str, host_key: Option<&str>) -> (Ws, Value) {
    let mut ws = connect(addr, room).await;
    say(
        &mut ws,
        json!({"type": "join", "name": name, "host_key": host_key}),
    )
    .await;
    let welcome = hear(&mut ws).await;
    (ws, welcome)
}

#[tokio::test]
async fn unknown_rooms_are_404_and_a_wrong_host_key_is_refused() {
    let addr = start_server().await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{addr}{path}")).send();
    assert_eq!(get("/r/nosuchroom").await.unwrap().status(), 404);
    assert_eq!(get("/r/bad%20name").await.unwrap().status(), 404);
    assert_eq!(get("/nowhere").await.unwrap().status(), 404);
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws/nosuchroom")).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("a websocket to an unknown room must be a 404, got {other:?}"),
    }

    let room = create_room(addr).await;
    let (name, key) = (
        room["room"].as_str().unwrap(),
        room["host_key"].as_str().unwrap(),
    );
    assert_eq!(room["url"], json!(format!("http://{addr}/r/{name}")));
    assert_eq!(
        room["host_url"],
        json!(format!("http://{addr}/r/{name}?host={key}"))
    );
    let page = get(&format!("/r/{name}")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(
        get(&format!("/r/{name}?host={key}"))
            .await
            .unwrap()
            .status(),
        200
    );
    let wrong = get(&format!("/r/{name}?host=not-the-key-1234"))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert_eq!(wrong.text().await.unwrap(), "wrong host key\n");

    // A host URL the test makes up creates its room on first visit; a malformed key does not.
    assert_eq!(
        get("/r/standup?host=chosen-key-42").await.unwrap().status(),
        200
    );
    assert_eq!(
        get("/r/standup?host=other-key-42").await.unwrap().status(),
        403
    );
    assert_eq!(get("/r/retro?host=short").await.unwrap().status(), 400);
    assert_eq!(get("/r/retro").await.unwrap().status(), 404);

    // Over the websocket, a wrong key is told so and shown the door.
    let (mut ws, refused) = join(addr, name, "Eve", Some("not-the-key-1234")).await;
    assert_eq!(
        refused,
        json!({"type": "error", "message": "wrong host key"})
    );
    assert_eq!(hear(&mut ws).await, Value::Null);

    // Another site's page cannot open the room's websocket.
    let mut request = format!("ws://{addr}/ws/{name}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("a cross-origin websocket must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn only_the_host_admits_removes_and_ends_and_bad_input_is_rejected() {
    let addr = start_server().await;
    let room = create_room(addr).await;
    let (name, key) = (
        room["room"].as_str().unwrap(),
        room["host_key"].as_str().unwrap(),
    );

    let (mut guest, welcome) = join(addr, name, "Bob", None).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["state"], "lobby");
    assert_eq!(welcome["host"], false);
    let bob = welcome["id"].as_str().unwrap().to_owned();
    let (mut host, welcome) = join(addr, name, "Ada", Some(key)).await;
    assert_eq!(
        (welcome["state"].clone(), welcome["host"].clone()),
        (json!("joined"), json!(true))
    );
    let ada = welcome["id"].as_str().unwrap().to_owned();
    let roster = hear_a(&mut host, "roster").await;
    assert_eq!(roster["lobby"], json!([{"id": bob, "name": "Bob"}]));

    // In the lobby, Bob can neither act as host nor chat.
    for (action, error) in [
        (
            json!({"type": "admit", "id": bob}),
            "only the host can do that",
        ),
        (
            json!({"type": "remove", "id": ada}),
            "only the host can do that",
        ),
        (json!({"type": "end"}), "only the host can do that"),
        (
            json!({"type": "chat", "text": "let me in"}),
            "you have not joined the meeting yet",
        ),
        (
            json!({"type": "signal", "to": ada, "data": {}}),
            "you have not joined the meeting yet",
        ),
        (json!({"type": "shout"}), "malformed message"),
    ] {
        say(&mut guest, action).await;
        assert_eq!(
            hear(&mut guest).await,
            json!({"type": "error", "message": error})
        );
    }

    // Admitted, Bob still cannot remove anyone or end the meeting.
    say(&mut host, json!({"type": "admit", "id": bob})).await;
    assert_eq!(hear(&mut guest).await, json!({"type": "admitted"}));
    let roster = hear_a(&mut guest, "roster").await;
    assert_eq!(roster["participants"].as_array().unwrap().len(), 2);
    assert_eq!(roster["lobby"], json!([]), "only hosts see the lobby");
    say(&mut guest, json!({"type": "end"})).await;
    assert_eq!(
        hear_a(&mut guest, "error").await["message"],
        "only the host can do that"
    );

    // Oversized chat is rejected and reaches nobody; the largest allowed goes through.
    let limit = meetvault_testmeet::MAX_CHAT_CHARS;
    say(
        &mut host,
        json!({"type": "chat", "text": "é".repeat(limit + 1)}),
    )
    .await;
    assert_eq!(
        hear_a(&mut host, "error").await["message"],
        "chat messages are 1 to 2000 characters"
    );
    say(
        &mut host,
        json!({"type": "chat", "text": "é".repeat(limit)}),
    )
    .await;
    let chat = hear_a(&mut guest, "chat").await;
    assert_eq!(
        (chat["from"].as_str(), chat["name"].as_str()),
        (Some(ada.as_str()), Some("Ada"))
    );
    assert_eq!(chat["text"].as_str().unwrap().chars().count(), limit);

    // Names are limited; a message past 64 KiB closes the connection.
    let (mut long, refused) = join(addr, name, &"x".repeat(65), None).await;
    assert_eq!(
        refused["message"],
        "names are 1 to 64 characters, without control characters"
    );
    assert_eq!(hear(&mut long).await, Value::Null);
    say(
        &mut guest,
        json!({"type": "chat", "text": "x".repeat(70 * 1024)}),
    )
    .await;
    assert_eq!(
        hear(&mut guest).await,
        Value::Null,
        "an oversized frame ends the connection"
    );

    // The host ends the meeting: the room says so to anyone who comes back.
    say(&mut host, json!({"type": "end"})).await;
    assert_eq!(hear_a(&mut host, "ended").await["reason"], "ended");
    let (_late, ended) = join(addr, name, "Cyd", None).await;
    assert_eq!(ended, json!({"type": "ended", "reason": "ended"}));
}

//! One participant's websocket: the first message says who it is (`join`), then every message
//! becomes a room action, and whatever the room sends it goes out in order. The connection's
//! end is the participant's departure. Content (chat, SDP) is relayed, never logged.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::App;
use crate::protocol::{ClientMsg, EndReason, ServerMsg, Standing};
use crate::rooms::{Action, OUTBOX, Outgoing, Refused, RoomName};

/// The largest message a page may send (an SDP offer is a few kilobytes).
const MAX_MESSAGE: usize = 64 * 1024;
/// How long a new connection has to say `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn connect(
    State(app): State<App>,
    Path(room): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Ok(room) = RoomName::parse(&room) else {
        return crate::refused(&Refused::NoSuchRoom);
    };
    if !app.rooms.exists(&room) {
        return crate::refused(&Refused::NoSuchRoom);
    }
    // Another site's page must not drive a meeting with its visitor's browser.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let same = host.is_some_and(|host| origin.to_str().ok() == Some(&format!("http://{host}")));
        if !same {
            return (StatusCode::FORBIDDEN, "cross-origin websocket refused\n").into_response();
        }
    }
    upgrade
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| participant(app, room, socket))
}

async fn participant(app: App, room: RoomName, mut socket: WebSocket) {
    let (outbox, mut inbox) = mpsc::channel(OUTBOX);
    let hello = tokio::time::timeout(JOIN_TIMEOUT, next_message(&mut socket)).await;
    let Ok(Some(ClientMsgOr::Msg(ClientMsg::Join {
        name,
        stream_id,
        host_key,
    }))) = hello
    else {
        let _ = refuse(&mut socket, "the first message must be `join`").await;
        return;
    };
    let entered = app.rooms.enter(
        &room,
        &name,
        stream_id.as_deref(),
        host_key.as_deref(),
        outbox,
    );
    let me = match entered {
        Ok(me) => me,
        Err(Refused::Ended) => {
            let ended = ServerMsg::Ended {
                reason: EndReason::Ended,
            };
            let _ = send(&mut socket, &ended).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        Err(e) => {
            let _ = refuse(&mut socket, &e.to_string()).await;
            return;
        }
    };
    let welcome = ServerMsg::Welcome {
        id: me.id.clone(),
        host: me.host,
        state: if me.host {
            Standing::Joined
        } else {
            Standing::Lobby
        },
    };
    if send(&mut socket, &welcome).await.is_ok() {
        serve(&app, &room, &me.id, &mut socket, &mut inbox).await;
    }
    app.rooms.leave(&room, &me.id);
}

/// Relays until either side ends the meeting for this participant.
async fn serve(
    app: &App,
    room: &RoomName,
    me: &str,
    socket: &mut WebSocket,
    inbox: &mut mpsc::Receiver<Outgoing>,
) {
    loop {
        tokio::select! {
            out = inbox.recv() => match out {
                Some(Outgoing::Send(msg)) => {
                    if send(socket, &msg).await.is_err() {
                        return;
                    }
                }
                Some(Outgoing::Close(msg)) => {
                    let _ = send(socket, &msg).await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                // The room dropped us (outbox overflow).
                None => return,
            },
            incoming = next_message(socket) => {
                let action = match incoming {
                    None => return,
                    Some(ClientMsgOr::Malformed) => Err("malformed message".to_owned()),
                    Some(ClientMsgOr::Msg(msg)) => action(msg),
                };
                let result = action.and_then(|a| app.rooms.act(room, me, a).map_err(|e| e.to_string()));
                if let Err(message) = result
                    && send(socket, &ServerMsg::Error { message }).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn action(msg: ClientMsg) -> Result<Action, String> {
    Ok(match msg {
        ClientMsg::Join { .. } => return Err("already joined".into()),
        ClientMsg::Signal { to, data } => Action::Signal { to, data },
        ClientMsg::Chat { text } => Action::Chat { text },
        ClientMsg::Admit { id } => Action::Admit { id },
        ClientMsg::Deny { id } => Action::Deny { id },
        ClientMsg::Remove { id } => Action::Remove { id },
        ClientMsg::End => Action::End,
    })
}

enum ClientMsgOr {
    Msg(ClientMsg),
    Malformed,
}

/// The next protocol message, skipping pings; `None` when the connection is over.
async fn next_message(socket: &mut WebSocket) -> Option<ClientMsgOr> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(text)) => {
                return Some(match serde_json::from_str(text.as_str()) {
                    Ok(msg) => ClientMsgOr::Msg(msg),
                    Err(_) => ClientMsgOr::Malformed,
                });
            }
            Ok(Message::Binary(_)) => return Some(ClientMsgOr::Malformed),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::Close(_)) | Err(_) => return None,
        }
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> Result<(), axum::Error> {
    let text = serde_json::to_string(msg).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

/// Says why, then closes with "policy violation".
async fn refuse(socket: &mut WebSocket, why: &str) -> Result<(), axum::Error> {
    send(
        socket,
        &ServerMsg::Error {
            message: why.to_owned(),
        },
    )
    .await?;
    socket
        .send(Message::Close(Some(CloseFrame {
            code: close_code::POLICY,
            reason: "refused".into(),
        })))
        .await
}

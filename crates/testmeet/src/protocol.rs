//! The signalling protocol: JSON text messages over the room's websocket, one object each,
//! tagged by `type`. The page (`static/room.js`) is the only client; tests speak it too.
//!
//! Client → server: `join {name, stream_id?, host_key?}` (first, once), then `signal {to,
//! data}` (SDP or ICE, relayed untouched), `chat {text}`, and for the host `admit {id}`,
//! `deny {id}`, `remove {id}`, `end`.
//! Server → client: `welcome {id, host, state}`, `admitted`, `roster {participants, lobby}`,
//! `signal {from, data}`, `chat {from, name, text, ts}`, `error {message}`, and `ended
//! {reason}` just before the server closes the connection.

use serde::{Deserialize, Serialize};

/// A message from the page.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    Join {
        name: String,
        #[serde(default)]
        stream_id: Option<String>,
        #[serde(default)]
        host_key: Option<String>,
    },
    Signal {
        to: String,
        data: serde_json::Value,
    },
    Chat {
        text: String,
    },
    Admit {
        id: String,
    },
    Deny {
        id: String,
    },
    Remove {
        id: String,
    },
    End,
}

/// Why a participant's meeting ended (the page shows `#notice[data-reason=…]`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Denied,
    Removed,
    Ended,
}

/// Where a participant stands.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Lobby,
    Joined,
}

/// Someone in the meeting.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    pub id: String,
    pub name: String,
    /// The id of the MediaStream this participant sends (`msid`), if it sends any.
    pub stream_id: Option<String>,
    pub host: bool,
    /// Join order: of two peers, the one with the larger `seq` makes the offer.
    pub seq: u64,
}

/// Someone waiting in the lobby (shown to hosts only).
#[derive(Debug, Clone, Serialize)]
pub struct LobbyEntry {
    pub id: String,
    pub name: String,
}

/// A message to the page.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        id: String,
        host: bool,
        state: Standing,
    },
    Admitted,
    Roster {
        participants: Vec<PeerInfo>,
        lobby: Vec<LobbyEntry>,
    },
    Signal {
        from: String,
        data: serde_json::Value,
    },
    Chat {
        from: String,
        name: String,
        text: String,
        ts: u64,
    },
    Error {
        message: String,
    },
    Ended {
        reason: EndReason,
    },
}

//! Rooms in memory: who is in the lobby, who has joined, and the host's powers over them. Plain
//! state behind one lock, never held across an await; every message a participant should see
//! goes out through its bounded outbox. Knows nothing of HTTP or websockets.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

use crate::protocol::{EndReason, LobbyEntry, PeerInfo, ServerMsg};

/// The most rooms one server keeps (a test platform: a bound, not a product limit); ended
/// rooms nobody is in make way for new ones.
pub const MAX_ROOMS: usize = 1000;
/// The most people (lobby included) in one room.
pub const MAX_PARTICIPANTS: usize = 50;
/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;
/// The longest announced stream id (Chromium's are 36 characters).
pub const MAX_STREAM_ID_CHARS: usize = 128;
/// How many messages may wait for a slow participant before it is dropped.
pub const OUTBOX: usize = 256;

/// Why an input or an action was refused: the message is shown to the user as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("room names are 1 to 64 letters, digits, '-' or '_'")]
    BadRoomName,
    #[error("host keys are 8 to 128 letters, digits, '-' or '_'")]
    BadHostKey,
    #[error("no such room")]
    NoSuchRoom,
    #[error("wrong host key")]
    WrongHostKey,
    #[error("this server already has {MAX_ROOMS} rooms")]
    TooManyRooms,
    #[error("the room is full ({MAX_PARTICIPANTS} people)")]
    RoomFull,
    #[error("the meeting has ended")]
    Ended,
    #[error("names are 1 to {MAX_NAME_CHARS} characters, without control characters")]
    BadName,
    #[error("stream ids are up to {MAX_STREAM_ID_CHARS} visible ASCII characters")]
    BadStreamId,
    #[error("chat messages are 1 to {MAX_CHAT_CHARS} characters")]
    BadChat,
    #[error("only the host can do that")]
    NotHost,
    #[error("you have not joined the meeting yet")]
    NotJoined,
    #[error("no such participant")]
    NoSuchParticipant,
}

/// `[A-Za-z0-9_-]{min,max}`.
fn is_token(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A room's name, as in `/r/{room}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(s: &str) -> Result<Self, Refused> {
        if is_token(s, 1, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Refused::BadRoomName)
        }
    }

    fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string()[..12].to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The secret that makes a visitor the room's host. Compared in constant time; `Debug` hides it.
#[derive(Clone)]
pub struct HostKey(String);

impl HostKey {
    pub fn parse(s: &str) -> Result<Self, Refused> {
        if is_token(s, 8, 128) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Refused::BadHostKey)
        }
    }

    fn random() -> Self {
        Self(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostKey([redacted])")
    }
}

/// A display name: trimmed, 1 to 64 characters, no control characters.
pub fn display_name(s: &str) -> Result<String, Refused> {
    let s = s.trim();
    let n = s.chars().count();
    if (1..=MAX_NAME_CHARS).contains(&n) && !s.chars().any(char::is_control) {
        Ok(s.to_owned())
    } else {
        Err(Refused::BadName)
    }
}

/// A chat message: 1 to 2000 characters (after trimming), kept as typed.
pub fn chat_text(s: &str) -> Result<String, Refused> {
    let n = s.trim().chars().count();
    if (1..=MAX_CHAT_CHARS).contains(&n) {
        Ok(s.to_owned())
    } else {
        Err(Refused::BadChat)
    }
}

fn stream_id(s: Option<&str>) -> Result<Option<String>, Refused> {
    match s {
        None | Some("") => Ok(None),
        Some(s) if s.len() <= MAX_STREAM_ID_CHARS && s.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(s.to_owned()))
        }
        Some(_) => Err(Refused::BadStreamId),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What a participant's connection task receives.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Send(ServerMsg),
    /// Send this, then close the connection.
    Close(ServerMsg),
}

pub type Outbox = mpsc::Sender<Outgoing>;

#[derive(Debug)]
struct Participant {
    name: String,
    stream_id: Option<String>,
    host: bool,
    /// Join order once admitted (the newer of two peers makes the WebRTC offer); `None` in
    /// the lobby.
    joined: Option<u64>,
    outbox: Outbox,
}

#[derive(Debug)]
struct Room {
    host_key: HostKey,
    participants: BTreeMap<String, Participant>,
    next: u64,
    ended: bool,
}

/// Every room of one server.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    inner: Arc<Mutex<HashMap<RoomName, Room>>>,
}

/// Who a new connection is, once it has said hello.
#[derive(Debug)]
pub struct Entered {
    pub id: String,
    pub host: bool,
}

/// What a participant asks for, once it is in a room.
#[derive(Debug)]
pub enum Action {
    Signal { to: String, data: serde_json::Value },
    Chat { text: String },
    Admit { id: String },
    Deny { id: String },
    Remove { id: String },
    End,
}

impl Rooms {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoomName, Room>> {
        // A panic while holding the lock leaves plain data behind: keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new room with a random name and host key.
    pub fn create(&self) -> Result<(RoomName, HostKey), Refused> {
        let mut rooms = self.lock();
        make_room(&mut rooms)?;
        let (name, key) = (RoomName::random(), HostKey::random());
        rooms.insert(name.clone(), Room::new(key.clone()));
        Ok((name, key))
    }

    /// Whether `room` exists; with `host_key`, creates it on first visit, and otherwise checks
    /// the key.
    pub fn visit(&self, room: &RoomName, host_key: Option<&str>) -> Result<(), Refused> {
        let mut rooms = self.lock();
        match (rooms.get(room), host_key) {
            (Some(r), Some(key)) if !r.host_key.matches(key) => Err(Refused::WrongHostKey),
            (Some(_), _) => Ok(()),
            (None, None) => Err(Refused::NoSuchRoom),
            (None, Some(key)) => {
                let key = HostKey::parse(key)?;
                make_room(&mut rooms)?;
                rooms.insert(room.clone(), Room::new(key));
                Ok(())
            }
        }
    }

    pub fn exists(&self, room: &RoomName) -> bool {
        self.lock().contains_key(room)
    }

    /// A connection says who it is: the host (right key) joins at once, anyone else waits in
    /// the lobby. A wrong key is refused outright.
    pub fn enter(
        &self,
        room: &RoomName,
        name: &str,
        stream: Option<&str>,
        host_key: Option<&str>,
        outbox: Outbox,
    ) -> Result<Entered, Refused> {
        let name = display_name(name)?;
        let stream_id = stream_id(stream)?;
        let mut rooms = self.lock();
        let r = rooms.get_mut(room).ok_or(Refused::NoSuchRoom)?;
        let host = match host_key {
            Some(key) if r.host_key.matches(key) => true,
            Some(_) => return Err(Refused::WrongHostKey),
            None => false,
        };
        if r.ended {
            return Err(Refused::Ended);
        }
        if r.participants.len() >= MAX_PARTICIPANTS {
            return Err(Refused::RoomFull);
        }
        r.next += 1;
        let id = format!("p{}", r.next);
        let joined = host.then_some(r.next);
        r.participants.insert(
            id.clone(),
            Participant {
                name,
                stream_id,
                host,
                joined,
                outbox,
            },
        );
        r.announce();
        Ok(Entered { id, host })
    }

    /// A connection went away.
    pub fn leave(&self, room: &RoomName, id: &str) {
        let mut rooms = self.lock();
        if let Some(r) = rooms.get_mut(room)
            && r.participants.remove(id).is_some()
        {
            r.announce();
        }
    }

    /// Carries out `action` for participant `id`.
    pub fn act(&self, room: &RoomName, id: &str, action: Action) -> Result<(), Refused> {
        let mut rooms = self.lock();
        let r = rooms.get_mut(room).ok_or(Refused::NoSuchRoom)?;
        let me = r.participants.get(id).ok_or(Refused::NoSuchParticipant)?;
        let (joined, host) = (me.joined.is_some(), me.host);
        let need_host = || if host { Ok(()) } else { Err(Refused::NotHost) };
        match action {
            Action::Signal { to, data } => {
                let peer = r.participants.get(&to).filter(|p| p.joined.is_some());
                let peer = peer.ok_or(Refused::NoSuchParticipant)?;
                if !joined {
                    return Err(Refused::NotJoined);
                }
                send(
                    &peer.outbox,
                    ServerMsg::Signal {
                        from: id.into(),
                        data,
                    },
                );
            }
            Action::Chat { text } => {
                if !joined {
                    return Err(Refused::NotJoined);
                }
                let msg = ServerMsg::Chat {
                    from: id.into(),
                    name: me.name.clone(),
                    text: chat_text(&text)?,
                    ts: now_ms(),
                };
                for p in r.participants.values().filter(|p| p.joined.is_some()) {
                    send(&p.outbox, msg.clone());
                }
            }
            Action::Admit { id: who } => {
                need_host()?;
                r.next += 1;
                let next = r.next;
                let p = r.lobby_member(&who)?;
                p.joined = Some(next);
                send(&p.outbox, ServerMsg::Admitted);
                r.announce();
            }
            Action::Deny { id: who } => {
                need_host()?;
                r.lobby_member(&who)?;
                r.expel(&who, EndReason::Denied);
            }
            Action::Remove { id: who } => {
                need_host()?;
                if who == id || !r.participants.contains_key(&who) {
                    return Err(Refused::NoSuchParticipant);
                }
                r.expel(&who, EndReason::Removed);
            }
            Action::End => {
                need_host()?;
                r.ended = true;
                for (_, p) in std::mem::take(&mut r.participants) {
                    close(
                        &p.outbox,
                        ServerMsg::Ended {
                            reason: EndReason::Ended,
                        },
                    );
                }
            }
        }
        Ok(())
    }
}

impl Room {
    fn new(host_key: HostKey) -> Self {
        Room {
            host_key,
            participants: BTreeMap::new(),
            next: 0,
            ended: false,
        }
    }

    fn lobby_member(&mut self, id: &str) -> Result<&mut Participant, Refused> {
        self.participants
            .get_mut(id)
            .filter(|p| p.joined.is_none())
            .ok_or(Refused::NoSuchParticipant)
    }

    fn expel(&mut self, id: &str, reason: EndReason) {
        if let Some(p) = self.participants.remove(id) {
            close(&p.outbox, ServerMsg::Ended { reason });
            self.announce();
        }
    }

    /// Sends everyone the current roster (the lobby only to hosts; joined people only to those
    /// who have joined).
    fn announce(&self) {
        let mut joined: Vec<PeerInfo> = self
            .participants
            .iter()
            .filter_map(|(id, p)| {
                p.joined.map(|seq| PeerInfo {
                    id: id.clone(),
                    name: p.name.clone(),
                    stream_id: p.stream_id.clone(),
                    host: p.host,
                    seq,
                })
            })
            .collect();
        joined.sort_by_key(|p| p.seq);
        let lobby: Vec<LobbyEntry> = self
            .participants
            .iter()
            .filter(|(_, p)| p.joined.is_none())
            .map(|(id, p)| LobbyEntry {
                id: id.clone(),
                name: p.name.clone(),
            })
            .collect();
        for p in self.participants.values().filter(|p| p.joined.is_some()) {
            let lobby = if p.host { lobby.clone() } else { Vec::new() };
            send(
                &p.outbox,
                ServerMsg::Roster {
                    participants: joined.clone(),
                    lobby,
                },
            );
        }
    }
}

/// Makes space for one more room: at the limit, ended rooms nobody is in are forgotten.
fn make_room(rooms: &mut HashMap<RoomName, Room>) -> Result<(), Refused> {
    if rooms.len() >= MAX_ROOMS {
        rooms.retain(|_, r| !(r.ended && r.participants.is_empty()));
    }
    if rooms.len() >= MAX_ROOMS {
        return Err(Refused::TooManyRooms);
    }
    Ok(())
}

/// Queues `msg`; a participant too slow to keep up is closed (its task ends and it leaves).
fn send(outbox: &Outbox, msg: ServerMsg) {
    if outbox.try_send(Outgoing::Send(msg)).is_err() {
        tracing::debug!("testmeet participant outbox full or closed");
    }
}

fn close(outbox: &Outbox, msg: ServerMsg) {
    let _ = outbox.try_send(Outgoing::Close(msg));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> (Outbox, mpsc::Receiver<Outgoing>) {
        mpsc::channel(OUTBOX)
    }

    #[test]
    fn rooms_are_bounded_and_ended_ones_make_way() {
        let rooms = Rooms::default();
        let made: Vec<_> = (0..MAX_ROOMS).map(|_| rooms.create().unwrap()).collect();
        assert_eq!(rooms.create().unwrap_err(), Refused::TooManyRooms);
        let standup = RoomName::parse("standup").unwrap();
        assert_eq!(
            rooms.visit(&standup, Some("chosen-key-1")),
            Err(Refused::TooManyRooms)
        );
        let (room, key) = &made[0];
        let (tx, _rx) = outbox();
        let host = rooms
            .enter(room, "Ada", None, Some(key.expose()), tx)
            .unwrap();
        rooms.act(room, &host.id, Action::End).unwrap();
        rooms.visit(&standup, Some("chosen-key-1")).unwrap();
        assert!(!rooms.exists(room));
    }

    #[test]
    fn inputs_are_parsed() {
        assert!(RoomName::parse("standup-1").is_ok());
        assert_eq!(RoomName::parse("../x"), Err(Refused::BadRoomName));
        assert_eq!(RoomName::parse(&"a".repeat(65)), Err(Refused::BadRoomName));
        assert_eq!(display_name("  Ada "), Ok("Ada".into()));
        assert_eq!(display_name(" "), Err(Refused::BadName));
        assert_eq!(display_name("a\u{7}b"), Err(Refused::BadName));
        assert_eq!(display_name(&"é".repeat(65)), Err(Refused::BadName));
        assert!(chat_text(&"x".repeat(MAX_CHAT_CHARS)).is_ok());
        assert_eq!(
            chat_text(&"x".repeat(MAX_CHAT_CHARS + 1)),
            Err(Refused::BadChat)
        );
        assert_eq!(stream_id(Some("a b")), Err(Refused::BadStreamId));
        assert!(format!("{:?}", HostKey::random()).contains("redacted"));
    }

    #[test]
    fn only_the_host_key_admits_and_a_wrong_key_is_refused() {
        let rooms = Rooms::default();
        let (room, key) = rooms.create().unwrap();
        let (tx, _rx) = outbox();
        assert_eq!(
            rooms
                .enter(&room, "Eve", None, Some("wrong-key-123"), tx.clone())
                .unwrap_err(),
            Refused::WrongHostKey
        );
        let guest = rooms.enter(&room, "Bob", None, None, tx.clone()).unwrap();
        let other = rooms.enter(&room, "Eve", None, None, tx.clone()).unwrap();
        assert!(!guest.host);
        let admit = || Action::Admit {
            id: guest.id.clone(),
        };
        assert_eq!(rooms.act(&room, &other.id, admit()), Err(Refused::NotHost));
        let host = rooms
            .enter(&room, "Ada", None, Some(key.expose()), tx)
            .unwrap();
        assert!(host.host);
        rooms.act(&room, &host.id, admit()).unwrap();
        assert_eq!(
            rooms.act(&room, &host.id, admit()),
            Err(Refused::NoSuchParticipant),
            "admitted already"
        );
        assert_eq!(
            rooms.act(&room, &other.id, Action::End),
            Err(Refused::NotHost)
        );
    }
}

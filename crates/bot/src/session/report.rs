//! Where a running bot reports to: the [`Reporter`] seam. `meetvault bot run` implements it
//! over the internal HTTP protocol (`/internal/v1/bots/{id}/…`, contract.md); tests use
//! [`MemoryReporter`], which records everything in order.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Serialize, Serializer};
use tokio::sync::mpsc;

use crate::TrackKey;

/// The states a bot reports (the server's machine has more: `scheduled` before the process
/// starts, `post_processing` after it ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BotState {
    /// Starting the browser and running the recipe's join steps.
    Joining,
    /// The platform shows its waiting room.
    WaitingRoom,
    /// Admitted (the consent message is posted next).
    Joined,
    /// Recording: audio, chat and participants are reported.
    Recording,
    /// Leaving on its own (a leave rule or the API): the recipe's leave steps run.
    Leaving,
    /// Done; the sub-code says why.
    Ended,
    /// Done because something failed; the sub-code says what.
    FatalError,
}

impl BotState {
    /// The state's name in the protocol (`waiting_room`).
    pub fn as_str(self) -> &'static str {
        match self {
            BotState::Joining => "joining",
            BotState::WaitingRoom => "waiting_room",
            BotState::Joined => "joined",
            BotState::Recording => "recording",
            BotState::Leaving => "leaving",
            BotState::Ended => "ended",
            BotState::FatalError => "fatal_error",
        }
    }
}

/// What the bot saw in the meeting, for `POST …/events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BotEvent {
    /// The clock of the audio: every `start_ms` counts from this time (ms since the Unix
    /// epoch). Reported once, before any audio.
    AudioClock {
        /// When the capture started.
        unix_ms: u64,
    },
    /// Someone appeared in the participant list (the bot itself is never reported).
    ParticipantJoined {
        /// The platform's id of the participant.
        id: String,
        /// The display name.
        name: String,
    },
    /// Someone left the participant list.
    ParticipantLeft {
        /// The participant's id.
        id: String,
        /// The display name last seen.
        name: String,
    },
    /// A chat message (each once, by the recipe's dedupe key). Messages of an opted-out
    /// participant, and the opt-out message itself, are not reported.
    ChatMessage {
        /// The dedupe key.
        id: String,
        /// The sender's display name.
        sender: String,
        /// The sender's participant id, when the platform shows one.
        sender_id: Option<String>,
        /// The text.
        text: String,
    },
    /// The participants the platform shows speaking changed.
    ActiveSpeakers {
        /// Their ids (empty: nobody).
        participant_ids: Vec<String>,
    },
    /// A captured track belongs to a participant (its audio before and after).
    TrackMapped {
        /// The track (`doc-pc-mid`, as in `POST …/audio?track=`).
        #[serde(serialize_with = "display")]
        track: TrackKey,
        /// The participant's id.
        participant_id: String,
    },
    /// A track ended, with what the capture measured of it.
    TrackEnded {
        /// The track.
        #[serde(serialize_with = "display")]
        track: TrackKey,
        /// Samples the track's timestamps say were sent (at the source rate).
        samples_expected: u64,
        /// Samples that arrived.
        samples_received: u64,
    },
    /// A participant typed the opt-out phrase: their tracks are no longer captured. Names no
    /// content.
    ParticipantOptedOut {
        /// The participant's id.
        participant_id: String,
    },
    /// Why the bot gave up on the page (`platform_ui_changed`): what it showed. To be kept
    /// sealed; never logged.
    Diagnosis {
        /// What was expected and did not appear.
        reason: String,
        /// A PNG of the tab (empty when it could not be taken).
        #[serde(serialize_with = "base64")]
        screenshot_png: Vec<u8>,
        /// The DOM as HTML (empty when it could not be read).
        dom_html: String,
    },
}

fn display<S: Serializer>(track: &TrackKey, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(track)
}

fn base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// What the server may ask of a running bot (`GET …/commands`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Leave now, with this sub-code (`left_by_api`; `max_duration` when the server's
    /// orchestrator enforces it).
    Leave(&'static str),
    /// Post this in the meeting's chat.
    SendChat(String),
}

/// Where the session reports. Calls come from one task, in order; an implementation deals
/// with its own failures (retries, logging) — the meeting does not wait on the server.
///
/// Over the internal protocol (contract.md), with `Authorization: Bearer mvb_…`:
/// `transition` → `POST /internal/v1/bots/{id}/transitions` `{state, sub_code?, at}`
/// ([`BotState::as_str`]); `heartbeat` → `POST …/heartbeat`; `event` → `POST …/events` (the
/// event's JSON, tagged by `type`); `audio` → `POST …/audio?track={track}&seq={seq}&start_ms=
/// {start_ms}` with the samples as s16le; `commands` → a task long-polling `GET …/commands`
/// into the channel.
pub trait Reporter: Send + 'static {
    /// The bot entered `state` (`sub_code` with `leaving`, `ended` and `fatal_error`).
    fn transition(
        &self,
        state: BotState,
        sub_code: Option<&'static str>,
    ) -> impl Future<Output = ()> + Send;
    /// The bot is alive (every [`HEARTBEAT`](crate::HEARTBEAT)).
    fn heartbeat(&self) -> impl Future<Output = ()> + Send;
    /// Something happened in the meeting.
    fn event(&self, event: BotEvent) -> impl Future<Output = ()> + Send;
    /// About two seconds of one track: 16 kHz mono PCM whose first sample sits at `start_ms`
    /// (ms since the capture started); `seq` counts up from 0 per track.
    fn audio(
        &self,
        track: &TrackKey,
        seq: u64,
        start_ms: u64,
        pcm16k: Vec<i16>,
    ) -> impl Future<Output = ()> + Send;
    /// The server's commands; called once, when the session starts.
    fn commands(&mut self) -> mpsc::Receiver<Command>;
}

/// One reported transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The order of this report among all of them.
    pub n: u64,
    /// The state.
    pub state: BotState,
    /// The sub-code.
    pub sub_code: Option<&'static str>,
    /// When it was reported.
    pub at: Instant,
}

/// One reported event.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The order of this report among all of them.
    pub n: u64,
    /// The event.
    pub event: BotEvent,
}

/// One reported piece of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedAudio {
    /// The order of this report among all of them.
    pub n: u64,
    /// The track.
    pub track: TrackKey,
    /// Its sequence number on the track.
    pub seq: u64,
    /// Where it starts, ms since the capture started.
    pub start_ms: u64,
    /// The samples.
    pub pcm16k: Vec<i16>,
}

/// Everything a [`MemoryReporter`] has received.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Transitions, in order.
    pub transitions: Vec<Transition>,
    /// Events, in order.
    pub events: Vec<RecordedEvent>,
    /// Audio, in order.
    pub audio: Vec<RecordedAudio>,
    /// Heartbeats received.
    pub heartbeats: u64,
    next: u64,
}

impl Recorded {
    /// The last state reported.
    pub fn state(&self) -> Option<BotState> {
        self.transitions.last().map(|t| t.state)
    }

    /// Whether `state` was ever reported.
    pub fn reached(&self, state: BotState) -> bool {
        self.transitions.iter().any(|t| t.state == state)
    }

    fn take_n(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// A [`Reporter`] that keeps everything in memory (tests, and `bot run --dry-run`-style
/// tools). Clones share the record; [`MemoryReporter::commands_sender`] plays the server.
#[derive(Debug, Clone)]
pub struct MemoryReporter {
    recorded: Arc<Mutex<Recorded>>,
    sender: mpsc::Sender<Command>,
    receiver: Arc<Mutex<Option<mpsc::Receiver<Command>>>>,
}

impl Default for MemoryReporter {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(16);
        MemoryReporter {
            recorded: Arc::default(),
            sender,
            receiver: Arc::new(Mutex::new(Some(receiver))),
        }
    }
}

impl MemoryReporter {
    /// A reporter with nothing recorded.
    pub fn new() -> MemoryReporter {
        MemoryReporter::default()
    }

    /// A copy of what was recorded so far.
    pub fn recorded(&self) -> Recorded {
        self.lock().clone()
    }

    /// Sends commands to the session, as the server would.
    pub fn commands_sender(&self) -> mpsc::Sender<Command> {
        self.sender.clone()
    }

    /// Waits (polling) until `done` holds of the record; false after `limit`.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&Recorded) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if done(&self.lock()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Reporter for MemoryReporter {
    async fn transition(&self, state: BotState, sub_code: Option<&'static str>) {
        let mut r = self.lock();
        let n = r.take_n();
        r.transitions.push(Transition {
            n,
            state,
            sub_code,
            at: Instant::now(),
        });
    }

    async fn heartbeat(&self) {
        self.lock().heartbeats += 1;
    }

    async fn event(&self, event: BotEvent) {
        let mut r = self.lock();
        let n = r.take_n();
        r.events.push(RecordedEvent { n, event });
    }

    async fn audio(&self, track: &TrackKey, seq: u64, start_ms: u64, pcm16k: Vec<i16>) {
        let mut r = self.lock();
        let n = r.take_n();
        r.audio.push(RecordedAudio {
            n,
            track: track.clone(),
            seq,
            start_ms,
            pcm16k,
        });
    }

    fn commands(&mut self) -> mpsc::Receiver<Command> {
        let taken = self
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // A second call gets a closed receiver.
        taken.unwrap_or_else(|| mpsc::channel(1).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_as_tagged_json_with_tracks_as_their_query_form() {
        let track = TrackKey {
            doc: 0,
            pc: 2,
            mid: "1".into(),
        };
        let mapped = BotEvent::TrackMapped {
            track,
            participant_id: "p7".into(),
        };
        assert_eq!(
            serde_json::to_value(&mapped).unwrap(),
            serde_json::json!({"type": "track_mapped", "track": "0-2-1", "participant_id": "p7"})
        );
        let out = BotEvent::ParticipantOptedOut {
            participant_id: "p7".into(),
        };
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            serde_json::json!({"type": "participant_opted_out", "participant_id": "p7"})
        );
        let diagnosis = BotEvent::Diagnosis {
            reason: "r".into(),
            screenshot_png: vec![0x89, b'P'],
            dom_html: "<html>".into(),
        };
        assert_eq!(
            serde_json::to_value(&diagnosis).unwrap()["screenshot_png"],
            "iVA="
        );
        assert_eq!(BotState::FatalError.as_str(), "fatal_error");
        assert_eq!(
            serde_json::to_value(BotState::WaitingRoom).unwrap(),
            "waiting_room"
        );
    }

    #[tokio::test]
    async fn the_memory_reporter_numbers_everything_in_order_and_hands_out_its_commands_once() {
        let mut reporter = MemoryReporter::new();
        let mut commands = reporter.commands();
        reporter
            .commands_sender()
            .send(Command::Leave(crate::sub_code::LEFT_BY_API))
            .await
            .unwrap();
        assert_eq!(
            commands.recv().await,
            Some(Command::Leave(crate::sub_code::LEFT_BY_API))
        );
        assert_eq!(reporter.commands().recv().await, None);
        reporter.transition(BotState::Joining, None).await;
        reporter
            .event(BotEvent::ActiveSpeakers {
                participant_ids: vec![],
            })
            .await;
        let track = TrackKey {
            doc: 0,
            pc: 0,
            mid: "0".into(),
        };
        reporter.audio(&track, 0, 10, vec![1, 2]).await;
        let r = reporter.recorded();
        assert_eq!((r.transitions[0].n, r.events[0].n, r.audio[0].n), (1, 2, 3));
        assert_eq!(r.state(), Some(BotState::Joining));
    }
}

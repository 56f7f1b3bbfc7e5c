//! Live meeting events for `GET /meetings/{id}/events` (Server-Sent Events): job progress and
//! transcript segments as an engine produces them. In-process fan-out (a broadcast channel per
//! watched meeting); a listener on another instance still sees job state, which the event
//! stream also polls from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::ids::{JobId, RecordingId};

/// One event on a meeting's stream. Segment text is content: only callers allowed to read the
/// meeting can subscribe.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MeetingEvent {
    Job {
        job_id: JobId,
        state: String,
        progress: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Segment {
        job_id: JobId,
        recording_id: RecordingId,
        speaker: String,
        start_ms: i64,
        end_ms: i64,
        text: String,
    },
    /// A track's transcript was stored; `GET /transcript` has it.
    TranscriptUpdated { recording_id: RecordingId },
}

impl MeetingEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Job { .. } => "job",
            Self::Segment { .. } => "segment",
            Self::TranscriptUpdated { .. } => "transcript_updated",
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<Uuid, broadcast::Sender<MeetingEvent>>>>,
}

impl EventHub {
    pub fn subscribe(&self, meeting: Uuid) -> broadcast::Receiver<MeetingEvent> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(meeting)
            .or_insert_with(|| broadcast::channel(1024).0)
            .subscribe()
    }

    /// Sends to the meeting's listeners, if any; drops the channel once nobody listens.
    pub fn publish(&self, meeting: Uuid, event: MeetingEvent) {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&meeting) {
            if tx.receiver_count() == 0 {
                map.remove(&meeting);
            } else {
                let _ = tx.send(event);
            }
        }
    }
}

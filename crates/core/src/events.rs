//! One catalogue of domain events ([`DomainEvent`]), each with a kind, a version and a typed
//! payload, written to the outbox (`meetvault_store::outbox`) in the same transaction as the
//! change it describes and numbered per org in commit order. Event streams read the outbox, so
//! a listener on any instance sees every event, and resumes after the last sequence number it
//! saw; webhooks, the bot's timeline and deletion certificates will read it too.
//!
//! Content (a segment's speaker and words) is never in an event's plain `data`: it is encrypted
//! under the meeting's key, bound to (org, `outbox_events`, event id, `content`), so it is
//! shredded with the meeting like every other ciphertext of it. The queue writes job state
//! changes itself (`job.state_changed`, [`meetvault_store::outbox::JobChange`]).
//!
//! [`EventHub`] only wakes this instance's listeners early; the outbox is the record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use meetvault_crypto::envelope::{self, KeyRef};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_jobs::JobState;
use meetvault_store::outbox::{self, EventRow, JobChange, NewEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::access::Scope;
use crate::access::proof::MeetingsRead;
use crate::ids::{
    BotId, CertificateId, DeletionRequestId, JobId, MeetingId, RecordingId, WorkspaceId,
};
use crate::vault::{MeetingKeys, bind};
use crate::{Core, CoreError};

/// Every domain event meetvault records. Adding one: a variant here, its kind in
/// [`DomainEvent::kind`], a line in [`DomainEvent::split`] and [`DomainEvent::decode`], its
/// append inside the store transaction that makes the change, and (if a meeting's stream shows
/// it) a [`MeetingEvent`].
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    MeetingCreated(MeetingRef),
    /// Title, participants, workspace, schedule, language or transcription settings changed.
    MeetingUpdated(MeetingRef),
    /// The meeting, its content and its keys are gone (crypto-shredded).
    MeetingDeleted {
        meeting_id: MeetingId,
        /// Where it was (the row is gone, so webhooks filtered by workspace learn it here).
        workspace_id: Option<WorkspaceId>,
        /// The deletion certificate that proves it.
        certificate_id: Option<CertificateId>,
    },
    RecordingStored(RecordingStored),
    JobStateChanged(JobStateChanged),
    /// A transcript segment, as the engine heard it (before the track's transcript is stored).
    SegmentProduced(SegmentTiming, SegmentWords),
    /// A track's transcript was stored; `GET /transcript` has it.
    TranscriptReady(TranscriptReady),
    /// A bot moved in its state machine (or was created, `from` none).
    BotStateChanged(BotStateChanged),
    /// A participant of a bot's meeting typed the opt-out phrase: their audio is deleted and
    /// no longer captured. Names no content (the platform's id for them only).
    BotParticipantOptedOut(BotParticipantOptedOut),
    /// A segment heard live from a bot's track during the meeting: provisional, never revised;
    /// the final transcript comes from the stored audio once the bot has left.
    LiveSegment(LiveTiming, SegmentWords),
    /// A meeting's recordings reached the customer's bucket.
    FilesReady(FilesReady),
    /// A participant's deletion request was confirmed (`open`: the org's owners and admins
    /// should review it) or closed (`completed`, with its certificate, or `rejected`). Ids
    /// only: the requester's details stay sealed on the request.
    DeletionRequestChanged(DeletionRequestChanged),
    /// A meeting's summary and action items were made (or made again); `GET
    /// /meetings/{id}/summary` has them. Ids only.
    SummaryReady(SummaryReady),
    /// The rolling summary of a bot's meeting as it goes on: the action items and decisions
    /// heard live so far (provisional, like live segments). Content sealed.
    LiveSummary(LiveSummaryRef, LiveSummaryContent),
}

/// Where a rolling summary belongs (plain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSummaryRef {
    pub bot_id: BotId,
    pub meeting_id: MeetingId,
    /// Live segments it was made from.
    pub segments: u32,
}

/// A rolling summary's content (sealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSummaryContent {
    pub action_items: Vec<LiveActionItem>,
    pub decisions: Vec<LiveDecision>,
}

/// An action item heard live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveActionItem {
    pub task: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub start_ms: u64,
}

/// A decision heard live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveDecision {
    pub text: String,
    pub speaker: String,
    pub start_ms: u64,
}

/// The kind of [`DomainEvent::LiveSummary`].
pub(crate) const LIVE_SUMMARY: &str = "summary.live";

/// A summary was stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryReady {
    pub meeting_id: MeetingId,
    /// The processor that made it (`embedded`, `rules` …).
    pub generated_by: String,
    pub action_items: u32,
}

/// A deletion request's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionRequestChanged {
    pub request_id: DeletionRequestId,
    /// `open`, `completed` or `rejected`.
    pub state: String,
    pub certificate_id: Option<CertificateId>,
    /// Unix milliseconds.
    pub at: i64,
}

/// What a delivery to a destination wrote: keys, sizes and SHA-256 (no content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesReady {
    pub meeting_id: MeetingId,
    pub destination_id: crate::ids::DestinationId,
    pub bucket: String,
    pub files: Vec<DeliveredFile>,
}

/// One file delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveredFile {
    /// `recording`, `chat` (what the bot saw in the chat) or `transcript`.
    pub kind: String,
    /// The recording it is (none for the transcript).
    pub recording_id: Option<RecordingId>,
    pub key: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes delivered.
    pub sha256: String,
    /// Encrypted to the destination's age recipient (the key ends in `.age`).
    #[serde(default)]
    pub age_encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotParticipantOptedOut {
    pub bot_id: BotId,
    pub meeting_id: MeetingId,
    pub participant_id: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// Where a live segment was heard: the bot, its track (the bot's own key for it, plain as in
/// the bot's participant list) and times in ms since the bot's audio started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveTiming {
    pub bot_id: BotId,
    pub meeting_id: MeetingId,
    pub track: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A bot's transition, on its meeting's stream: states and codes only, never content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotStateChanged {
    pub bot_id: BotId,
    pub meeting_id: MeetingId,
    pub from: Option<String>,
    pub state: String,
    pub sub_code: Option<String>,
    /// Unix milliseconds.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingRef {
    pub meeting_id: MeetingId,
    pub workspace_id: WorkspaceId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingStored {
    pub meeting_id: MeetingId,
    pub recording_id: RecordingId,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStateChanged {
    pub job_id: JobId,
    pub meeting_id: Option<MeetingId>,
    pub kind: String,
    pub state: JobState,
    pub progress: i32,
    /// Why the last attempt failed (a curated message).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentTiming {
    pub job_id: JobId,
    /// The job's attempt that heard it: a retried job hears its segments again.
    pub attempt: i32,
    pub meeting_id: MeetingId,
    pub recording_id: RecordingId,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A segment's content: only ever stored encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentWords {
    pub speaker: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptReady {
    pub meeting_id: MeetingId,
    pub recording_id: RecordingId,
}

/// The version every kind is written at today; a reader refuses versions it does not know.
pub const VERSION: i32 = 1;

/// The kind of [`DomainEvent::DeletionRequestChanged`].
pub(crate) const DELETION_REQUEST_CHANGED: &str = "deletion_request.changed";

/// The kind of [`DomainEvent::LiveSegment`].
pub(crate) const LIVE_SEGMENT: &str = "segment.live";

impl DomainEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MeetingCreated(_) => "meeting.created",
            Self::MeetingUpdated(_) => "meeting.updated",
            Self::MeetingDeleted { .. } => "meeting.deleted",
            Self::RecordingStored(_) => "recording.stored",
            Self::JobStateChanged(_) => outbox::JOB_STATE_CHANGED,
            Self::SegmentProduced(..) => "segment.produced",
            Self::TranscriptReady(_) => "transcript.ready",
            Self::BotStateChanged(_) => "bot.state_changed",
            Self::BotParticipantOptedOut(_) => "bot.participant_opted_out",
            Self::LiveSegment(..) => LIVE_SEGMENT,
            Self::FilesReady(_) => "recording.files_ready",
            Self::DeletionRequestChanged(_) => DELETION_REQUEST_CHANGED,
            Self::SummaryReady(_) => "summary.ready",
            Self::LiveSummary(..) => LIVE_SUMMARY,
        }
    }

    /// The meeting the event is about.
    pub fn meeting(&self) -> Option<MeetingId> {
        match self {
            Self::MeetingCreated(m) | Self::MeetingUpdated(m) => Some(m.meeting_id),
            Self::MeetingDeleted { meeting_id, .. } => Some(*meeting_id),
            Self::RecordingStored(r) => Some(r.meeting_id),
            Self::JobStateChanged(j) => j.meeting_id,
            Self::SegmentProduced(t, _) => Some(t.meeting_id),
            Self::TranscriptReady(t) => Some(t.meeting_id),
            Self::BotStateChanged(b) => Some(b.meeting_id),
            Self::BotParticipantOptedOut(b) => Some(b.meeting_id),
            Self::LiveSegment(t, _) => Some(t.meeting_id),
            Self::FilesReady(f) => Some(f.meeting_id),
            Self::DeletionRequestChanged(_) => None,
            Self::SummaryReady(r) => Some(r.meeting_id),
            Self::LiveSummary(r, _) => Some(r.meeting_id),
        }
    }

    /// The plain part (ids, times, states) and the content part, as JSON.
    fn split(&self) -> Result<(String, Option<Vec<u8>>), serde_json::Error> {
        let data = match self {
            Self::MeetingCreated(m) | Self::MeetingUpdated(m) => serde_json::to_string(m)?,
            Self::MeetingDeleted {
                meeting_id,
                workspace_id,
                certificate_id,
            } => serde_json::to_string(&serde_json::json!({
                "meeting_id": meeting_id, "workspace_id": workspace_id, "certificate_id": certificate_id
            }))?,
            Self::RecordingStored(r) => serde_json::to_string(r)?,
            Self::JobStateChanged(j) => serde_json::to_string(&JobChange {
                job_id: j.job_id.0,
                kind: j.kind.clone(),
                state: j.state.as_str().to_owned(),
                progress: j.progress,
                error: j.error.clone(),
            })?,
            Self::SegmentProduced(t, w) => {
                return Ok((serde_json::to_string(t)?, Some(serde_json::to_vec(w)?)));
            }
            Self::TranscriptReady(t) => serde_json::to_string(t)?,
            Self::BotStateChanged(b) => serde_json::to_string(b)?,
            Self::BotParticipantOptedOut(b) => serde_json::to_string(b)?,
            Self::FilesReady(f) => serde_json::to_string(f)?,
            Self::DeletionRequestChanged(d) => serde_json::to_string(d)?,
            Self::SummaryReady(r) => serde_json::to_string(r)?,
            Self::LiveSummary(r, c) => {
                return Ok((serde_json::to_string(r)?, Some(serde_json::to_vec(c)?)));
            }
            Self::LiveSegment(t, w) => {
                return Ok((serde_json::to_string(t)?, Some(serde_json::to_vec(w)?)));
            }
        };
        Ok((data, None))
    }

    /// Reads a stored event back; `content` is its decrypted content part, if it has one.
    pub fn decode(row: &EventRow, content: Option<&[u8]>) -> Result<Self, CoreError> {
        let bad = |e: serde_json::Error| {
            CoreError::Integrity(format!("outbox event {} ({}): {e}", row.seq, row.kind))
        };
        if row.version != VERSION {
            return Err(CoreError::Integrity(format!(
                "outbox event {} has version {} of {}; this server reads version {VERSION}",
                row.seq, row.version, row.kind
            )));
        }
        let data = row.data.as_str();
        Ok(match row.kind.as_str() {
            "meeting.created" => Self::MeetingCreated(serde_json::from_str(data).map_err(bad)?),
            "meeting.updated" => Self::MeetingUpdated(serde_json::from_str(data).map_err(bad)?),
            "meeting.deleted" => {
                #[derive(Deserialize)]
                struct Deleted {
                    meeting_id: MeetingId,
                    // Events written before webhooks did not name it.
                    #[serde(default)]
                    workspace_id: Option<WorkspaceId>,
                    // Nor before certificates.
                    #[serde(default)]
                    certificate_id: Option<CertificateId>,
                }
                let d: Deleted = serde_json::from_str(data).map_err(bad)?;
                Self::MeetingDeleted {
                    meeting_id: d.meeting_id,
                    workspace_id: d.workspace_id,
                    certificate_id: d.certificate_id,
                }
            }
            "recording.stored" => Self::RecordingStored(serde_json::from_str(data).map_err(bad)?),
            outbox::JOB_STATE_CHANGED => {
                let j: JobChange = serde_json::from_str(data).map_err(bad)?;
                Self::JobStateChanged(JobStateChanged {
                    job_id: j.job_id.into(),
                    meeting_id: row.resource_id.map(Into::into),
                    state: JobState::parse(&j.state).ok_or_else(|| {
                        CoreError::Integrity(format!("unknown job state {:?}", j.state))
                    })?,
                    kind: j.kind,
                    progress: j.progress,
                    error: j.error,
                })
            }
            "segment.produced" => {
                let content = content.ok_or_else(|| {
                    CoreError::Integrity(format!("outbox event {} has no content", row.seq))
                })?;
                Self::SegmentProduced(
                    serde_json::from_str(data).map_err(bad)?,
                    serde_json::from_slice(content).map_err(bad)?,
                )
            }
            "transcript.ready" => Self::TranscriptReady(serde_json::from_str(data).map_err(bad)?),
            "bot.state_changed" => Self::BotStateChanged(serde_json::from_str(data).map_err(bad)?),
            "bot.participant_opted_out" => {
                Self::BotParticipantOptedOut(serde_json::from_str(data).map_err(bad)?)
            }
            "recording.files_ready" => Self::FilesReady(serde_json::from_str(data).map_err(bad)?),
            "summary.ready" => Self::SummaryReady(serde_json::from_str(data).map_err(bad)?),
            LIVE_SUMMARY => {
                let content = content.ok_or_else(|| {
                    CoreError::Integrity(format!("outbox event {} has no content", row.seq))
                })?;
                Self::LiveSummary(
                    serde_json::from_str(data).map_err(bad)?,
                    serde_json::from_slice(content).map_err(bad)?,
                )
            }
            DELETION_REQUEST_CHANGED => {
                Self::DeletionRequestChanged(serde_json::from_str(data).map_err(bad)?)
            }
            LIVE_SEGMENT => {
                let content = content.ok_or_else(|| {
                    CoreError::Integrity(format!("outbox event {} has no content", row.seq))
                })?;
                Self::LiveSegment(
                    serde_json::from_str(data).map_err(bad)?,
                    serde_json::from_slice(content).map_err(bad)?,
                )
            }
            other => {
                return Err(CoreError::Integrity(format!(
                    "outbox event {} has unknown kind {other:?}",
                    row.seq
                )));
            }
        })
    }
}

/// An event ready to append inside a store transaction: its content, if any, encrypted under
/// `key` (the meeting's write key).
pub(crate) fn outbox_event(
    org: Uuid,
    event: &DomainEvent,
    key: Option<(&SymmetricKey, KeyRef)>,
) -> Result<NewEvent, CoreError> {
    let id = Uuid::new_v4();
    let (data, content) = event.split().map_err(CoreError::internal)?;
    let sealed = match (content, key) {
        (None, _) => None,
        (Some(plain), Some((key, kref))) => Some(envelope::encrypt(
            key,
            kref,
            &bind(org, "outbox_events", id, "content"),
            &plain,
        )),
        (Some(_), None) => {
            return Err(CoreError::Integrity(
                "an event with content needs its meeting's key".into(),
            ));
        }
    };
    Ok(NewEvent {
        id,
        org_id: org,
        kind: event.kind(),
        version: VERSION,
        resource_id: event.meeting().map(|m| m.0),
        data,
        sealed,
        created_at: meetvault_jobs::now_ms(),
    })
}

/// Opens a stored event's content with the meeting's keys.
pub(crate) fn open_content(
    row: &EventRow,
    keys: &MeetingKeys,
) -> Result<zeroize::Zeroizing<Vec<u8>>, CoreError> {
    let Some(ct) = &row.sealed else {
        return Ok(Default::default());
    };
    keys.bytes(row.org_id, "outbox_events", row.id, "content", ct)
}

/// One event on a meeting's live stream (`GET /meetings/{id}/events`), as the stream shows it
/// (http's `wire::events` is its JSON). Segment text is content: only callers allowed to read
/// the meeting see it.
#[derive(Debug, Clone, PartialEq)]
pub enum MeetingEvent {
    Job {
        job_id: JobId,
        state: JobState,
        progress: i32,
        error: Option<String>,
    },
    Segment {
        job_id: JobId,
        attempt: i32,
        recording_id: RecordingId,
        speaker: String,
        start_ms: i64,
        end_ms: i64,
        text: String,
    },
    /// A track's transcript was stored; `GET /transcript` has it.
    TranscriptUpdated { recording_id: RecordingId },
    /// The meeting's details changed; `GET /meetings/{id}` has them.
    MeetingUpdated,
    /// The meeting's summary was made; `GET /meetings/{id}/summary` has it.
    SummaryUpdated { generated_by: String },
    /// The rolling summary of the meeting's bot (provisional).
    LiveSummary {
        bot_id: BotId,
        segments: u32,
        action_items: Vec<LiveActionItem>,
        decisions: Vec<LiveDecision>,
    },
    RecordingStored {
        recording_id: RecordingId,
        duration_ms: Option<i64>,
    },
    /// The meeting's bot changed state.
    Bot {
        bot_id: BotId,
        from: Option<String>,
        state: String,
        sub_code: Option<String>,
        at: i64,
    },
    /// A participant of the meeting's bot opted out (their platform id only).
    BotParticipantOptedOut {
        bot_id: BotId,
        participant_id: String,
        at: i64,
    },
    /// A segment the bot's live transcription heard during the meeting (provisional).
    LiveSegment {
        bot_id: BotId,
        track: String,
        speaker: String,
        start_ms: i64,
        end_ms: i64,
        text: String,
    },
}

impl MeetingEvent {
    /// What a meeting's stream shows of a domain event (creation and deletion end or precede
    /// a stream and show nothing).
    pub fn from_domain(event: DomainEvent) -> Option<Self> {
        Some(match event {
            DomainEvent::JobStateChanged(j) => Self::Job {
                job_id: j.job_id,
                state: j.state,
                progress: j.progress,
                error: j.error,
            },
            DomainEvent::SegmentProduced(t, w) => Self::Segment {
                job_id: t.job_id,
                attempt: t.attempt,
                recording_id: t.recording_id,
                speaker: w.speaker,
                start_ms: t.start_ms,
                end_ms: t.end_ms,
                text: w.text,
            },
            DomainEvent::TranscriptReady(t) => Self::TranscriptUpdated {
                recording_id: t.recording_id,
            },
            DomainEvent::MeetingUpdated(_) => Self::MeetingUpdated,
            DomainEvent::SummaryReady(r) => Self::SummaryUpdated {
                generated_by: r.generated_by,
            },
            DomainEvent::LiveSummary(r, c) => Self::LiveSummary {
                bot_id: r.bot_id,
                segments: r.segments,
                action_items: c.action_items,
                decisions: c.decisions,
            },
            DomainEvent::RecordingStored(r) => Self::RecordingStored {
                recording_id: r.recording_id,
                duration_ms: r.duration_ms,
            },
            DomainEvent::BotStateChanged(b) => Self::Bot {
                bot_id: b.bot_id,
                from: b.from,
                state: b.state,
                sub_code: b.sub_code,
                at: b.at,
            },
            DomainEvent::BotParticipantOptedOut(b) => Self::BotParticipantOptedOut {
                bot_id: b.bot_id,
                participant_id: b.participant_id,
                at: b.at,
            },
            DomainEvent::LiveSegment(t, w) => Self::LiveSegment {
                bot_id: t.bot_id,
                track: t.track,
                speaker: w.speaker,
                start_ms: t.start_ms,
                end_ms: t.end_ms,
                text: w.text,
            },
            DomainEvent::MeetingCreated(_)
            | DomainEvent::MeetingDeleted { .. }
            | DomainEvent::FilesReady(_)
            | DomainEvent::DeletionRequestChanged(_) => return None,
        })
    }
}

/// Wakes this instance's listeners of a meeting when an event about it was appended here
/// (listeners on other instances find it on their next poll).
#[derive(Debug, Default, Clone)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<Uuid, broadcast::Sender<()>>>>,
    /// Any event appended here: the webhook fan-out reads the outbox at once instead of at
    /// its next poll (a wake while it reads is kept for when it waits again).
    appended: Arc<tokio::sync::Notify>,
}

impl EventHub {
    pub fn subscribe(&self, meeting: MeetingId) -> broadcast::Receiver<()> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        // Channels nobody listens to any more go (a wake would drop them too, if one came).
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(meeting.0)
            .or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    /// Waits until an event is appended on this instance (or was since the last wait).
    pub(crate) async fn appended(&self) {
        self.appended.notified().await;
    }

    /// Wakes the meeting's listeners, if any; drops the channel once nobody listens.
    pub fn wake(&self, meeting: Uuid) {
        self.appended.notify_one();
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&meeting) {
            if tx.receiver_count() == 0 {
                map.remove(&meeting);
            } else {
                let _ = tx.send(());
            }
        }
    }
}

/// A page of a meeting's events for its stream: `(seq, event)` in order, and the sequence
/// number to continue after.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<(i64, MeetingEvent)>,
    pub next_after: i64,
    /// The page was full: more may be waiting.
    pub more: bool,
}

/// A meeting's event stream (`core.events()`): where a new stream starts, whether one can
/// resume, the next page of a meeting's events, and this instance's wake-ups.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    pub(crate) core: &'a Core,
}

impl Events<'_> {
    /// A receiver woken when an event about `meeting` is appended on this instance.
    pub fn subscribe(self, meeting: MeetingId) -> broadcast::Receiver<()> {
        self.core.inner.events.subscribe(meeting)
    }

    /// Wakes the meeting's listeners on this instance.
    pub(crate) fn wake(self, meeting: Uuid) {
        self.core.inner.events.wake(meeting)
    }

    /// The last event number of the caller's org: a new stream starts after it.
    pub async fn head(self, scope: &Scope<MeetingsRead>) -> Result<i64, CoreError> {
        Ok(self.core.db().last_event_seq(scope.org_id().uuid()).await?)
    }

    /// Whether a stream can resume after `after` without a gap: the number was handed out, and
    /// nothing after it has been pruned.
    pub async fn can_resume(
        self,
        scope: &Scope<MeetingsRead>,
        after: i64,
    ) -> Result<bool, CoreError> {
        let org = scope.org_id().uuid();
        let head = self.core.db().last_event_seq(org).await?;
        if after > head {
            return Ok(false);
        }
        Ok(match self.core.db().first_event_seq(org).await? {
            Some(first) => after + 1 >= first,
            // Nothing is kept: only a client that saw the head has missed nothing.
            None => after == head,
        })
    }

    /// A meeting's events after `after`, for its stream, if `scope` may still read the
    /// meeting's content (the stream calls this with a freshly re-checked scope). An event
    /// whose content can no longer be opened (its key was shredded) is skipped.
    pub async fn page(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
        after: i64,
    ) -> Result<EventPage, CoreError> {
        const PAGE: i64 = 500;
        let row = self.core.meeting_row(scope, meeting).await?;
        self.core.check_content_reader(scope, &row).await?;
        let rows = self
            .core
            .db()
            .events_after(row.org_id, Some(row.id), after, PAGE)
            .await?;
        let more = rows.len() as i64 == PAGE;
        let next_after = rows.last().map_or(after, |r| r.seq);
        let mut keys = None;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            let content = match &r.sealed {
                None => None,
                Some(_) => {
                    if keys.is_none() {
                        keys = Some(
                            self.core
                                .meeting_read_keys(row.org_id, row.id, row.owner_id)
                                .await?,
                        );
                    }
                    let Some(keys) = &keys else { continue };
                    match open_content(r, keys) {
                        Ok(plain) => Some(plain),
                        Err(e) => {
                            tracing::warn!(seq = r.seq, error = %e, "an event's content cannot be opened; skipped");
                            continue;
                        }
                    }
                }
            };
            match DomainEvent::decode(r, content.as_ref().map(|c| c.as_slice())) {
                Ok(event) => {
                    if let Some(shown) = MeetingEvent::from_domain(event) {
                        events.push((r.seq, shown));
                    }
                }
                Err(e) => {
                    tracing::warn!(seq = r.seq, error = %e, "an outbox event cannot be read; skipped")
                }
            }
        }
        Ok(EventPage {
            events,
            next_after,
            more,
        })
    }
}

impl Core {
    /// Appends events that describe no other write (segments heard live), and wakes the
    /// meeting's local listeners.
    pub(crate) async fn append_events(
        &self,
        meeting: Uuid,
        events: &[NewEvent],
    ) -> Result<(), CoreError> {
        self.db().append_events(events).await?;
        self.events().wake(meeting);
        Ok(())
    }
}

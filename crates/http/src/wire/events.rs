//! A meeting's event stream on the wire (`GET /meetings/{id}/events`, Server-Sent Events): the
//! SSE `event` name is the `type` of the JSON in `data`, and `id` is the event's place in the
//! org's event sequence (a reconnect sends it back as `Last-Event-ID`).

use meetvault_core::events::MeetingEvent;
use meetvault_core::ids::{BotId, JobId, RecordingId};
use serde::Serialize;
use utoipa::ToSchema;

use super::ids;
use super::jobs::JobState;

/// One event of a meeting's stream.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// A job's state or progress changed.
    Job {
        #[schema(value_type = ids::JobId)]
        job_id: JobId,
        state: JobState,
        #[schema(minimum = 0, maximum = 100)]
        progress: i32,
        /// Why the last attempt failed (a curated message).
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A transcript segment, as the engine heard it.
    Segment {
        #[schema(value_type = ids::JobId)]
        job_id: JobId,
        /// The job's attempt that heard it: a retried job sends its segments again.
        attempt: i32,
        #[schema(value_type = ids::RecordingId)]
        recording_id: RecordingId,
        speaker: String,
        start_ms: i64,
        end_ms: i64,
        text: String,
    },
    /// A track's transcript was stored; `GET /transcript` has it.
    TranscriptUpdated {
        #[schema(value_type = ids::RecordingId)]
        recording_id: RecordingId,
    },
    /// The meeting's details changed; `GET /meetings/{id}` has them.
    MeetingUpdated,
    /// The meeting's summary and action items were made (or made again); `GET
    /// /meetings/{id}/summary` has them.
    SummaryUpdated {
        /// The processor that made it (`embedded`, `rules`).
        generated_by: String,
    },
    /// The rolling summary of the meeting's bot while the meeting goes on: the action items
    /// and decisions heard live so far (provisional; sent when they change). The summary of
    /// the final transcript follows as `summary_updated`.
    LiveSummary {
        #[schema(value_type = ids::BotId)]
        bot_id: BotId,
        /// Live segments it was made from.
        segments: u32,
        action_items: Vec<super::intel::ActionItem>,
        decisions: Vec<super::intel::SummaryPoint>,
    },
    /// A recording was stored.
    RecordingStored {
        #[schema(value_type = ids::RecordingId)]
        recording_id: RecordingId,
        duration_ms: Option<i64>,
    },
    /// The meeting's bot changed state (`GET /bots/{id}` has its timeline).
    BotState {
        #[schema(value_type = ids::BotId)]
        bot_id: BotId,
        /// Absent when the bot was just created.
        #[schema(value_type = Option<super::bots::BotStateSchema>)]
        from: Option<String>,
        #[schema(value_type = super::bots::BotStateSchema)]
        state: String,
        sub_code: Option<String>,
        /// When (Unix milliseconds).
        at: i64,
    },
    /// A participant of the meeting's bot typed the opt-out phrase: what was captured of them
    /// is deleted and nothing more is (`GET /bots/{id}` shows when).
    BotParticipantOptedOut {
        #[schema(value_type = ids::BotId)]
        bot_id: BotId,
        /// The platform's id for the participant.
        participant_id: String,
        /// When (Unix milliseconds).
        at: i64,
    },
    /// A segment the meeting's bot heard live, during the meeting: provisional. Sent within
    /// seconds of the words being spoken and never revised; the final transcript (`segment`
    /// events, then `transcript_updated`) is made from the stored audio after the bot leaves
    /// and may differ. Deleted from the stream's history if the speaker opts out.
    LiveSegment {
        #[schema(value_type = ids::BotId)]
        bot_id: BotId,
        /// The bot's key for the captured track.
        track: String,
        /// The participant the track belongs to, or the track's key until that is known.
        speaker: String,
        /// Milliseconds since the bot's audio started.
        start_ms: i64,
        end_ms: i64,
        text: String,
    },
    /// The stream's last event: the caller may no longer read the meeting, or it is gone.
    Closed { reason: ClosedReason },
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReason {
    /// Logged out, key revoked or expired, role lowered.
    AccessRevoked,
    /// The meeting was deleted.
    MeetingGone,
}

impl StreamEvent {
    /// The SSE `event` name: the same as `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Job { .. } => "job",
            Self::Segment { .. } => "segment",
            Self::TranscriptUpdated { .. } => "transcript_updated",
            Self::MeetingUpdated => "meeting_updated",
            Self::SummaryUpdated { .. } => "summary_updated",
            Self::LiveSummary { .. } => "live_summary",
            Self::RecordingStored { .. } => "recording_stored",
            Self::BotState { .. } => "bot_state",
            Self::BotParticipantOptedOut { .. } => "bot_participant_opted_out",
            Self::LiveSegment { .. } => "live_segment",
            Self::Closed { .. } => "closed",
        }
    }
}

impl From<MeetingEvent> for StreamEvent {
    fn from(e: MeetingEvent) -> Self {
        match e {
            MeetingEvent::Job {
                job_id,
                state,
                progress,
                error,
            } => Self::Job {
                job_id,
                state: state.into(),
                progress,
                error,
            },
            MeetingEvent::Segment {
                job_id,
                attempt,
                recording_id,
                speaker,
                start_ms,
                end_ms,
                text,
            } => Self::Segment {
                job_id,
                attempt,
                recording_id,
                speaker,
                start_ms,
                end_ms,
                text,
            },
            MeetingEvent::TranscriptUpdated { recording_id } => {
                Self::TranscriptUpdated { recording_id }
            }
            MeetingEvent::MeetingUpdated => Self::MeetingUpdated,
            MeetingEvent::SummaryUpdated { generated_by } => Self::SummaryUpdated { generated_by },
            MeetingEvent::LiveSummary {
                bot_id,
                segments,
                action_items,
                decisions,
            } => Self::LiveSummary {
                bot_id,
                segments,
                action_items: action_items
                    .into_iter()
                    .map(|a| super::intel::ActionItem {
                        task: a.task,
                        owner: a.owner,
                        due: a.due,
                        start_ms: Some(a.start_ms),
                        done: false,
                    })
                    .collect(),
                decisions: decisions
                    .into_iter()
                    .map(|d| super::intel::SummaryPoint {
                        text: d.text,
                        speaker: Some(d.speaker),
                        start_ms: Some(d.start_ms),
                    })
                    .collect(),
            },
            MeetingEvent::RecordingStored {
                recording_id,
                duration_ms,
            } => Self::RecordingStored {
                recording_id,
                duration_ms,
            },
            MeetingEvent::Bot {
                bot_id,
                from,
                state,
                sub_code,
                at,
            } => Self::BotState {
                bot_id,
                from,
                state,
                sub_code,
                at,
            },
            MeetingEvent::BotParticipantOptedOut {
                bot_id,
                participant_id,
                at,
            } => Self::BotParticipantOptedOut {
                bot_id,
                participant_id,
                at,
            },
            MeetingEvent::LiveSegment {
                bot_id,
                track,
                speaker,
                start_ms,
                end_ms,
                text,
            } => Self::LiveSegment {
                bot_id,
                track,
                speaker,
                start_ms,
                end_ms,
                text,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_name_is_the_type_of_its_data() {
        let events = [
            StreamEvent::MeetingUpdated,
            StreamEvent::Closed {
                reason: ClosedReason::MeetingGone,
            },
            StreamEvent::TranscriptUpdated {
                recording_id: RecordingId::new(),
            },
            StreamEvent::LiveSegment {
                bot_id: BotId::new(),
                track: "t1".into(),
                speaker: "Alice".into(),
                start_ms: 0,
                end_ms: 1,
                text: "hi".into(),
            },
        ];
        for e in events {
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["type"], e.name());
        }
    }
}

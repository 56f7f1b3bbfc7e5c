//! The webhook event types and what each domain event becomes on the wire. A webhook carries
//! ids, states, counts and links; transcript text only to an endpoint that opted in to content
//! (and only over HTTPS). `docs/webhooks.md` documents every type with an example, and the
//! OpenAPI document's `webhooks` section has the same list (a test keeps the three equal).

use serde_json::{Value, json};

use crate::events::DomainEvent;
use crate::ids::MeetingId;

/// A webhook event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    pub name: &'static str,
    pub description: &'static str,
    /// Sent only to endpoints that name it in their filter.
    pub opt_in: bool,
}

/// Every type an endpoint can subscribe to.
pub const EVENT_TYPES: &[EventType] = &[
    EventType {
        name: "bot.status_changed",
        description: "A bot moved in its state machine: old and new state, sub-code.",
        opt_in: false,
    },
    EventType {
        name: "bot.done",
        description: "A bot ended (state ended): it left, was removed or was never admitted; the sub-code says which. Its recordings and transcript follow when it recorded.",
        opt_in: false,
    },
    EventType {
        name: "bot.failed",
        description: "A bot ended in fatal_error; the sub-code says why.",
        opt_in: false,
    },
    EventType {
        name: "bot.participant_opted_out",
        description: "A participant typed the opt-out phrase; their audio is deleted.",
        opt_in: false,
    },
    EventType {
        name: "meeting.created",
        description: "A meeting was created (by the API, an upload or a bot).",
        opt_in: false,
    },
    EventType {
        name: "meeting.updated",
        description: "A meeting's details changed.",
        opt_in: false,
    },
    EventType {
        name: "meeting.deleted",
        description: "A meeting, its content and its keys are gone (crypto-shredded).",
        opt_in: false,
    },
    EventType {
        name: "recording.stored",
        description: "A recording (an upload, or a bot's track) was stored.",
        opt_in: false,
    },
    EventType {
        name: "recording.files_ready",
        description: "A meeting's recordings reached the customer's bucket: keys, sizes and SHA-256.",
        opt_in: false,
    },
    EventType {
        name: "transcript.ready",
        description: "A recording's transcript was stored; the link fetches it.",
        opt_in: false,
    },
    EventType {
        name: "summary.ready",
        description: "A meeting's summary and action items were made (or made again); the link fetches them.",
        opt_in: false,
    },
    EventType {
        name: "deletion_request.received",
        description: "A participant confirmed a deletion request: the org's owners and admins should complete or reject it (ids only; the request's link shows its details).",
        opt_in: false,
    },
    EventType {
        name: "deletion_request.closed",
        description: "A deletion request was completed (with its deletion certificate) or rejected.",
        opt_in: false,
    },
    EventType {
        name: "transcript.partial",
        description: "A segment heard live or by a running job (opt-in; its text only to endpoints with include_content, over HTTPS).",
        opt_in: true,
    },
];

/// The type of the message `POST /webhooks/{id}/test` sends (always, whatever the filter).
pub const TEST_TYPE: &str = "webhook.test";

pub fn known(name: &str) -> bool {
    EVENT_TYPES.iter().any(|t| t.name == name)
}

/// Whether an endpoint with `filter` (empty: every type that is not opt-in) hears `name`.
pub fn subscribed(filter: &[String], name: &str) -> bool {
    if filter.is_empty() {
        return EVENT_TYPES.iter().any(|t| t.name == name && !t.opt_in);
    }
    filter.iter().any(|f| f == name)
}

/// One message a domain event becomes: its type, its plain data, and its content (transcript
/// text) when it has some.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub event_type: &'static str,
    pub meeting: Option<MeetingId>,
    pub data: Value,
    pub content: Option<Value>,
}

fn message(event_type: &'static str, meeting: Option<MeetingId>, data: Value) -> Message {
    Message {
        event_type,
        meeting,
        data,
        content: None,
    }
}

/// Unix milliseconds as RFC 3339, as the rest of the API writes times.
fn time(ms: i64) -> Value {
    Value::String(
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

/// A link to a resource of this API (relative to the server's base URL).
fn link(path: String) -> Value {
    Value::String(format!("/api/v1{path}"))
}

/// What a domain event becomes (none, one, or several messages: a bot's end is both
/// `bot.status_changed` and `bot.done`).
pub fn messages(event: &DomainEvent) -> Vec<Message> {
    let meeting = event.meeting();
    match event {
        DomainEvent::BotStateChanged(b) => {
            let mut out = vec![message(
                "bot.status_changed",
                meeting,
                json!({
                    "bot_id": b.bot_id, "meeting_id": b.meeting_id,
                    "old_state": b.from, "new_state": b.state, "sub_code": b.sub_code,
                    "at": time(b.at), "links": { "bot": link(format!("/bots/{}", b.bot_id)) },
                }),
            )];
            let end = match b.state.as_str() {
                "ended" => Some("bot.done"),
                "fatal_error" => Some("bot.failed"),
                _ => None,
            };
            if let Some(kind) = end {
                let mut links = serde_json::Map::new();
                links.insert("bot".into(), link(format!("/bots/{}", b.bot_id)));
                links.insert(
                    "meeting".into(),
                    link(format!("/meetings/{}", b.meeting_id)),
                );
                if kind == "bot.done" {
                    // Empty until the recordings are transcribed (`transcript.ready`).
                    links.insert(
                        "transcript".into(),
                        link(format!("/meetings/{}/transcript", b.meeting_id)),
                    );
                }
                out.push(message(
                    kind,
                    meeting,
                    json!({
                        "bot_id": b.bot_id, "meeting_id": b.meeting_id, "state": b.state,
                        "sub_code": b.sub_code, "at": time(b.at), "links": links,
                    }),
                ));
            }
            out
        }
        DomainEvent::BotParticipantOptedOut(b) => vec![message(
            "bot.participant_opted_out",
            meeting,
            json!({ "bot_id": b.bot_id, "meeting_id": b.meeting_id, "participant_id": b.participant_id, "at": time(b.at) }),
        )],
        DomainEvent::MeetingCreated(m) => vec![message(
            "meeting.created",
            meeting,
            json!({ "meeting_id": m.meeting_id, "workspace_id": m.workspace_id,
                    "links": { "meeting": link(format!("/meetings/{}", m.meeting_id)) } }),
        )],
        DomainEvent::MeetingUpdated(m) => vec![message(
            "meeting.updated",
            meeting,
            json!({ "meeting_id": m.meeting_id, "workspace_id": m.workspace_id,
                    "links": { "meeting": link(format!("/meetings/{}", m.meeting_id)) } }),
        )],
        DomainEvent::MeetingDeleted {
            meeting_id,
            certificate_id,
            ..
        } => vec![message(
            "meeting.deleted",
            meeting,
            json!({ "meeting_id": meeting_id, "certificate_id": certificate_id,
                    "links": { "certificate": certificate_id.map(|c| link(format!("/certificates/{c}"))) } }),
        )],
        DomainEvent::RecordingStored(r) => vec![message(
            "recording.stored",
            meeting,
            json!({ "meeting_id": r.meeting_id, "recording_id": r.recording_id, "duration_ms": r.duration_ms,
                    "links": { "recording": link(format!("/meetings/{}/recordings/{}", r.meeting_id, r.recording_id)) } }),
        )],
        DomainEvent::TranscriptReady(t) => vec![message(
            "transcript.ready",
            meeting,
            json!({ "meeting_id": t.meeting_id, "recording_id": t.recording_id,
                    "links": { "transcript": link(format!("/meetings/{}/transcript", t.meeting_id)) } }),
        )],
        DomainEvent::LiveSegment(t, w) => vec![Message {
            event_type: "transcript.partial",
            meeting,
            data: json!({ "meeting_id": t.meeting_id, "source": "live", "bot_id": t.bot_id,
                          "track": t.track, "start_ms": t.start_ms, "end_ms": t.end_ms }),
            content: Some(json!({ "speaker": w.speaker, "text": w.text })),
        }],
        DomainEvent::SegmentProduced(t, w) => vec![Message {
            event_type: "transcript.partial",
            meeting,
            data: json!({ "meeting_id": t.meeting_id, "source": "job", "job_id": t.job_id,
                          "recording_id": t.recording_id, "start_ms": t.start_ms, "end_ms": t.end_ms }),
            content: Some(json!({ "speaker": w.speaker, "text": w.text })),
        }],
        // Provisional, on the meeting's stream only; `summary.ready` follows the final transcript.
        DomainEvent::LiveSummary(..) => Vec::new(),
        DomainEvent::SummaryReady(r) => vec![message(
            "summary.ready",
            meeting,
            json!({ "meeting_id": r.meeting_id, "generated_by": r.generated_by, "action_items": r.action_items,
                    "links": { "summary": link(format!("/meetings/{}/summary", r.meeting_id)) } }),
        )],
        DomainEvent::FilesReady(f) => vec![message(
            "recording.files_ready",
            meeting,
            json!({ "meeting_id": f.meeting_id, "destination_id": f.destination_id,
                    "bucket": f.bucket, "files": f.files }),
        )],
        DomainEvent::JobStateChanged(_) => Vec::new(),
        DomainEvent::DeletionRequestChanged(d) => {
            let event_type = match d.state.as_str() {
                "open" => "deletion_request.received",
                _ => "deletion_request.closed",
            };
            vec![message(
                event_type,
                None,
                json!({ "request_id": d.request_id, "state": d.state, "certificate_id": d.certificate_id,
                        "at": time(d.at),
                        "links": { "request": link(format!("/deletion-requests/{}", d.request_id)),
                                   "certificate": d.certificate_id.map(|c| link(format!("/certificates/{c}"))) } }),
            )]
        }
    }
}

/// Whether a domain event has content a message may carry (so the fan-out opens it only then).
pub fn has_content(kind: &str) -> bool {
    matches!(kind, "segment.live" | "segment.produced")
}

/// One example body per event type (fixed ids and times): what `docs/webhooks.md` shows and the
/// OpenAPI document's `webhooks` section describes, made by the same code that makes real
/// messages.
pub fn examples() -> Vec<(EventType, Value)> {
    use crate::events::{
        BotParticipantOptedOut, BotStateChanged, LiveTiming, MeetingRef, RecordingStored,
        SegmentWords, TranscriptReady,
    };
    use crate::ids::{BotId, RecordingId, WorkspaceId};
    let id = |n: u128| uuid::Uuid::from_u128(0x0192_f1c4_a6e8_7c3d_9b5e_0000_0000_0000 + n);
    let (bot, meeting, workspace, recording) = (
        BotId(id(1)),
        MeetingId(id(2)),
        WorkspaceId(id(3)),
        RecordingId(id(4)),
    );
    let at = 1_767_262_800_000; // 2026-01-01T10:20:00Z
    let bot_state = |from: &str, state: &str, sub_code: Option<&str>| {
        DomainEvent::BotStateChanged(BotStateChanged {
            bot_id: bot,
            meeting_id: meeting,
            from: Some(from.into()),
            state: state.into(),
            sub_code: sub_code.map(Into::into),
            at,
        })
    };
    let events = [
        bot_state("joined", "recording", None),
        bot_state("post_processing", "ended", Some("left_by_api")),
        bot_state("joining", "fatal_error", Some("meeting_not_found")),
        DomainEvent::BotParticipantOptedOut(BotParticipantOptedOut {
            bot_id: bot,
            meeting_id: meeting,
            participant_id: "spaces/p-7".into(),
            at,
        }),
        DomainEvent::MeetingCreated(MeetingRef {
            meeting_id: meeting,
            workspace_id: workspace,
        }),
        DomainEvent::MeetingUpdated(MeetingRef {
            meeting_id: meeting,
            workspace_id: workspace,
        }),
        DomainEvent::MeetingDeleted {
            meeting_id: meeting,
            workspace_id: Some(workspace),
            certificate_id: Some(crate::ids::CertificateId(id(9))),
        },
        DomainEvent::RecordingStored(RecordingStored {
            meeting_id: meeting,
            recording_id: recording,
            duration_ms: Some(1_834_250),
        }),
        DomainEvent::TranscriptReady(TranscriptReady {
            meeting_id: meeting,
            recording_id: recording,
        }),
        DomainEvent::SummaryReady(crate::events::SummaryReady {
            meeting_id: meeting,
            generated_by: "embedded".into(),
            action_items: 3,
        }),
        DomainEvent::FilesReady(crate::events::FilesReady {
            meeting_id: meeting,
            destination_id: crate::ids::DestinationId(id(5)),
            bucket: "acme-meetings".into(),
            files: vec![crate::events::DeliveredFile {
                kind: "recording".into(),
                recording_id: Some(recording),
                key: format!("meetvault/meetings/{meeting}/recordings/{recording}.wav"),
                size: 58_708_044,
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                age_encrypted: false,
            }],
        }),
        DomainEvent::DeletionRequestChanged(crate::events::DeletionRequestChanged {
            request_id: crate::ids::DeletionRequestId(id(6)),
            state: "open".into(),
            certificate_id: None,
            at,
        }),
        DomainEvent::DeletionRequestChanged(crate::events::DeletionRequestChanged {
            request_id: crate::ids::DeletionRequestId(id(6)),
            state: "completed".into(),
            certificate_id: Some(crate::ids::CertificateId(id(9))),
            at,
        }),
        DomainEvent::LiveSegment(
            LiveTiming {
                bot_id: bot,
                meeting_id: meeting,
                track: "t-3".into(),
                start_ms: 61_200,
                end_ms: 64_900,
            },
            SegmentWords {
                speaker: "Ada".into(),
                text: "Let's ship it on Friday.".into(),
            },
        ),
    ];
    let mut out = Vec::new();
    for t in EVENT_TYPES {
        let found = events
            .iter()
            .flat_map(messages)
            .find(|m| m.event_type == t.name);
        if let Some(m) = found {
            let mut data = m.data;
            if let (Some(Value::Object(c)), Value::Object(d)) = (m.content, &mut data) {
                d.extend(c);
            }
            out.push((
                *t,
                json!({ "type": t.name, "timestamp": "2026-01-01T10:20:00.000Z", "data": data }),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter_leaves_out_opt_in_types() {
        assert!(subscribed(&[], "bot.done"));
        assert!(!subscribed(&[], "transcript.partial"));
        assert!(subscribed(
            &["transcript.partial".into()],
            "transcript.partial"
        ));
        assert!(!subscribed(&["bot.done".into()], "bot.failed"));
        assert!(EVENT_TYPES.iter().all(|t| known(t.name)));
        assert!(!known(TEST_TYPE));
    }

    #[test]
    fn every_type_has_an_example() {
        let examples = examples();
        assert_eq!(examples.len(), EVENT_TYPES.len());
        for (t, body) in examples {
            assert_eq!(body["type"], t.name);
            // Each names what it is about: a meeting, or a deletion request (org-wide).
            let about = if t.name.starts_with("deletion_request.") {
                "request_id"
            } else {
                "meeting_id"
            };
            assert!(body["data"][about].is_string(), "{body}");
        }
    }
}

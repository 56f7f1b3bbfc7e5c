//! What a running bot reports besides transitions and audio (`POST …/events`, the shapes of
//! `meetvault_bot::BotEvent`): its audio clock, participants, chat (deduplicated by the
//! platform's key), active speakers, which track is whose and what its capture lost,
//! participants' opt-outs and a diagnosis of a page it gave up on — and how they read back in
//! `GET /bots/{id}`. Names, chat text and the diagnosis are content, sealed under the meeting's
//! key; ids, counts and times are not. An opt-out deletes what was captured of the participant
//! and refuses the rest; it is audited and on the outbox, naming only the platform's id.

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use meetvault_crypto::envelope;
use meetvault_store::BlobKey;
use meetvault_store::bot_reports::{BotChatRow, BotSpeakersRow};
use meetvault_store::bots::{BotParticipantRow, BotRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::runtime::check_key;
use super::{BotRuntime, BotSession, Bots, ms_time};
use crate::access::proof::MeetingsRead;
use crate::access::{Actor, Scope};
use crate::audit::{AuditAction, Event, Outcome};
use crate::events::{BotParticipantOptedOut, DomainEvent, outbox_event};
use crate::ids::BotId;
use crate::vault::{MeetingKeys, bind, check_text};
use crate::{Core, CoreError};

/// The largest DOM snapshot a diagnosis keeps (bytes).
const MAX_DOM: usize = 6 * 1024 * 1024;
/// The most participants one active-speakers report names.
const MAX_SPEAKERS: usize = 256;

/// Something the bot saw (`meetvault_bot::BotEvent`, as the server takes it).
#[derive(Debug, Clone)]
pub enum BotEvent {
    /// Every chunk's `start_ms` counts from this time (Unix ms).
    AudioClock {
        unix_ms: i64,
    },
    ParticipantJoined {
        id: String,
        name: String,
    },
    ParticipantLeft {
        id: String,
        name: String,
    },
    /// `id` is the platform's key for the message: sent twice, stored once.
    ChatMessage {
        id: String,
        sender: String,
        sender_id: Option<String>,
        text: String,
    },
    ActiveSpeakers {
        participant_ids: Vec<String>,
    },
    TrackMapped {
        track: String,
        participant_id: String,
    },
    TrackEnded {
        track: String,
        samples_expected: i64,
        samples_received: i64,
    },
    ParticipantOptedOut {
        participant_id: String,
    },
    /// The PNG base64-encoded, as on the wire.
    Diagnosis {
        reason: String,
        screenshot_png: String,
        dom_html: String,
    },
}

/// What a bot showed when it gave up on a page: content, readable by the meeting's readers.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub reason: String,
    /// Base64 (checked when it was stored).
    pub screenshot_png: String,
    pub dom_html: String,
    pub at: DateTime<Utc>,
}

/// The diagnosis as sealed in its blob.
#[derive(Serialize, Deserialize)]
struct SealedDiagnosis {
    reason: String,
    screenshot_png: String,
    dom_html: String,
}

/// A track the bot captured, with what its capture measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSeen {
    pub track: String,
    pub participant_id: Option<String>,
    pub samples_expected: Option<u64>,
    pub samples_received: Option<u64>,
    /// Of the samples expected, the share that never arrived (once the track ended).
    pub loss_percent: Option<f64>,
    pub ended_at: Option<DateTime<Utc>>,
    pub opted_out_at: Option<DateTime<Utc>>,
}

/// Who the platform showed speaking from `at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakersSeen {
    pub participant_ids: Vec<String>,
    pub at: DateTime<Utc>,
}

/// A chat message the bot saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSeen {
    pub sender: String,
    pub sender_id: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// Everything the bot reported, as `GET /bots/{id}` shows it.
#[derive(Debug, Clone, Default)]
pub struct Reports {
    pub chat: Vec<ChatSeen>,
    pub tracks: Vec<TrackSeen>,
    pub active_speakers: Vec<SpeakersSeen>,
}

fn count(field: &'static str, n: i64) -> Result<i64, CoreError> {
    if n < 0 {
        return Err(CoreError::invalid(field, "must not be negative"));
    }
    Ok(n)
}

fn loss_percent(expected: i64, received: i64) -> Option<f64> {
    (expected > 0).then(|| {
        let lost = (expected - received).max(0) as f64;
        (lost * 100.0 / expected as f64 * 1000.0).round() / 1000.0
    })
}

fn diagnosis_key(bot: &BotRow) -> Result<BlobKey, CoreError> {
    Ok(BlobKey::parse(&format!(
        "orgs/{}/meetings/{}/bots/{}/diagnosis",
        bot.org_id, bot.meeting_id, bot.id
    ))?)
}

impl BotRuntime<'_> {
    /// Records what the bot saw; a malformed event is invalid (naming the field) and changes
    /// nothing.
    pub async fn event(self, s: &BotSession, event: &BotEvent) -> Result<(), CoreError> {
        let core = self.core;
        let b = &s.bot;
        let (org, now) = (b.org_id, meetvault_jobs::now_ms());
        match event {
            BotEvent::AudioClock { unix_ms } => {
                if *unix_ms <= 0 {
                    return Err(CoreError::invalid("unix_ms", "must be Unix milliseconds"));
                }
                core.db().set_bot_audio_clock(org, b.id, *unix_ms).await?;
            }
            BotEvent::ParticipantJoined { id, name } | BotEvent::ParticipantLeft { id, name } => {
                check_key("id", id)?;
                check_text("name", name, 200)?;
                let left = matches!(event, BotEvent::ParticipantLeft { .. }).then_some(now);
                core.seen_participant(b, id, Some(name), Some(left), None)
                    .await?;
            }
            BotEvent::ChatMessage {
                id,
                sender,
                sender_id,
                text,
            } => {
                check_key("id", id)?;
                check_text("sender", sender, 200)?;
                if let Some(sid) = sender_id {
                    check_key("sender_id", sid)?;
                }
                check_text("text", text, 10_000)?;
                let opted_out = core.opted_out(b).await?;
                if sender_id.as_ref().is_some_and(|s| opted_out.contains(s)) {
                    // Someone who opted out is not recorded, in chat either.
                    return Ok(());
                }
                let row_id = Uuid::new_v4();
                core.db()
                    .insert_bot_chat(&BotChatRow {
                        id: row_id,
                        org_id: org,
                        bot_id: b.id,
                        dedupe_key: id.clone(),
                        sender_id: sender_id.clone(),
                        sender: core
                            .seal_bot_field(b, "bot_chat_messages", row_id, "sender", sender)
                            .await?,
                        body: core
                            .seal_bot_field(b, "bot_chat_messages", row_id, "body", text)
                            .await?,
                        at: now,
                    })
                    .await?;
            }
            BotEvent::ActiveSpeakers { participant_ids } => {
                if participant_ids.len() > MAX_SPEAKERS {
                    return Err(CoreError::invalid(
                        "participant_ids",
                        format!("at most {MAX_SPEAKERS}"),
                    ));
                }
                for id in participant_ids {
                    check_key("participant_ids", id)?;
                }
                let opted_out = core.opted_out(b).await?;
                let speaking: Vec<&str> = participant_ids
                    .iter()
                    .filter(|id| !opted_out.contains(*id))
                    .map(String::as_str)
                    .collect();
                core.db()
                    .insert_bot_speakers(&BotSpeakersRow {
                        id: Uuid::new_v4(),
                        org_id: org,
                        bot_id: b.id,
                        participant_ids: speaking.join(" "),
                        at: now,
                    })
                    .await?;
            }
            BotEvent::TrackMapped {
                track,
                participant_id,
            } => {
                check_key("track", track)?;
                check_key("participant_id", participant_id)?;
                let row = core
                    .db()
                    .map_bot_track(org, b.id, track, participant_id, now)
                    .await?;
                core.seen_participant(b, participant_id, None, None, Some(track))
                    .await?;
                if row.opted_out_at.is_some() {
                    core.forget_bot_track(b, track).await?;
                }
            }
            BotEvent::TrackEnded {
                track,
                samples_expected,
                samples_received,
            } => {
                check_key("track", track)?;
                let expected = count("samples_expected", *samples_expected)?;
                let received = count("samples_received", *samples_received)?;
                core.db()
                    .end_bot_track(org, b.id, track, expected, received, now)
                    .await?;
            }
            BotEvent::ParticipantOptedOut { participant_id } => {
                check_key("participant_id", participant_id)?;
                core.opt_out_participant(b, participant_id, now).await?;
            }
            BotEvent::Diagnosis {
                reason,
                screenshot_png,
                dom_html,
            } => {
                check_text("reason", reason, 2000)?;
                if dom_html.len() > MAX_DOM {
                    return Err(CoreError::invalid(
                        "dom_html",
                        format!("must be at most {MAX_DOM} bytes"),
                    ));
                }
                base64::engine::general_purpose::STANDARD
                    .decode(screenshot_png)
                    .map_err(|_| CoreError::invalid("screenshot_png", "must be base64"))?;
                let sealed = serde_json::to_vec(&SealedDiagnosis {
                    reason: reason.clone(),
                    screenshot_png: screenshot_png.clone(),
                    dom_html: dom_html.clone(),
                })
                .map_err(CoreError::internal)?;
                let aad = bind(org, "bots", b.id, "diagnosis");
                core.seal_bot_blob(b, &diagnosis_key(b)?, &aad, Bytes::from(sealed))
                    .await?;
                core.db().set_bot_diagnosis_at(org, b.id, now).await?;
            }
        }
        Ok(())
    }
}

impl Core {
    async fn seal_bot_field(
        &self,
        b: &BotRow,
        table: &'static str,
        row: Uuid,
        field: &'static str,
        plain: &str,
    ) -> Result<Vec<u8>, CoreError> {
        let (kref, key) = self
            .meeting_write_key(b.org_id, b.meeting_id, b.owner_id)
            .await?;
        Ok(envelope::encrypt(
            &key,
            kref,
            &bind(b.org_id, table, row, field),
            plain.as_bytes(),
        ))
    }

    /// The platform ids of the bot's participants who opted out.
    async fn opted_out(&self, b: &BotRow) -> Result<Vec<String>, CoreError> {
        Ok(self
            .db()
            .bot_participants(b.org_id, b.id)
            .await?
            .into_iter()
            .filter(|p| p.opted_out_at.is_some())
            .map(|p| p.ext_id)
            .collect())
    }

    /// Records a participant: a new name (sealed under the row's first id), `left`
    /// (`Some(None)`: here now; `None`: unchanged), a track mapped to them.
    async fn seen_participant(
        &self,
        b: &BotRow,
        ext_id: &str,
        name: Option<&str>,
        left: Option<Option<i64>>,
        track: Option<&str>,
    ) -> Result<(), CoreError> {
        let existing = self
            .db()
            .bot_participants(b.org_id, b.id)
            .await?
            .into_iter()
            .find(|p| p.ext_id == ext_id);
        let id = existing.as_ref().map_or_else(Uuid::new_v4, |e| e.id);
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(
                self.seal_bot_field(b, "bot_participants", id, "name", n)
                    .await?,
            ),
            None => None,
        };
        let now = meetvault_jobs::now_ms();
        self.db()
            .upsert_bot_participant(&BotParticipantRow {
                id,
                org_id: b.org_id,
                bot_id: b.id,
                ext_id: ext_id.to_owned(),
                name,
                joined_at: existing.as_ref().map_or(now, |e| e.joined_at),
                left_at: left.unwrap_or_else(|| existing.as_ref().and_then(|e| e.left_at)),
                track: track.map(str::to_owned),
                opted_out_at: None,
            })
            .await?;
        Ok(())
    }

    /// Excludes a participant from now on: marked (with its outbox event and an audit entry
    /// naming only their platform id, the first time), then their chat messages and every
    /// track of theirs deleted.
    async fn opt_out_participant(
        &self,
        b: &BotRow,
        participant_id: &str,
        at: i64,
    ) -> Result<(), CoreError> {
        let event = outbox_event(
            b.org_id,
            &DomainEvent::BotParticipantOptedOut(BotParticipantOptedOut {
                bot_id: b.id.into(),
                meeting_id: b.meeting_id.into(),
                participant_id: participant_id.to_owned(),
                at,
            }),
            None,
        )?;
        let fresh = self
            .db()
            .opt_out_bot_participant(b.org_id, b.id, Uuid::new_v4(), participant_id, at, &[event])
            .await?;
        if fresh {
            self.events().wake(b.meeting_id);
            let mut entry = Event::new(
                AuditAction::BotParticipantOptOut,
                Actor::System,
                Outcome::Success,
            );
            entry.org_id = Some(b.org_id.into());
            entry.resource = Some(format!(
                "{}/participants/{participant_id}",
                BotId::from(b.id)
            ));
            self.audit(entry).await?;
        }
        self.db()
            .delete_bot_chat_of(b.org_id, b.id, participant_id)
            .await?;
        for t in self.db().bot_tracks(b.org_id, b.id).await? {
            if t.opted_out_at.is_some() && t.participant_id.as_deref() == Some(participant_id) {
                self.forget_bot_track(b, &t.track).await?;
            }
        }
        Ok(())
    }

    /// The bot's reports as its readers see them (`keys`: its meeting's).
    pub(crate) async fn bot_reports(
        &self,
        keys: &MeetingKeys,
        row: &BotRow,
    ) -> Result<Reports, CoreError> {
        let org = row.org_id;
        let mut out = Reports::default();
        for c in self.db().bot_chat(org, row.id).await? {
            out.chat.push(ChatSeen {
                sender: keys.text(org, "bot_chat_messages", c.id, "sender", &c.sender)?,
                text: keys.text(org, "bot_chat_messages", c.id, "body", &c.body)?,
                sender_id: c.sender_id,
                at: ms_time(c.at),
            });
        }
        for t in self.db().bot_tracks(org, row.id).await? {
            out.tracks.push(TrackSeen {
                loss_percent: t
                    .samples_expected
                    .zip(t.samples_received)
                    .and_then(|(e, r)| loss_percent(e, r)),
                samples_expected: t.samples_expected.and_then(|n| u64::try_from(n).ok()),
                samples_received: t.samples_received.and_then(|n| u64::try_from(n).ok()),
                track: t.track,
                participant_id: t.participant_id,
                ended_at: t.ended_at.map(ms_time),
                opted_out_at: t.opted_out_at.map(ms_time),
            });
        }
        for s in self.db().bot_speakers(org, row.id).await? {
            out.active_speakers.push(SpeakersSeen {
                participant_ids: s
                    .participant_ids
                    .split_whitespace()
                    .map(Into::into)
                    .collect(),
                at: ms_time(s.at),
            });
        }
        Ok(out)
    }
}

impl Bots<'_> {
    /// What the bot showed when it gave up on a page (not found when it stored none).
    pub async fn diagnosis(
        self,
        scope: &Scope<MeetingsRead>,
        bot: BotId,
    ) -> Result<Diagnosis, CoreError> {
        let core = self.core;
        let (row, meeting) = core.bot_row(scope, bot).await?;
        let at = row.diagnosis_at.ok_or(CoreError::NotFound("diagnosis"))?;
        let keys = core.meeting_keys_for(scope, &meeting).await?;
        let aad = bind(row.org_id, "bots", row.id, "diagnosis");
        let plain = core
            .open_bot_blob(&keys, &diagnosis_key(&row)?, &aad)
            .await?;
        let d: SealedDiagnosis = serde_json::from_slice(&plain)
            .map_err(|e| CoreError::Integrity(format!("a bot's diagnosis: {e}")))?;
        Ok(Diagnosis {
            reason: d.reason,
            screenshot_png: d.screenshot_png,
            dom_html: d.dom_html,
            at: ms_time(at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::loss_percent;

    #[test]
    fn loss_is_the_share_of_expected_samples_that_never_arrived() {
        assert_eq!(loss_percent(480_000, 479_990), Some(0.002));
        assert_eq!(loss_percent(1000, 1000), Some(0.0));
        assert_eq!(loss_percent(1000, 1200), Some(0.0));
        assert_eq!(loss_percent(0, 0), None);
        assert_eq!(loss_percent(200, 100), Some(50.0));
    }
}

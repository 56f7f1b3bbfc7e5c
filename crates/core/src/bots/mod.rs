//! Meeting bots. `core.bots()` is the API's side: send a bot to a meeting (it gets a meeting of
//! its own, so its transcript, exports and events are a meeting's like any other), list and
//! read bots with their timeline, ask one to leave or to post in chat, cancel one. The bot
//! process's side (its spec, transitions, heartbeats, events, audio, commands) is
//! `core.bot_runtime()` (`runtime.rs`); the orchestrator that launches and watches bot
//! processes is `orchestrator.rs`; the state machine is `state.rs`; live transcription of the
//! audio during the meeting is `live.rs` (over `utterances.rs`).
//!
//! Content — the meeting URL (it may carry a passcode), the bot's name, the caller's metadata,
//! participant names, chat text — is sealed under the bot's meeting key like every other
//! content of a meeting. Options (timeouts, recording flags, the consent message), states and
//! times are plain.

mod audio;
pub(crate) use audio::gap_bytes;
mod checks;
mod consent;
mod finish;
mod live;
mod mix;
pub(crate) use mix::{MIXED, Timeline};
mod options;
mod orchestrator;
mod reports;
mod runtime;
pub mod state;
mod utterances;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use meetvault_config::TranscriptionProvider;
use meetvault_crypto::envelope;
use meetvault_store::bots::{BotCommandRow, BotQuery, BotRow, StateChange};
use meetvault_store::vault::MeetingRow;

use uuid::Uuid;

use crate::access::proof::{BotsWrite, MeetingsRead, WorkspaceScoped};
use crate::access::{Actor, Reach, Scope};
use crate::audit::{AuditAction, Event, Outcome};
use crate::events::{BotStateChanged, DomainEvent, MeetingRef, outbox_event};
use crate::ids::{BotId, MeetingId, WorkspaceId};
use crate::meetings::TranscriptionSettings;
use crate::vault::{bind, check_text};
use crate::{Core, CoreError};

pub use consent::{ConsentPolicy, default_consent};
pub(crate) use live::{LiveHub, RollingSummaries};
pub use options::{AutomaticLeave, BotOptions, RecordingOptions};
pub(crate) use orchestrator::LaunchHandler;
pub use orchestrator::{BotHub, LaunchRequest, Launcher, LocalProcessLauncher};
pub use reports::{BotEvent, ChatSeen, Diagnosis, Reports, SpeakersSeen, TrackSeen};
pub use runtime::{BotCommand, BotRuntime, BotSession, BotSpec};
pub use state::{BotState, IllegalTransition, SubCode, Transition};
pub(crate) use utterances::{Batch, RATE, Segmenter, Utterance};

/// The phrase a participant types to be excluded.
pub const DEFAULT_OPT_OUT: &str = "/optout";

/// A bot to send.
#[derive(Debug, Clone, Default)]
pub struct NewBot {
    pub meeting_url: String,
    pub bot_name: String,
    /// The meeting's title; unset: the bot's name.
    pub title: Option<String>,
    /// When to join; now when absent.
    pub join_at: Option<DateTime<Utc>>,
    pub workspace_id: Option<WorkspaceId>,
    pub language: Option<String>,
    pub provider: Option<TranscriptionProvider>,
    pub recording: RecordingOptions,
    /// Unset: the workspace's, else the org's policy, else the default.
    pub consent_message: Option<String>,
    /// False: the bot posts no consent message (refused where a policy requires it).
    pub post_consent: bool,
    /// Unset: the workspace's, else the org's policy, else `/optout`.
    pub opt_out_phrase: Option<String>,
    pub automatic_leave: AutomaticLeave,
    pub metadata: BTreeMap<String, String>,
    /// This bot's own webhook endpoint: its meeting's events, signed with a secret of its own.
    pub webhook_url: Option<String>,
    /// The destination its recordings go to when it ends.
    pub destination_id: Option<crate::ids::DestinationId>,
    /// Its meeting's own retention windows (within the org's maxima); unset parts inherit.
    pub retention: crate::lifecycle::Windows,
    /// Its meeting's own intelligence settings (provider, prompt, PII redaction).
    pub intelligence: Option<crate::intel_settings::IntelSettings>,
}

/// A bot's own webhook endpoint; its secret only in the creation answer.
#[derive(Debug, Clone)]
pub struct BotWebhook {
    pub id: crate::ids::WebhookId,
    pub secret: Option<zeroize::Zeroizing<String>>,
}

/// One step of a bot's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionView {
    pub from: Option<BotState>,
    pub to: BotState,
    pub sub_code: Option<String>,
    pub at: DateTime<Utc>,
}

/// A participant the bot saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantSeen {
    pub participant_id: String,
    pub name: Option<String>,
    pub track: Option<String>,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub opted_out_at: Option<DateTime<Utc>>,
}

/// A bot, with its content (which only readers of its meeting see).
#[derive(Debug, Clone)]
pub struct BotView {
    pub summary: BotSummary,
    pub meeting_url: String,
    pub bot_name: String,
    pub metadata: BTreeMap<String, String>,
    pub options: BotOptions,
    pub transitions: Vec<TransitionView>,
    pub participants: Vec<ParticipantSeen>,
    /// When its audio clock started (every recording of it starts there).
    pub audio_started_at: Option<DateTime<Utc>>,
    /// When it stored a diagnosis of a page it gave up on (`GET /bots/{id}/diagnosis`).
    pub diagnosis_at: Option<DateTime<Utc>>,
    /// Chat, tracks and active speakers.
    pub reports: Reports,
    /// Its own webhook endpoint (`webhook_url`), with the secret on creation only.
    pub webhook: Option<BotWebhook>,
    /// Its tracks streaming into its destination (none without one).
    pub uploads: Vec<TrackUpload>,
}

/// A streamed track as the bot's readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackUpload {
    pub track: String,
    pub destination_id: crate::ids::DestinationId,
    pub key: String,
    /// `creating`, `open`, `completed` or `aborted`.
    pub state: String,
    /// Parts in the bucket (part 1, with the header, goes when the meeting ends).
    pub parts: u32,
    /// Bytes of the file in the bucket so far (parts 2 on; all of it once completed).
    pub bytes_sent: u64,
    /// The last failure talking to the bucket, and when.
    pub error: Option<String>,
    pub error_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One row of a bot list: no content.
#[derive(Debug, Clone)]
pub struct BotSummary {
    pub id: BotId,
    pub meeting_id: MeetingId,
    pub workspace_id: WorkspaceId,
    pub state: BotState,
    pub sub_code: Option<String>,
    pub join_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct BotPage {
    pub bots: Vec<BotSummary>,
    pub next_cursor: Option<String>,
}

/// Filters and paging of `GET /bots`.
#[derive(Debug, Clone, Default)]
pub struct ListBots {
    pub state: Option<String>,
    pub workspace_id: Option<WorkspaceId>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub(crate) fn ms_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn state_of(row: &BotRow) -> Result<BotState, CoreError> {
    BotState::parse(&row.state)
        .ok_or_else(|| CoreError::Integrity(format!("bot {} has state {:?}", row.id, row.state)))
}

/// A conflict if the bot is done (it can no longer leave or chat).
fn done_already(state: BotState) -> Result<(), CoreError> {
    match state {
        BotState::PostProcessing => Err(CoreError::Conflict(
            "the bot has already left its meeting".into(),
        )),
        s if s.is_terminal() => Err(CoreError::Conflict(format!("the bot has already {s}"))),
        _ => Ok(()),
    }
}

fn summary(row: &BotRow) -> Result<BotSummary, CoreError> {
    Ok(BotSummary {
        id: row.id.into(),
        meeting_id: row.meeting_id.into(),
        workspace_id: row.workspace_id.into(),
        state: state_of(row)?,
        sub_code: row.sub_code.clone(),
        join_at: row.join_at.map(ms_time),
        created_at: ms_time(row.created_at),
        updated_at: ms_time(row.updated_at),
    })
}

impl Core {
    /// A bot of the caller's org whose meeting the scope's `P` reaches (else not found, or
    /// forbidden where the caller may only read it), with its meeting row.
    async fn bot_row<P: WorkspaceScoped>(
        &self,
        scope: &Scope<P>,
        bot: BotId,
    ) -> Result<(BotRow, MeetingRow), CoreError> {
        let row = self
            .db()
            .bot(scope.org_id().uuid(), bot.uuid())
            .await?
            .ok_or(CoreError::NotFound("bot"))?;
        let meeting = self
            .meeting_row(scope, row.meeting_id.into())
            .await
            .map_err(|e| match e {
                CoreError::NotFound(_) => CoreError::NotFound("bot"),
                other => other,
            })?;
        Ok((row, meeting))
    }

    /// Writes one transition of a bot (compare-and-set on its state), its outbox event and its
    /// audit entry; false if the bot had moved on meanwhile. A terminal state or
    /// `post_processing` revokes its token, stops its process and processes what it captured
    /// (`finish.rs`).
    pub(crate) async fn record_bot_transition(
        &self,
        bot: &BotRow,
        t: &Transition,
        actor: Actor,
        reported_by_bot: bool,
    ) -> Result<bool, CoreError> {
        let at = meetvault_jobs::now_ms();
        let event = outbox_event(
            bot.org_id,
            &DomainEvent::BotStateChanged(BotStateChanged {
                bot_id: bot.id.into(),
                meeting_id: bot.meeting_id.into(),
                from: Some(t.from().as_str().to_owned()),
                state: t.to().as_str().to_owned(),
                sub_code: t.sub_code().map(|c| c.as_str().to_owned()),
                at,
            }),
            None,
        )?;
        let written = self
            .db()
            .transition_bot(
                &StateChange {
                    org_id: bot.org_id,
                    bot_id: bot.id,
                    from: t.from().as_str(),
                    to: t.to().as_str(),
                    sub_code: t.sub_code().map(SubCode::as_str),
                    at,
                    revoke_token: t.to().is_done(),
                },
                &[event],
            )
            .await?;
        if !written {
            return Ok(false);
        }
        self.events().wake(bot.meeting_id);
        self.inner.bots.wake(bot.id);
        let mut entry = Event::new(AuditAction::BotTransition, actor, Outcome::Success);
        entry.org_id = Some(bot.org_id.into());
        entry.resource = Some(BotId::from(bot.id).to_string());
        entry.reason = Some(t.to().as_str());
        self.audit(entry).await?;
        self.after_bot_transition(bot, t, reported_by_bot);
        Ok(true)
    }

    /// Wakes the orchestrator at `at` (Unix ms) for a scheduled bot: a durable job, so the
    /// wake-up survives restarts.
    pub(crate) async fn enqueue_bot_launch(
        &self,
        org: Uuid,
        bot: Uuid,
        at: i64,
    ) -> Result<(), CoreError> {
        let meeting = self.db().bot(org, bot).await?.map(|b| b.meeting_id);
        self.queue()
            .enqueue_at(
                meetvault_jobs::NewJob {
                    org_id: Some(org),
                    kind: orchestrator::LAUNCH_JOB,
                    payload: serde_json::json!({ "bot_id": BotId::from(bot) }),
                    resource_id: meeting,
                },
                at,
            )
            .await
            .map_err(crate::jobs_error)?;
        Ok(())
    }

    /// Moves a bot by the table from whatever state it is in now (re-read), retrying once if
    /// it moved meanwhile.
    pub(crate) async fn move_bot(
        &self,
        bot_id: Uuid,
        to: BotState,
        sub_code: Option<&'static str>,
        actor: Actor,
    ) -> Result<Option<BotState>, CoreError> {
        for _ in 0..3 {
            let Some(row) = self.db().bot_by_id(bot_id).await? else {
                return Ok(None);
            };
            let from = state_of(&row)?;
            let Ok(t) = Transition::new(from, to, sub_code.map(SubCode::known)) else {
                return Ok(Some(from));
            };
            if self.record_bot_transition(&row, &t, actor, false).await? {
                return Ok(Some(to));
            }
        }
        Err(CoreError::Conflict(
            "the bot changed state while this was being done; try again".into(),
        ))
    }

    /// Asks a bot to leave: a running one gets a `leave` command; a waiting one is cancelled.
    async fn ask_bot_to_leave(
        &self,
        bot: &BotRow,
        sub_code: &'static str,
        actor: Actor,
    ) -> Result<(), CoreError> {
        let state = state_of(bot)?;
        done_already(state)?;
        if state == BotState::Scheduled && bot.launched_at.is_none() {
            self.move_bot(bot.id, BotState::Ended, Some(SubCode::CANCELLED), actor)
                .await?;
            return Ok(());
        }
        self.db()
            .request_bot_leave(bot.org_id, bot.id, sub_code)
            .await?;
        self.push_bot_command(bot, "leave", Some(sub_code.as_bytes().to_vec()), false)
            .await
    }

    /// Queues a command for a bot's long-poll; `seal` encrypts its body under the meeting key.
    async fn push_bot_command(
        &self,
        bot: &BotRow,
        kind: &str,
        body: Option<Vec<u8>>,
        seal: bool,
    ) -> Result<(), CoreError> {
        let id = Uuid::new_v4();
        let body = match (body, seal) {
            (Some(plain), true) => {
                let (kref, key) = self
                    .meeting_write_key(bot.org_id, bot.meeting_id, bot.owner_id)
                    .await?;
                Some(envelope::encrypt(
                    &key,
                    kref,
                    &bind(bot.org_id, "bot_commands", id, "body"),
                    &plain,
                ))
            }
            (body, _) => body,
        };
        self.db()
            .push_bot_command(&BotCommandRow {
                id,
                org_id: bot.org_id,
                bot_id: bot.id,
                kind: kind.to_owned(),
                body,
                created_at: meetvault_jobs::now_ms(),
                delivered_at: None,
            })
            .await?;
        self.inner.bots.wake(bot.id);
        Ok(())
    }
}

/// Bots (`core.bots()`): send, list, read, make leave, chat through, cancel.
#[derive(Debug, Clone, Copy)]
pub struct Bots<'a> {
    pub(crate) core: &'a Core,
}

impl Bots<'_> {
    /// Sends a bot: creates its meeting (titled with the bot's name) and the bot, `scheduled`;
    /// the orchestrator launches it at `join_at` (or at once) when a place is free.
    pub async fn create(
        self,
        scope: &Scope<BotsWrite>,
        new: &NewBot,
    ) -> Result<BotView, CoreError> {
        let core = self.core;
        let (mut options, url) = core.check_new_bot(new)?;
        let org = scope.org_id().uuid();
        let workspace = core.workspace_of(scope, new.workspace_id).await?;
        core.apply_consent(org, workspace, new, &mut options)
            .await?;
        core.check_meeting_retention(org, &new.retention).await?;
        let intelligence =
            (core.meeting_intel_json(org, scope.user_id(), new.intelligence.clone())).await?;
        // Keeping the local copy keeps the recordings until a window says otherwise.
        let mut retention = new.retention;
        if options.recording.keep_local_copy && retention.recordings.is_none() {
            retention.recordings = Some(meetvault_config::Window::Forever);
        }
        if let Some(d) = new.destination_id
            && core.db().destination(org, d.0).await?.is_none()
        {
            return Err(CoreError::invalid(
                "destination_id",
                "no such destination in this org",
            ));
        }
        let owner = scope.user_id().uuid();
        let meeting_id = Uuid::new_v4();
        let id = Uuid::new_v4();
        // Its own webhook first: checked before anything is written, and there before the
        // bot's first event.
        let webhook = match &new.webhook_url {
            Some(url) => Some(
                core.webhooks()
                    .create_for_bot(scope, id, meeting_id, url)
                    .await?,
            ),
            None => None,
        };
        let forget_webhook = || async {
            if let Some((hook, _)) = &webhook {
                let _ = core.db().delete_webhook_endpoint(org, hook.0).await;
            }
        };
        let (kref, key) = match core.meeting_write_key(org, meeting_id, owner).await {
            Ok(k) => k,
            Err(e) => {
                forget_webhook().await;
                return Err(e);
            }
        };
        let name = new.bot_name.trim();
        let seal = |table: &'static str, row: Uuid, field: &'static str, plain: &[u8]| {
            envelope::encrypt(&key, kref, &bind(org, table, row, field), plain)
        };
        let transcription = TranscriptionSettings {
            provider: new.provider,
            ..Default::default()
        };
        let now = Utc::now();
        let meeting = MeetingRow {
            id: meeting_id,
            org_id: org,
            workspace_id: workspace,
            owner_id: owner,
            title: seal(
                "meetings",
                meeting_id,
                "title",
                new.title.as_deref().map_or(name, str::trim).as_bytes(),
            ),
            created_at: now,
            started_at: new.join_at,
            language: options.language.clone(),
            transcription: serde_json::to_string(&transcription).map_err(CoreError::internal)?,
            updated_at: None,
            glossary: None,
            intelligence,
            widget_id: None,
        };
        let metadata = serde_json::to_vec(&new.metadata).map_err(CoreError::internal)?;
        let now_ms = now.timestamp_millis();
        let row = BotRow {
            id,
            org_id: org,
            workspace_id: workspace,
            meeting_id,
            owner_id: owner,
            meeting_url: seal("bots", id, "meeting_url", url.as_bytes()),
            bot_name: seal("bots", id, "bot_name", name.as_bytes()),
            metadata: seal("bots", id, "metadata", &metadata),
            options: serde_json::to_string(&options).map_err(CoreError::internal)?,
            state: BotState::Scheduled.as_str().to_owned(),
            sub_code: None,
            join_at: new.join_at.map(|t| t.timestamp_millis()),
            created_at: now_ms,
            updated_at: now_ms,
            token_hash: None,
            launched_at: None,
            heartbeat_at: None,
            leave_requested: None,
            audio_started_at: None,
            diagnosis_at: None,
            audio_processed_at: None,
        };
        let events = [
            outbox_event(
                org,
                &DomainEvent::MeetingCreated(MeetingRef {
                    meeting_id: meeting_id.into(),
                    workspace_id: workspace.into(),
                }),
                None,
            )?,
            outbox_event(
                org,
                &DomainEvent::BotStateChanged(BotStateChanged {
                    bot_id: id.into(),
                    meeting_id: meeting_id.into(),
                    from: None,
                    state: BotState::Scheduled.as_str().to_owned(),
                    sub_code: None,
                    at: now_ms,
                }),
                None,
            )?,
        ];
        if let Err(e) = core.db().insert_bot(&meeting, &row, &events).await {
            forget_webhook().await;
            core.encryption()
                .shred_meeting_keys(org.into(), meeting_id.into())
                .await?;
            return Err(e.into());
        }
        if !retention.is_empty() {
            let text = serde_json::to_string(&retention).map_err(CoreError::internal)?;
            core.db()
                .set_meeting_retention(org, meeting_id, Some(&text))
                .await?;
        }
        core.events().wake(meeting_id);
        core.audit(Event::by(scope, AuditAction::BotCreate).resource(BotId::from(id)))
            .await?;
        if let Some(at) = row.join_at
            && at > now_ms
        {
            core.enqueue_bot_launch(org, id, at).await?;
        }
        core.inner.bots.poke();
        let mut view = self.view(scope, &row, &meeting).await?;
        view.webhook = webhook.map(|(id, secret)| BotWebhook {
            id,
            secret: Some(secret),
        });
        Ok(view)
    }

    async fn view<P: WorkspaceScoped>(
        self,
        scope: &Scope<P>,
        row: &BotRow,
        meeting: &MeetingRow,
    ) -> Result<BotView, CoreError> {
        let core = self.core;
        let keys = core.meeting_keys_for(scope, meeting).await?;
        let org = row.org_id;
        let metadata = keys.bytes(org, "bots", row.id, "metadata", &row.metadata)?;
        let mut participants = Vec::new();
        for p in core.db().bot_participants(org, row.id).await? {
            participants.push(ParticipantSeen {
                name: p
                    .name
                    .as_deref()
                    .map(|n| keys.text(org, "bot_participants", p.id, "name", n))
                    .transpose()?,
                participant_id: p.ext_id,
                track: p.track,
                joined_at: ms_time(p.joined_at),
                left_at: p.left_at.map(ms_time),
                opted_out_at: p.opted_out_at.map(ms_time),
            });
        }
        let transitions = core
            .db()
            .bot_transitions(org, row.id)
            .await?
            .into_iter()
            .map(|t| TransitionView {
                from: t.from_state.as_deref().and_then(BotState::parse),
                to: BotState::parse(&t.to_state).unwrap_or(BotState::FatalError),
                sub_code: t.sub_code,
                at: ms_time(t.at),
            })
            .collect();
        let webhook = self
            .core
            .db()
            .webhook_endpoint_of_bot(org, row.id)
            .await?
            .map(|id| BotWebhook {
                id: id.into(),
                secret: None,
            });
        Ok(BotView {
            webhook,
            uploads: core.track_uploads(row).await?,
            summary: summary(row)?,
            meeting_url: keys.text(org, "bots", row.id, "meeting_url", &row.meeting_url)?,
            bot_name: keys.text(org, "bots", row.id, "bot_name", &row.bot_name)?,
            metadata: serde_json::from_slice(&metadata).map_err(|e| {
                CoreError::Integrity(format!("bot metadata is not a string map: {e}"))
            })?,
            options: serde_json::from_str(&row.options).unwrap_or_default(),
            transitions,
            participants,
            audio_started_at: row.audio_started_at.map(ms_time),
            diagnosis_at: row.diagnosis_at.map(ms_time),
            reports: core.bot_reports(&keys, row).await?,
        })
    }

    pub async fn get(self, scope: &Scope<MeetingsRead>, bot: BotId) -> Result<BotView, CoreError> {
        let (row, meeting) = self.core.bot_row(scope, bot).await?;
        self.view(scope, &row, &meeting).await
    }

    /// A page of the org's bots, newest first (no content: ids, states, times).
    pub async fn list(
        self,
        scope: &Scope<MeetingsRead>,
        q: &ListBots,
    ) -> Result<BotPage, CoreError> {
        let limit = i64::from(q.limit.unwrap_or(50));
        if !(1..=200).contains(&limit) {
            return Err(CoreError::invalid("limit", "must be between 1 and 200"));
        }
        if let Some(s) = &q.state
            && BotState::parse(s).is_none()
        {
            return Err(CoreError::invalid("state", "is not a bot state"));
        }
        let before = q
            .cursor
            .as_deref()
            .map(crate::meetings::decode_cursor)
            .transpose()?
            .map(|(at, id)| (at.timestamp_millis(), id));
        let rows = self
            .core
            .db()
            .bots_page(&BotQuery {
                org_id: scope.org_id().uuid(),
                workspace_id: q.workspace_id.map(WorkspaceId::uuid),
                within: match scope.reach() {
                    Reach::Org => None,
                    Reach::Workspaces(list) => {
                        Some(list.into_iter().map(WorkspaceId::uuid).collect())
                    }
                },
                state: q.state.clone(),
                before,
                limit: limit + 1,
            })
            .await?;
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > take;
        let bots = rows
            .iter()
            .take(take)
            .map(summary)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match (more, bots.last()) {
            (true, Some(last)) => Some(crate::meetings::encode_cursor(
                last.created_at,
                last.id.uuid(),
            )),
            _ => None,
        };
        Ok(BotPage { bots, next_cursor })
    }

    /// Asks a running bot to leave (`left_by_api`); a bot not launched yet is cancelled.
    pub async fn leave(self, scope: &Scope<BotsWrite>, bot: BotId) -> Result<BotView, CoreError> {
        let (row, meeting) = self.core.bot_row(scope, bot).await?;
        self.core
            .ask_bot_to_leave(&row, SubCode::LEFT_BY_API, scope.actor())
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::BotLeave).resource(bot))
            .await?;
        let (row, _) = self.core.bot_row(scope, bot).await?;
        self.view(scope, &row, &meeting).await
    }

    /// Has a bot in a meeting post `text` in the meeting's chat (the text is sealed until the
    /// bot takes it).
    pub async fn chat(
        self,
        scope: &Scope<BotsWrite>,
        bot: BotId,
        text: &str,
    ) -> Result<(), CoreError> {
        let (row, _) = self.core.bot_row(scope, bot).await?;
        let text = text.trim();
        if text.is_empty() {
            return Err(CoreError::invalid("message", "must not be empty"));
        }
        check_text("message", text, 2000)?;
        done_already(state_of(&row)?)?;
        self.core
            .push_bot_command(&row, "send_chat", Some(text.as_bytes().to_vec()), true)
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::BotChat).resource(bot))
            .await?;
        Ok(())
    }

    /// Cancels a bot not launched yet (`ended/cancelled`); a running one is asked to leave.
    pub async fn cancel(self, scope: &Scope<BotsWrite>, bot: BotId) -> Result<BotView, CoreError> {
        let (row, meeting) = self.core.bot_row(scope, bot).await?;
        let state = state_of(&row)?;
        if state == BotState::Scheduled {
            self.core
                .move_bot(
                    row.id,
                    BotState::Ended,
                    Some(SubCode::CANCELLED),
                    scope.actor(),
                )
                .await?;
        } else {
            self.core
                .ask_bot_to_leave(&row, SubCode::CANCELLED, scope.actor())
                .await?;
        }
        self.core
            .audit(Event::by(scope, AuditAction::BotCancel).resource(bot))
            .await?;
        let (row, _) = self.core.bot_row(scope, bot).await?;
        self.view(scope, &row, &meeting).await
    }
}
